"""Cached loaders: what the pages read, computed once per version of the data.

Reports are the results engine's, built for every flow in one warehouse pass
and cached under a fingerprint of the store (row counts, newest ids, flow
versions), so an import, a demo run or a changed flow makes the next page
view recompute, and nothing else does. Cached reports also expire after ten
minutes, so entrants whose conversion window closes meanwhile get counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine, text

from liftlab.config import get_settings
from liftlab.reporting import overview_rows
from liftlab.results import FlowReport, ReportError, build_reports, overview
from liftlab.store.engine import describe_url, get_engine, session_scope
from liftlab.store.entries import entry_counts
from liftlab.store.flows import flow_history, list_flows
from liftlab.store.migrate import ensure_schema
from liftlab.warehouse import connect

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
    "load_reports",
    "overview_frame",
    "store_summary",
]

logger = logging.getLogger(__name__)

REPORT_TTL_SECONDS = 600
VERSION_TTL_SECONDS = 5
COUNTED_TABLES = (
    "entries",
    "conversions",
    "messages",
    "touches",
    "customers",
    "customer_segments",
    "covariates",
)
FRESHNESS = {
    "entries": "last_entered_at",
    "messages": "ingested_at",
    "touches": "ingested_at",
    "conversions": "ingested_at",
}

# (database URL, rows per counted table, newest entry, change and import ids,
# flow versions and epochs): any write the reports depend on changes it.
DataVersion = tuple[str, tuple[int, ...], int, int, int, int]


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


@dataclass(frozen=True, slots=True)
class LoadedReports:
    """Every flow's report, and why the others have none.

    Attributes:
        reports: Reports by flow key, in key order.
        unavailable: Flow key and reason for flows without a report.
        as_of: Windows closed by this time are counted.
    """

    reports: dict[str, FlowReport]
    unavailable: dict[str, str]
    as_of: datetime | None


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
    counts = ", ".join(f"(SELECT COUNT(*) FROM {table})" for table in COUNTED_TABLES)
    query = text(
        f"SELECT {counts}, "
        "(SELECT COALESCE(MAX(id), 0) FROM entries), "
        "(SELECT COALESCE(MAX(id), 0) FROM flow_changes), "
        "(SELECT COALESCE(MAX(id), 0) FROM import_runs), "
        "(SELECT COALESCE(SUM(version * 1000 + epoch), 0) FROM flows)"
    )
    with engine(url).connect() as connection:
        row = tuple(int(value) for value in connection.execute(query).one())
    size = len(COUNTED_TABLES)
    return (url, row[:size], *row[size:])  # type: ignore[return-value]


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


@st.cache_data(
    ttl=REPORT_TTL_SECONDS, show_spinner="Measuring every flow's lift (once per data)"
)
def load_reports(version: DataVersion) -> LoadedReports:
    """Every flow's report from the results engine, in one warehouse pass.

    A flow without entries in both arms is listed as unavailable; if the
    pass fails for one flow (too few closed windows, say), each flow is
    built on its own so the others still show.
    """
    store = engine(version[0])
    with session_scope(store) as session:
        counts = entry_counts(session)
        all_flows = [flow for flow in list_flows(session) if flow.kind == "flow"]
        unavailable = {
            flow.key: "no entries in the holdout or the exposed arm yet"
            for flow in all_flows
            if not (
                counts.get((flow.key, "exposed")) and counts.get((flow.key, "holdout"))
            )
        }
        ready = [flow for flow in all_flows if flow.key not in unavailable]
        reports: dict[str, FlowReport] = {}
        with connect() as warehouse:
            try:
                built = build_reports(warehouse, session, ready) if ready else []
                reports = {report.flow: report for report in built}
            except ReportError:
                for flow in ready:
                    try:
                        (report,) = build_reports(warehouse, session, [flow])
                    except ReportError as error:
                        unavailable[flow.key] = str(error).split(": ", 1)[-1]
                    else:
                        reports[flow.key] = report
    as_of = next(iter(reports.values())).as_of if reports else None
    logger.info(
        "built %d reports; %d flows unavailable", len(reports), len(unavailable)
    )
    return LoadedReports(dict(sorted(reports.items())), unavailable, as_of)


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
