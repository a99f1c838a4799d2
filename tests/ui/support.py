"""Helpers for the page tests."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

PASSWORD = "correct horse"
TIMEOUT = 180


def _page_script(name: str) -> None:
    from liftlab.ui.pages import PAGES

    PAGES[name][2]()


def page_test(name: str) -> AppTest:
    """An AppTest running one page of the app, as ``st.navigation`` runs it."""
    return AppTest.from_function(_page_script, args=(name,), default_timeout=TIMEOUT)


def texts(app: AppTest, kind: str) -> list[str]:
    """The values of every element of a kind: ``error``, ``success``, ..."""
    return [str(element.value) for element in getattr(app, kind)]
