"""The sign-in page: local users by password, or OIDC when configured."""

from __future__ import annotations

import streamlit as st

from liftlab.ui.access import oidc_providers, sign_in, sign_out, visitor

__all__ = ["render"]


def render() -> None:
    """Draw the page."""
    st.title("Sign in")
    who = visitor()
    if who.signed_in:
        st.success(f"Signed in as **{who.name}** ({who.role}).")
        if who.can_edit:
            st.write("You can change holdouts and import data.")
        else:
            st.write(
                "Your role reads results; changing holdouts or importing data "
                "needs an editor. An admin can run "
                f"`liftlab users add {who.name} --role editor` for a new account."
            )
        if who.via == "oidc":
            st.button("Sign out", on_click=st.logout)
        elif st.button("Sign out"):
            sign_out()
            st.rerun()
        return

    st.write(
        "Everyone can read results without signing in. Editors sign in to "
        "change holdouts and import data."
    )
    with st.form("sign_in"):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if sign_in(username, password) is None:
            st.error("Unknown username or wrong password, or the user is disabled.")
        else:
            st.rerun()

    for provider in oidc_providers():
        label = (
            f"Sign in with {provider}" if provider else "Sign in with single sign-on"
        )
        if st.button(label, key=f"oidc_{provider}"):
            if provider is None:
                st.login()
            else:
                st.login(provider)
    st.caption(
        "Local users are added with `liftlab users add NAME --role editor`; "
        "passwords are kept only as Argon2 hashes."
    )
