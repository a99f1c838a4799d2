"""A cache of the heavy results, shared by every process that reads one store.

Building every flow's lift report and the assists report takes seconds on a
large store (about 14 s for the 200,000-customer demo on SQLite), too long
for the first page view. This module keeps both as pickle files in a cache
folder, named by a fingerprint of the store, so ``liftlab ui`` (or
``liftlab cache warm``) builds them once and every app process reads them.

Where things live:

* :func:`fingerprint`: a cheap summary of everything the results read (row
  counts of the event tables, the newest entry id and the sum of entry
  counts, the newest flow change and import, the flows' versions and
  epochs). An import, an entry, a demo run, a changed flow or a changed
  window changes it, and with it every file name, so stale results are
  never read.
* :func:`cache_folder`: ``LIFTLAB_CACHE_DIR`` when set, else a folder of
  the current user's own in the system temporary folder.
* :func:`flow_reports` and :func:`assists`: read the cache, and only on a
  miss build (and store) the results.
* :func:`warm`: build what the app's first views read.

Files are written to a temporary name and moved into place with
``os.replace``, so a reader sees a whole file or none; a file that cannot
be read (cut short, from another liftlab version) is ignored and rebuilt.
Results are as of the time they were built: a report's ``as_of`` says up to
when conversion windows were closed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import text

import liftlab
from liftlab.attribution import AssistsReport, AttributionSettings, build_assists
from liftlab.config import get_settings
from liftlab.results import FlowReport, ReportError, build_reports
from liftlab.store.engine import get_engine, session_scope
from liftlab.store.entries import entry_counts
from liftlab.store.flows import list_flows
from liftlab.warehouse import Warehouse, connect

__all__ = [
    "COUNTED_TABLES",
    "Fingerprint",
    "LoadedReports",
    "Warmed",
    "assists",
    "build_flow_reports",
    "cache_folder",
    "fingerprint",
    "flow_reports",
    "read",
    "warm",
    "write",
]

logger = logging.getLogger(__name__)

COUNTED_TABLES = (
    "entries",
    "conversions",
    "messages",
    "touches",
    "customers",
    "customer_segments",
    "covariates",
)
# Bumped when the pickled objects change shape; part of every file name.
FORMAT = 1

# (database URL, rows per counted table, newest entry id, sum of entry
# counts, newest flow change id, newest import id, flow versions and epochs)
Fingerprint = tuple[str, tuple[int, ...], int, int, int, int, int]
T = TypeVar("T")


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


@dataclass(frozen=True, slots=True)
class Warmed:
    """One result :func:`warm` made sure of: what, whether it was already
    cached, and the seconds it took."""

    what: str
    cached: bool
    seconds: float


def fingerprint(url: str | None = None) -> Fingerprint:
    """A cheap fingerprint of everything the results read.

    Args:
        url: The store's URL; the configured store when None.
    """
    url = url or get_settings().database_url
    counts = ", ".join(f"(SELECT COUNT(*) FROM {table})" for table in COUNTED_TABLES)
    query = text(
        f"SELECT {counts}, "
        "(SELECT COALESCE(MAX(id), 0) FROM entries), "
        "(SELECT COALESCE(SUM(entry_count), 0) FROM entries), "
        "(SELECT COALESCE(MAX(id), 0) FROM flow_changes), "
        "(SELECT COALESCE(MAX(id), 0) FROM import_runs), "
        "(SELECT COALESCE(SUM(version * 1000 + epoch), 0) FROM flows)"
    )
    with get_engine(url).connect() as connection:
        row = tuple(int(value) for value in connection.execute(query).one())
    size = len(COUNTED_TABLES)
    return (url, row[:size], *row[size:])  # type: ignore[return-value]


def cache_folder() -> Path:
    """The cache folder: ``LIFTLAB_CACHE_DIR``, else ``liftlab-<user id>`` in
    the system temporary folder, created private to the user."""
    configured = get_settings().cache_dir
    if configured:
        folder = Path(configured)
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    user = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    folder = Path(tempfile.gettempdir()) / f"liftlab-{user}"
    folder.mkdir(mode=0o700, exist_ok=True)
    if hasattr(os, "getuid") and folder.stat().st_uid != os.getuid():
        raise PermissionError(f"cache folder {folder} belongs to another user")
    return folder


def _path(kind: str, version: Fingerprint, *parts: object) -> Path:
    warehouse = os.environ.get("LIFTLAB_WAREHOUSE_URL", "")
    key = repr((FORMAT, liftlab.__version__, version, warehouse, *parts))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return cache_folder() / f"{kind}-{digest}.pickle"


def read(path: Path) -> object | None:
    """The object in a cache file; None when it is missing or unreadable."""
    try:
        with path.open("rb") as file:
            return pickle.load(file)
    except FileNotFoundError:
        return None
    except Exception as error:  # a cut-short or foreign file: rebuild it
        logger.warning("ignoring unreadable cache file %s (%s)", path.name, error)
        return None


def write(path: Path, value: object) -> None:
    """Write a cache file atomically: a temporary file, then ``os.replace``."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _cached(path: Path, kind: type[T], build: Callable[[], T]) -> tuple[T, bool]:
    value = read(path)
    if isinstance(value, kind):
        return value, True
    built = build()
    try:
        write(path, built)
    except OSError as error:
        logger.warning("could not write cache file %s (%s)", path, error)
    return built, False


def build_flow_reports(url: str) -> LoadedReports:
    """Every flow's report from the results engine, in one warehouse pass.

    A flow without entries in both arms is listed as unavailable; if the
    pass fails for one flow (too few closed windows, say), each flow is
    built on its own so the others still show.

    Args:
        url: The store's URL; the warehouse is ``LIFTLAB_WAREHOUSE_URL``
            when set, else the store.
    """
    with session_scope(get_engine(url)) as session:
        counts = entry_counts(session)
        flows = [flow for flow in list_flows(session) if flow.kind == "flow"]
        unavailable = {
            flow.key: "no entries in the holdout or the exposed arm yet"
            for flow in flows
            if not (
                counts.get((flow.key, "exposed")) and counts.get((flow.key, "holdout"))
            )
        }
        ready = [flow for flow in flows if flow.key not in unavailable]
        reports: dict[str, FlowReport] = {}
        with _warehouse(url) as warehouse:
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


def flow_reports(version: Fingerprint) -> LoadedReports:
    """Every flow's report for this version of the store, cached."""
    path = _path("reports", version)
    loaded, _ = _cached(path, LoadedReports, lambda: build_flow_reports(version[0]))
    return loaded


def _warehouse(url: str) -> Warehouse:
    return connect(os.environ.get("LIFTLAB_WAREHOUSE_URL") or url)


def _build_assists(url: str, settings: AttributionSettings) -> AssistsReport:
    with _warehouse(url) as warehouse:
        report = build_assists(warehouse, settings)
    logger.info("built the assists report (%d conversions)", report.conversions)
    return report


def assists(
    version: Fingerprint, settings: AttributionSettings | None = None
) -> AssistsReport:
    """The assists report for this version of the store and these settings,
    cached."""
    settings = settings or AttributionSettings()
    path = _path("assists", version, settings)
    report, _ = _cached(
        path, AssistsReport, lambda: _build_assists(version[0], settings)
    )
    return report


def warm(url: str | None = None) -> list[Warmed]:
    """Make sure the results the app's first views read are cached: every
    flow's report and the assists report with the default settings."""
    version = fingerprint(url)
    settings = AttributionSettings()
    done = []
    for what, path, kind, build in (
        (
            "every flow's lift report",
            _path("reports", version),
            LoadedReports,
            lambda: build_flow_reports(version[0]),
        ),
        (
            "the assists report (default settings)",
            _path("assists", version, settings),
            AssistsReport,
            lambda: _build_assists(version[0], settings),
        ),
    ):
        started = time.perf_counter()
        _, cached = _cached(path, kind, build)  # type: ignore[arg-type]
        done.append(Warmed(what, cached, time.perf_counter() - started))
    return done
