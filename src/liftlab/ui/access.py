"""Who is looking: anonymous viewers, local users, or single sign-on.

Everyone may read. Changing flows and importing data needs a sign-in as an
editor (or admin): with a local user's password (``liftlab users add``), or,
when ``.streamlit/secrets.toml`` has an ``[auth]`` section, through the
OIDC provider with Streamlit's ``st.login``. An OIDC user's role is that of
the local user named by their e-mail (``liftlab users add EMAIL --role
editor --sso-only``); without one they are a viewer. The role is read again
on every page view, so disabling a user takes effect at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from liftlab.store.users import UserInfo, find_user, verify_user
from liftlab.ui.data_access import engine

__all__ = [
    "Visitor",
    "oidc_providers",
    "sign_in",
    "sign_out",
    "visitor",
]

logger = logging.getLogger(__name__)

SESSION_KEY = "liftlab_user"


@dataclass(frozen=True, slots=True)
class Visitor:
    """The person viewing the app.

    Attributes:
        name: The signed-in name or e-mail; None when not signed in.
        role: ``viewer``, ``editor`` or ``admin``.
        via: ``password``, ``oidc`` or ``anonymous``.
    """

    name: str | None
    role: str
    via: str

    @property
    def can_edit(self) -> bool:
        """Whether the visitor may change flows and import data."""
        return self.name is not None and self.role in ("editor", "admin")

    @property
    def signed_in(self) -> bool:
        """Whether the visitor signed in."""
        return self.name is not None


ANONYMOUS = Visitor(name=None, role="viewer", via="anonymous")


def oidc_providers() -> list[str | None]:
    """The OIDC providers configured in ``[auth]``; ``[None]`` for the default.

    Empty when the app has no ``[auth]`` section, so no login is offered.
    """
    if not st.secrets.load_if_toml_exists() or "auth" not in st.secrets:
        return []
    section: Any = st.secrets["auth"]
    named = [name for name in section if isinstance(section[name], Mapping)]
    return named or [None]


def visitor() -> Visitor:
    """The current visitor, their role checked against the store."""
    name = st.session_state.get(SESSION_KEY)
    if name is not None:
        user = find_user(engine(), name)
        if user is not None and user.disabled_at is None:
            return Visitor(name=user.username, role=user.role, via="password")
        st.session_state.pop(SESSION_KEY, None)
    if oidc_providers() and st.user.get("is_logged_in"):
        email = str(st.user.get("email") or "")
        user = find_user(engine(), email) if email else None
        role = user.role if user is not None and user.disabled_at is None else "viewer"
        return Visitor(name=email or "signed-in user", role=role, via="oidc")
    return ANONYMOUS


def sign_in(username: str, password: str) -> UserInfo | None:
    """Check a local user's password; on success, remember them for the session."""
    user = verify_user(engine(), username.strip(), password)
    if user is None:
        return None
    st.session_state[SESSION_KEY] = user.username
    logger.info("%s signed in (%s)", user.username, user.role)
    return user


def sign_out() -> None:
    """Forget the local sign-in of this session."""
    st.session_state.pop(SESSION_KEY, None)
