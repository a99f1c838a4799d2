"""The app's pages, in menu order, for ``st.navigation`` and page links."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from liftlab.ui import assists, data, flow, holdouts, overview, planner, signin

__all__ = ["PAGES", "page", "pages"]

# url path -> (title, icon, render function)
PAGES: dict[str, tuple[str, str, Callable[[], None]]] = {
    "overview": ("Overview", ":material/monitoring:", overview.render),
    "flow": ("Flow", ":material/insights:", flow.render),
    "assists": ("Assists", ":material/route:", assists.render),
    "holdouts": ("Holdouts", ":material/tune:", holdouts.render),
    "planner": ("Planner", ":material/calculate:", planner.render),
    "data": ("Data", ":material/database:", data.render),
    "signin": ("Sign in", ":material/login:", signin.render),
}


def page(path: str) -> st.Page:
    """The page at a url path, e.g. ``flow``."""
    title, icon, render = PAGES[path]
    return st.Page(
        render, title=title, icon=icon, url_path=path, default=path == "overview"
    )


def pages() -> list[st.Page]:
    """Every page, in menu order."""
    return [page(path) for path in PAGES]
