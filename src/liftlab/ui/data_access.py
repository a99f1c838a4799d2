"""Cached loaders: what the pages read, computed once per version of the data.

The heavy results (every flow's lift report, the assists report) come from
:mod:`liftlab.cache`, which keeps them in files shared by every process and
named by a fingerprint of the store (row counts, newest ids, flow
versions): an import, a demo run or a changed flow makes the next view
rebuild them, and nothing else does. ``liftlab ui`` builds them before the
app starts, so the first view only reads a file. Within a process they are
also kept in memory, keyed on the same fingerprint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine, text

from liftlab import cache
from liftlab.attribution import AssistsReport, AttributionSettings
from liftlab.cache import COUNTED_TABLES, LoadedReports
from liftlab.config import get_settings
from liftlab.reporting import overview_rows
from liftlab.results import overview
from liftlab.store.engine import describe_url, get_engine, session_scope
from liftlab.store.entries import entry_counts
from liftlab.store.flows import flow_history, list_flows
from liftlab.store.migrate import ensure_schema

__all__ = [
    "DataVersion",
    "FlowInfo",
    "LoadedReports",
    "changes_frame",
    "data_version",
    "engine",
    "flows",
    "forget",
    "import_runs",
    "load_assists",
    "load_reports",
    "overview_frame",
    "store_summary",
]

logger = logging.getLogger(__name__)

REPORT_TTL_SECONDS = 600
VERSION_TTL_SECONDS = 5
FRESHNESS = {
    "entries": "last_entered_at",
    "messages": "ingested_at",
    "touches": "ingested_at",
    "conversions": "ingested_at",
}

# The store's fingerprint (see liftlab.cache.fingerprint): any write the
# reports depend on changes it.
DataVersion = cache.Fingerprint


@dataclass(frozen=True, slots=True)
class FlowInfo:
    """A flow (or the global holdout) as configured, for forms and listings."""

    key: str
    kind: str
    name: str
    stage: str | None
    holdout_percent: float
    salt: str
    conversion_type: str | None
    window_hours: float | None
    starts_at: datetime | None
    ends_at: datetime | None
    cost_per_message: float | None
    view_window_hours: float
    click_window_hours: float
    version: int
    epoch: int
    source: str | None
    exposed: int
    holdout: int


def engine(url: str | None = None) -> Engine:
    """The store's engine (by default the configured one), schema checked."""
    return _engine(url or get_settings().database_url)


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    bound = get_engine(url)
    ensure_schema(bound, url_hint=describe_url(url))
    return bound


def data_version(url: str | None = None) -> DataVersion:
    """A cheap fingerprint of everything the reports read (by default, in the
    configured store)."""
    return _data_version(url or get_settings().database_url)


@st.cache_data(ttl=VERSION_TTL_SECONDS, show_spinner=False)
def _data_version(url: str) -> DataVersion:
    engine(url)  # the schema is checked before the first read
    return cache.fingerprint(url)


def forget() -> None:
    """Drop the fingerprint so the next read sees a write made just now."""
    _data_version.clear()


@st.cache_data(ttl=REPORT_TTL_SECONDS, show_spinner=False)
def flows(version: DataVersion) -> list[FlowInfo]:
    """Every flow with its entries per arm, the global holdout first."""
    with session_scope(engine(version[0])) as session:
        counts = entry_counts(session)
        return [
            FlowInfo(
                key=flow.key,
                kind=flow.kind,
                name=flow.name,
                stage=flow.stage,
                holdout_percent=flow.holdout_percent,
                salt=flow.salt,
                conversion_type=flow.conversion_type,
                window_hours=flow.window_hours,
                starts_at=flow.starts_at,
                ends_at=flow.ends_at,
                cost_per_message=flow.cost_per_message,
                view_window_hours=flow.view_window_hours,
                click_window_hours=flow.click_window_hours,
                version=flow.version,
                epoch=flow.epoch,
                source=flow.source,
                exposed=counts.get((flow.key, "exposed"), 0),
                holdout=counts.get((flow.key, "holdout"), 0),
            )
            for flow in list_flows(session)
        ]


# Kept as they are (frozen objects, never changed by a page), for the last
# few versions of the data.
@st.cache_resource(
    max_entries=2, show_spinner="Measuring every flow's lift (once per data)"
)
def load_reports(version: DataVersion) -> LoadedReports:
    """Every flow's report from the results engine, from the shared cache or,
    on a miss, built in one warehouse pass (see
    :func:`liftlab.cache.build_flow_reports`)."""
    return cache.flow_reports(version)


@st.cache_resource(
    max_entries=8, show_spinner="Building conversion paths (once per data)"
)
def load_assists(
    version: DataVersion, settings: AttributionSettings | None = None
) -> AssistsReport:
    """The assists report for these settings (the defaults when None), from
    the shared cache or built on a miss."""
    return cache.assists(version, settings)


def overview_frame(loaded: LoadedReports, *, method: str = "holm") -> pd.DataFrame:
    """The overview, one row per flow, keyed by ``flow``.

    The columns are ``reporting.overview_rows``'s (relative lift and bounds,
    incremental conversions and bounds, incremental revenue, p-values,
    significance, split check), plus ``name``, ``incremental_revenue_lower``
    and ``_upper`` and ``srm_p_value``. Other engines' per-flow figures join
    on ``flow``.
    """
    reports = list(loaded.reports.values())
    rows = overview_rows(overview(reports, method=method))
    frame = pd.DataFrame(rows, columns=_OVERVIEW_COLUMNS)
    revenue = [report.primary.revenue.incremental_total for report in reports]
    frame.insert(1, "name", [report.name for report in reports])
    frame["incremental_revenue_lower"] = [estimate.lower for estimate in revenue]
    frame["incremental_revenue_upper"] = [estimate.upper for estimate in revenue]
    frame["srm_p_value"] = [report.srm.flow.p_value for report in reports]
    return frame


_OVERVIEW_COLUMNS = (
    "flow",
    "relative_lift",
    "relative_lift_lower",
    "relative_lift_upper",
    "incremental_conversions",
    "incremental_conversions_lower",
    "incremental_conversions_upper",
    "incremental_revenue",
    "p_value",
    "adjusted_p_value",
    "significant",
    "srm_mismatch",
)


@st.cache_data(ttl=REPORT_TTL_SECONDS, show_spinner=False)
def changes_frame(version: DataVersion, key: str | None = None) -> pd.DataFrame:
    """The change log, newest first: when, flow, who, action, what changed."""
    with session_scope(engine(version[0])) as session:
        changes = flow_history(session, key)
        rows = [
            {
                "when": change.changed_at,
                "flow": change.flow_key,
                "who": change.actor,
                "action": change.action,
                "what changed": _changed(change.before, change.after),
                "note": change.note or "",
            }
            for change in changes
        ]
    return pd.DataFrame(
        rows, columns=["when", "flow", "who", "action", "what changed", "note"]
    )


def _changed(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    before, after = before or {}, after or {}
    parts = []
    for name, value in after.items():
        if name in ("version", "epoch") or before.get(name) == value:
            continue
        if before:
            parts.append(f"{name}: {before.get(name)} → {value}")
        elif value is not None:
            parts.append(f"{name}: {value}")
    if "epoch" in after and before.get("epoch") not in (None, after["epoch"]):
        parts.append(f"epoch: {before['epoch']} → {after['epoch']}")
    return "; ".join(parts)


@st.cache_data(ttl=REPORT_TTL_SECONDS, show_spinner=False)
def store_summary(version: DataVersion) -> pd.DataFrame:
    """Rows per table and the newest arrival in each, from the fingerprint."""
    counts = dict(zip(COUNTED_TABLES, version[1], strict=True))
    newest = ", ".join(
        f"(SELECT MAX({column}) FROM {table})" for table, column in FRESHNESS.items()
    )
    with engine(version[0]).connect() as connection:
        times = connection.execute(text(f"SELECT {newest}")).one()
    latest = dict(zip(FRESHNESS, times, strict=True))
    rows = [
        {
            "table": table,
            "rows": count,
            "newest": pd.to_datetime(latest.get(table), utc=True),
        }
        for table, count in counts.items()
    ]
    return pd.DataFrame(rows)


@st.cache_data(ttl=REPORT_TTL_SECONDS, show_spinner=False)
def import_runs(version: DataVersion, *, limit: int = 20) -> pd.DataFrame:
    """The newest file imports: what, from where, by whom, how many rows."""
    query = text(
        "SELECT finished_at, kind, source, actor, rows_read, inserted, duplicates "
        "FROM import_runs ORDER BY id DESC LIMIT :limit"
    )
    with engine(version[0]).connect() as connection:
        rows = connection.execute(query, {"limit": limit}).mappings().all()
    frame = pd.DataFrame(
        [dict(row) for row in rows],
        columns=[
            "finished_at",
            "kind",
            "source",
            "actor",
            "rows_read",
            "inserted",
            "duplicates",
        ],
    )
    frame["finished_at"] = pd.to_datetime(frame["finished_at"], utc=True)
    return frame
