"""The browser app's pages, for stakeholders and marketers.

``app.py`` at the repository root runs them with ``st.navigation``. Where
things live:

* ``pages``: the page list, in menu order;
* ``overview``, ``flow``, ``holdouts``, ``planner``, ``data``, ``signin``:
  one page each, a ``render()`` function apiece;
* ``data_access``: cached loaders keyed on a fingerprint of the store;
* ``access``: who is looking, local sign-in and OIDC;
* ``charts``: Plotly figures; ``text``: numbers and sentences; ``power``:
  the power preview.

Every figure comes from the results engine (``liftlab.results``) or the
planning functions (``liftlab.stats``); the pages compute no statistics.
Only this package and ``app.py`` import Streamlit.
"""
