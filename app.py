"""liftlab's browser app: ``streamlit run app.py`` (or ``liftlab ui``).

Lift for stakeholders, holdout setup for marketers. The pages live in
``liftlab.ui``; this file sets up the page and the navigation.
"""

from __future__ import annotations

import logging

import streamlit as st

from liftlab.ui.access import visitor
from liftlab.ui.pages import pages

logging.basicConfig(
    level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
)

st.set_page_config(
    page_title="liftlab",
    page_icon=":material/trending_up:",
    layout="wide",
)

current = st.navigation(pages())
who = visitor()
st.sidebar.caption(
    f"Signed in as **{who.name}** ({who.role})"
    if who.signed_in
    else "Viewing as a guest: sign in to edit"
)
current.run()
