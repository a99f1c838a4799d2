"""``streamlit run`` with the app's modules imported before it serves.

Streamlit runs ``app.py`` only when a browser opens a session, so the first
view would otherwise pay for importing the pages and everything they use
(the results and attribution engines, Plotly, pandas: several seconds).
``liftlab ui`` starts the server through this module instead, which imports
them first; the server answers its health check only after that, and the
first view finds them loaded.

Usage: ``python -m liftlab.ui.server app.py [streamlit run options]``.
"""

from __future__ import annotations

import importlib
import logging
import sys

__all__ = ["PRELOADED", "main", "preload"]

PRELOADED = ("plotly.graph_objects", "liftlab.ui.pages")
# Streamlit warns that a cached function was declared before its runtime
# exists; the cache itself is created at the first call, inside the runtime.
_QUIET = "streamlit.runtime.caching.cache_data_api"


def preload() -> None:
    """Import the pages and their engines."""
    import streamlit  # noqa: F401  (its loggers exist from here on)

    quiet = logging.getLogger(_QUIET)
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        for name in PRELOADED:
            importlib.import_module(name)
    finally:
        quiet.setLevel(level)


def main(argv: list[str]) -> None:
    """Preload, then run ``streamlit run`` with ``argv``."""
    from streamlit.web import cli

    preload()
    sys.argv = ["streamlit", "run", *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
