"""A DuckDB warehouse of one flow's entries and conversions, built in chunks.

The file holds the tables ``liftlab.warehouse`` reads, with the store's
columns: ``flows`` (the ``abandoned_cart`` flow of ``experiments/``, epoch 1,
version 1), ``entries`` (one row per unit, entered over 60 days in time
order, the arm decided by the flow's own hash: about 10% holdout),
``conversions``, and empty but typed ``covariates``, ``customer_segments``
and ``messages``. Times are ``TIMESTAMP`` in UTC, in whole seconds.

Conversions, per unit: a purchase inside the 72-hour window for about 9% of
the holdout and 10% of the exposed (a tenth of them buy twice), a purchase
in the 30 days before entry for 5% (the pre-period covariate), one after the
window for 3%, a sign-up (another conversion type) for 1%, and, to pin the
window's edges, a purchase exactly at entry for 0.05% (counted) and exactly
72 hours after it for 0.05% (not counted). Values are log-normal, in cents.

The file also holds ``experiment``, the per-unit table tea-tasting reads
(``variant``, ``converted`` 0/1, ``value``), derived in SQL with the same
window rule, ``entered_at <= occurred_at < entered_at + 72 hours``.

Rows are generated with numpy one chunk at a time and appended with DuckDB,
so generation holds one chunk in memory. The same count always gives the
same file, cached by its row count.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from liftlab.assignment import bucket_indices

__all__ = ["AS_OF", "FLOW_KEY", "WINDOW_HOURS", "warehouse_file"]

CHUNK_ROWS = 1_000_000
FORMAT_VERSION = 1

FLOW_KEY = "abandoned_cart"
WINDOW_HOURS = 72
STARTS = datetime(2026, 9, 1, tzinfo=UTC)
DAYS = 60
# Every window has closed by then, so every entry is counted.
AS_OF = datetime(2026, 12, 1, tzinfo=UTC)

_HOLDOUT_BUCKETS = 1_000  # of 10,000: the spec's 10% holdout
_WINDOW = WINDOW_HOURS * 3600
_PRE_PERIOD = 30 * 86_400
_RATES = {"holdout": 0.09, "exposed": 0.10}
_SECOND_PURCHASE = 0.10
_PRE_SHARE = 0.05
_AFTER_SHARE = 0.03
_SIGNUP_SHARE = 0.01
_EDGE_SHARE = 0.0005
# A bijection of 0 .. 9e12 - 1 (the step is prime to the space): customer
# ids look random and never repeat.
_ID_STEP = 2_654_435_761
_ID_SPACE = 9 * 10**12

_SCHEMA = """
CREATE TABLE flows (
    key VARCHAR, kind VARCHAR, name VARCHAR, stage VARCHAR,
    holdout_percent DOUBLE, salt VARCHAR, conversion_type VARCHAR,
    window_hours DOUBLE, starts_at TIMESTAMP, ends_at TIMESTAMP,
    cost_per_message DOUBLE, source VARCHAR, version BIGINT, epoch BIGINT,
    assignment VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP
);
INSERT INTO flows VALUES (
    'abandoned_cart', 'flow', 'Abandoned cart reminder', 'retention', 10.0,
    'abandoned_cart', 'purchase', 72, '2026-09-01 00:00:00', NULL, 0.0079,
    'experiments/abandoned_cart.toml', 1, 1, 'hash',
    '2026-08-25 00:00:00', '2026-08-25 00:00:00'
);
CREATE TABLE entries (
    id BIGINT, flow_key VARCHAR, epoch BIGINT, unit_id VARCHAR, arm VARCHAR,
    variant VARCHAR, reason VARCHAR, bucket DOUBLE, flow_version BIGINT,
    entered_at TIMESTAMP, last_entered_at TIMESTAMP, entry_count BIGINT,
    source VARCHAR
);
CREATE TABLE conversions (
    conversion_id VARCHAR, unit_id VARCHAR, occurred_at TIMESTAMP,
    type VARCHAR, value DOUBLE, channel VARCHAR, coupon_code VARCHAR,
    ingested_at TIMESTAMP
);
CREATE TABLE covariates (unit_id VARCHAR, name VARCHAR, value DOUBLE);
CREATE TABLE customer_segments (
    unit_id VARCHAR, dimension VARCHAR, value VARCHAR
);
CREATE TABLE messages (
    message_id VARCHAR, flow_key VARCHAR, unit_id VARCHAR, sent_at TIMESTAMP,
    delivered_at TIMESTAMP, status VARCHAR, cost DOUBLE, coupon_code VARCHAR,
    ingested_at TIMESTAMP
);
"""

# The per-unit table tea-tasting analyses: same flow, epoch and window rule.
EXPERIMENT_SQL = f"""
CREATE TABLE experiment AS
SELECT e.arm AS variant,
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
"""


def warehouse_file(rows: int, folder: Path) -> Path:
    """The cached DuckDB file for ``rows`` entries, built when missing."""
    path = folder / f"results-v{FORMAT_VERSION}-{rows}.duckdb"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.partial-{os.getpid()}.duckdb")
    partial.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(partial)) as connection:
            connection.execute("SET enable_progress_bar = false")
            connection.execute(_SCHEMA)
            rng = np.random.default_rng(2026)
            for first in range(0, rows, CHUNK_ROWS):
                count = min(CHUNK_ROWS, rows - first)
                entries, conversions = _chunk(rng, first, count, rows)
                connection.register("entries_chunk", entries)
                connection.register("conversions_chunk", conversions)
                connection.execute("INSERT INTO entries SELECT * FROM entries_chunk")
                connection.execute(
                    "INSERT INTO conversions SELECT * FROM conversions_chunk"
                )
                connection.unregister("entries_chunk")
                connection.unregister("conversions_chunk")
            connection.execute(EXPERIMENT_SQL)
            connection.execute("CHECKPOINT")
        partial.rename(path)
    finally:
        partial.unlink(missing_ok=True)
        partial.with_name(partial.name + ".wal").unlink(missing_ok=True)
    return path


def _unit_ids(index: np.ndarray) -> pa.Array:
    numbers = (index * _ID_STEP) % _ID_SPACE + 10**12
    return pa.array(numbers, pa.int64()).cast(pa.string())


def _chunk(
    rng: np.random.Generator, first: int, count: int, rows: int
) -> tuple[pa.Table, pa.Table]:
    """Entries ``first .. first + count - 1`` and their units' conversions."""
    index = np.arange(first, first + count, dtype=np.int64)
    units = _unit_ids(index)
    start = int(STARTS.timestamp())
    span = DAYS * 86_400
    # In time order: each entry falls in its own slice of the 60 days.
    entered = (
        start + (index * span) // rows + rng.integers(0, max(span // rows, 1), count)
    )
    buckets = bucket_indices(FLOW_KEY, units.to_pylist())
    holdout = buckets < _HOLDOUT_BUCKETS
    arm = np.where(holdout, "holdout", "exposed")

    entered_at = pa.array(entered, pa.int64()).cast(pa.timestamp("s"))
    entries = pa.table(
        {
            "id": pa.array(index + 1),
            "flow_key": pa.array(np.full(count, FLOW_KEY)),
            "epoch": pa.array(np.ones(count, np.int64)),
            "unit_id": units,
            "arm": pa.array(arm),
            "variant": pa.nulls(count, pa.string()),
            "reason": pa.array(np.where(holdout, "flow_holdout", "outside_holdout")),
            "bucket": pa.array(buckets / 10_000),
            "flow_version": pa.array(np.ones(count, np.int64)),
            "entered_at": entered_at,
            "last_entered_at": entered_at,
            "entry_count": pa.array(np.ones(count, np.int64)),
            "source": pa.array(np.full(count, "api")),
        }
    )
    return entries, _conversions(rng, index, units, entered, holdout)


def _conversions(
    rng: np.random.Generator,
    index: np.ndarray,
    units: pa.Array,
    entered: np.ndarray,
    holdout: np.ndarray,
) -> pa.Table:
    count = len(index)
    rate = np.where(holdout, _RATES["holdout"], _RATES["exposed"])
    inside = rng.random(count) < rate
    twice = inside & (rng.random(count) < _SECOND_PURCHASE)
    parts = [
        # (which units, seconds after entry, type)
        (inside, rng.integers(0, _WINDOW, count), "purchase"),
        (twice, rng.integers(0, _WINDOW, count), "purchase"),
        (rng.random(count) < _PRE_SHARE, -rng.integers(1, _PRE_PERIOD, count),
         "purchase"),
        (rng.random(count) < _AFTER_SHARE,
         rng.integers(_WINDOW, _WINDOW + _PRE_PERIOD, count), "purchase"),
        (rng.random(count) < _SIGNUP_SHARE, rng.integers(0, _WINDOW, count),
         "signup"),
        (rng.random(count) < _EDGE_SHARE, np.zeros(count, np.int64), "purchase"),
        (rng.random(count) < _EDGE_SHARE, np.full(count, _WINDOW), "purchase"),
    ]  # fmt: skip
    rows = [np.flatnonzero(chosen) for chosen, _, _ in parts]
    which = np.concatenate(rows)
    occurred = np.concatenate(
        [entered[chosen] + offset[chosen] for chosen, offset, _ in parts]
    )
    types = np.concatenate(
        [np.full(len(chosen), kind) for chosen, (_, _, kind) in zip(rows, parts,
                                                                  strict=True)]
    )  # fmt: skip
    total = len(which)
    value = np.round(rng.lognormal(np.log(45.0), 0.8, total), 2)
    value[types == "signup"] = 0.0

    ids = np.char.add(f"cv{index[0]:012d}-", np.arange(total).astype(np.str_))
    occurred_at = pa.array(occurred, pa.int64()).cast(pa.timestamp("s"))
    return pa.table(
        {
            "conversion_id": pa.array(ids),
            "unit_id": units.take(pa.array(which)),
            "occurred_at": occurred_at,
            "type": pa.array(types),
            "value": pa.array(value),
            "channel": pa.nulls(total, pa.string()),
            "coupon_code": pa.nulls(total, pa.string()),
            "ingested_at": occurred_at,
        }
    )
