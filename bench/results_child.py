"""One timed path of the results benchmark, run in its own process.

Usage: ``python bench/results_child.py PATH DUCKDB_FILE [STORE_URL]``. The
process prints one JSON object: ``seconds`` (from opening the DuckDB file to
the answer), ``rss_start_mb`` (resident memory after imports, before the
clock starts), ``peak_rss_mb`` and, where the path computes them, the
effects it found: ``conversion_lift`` (exposed minus holdout conversion
rate) and ``revenue_lift`` (the same for revenue per recipient), and the
units compared.

Paths:

- ``liftlab_report``: ``liftlab.results.build_reports`` for the flow, with
  ``connect("duckdb:///...")`` as the warehouse and the SQLite store at
  STORE_URL for the flow's spec, as ``liftlab report`` runs it.
- ``liftlab_stats``: ``connect`` and one ``Warehouse.flow_statistics``.
- ``tea_join``: tea-tasting's ``Experiment.analyze`` on an Ibis expression
  that joins entries to purchases inside the window and sums per unit, so
  it starts from the same tables as liftlab.
- ``tea_table``: the same analysis on the ready per-unit table
  ``experiment``, whose derivation is not timed.
- ``scan_entries``: ``SELECT arm, count(*), sum(...) FROM entries GROUP BY
  arm`` in plain DuckDB.
- ``scan_experiment``: the sums tea-tasting needs, by one ``GROUP BY`` scan
  of ``experiment``.
- ``sql_join``: the window join and both group-bys in one plain DuckDB SQL
  statement, the least any answer from the raw tables has to do.

Each path imports only what it needs, inside its function, so a plain scan
is not charged for liftlab's libraries, and imports it before the clock
starts, including the modules Ibis would load on first use (its DuckDB
backend and compilers, pandas, pyarrow, scipy), so no path is timed
importing. Peak memory is the high-water mark
of this process's resident set (``VmHWM``), which, unlike ``ru_maxrss``,
does not inherit the parent's figure across ``exec``; DuckDB runs in this
process, so its memory is counted.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

FLOW_KEY = "abandoned_cart"
WINDOW_HOURS = 72
AS_OF_ISO = "2026-12-01T00:00:00+00:00"

# Sums per arm from one plain SQL statement, window rule as in liftlab.
SQL_JOIN = f"""
WITH per_unit AS (
    SELECT e.arm,
           CAST(count(c.unit_id) > 0 AS INTEGER) AS converted,
           coalesce(sum(c.value), 0.0) AS value
    FROM entries AS e
    LEFT JOIN conversions AS c
      ON c.unit_id = e.unit_id
     AND c.type = 'purchase'
     AND c.occurred_at >= e.entered_at
     AND c.occurred_at < e.entered_at + INTERVAL {WINDOW_HOURS} HOUR
    WHERE e.flow_key = '{FLOW_KEY}' AND e.epoch = 1
    GROUP BY e.unit_id, e.arm
)
SELECT arm, count(*), sum(converted), sum(value), sum(value * value)
FROM per_unit GROUP BY arm
"""
SCAN_ENTRIES = """
SELECT arm, count(*), sum(epoch(entered_at)), sum(entry_count)
FROM entries GROUP BY arm
"""
SCAN_EXPERIMENT = """
SELECT variant, count(*), sum(converted), sum(value), sum(value * value)
FROM experiment GROUP BY variant
"""


def _memory_mb(field: str) -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _preload() -> None:
    """Import what Ibis loads on first use, so no path is timed importing."""
    import ibis.backends.duckdb  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401
    import scipy.stats  # noqa: F401


def liftlab_report(file: str, store: str) -> dict[str, Any]:
    """``build_reports`` end to end, as ``liftlab report`` runs it."""
    from datetime import datetime

    from sqlmodel import Session

    from liftlab.results import build_reports
    from liftlab.store.engine import make_engine
    from liftlab.store.tables import Flow
    from liftlab.warehouse import connect

    _preload()

    as_of = datetime.fromisoformat(AS_OF_ISO)
    engine = make_engine(store)

    def work() -> dict[str, Any]:
        with Session(engine) as session, connect(f"duckdb:///{file}") as warehouse:
            flow = session.get(Flow, FLOW_KEY)
            assert flow is not None
            (report,) = build_reports(warehouse, session, [flow], as_of=as_of)
        result = report.primary
        return {
            "conversion_lift": result.conversion.absolute_lift.value,
            "revenue_lift": result.revenue.absolute_lift.value,
            "units": sum(arm.units for arm in report.arms),
        }

    return _timed(work)


def liftlab_stats(file: str, _store: str) -> dict[str, Any]:
    """One warehouse pass: ``connect`` and ``flow_statistics``."""
    from datetime import datetime

    from liftlab.warehouse import connect

    _preload()
    as_of = datetime.fromisoformat(AS_OF_ISO)

    def work() -> dict[str, Any]:
        with connect(f"duckdb:///{file}") as warehouse:
            table = warehouse.flow_statistics([FLOW_KEY], as_of=as_of).table
        sums = table.groupby("arm")[["units", "converters", "value"]].sum()
        return _lifts(sums.to_dict("index"))

    return _timed(work)


def tea_join(file: str, _store: str) -> dict[str, Any]:
    """tea-tasting on an Ibis expression that joins the raw tables."""
    import ibis
    import tea_tasting  # noqa: F401 - loaded before the clock starts

    _preload()

    def work() -> dict[str, Any]:
        backend = ibis.duckdb.connect(file, read_only=True)
        entries = backend.table("entries")
        entries = entries.filter(
            (entries.flow_key == FLOW_KEY) & (entries.epoch == 1)
        ).select("unit_id", "arm", "entered_at")
        conversions = backend.table("conversions")
        purchases = conversions.filter(conversions.type == "purchase").select(
            buyer=conversions.unit_id,
            occurred_at=conversions.occurred_at,
            amount=conversions.value,
        )
        joined = entries.left_join(
            purchases,
            [
                entries.unit_id == purchases.buyer,
                purchases.occurred_at >= entries.entered_at,
                purchases.occurred_at
                < entries.entered_at + ibis.interval(hours=WINDOW_HOURS),
            ],
        )
        per_unit = joined.group_by(["unit_id", "arm"]).aggregate(
            converted=(joined.buyer.count() > 0).cast("int64"),
            value=joined.amount.sum().fill_null(0.0),
        )
        data = per_unit.select(variant=per_unit.arm, converted=per_unit.converted,
                               value=per_unit.value)  # fmt: skip
        result = _tea(data)
        backend.disconnect()
        return result

    return _timed(work)


def tea_table(file: str, _store: str) -> dict[str, Any]:
    """tea-tasting on the ready per-unit table."""
    import ibis
    import tea_tasting  # noqa: F401 - loaded before the clock starts

    _preload()

    def work() -> dict[str, Any]:
        backend = ibis.duckdb.connect(file, read_only=True)
        result = _tea(backend.table("experiment"))
        backend.disconnect()
        return result

    return _timed(work)


def _tea(data: Any) -> dict[str, Any]:
    import tea_tasting as tt

    experiment = tt.Experiment(
        conversion=tt.Mean("converted"), revenue=tt.Mean("value")
    )
    result = experiment.analyze(data, control="holdout")
    return {
        "conversion_lift": result["conversion"].effect_size,
        "revenue_lift": result["revenue"].effect_size,
    }


def scan_entries(file: str, _store: str) -> dict[str, Any]:
    """One bare ``GROUP BY`` scan of ``entries``."""
    return _plain(file, SCAN_ENTRIES, lifts=False)


def scan_experiment(file: str, _store: str) -> dict[str, Any]:
    """One bare ``GROUP BY`` scan of the per-unit table."""
    return _plain(file, SCAN_EXPERIMENT, lifts=True)


def sql_join(file: str, _store: str) -> dict[str, Any]:
    """The window join and the group-bys in one plain SQL statement."""
    return _plain(file, SQL_JOIN, lifts=True)


def _plain(file: str, sql: str, *, lifts: bool) -> dict[str, Any]:
    import duckdb

    def work() -> dict[str, Any]:
        with duckdb.connect(file, read_only=True) as connection:
            rows = connection.execute(sql).fetchall()
        if not lifts:
            return {"units": sum(row[1] for row in rows)}
        sums = {
            row[0]: {"units": row[1], "converters": row[2], "value": row[3]}
            for row in rows
        }
        return _lifts(sums)

    return _timed(work)


def _lifts(sums: dict[str, dict[str, float]]) -> dict[str, Any]:
    exposed, holdout = sums["exposed"], sums["holdout"]
    return {
        "conversion_lift": exposed["converters"] / exposed["units"]
        - holdout["converters"] / holdout["units"],
        "revenue_lift": exposed["value"] / exposed["units"]
        - holdout["value"] / holdout["units"],
        "units": int(exposed["units"] + holdout["units"]),
    }


def _timed(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    rss_start = _memory_mb("VmRSS")
    start = time.perf_counter()
    answer = work()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rss_start_mb": rss_start,
        "peak_rss_mb": _memory_mb("VmHWM"),
        **answer,
    }


PATHS: dict[str, Callable[[str, str], dict[str, Any]]] = {
    "liftlab_report": liftlab_report,
    "liftlab_stats": liftlab_stats,
    "tea_join": tea_join,
    "tea_table": tea_table,
    "scan_entries": scan_entries,
    "scan_experiment": scan_experiment,
    "sql_join": sql_join,
}


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or argv[0] not in PATHS:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    path, file, *rest = argv
    print(json.dumps(PATHS[path](file, rest[0] if rest else "")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
