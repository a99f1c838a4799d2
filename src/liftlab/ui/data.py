"""Data: what is loaded, how fresh it is, and imports from a file."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from liftlab.ingest import KINDS, EventFileError, ImportRejectedError, import_file
from liftlab.store.engine import describe_url
from liftlab.ui.access import visitor
from liftlab.ui.data_access import (
    data_version,
    engine,
    forget,
    import_runs,
    store_summary,
)

__all__ = ["render"]

logger = logging.getLogger(__name__)

FLASH = "data_flash"
SUFFIXES = ("csv", "parquet", "pq")


def render() -> None:
    """Draw the page."""
    st.title("Data")
    version = data_version()
    st.caption(f"Store: {describe_url(version[0])}")
    summary = store_summary(version)
    shown = summary.assign(
        rows=summary["rows"].map("{:,}".format),
        newest=summary["newest"].map(_when),
    )
    st.dataframe(shown, hide_index=True, key="store_table")
    st.caption(
        "Newest is the latest entry time for entries and the latest arrival "
        "(ingestion) for messages, touches and conversions."
    )

    st.subheader("Recent imports")
    runs = import_runs(version)
    if runs.empty:
        st.caption("No file imports yet.")
    else:
        st.dataframe(
            runs.assign(finished_at=runs["finished_at"].map(_when)),
            hide_index=True,
            key="imports_table",
        )

    st.subheader("Import a file")
    if message := st.session_state.pop(FLASH, None):
        st.success(message)
    who = visitor()
    if not who.can_edit:
        st.info("Importing data needs an editor's sign-in (see Sign in).")
        return
    _import_form(who.name or "")


def _import_form(actor: str) -> None:
    with st.form("import_form", clear_on_submit=False):
        kind = st.selectbox("The file holds", list(KINDS))
        upload = st.file_uploader("CSV or Parquet file", type=list(SUFFIXES))
        submitted = st.form_submit_button("Import", type="primary")
    st.caption(
        "An import is all or nothing: any bad value is listed with its row and "
        "column and nothing is written. Repeated event ids are skipped, so "
        "importing a file twice is safe."
    )
    if not submitted:
        return
    if upload is None:
        st.error("Choose a file to import.")
        return

    suffix = Path(upload.name).suffix.lower() or ".csv"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(upload.getvalue())
        try:
            summary = import_file(engine(), kind, path, actor=actor)
        except ImportRejectedError as error:
            _rejected(upload.name, error)
            return
        except EventFileError as error:
            st.error(str(error).replace(str(path), upload.name))
            return
    forget()
    st.session_state[FLASH] = (
        f"{upload.name}: {summary.rows_read:,} rows read, {summary.inserted:,} "
        f"inserted, {summary.updated:,} updated, {summary.duplicates:,} skipped as "
        f"duplicates, in {summary.seconds:.1f} s."
    )
    logger.info("%s imported %s (%s) from the app", actor, upload.name, kind)
    st.rerun()


def _rejected(name: str, error: ImportRejectedError) -> None:
    if error.bad_rows:
        what = f"{error.bad_rows:,} of {error.rows_read:,} rows rejected"
    else:
        what = "the columns do not fit"
    st.error(f"{name}: {what}; nothing was written.")
    st.dataframe(
        pd.DataFrame({"problem": error.problems}), hide_index=True, key="problems"
    )


def _when(moment: object) -> str:
    if moment is None or pd.isna(moment):
        return ""
    return f"{pd.Timestamp(moment):%Y-%m-%d %H:%M} UTC"
