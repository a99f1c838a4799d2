"""One timed path of the attribution benchmark, in its own process.

Usage: ``python bench/attribution_child.py PATH DUCKDB_FILE PATH_TABLE
[MEMORY_LIMIT]`` (DuckDB's cap for liftlab and the scan; 512MB, liftlab's
default, when left out).
Prints one JSON object with ``seconds`` (per step where there are steps),
``peak_rss_mb`` (the process's ``VmHWM``) and ``rss_start_mb``. Paths:

- ``liftlab``: what ``build_assists`` runs, with every model, from
  ``connect("duckdb:///...")``: ``path_frames`` timed per query
  (``assists``, the assist sums per key and segment, time lags and
  time-decay sums; ``paths``, the path building) and ``path_coding`` (the
  path table's batches coded for the models), then each model with the
  warehouse still open; its peak memory is read there, before it writes
  the path table to PATH_TABLE (Parquet) for the peer.
- ``liftlab_paths``: only the path building (the ``paths`` query of
  ``aggregates_queries``, read in batches as ``path_frames`` reads it, and
  not coded), so that its peak memory is its own.
- ``liftlab_markov``: ``liftlab.attribution.models.markov`` on PATH_TABLE.
- ``channelattribution``: ``ChannelAttribution.markov_model`` (order 1,
  non-converting paths as ``var_null``) on PATH_TABLE.
- ``scan``: one bare window-function scan of the touches in plain DuckDB
  (``LAG`` over each customer's touches in time order), with the same
  memory cap as liftlab's DuckDB connection.
- ``sql_paths``: the least plain DuckDB SQL does to get converting paths:
  one range join of the conversions to their unit's touches of the 30
  days before, each conversion's channels joined in time order, the paths
  counted. No per-flow windows, coupons, non-converting paths or assist
  sums, so it is a floor for liftlab's path building, not a peer.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

SCAN = """
SELECT count(*), sum(epoch(occurred_at) - epoch(previous))
FROM (
    SELECT occurred_at,
           lag(occurred_at) OVER (PARTITION BY unit_id ORDER BY occurred_at)
           AS previous
    FROM touches
)
"""

SQL_PATHS = """
SELECT count(*), sum(conversions)
FROM (
    SELECT path, count(*) AS conversions
    FROM (
        SELECT c.conversion_id,
               string_agg(t.channel, ' > ' ORDER BY t.occurred_at, t.touch_id)
               AS path
        FROM conversions AS c
        JOIN touches AS t
          ON t.unit_id = c.unit_id
         AND t.occurred_at <= c.occurred_at
         AND t.occurred_at >= c.occurred_at - INTERVAL 30 DAY
        GROUP BY c.conversion_id
    )
    GROUP BY path
)
"""


def _memory_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return float("nan")


def _liftlab(database: str, table: str, limit: str) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from liftlab.attribution import MODELS, AttributionSettings
    from liftlab.attribution.paths import path_frames
    from liftlab.attribution.report import run_model
    from liftlab.warehouse import connect

    settings = AttributionSettings()
    start_mb = _memory_mb("VmRSS")
    steps: dict[str, float] = {}
    clock = time.perf_counter()
    # As ``build_assists`` does: the models run with the warehouse open.
    with connect(f"duckdb:///{database}?memory_limit={limit}") as warehouse:
        queries: dict[str, float] = {}
        frames = path_frames(warehouse, settings, timings=queries)
        steps |= queries
        steps["connect_and_read"] = time.perf_counter() - clock - sum(queries.values())
        paths = frames.paths
        for name in MODELS:
            tick = time.perf_counter()
            credit = run_model(name, paths, frames, settings)
            steps[name] = time.perf_counter() - tick
            if name == "markov":
                markov = credit.credit()
    steps["total"] = time.perf_counter() - clock
    peak_mb = _memory_mb("VmHWM")
    # The peer's input, written after the peak is read.
    pq.write_table(
        pa.table(
            {
                "path": paths.strings(),
                "conversions": paths.conversions,
                "nulls": paths.nulls,
                "value": paths.value,
            }
        ),
        table,
    )
    return {
        "seconds": steps,
        "rss_start_mb": start_mb,
        "peak_rss_mb": peak_mb,
        "distinct_paths": len(paths.lengths),
        "conversions_on_paths": paths.total_conversions,
        "markov": markov,
    }


def _liftlab_paths(database: str, limit: str) -> dict[str, Any]:
    from liftlab.attribution import AttributionSettings
    from liftlab.attribution.paths import PATH_BATCH_ROWS, aggregates_queries
    from liftlab.warehouse import connect

    start_mb = _memory_mb("VmRSS")
    clock = time.perf_counter()
    with connect(f"duckdb:///{database}?memory_limit={limit}") as warehouse:
        query = aggregates_queries(warehouse, AttributionSettings())["paths"]
        batches = warehouse.batches(query, PATH_BATCH_ROWS)
        rows = sum(batch.num_rows for batch in batches)
    return {
        "seconds": {"paths": time.perf_counter() - clock},
        "rss_start_mb": start_mb,
        "rows": rows,
    }


def _liftlab_markov(table: str) -> dict[str, Any]:
    import pandas as pd

    from liftlab.attribution.models import Paths, markov

    frame = pd.read_parquet(table)
    start_mb = _memory_mb("VmRSS")
    clock = time.perf_counter()
    paths = Paths.from_strings(
        frame["path"], frame["conversions"], value=frame["value"], nulls=frame["nulls"]
    )
    credit = markov(paths)
    return {
        "seconds": {"markov": time.perf_counter() - clock},
        "rss_start_mb": start_mb,
        "markov": credit.credit(),
    }


def _channelattribution(table: str) -> dict[str, Any]:
    import contextlib
    import io

    import pandas as pd
    from ChannelAttribution import markov_model

    frame = pd.read_parquet(table)
    start_mb = _memory_mb("VmRSS")
    clock = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        result = markov_model(
            frame, "path", "conversions", var_null="nulls", order=1,
            out_more=True, verbose=0, flg_pro=False,
        )  # fmt: skip
    seconds = time.perf_counter() - clock
    credit = result["result"]
    return {
        "seconds": {"markov": seconds},
        "rss_start_mb": start_mb,
        "markov": dict(
            zip(credit["channel_name"], credit["total_conversions"], strict=True)
        ),
    }


def _plain_sql(database: str, limit: str, step: str, statement: str) -> dict[str, Any]:
    import duckdb

    start_mb = _memory_mb("VmRSS")
    clock = time.perf_counter()
    with duckdb.connect(database, read_only=True) as db:
        db.execute(f"SET memory_limit = '{limit}'")
        rows, _ = db.execute(statement).fetchone()
    return {
        "seconds": {step: time.perf_counter() - clock},
        "rss_start_mb": start_mb,
        "rows": rows,
    }


def main() -> None:
    path, database, table = sys.argv[1:4]
    limit = sys.argv[4] if len(sys.argv) > 4 else "512MB"
    if path == "liftlab":
        answer = _liftlab(database, table, limit)
    elif path == "liftlab_paths":
        answer = _liftlab_paths(database, limit)
    elif path == "liftlab_markov":
        answer = _liftlab_markov(table)
    elif path == "channelattribution":
        answer = _channelattribution(table)
    elif path == "sql_paths":
        answer = _plain_sql(database, limit, "sql_paths", SQL_PATHS)
    else:
        answer = _plain_sql(database, limit, "scan", SCAN)
    answer.setdefault("peak_rss_mb", _memory_mb("VmHWM"))
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
