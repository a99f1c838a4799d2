"""Conversion paths built where the data lives.

Backend-neutral Ibis expressions put every conversion beside its unit's
eligible touches (one range join) and aggregate them where the data lives
(SQLite, PostgreSQL, DuckDB, Parquet): two queries, nothing written to a
table. Only aggregates reach Python: the path table (read in batches and
kept only as the models' codes), counts per channel, flow and campaign,
histograms and time-decay sums.

In DuckDB a journey's path is a sorted list of integers, each a touch's
time, tie and state token packed together (``STATE_BITS``): sorting plain
integers per conversion costs a fraction of sorting rows or lists of
strings, repeats collapse inside the list, and only the distinct lists
become strings. The other backends join the states in time order with an
ordered aggregate (PostgreSQL) or a window (SQLite); the tests hold all of
them to the same paths.

Eligibility of a touch for a conversion of the same unit, in whole seconds:

- it happened at or before the conversion (``touch <= conversion``: a touch
  at the same second counts) and at most the lookback before it;
- an SMS ``view`` (a delivery) at most the view window before it, any other
  SMS touch (a click) at most the click window before it. The windows are
  the flow's (``flows.view_window_hours``, ``flows.click_window_hours``),
  found from the touch's ``flow_key``; a touch without a known flow takes
  the settings' defaults (24 and 120 hours).

Every bound is inclusive: a touch exactly one window (or one lookback)
before the conversion is eligible, one second earlier is not. A touch can
be on the paths of several conversions of its unit.

A conversion whose ``coupon_code`` is a message's coupon code adds an SMS
click of that message's flow at the conversion's own time (an offline
redemption), ordered after any other touch of that second, so it is the
last touch. Touches of one second are ordered by state, then by id, so
that a path depends only on when each state was touched.

A state is the touch's channel, or ``sms:<flow>`` for an SMS touch with a
flow when SMS is split by flow. With ``collapse_repeats`` consecutive
touches of one state count once in the model's paths.

Non-converting paths (the nulls Markov and Shapley read): per unit, its
touches after its last conversion (all of them if it never converted) and
at most one lookback before its last touch, the span a conversion at that
last touch would have looked back on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from ibis import _

from liftlab.attribution.aggregates import (
    LN2,
    STATE,
    decay_sums,
    key_rows,
    key_sums,
)
from liftlab.attribution.models import SEPARATOR, Paths
from liftlab.attribution.parts import SUMS, split_parts, stack
from liftlab.attribution.settings import AttributionSettings
from liftlab.attribution.touches import (
    conversions_table,
    seconds,
    table,
    text,
    touches_table,
)
from liftlab.warehouse import Warehouse

__all__ = ["LAG_BUCKETS", "PathFrames", "path_frames"]

logger = logging.getLogger(__name__)

# Time-lag histogram buckets, in whole days (the last one is "30 or more").
LAG_BUCKETS = 30
LENGTH_BUCKETS = 12
# Backends whose aggregates take an ORDER BY (string_agg, listagg).
ORDERED_AGGREGATES = ("duckdb", "postgres")
# A touch's ``step`` on its journey: its seconds after the journey's
# earliest possible second (at most the 90-day lookback), doubled, plus its
# tie; below 10**ORDER_DIGITS. In DuckDB ``step * 2**STATE_BITS + token``
# (the state's rank by name) sorts by time, tie and state as one integer,
# for up to 2**STATE_BITS - 1 states (distinct channels and SMS flows).
STATE_BITS = 20
ORDER_DIGITS = 9
# Between a touch's state and id in its order string: below every
# character, so that a state sorts before the states it is a prefix of.
STATE_END = "\x01"
# The parts the assists query of :func:`aggregates_queries` stacks.
PARTS = {"assists": ("keys", "lags", "decay", "lengths", "totals")}
# Rows of the path query read at a time: a few hundred thousand touches,
# coded for the models batch by batch so that no string column of the
# whole path table is ever held.
PATH_BATCH_ROWS = 65_536
# The columns of the leading paths (the report's top paths).
TOP_COLUMNS = {
    "path": pa.string(),
    "conversions": pa.float64(),
    "value": pa.float64(),
    "nulls": pa.float64(),
}


@dataclass(frozen=True, slots=True)
class PathFrames:
    """Every aggregate the assist metrics and the models read.

    Attributes:
        paths: The path table, coded for the models: one row per distinct
            path (converting or not) with its conversions, value and nulls,
            by conversions (most first), then path.
        top_paths: ``path, conversions, value, nulls`` of the converting
            paths with most conversions (``settings.top_paths`` of them).
        keys: Per ``dimension`` (channel, flow, campaign), ``key`` and
            conversion ``type``: ``conversions`` with the key on the path,
            ``value``, ``assisted``, ``assisted_value``, ``click_assisted``,
            ``view_assisted``, ``last_touch``, ``last_touch_value``,
            ``lag_seconds`` (summed, from the key's first touch) and
            ``path_touches`` (summed path lengths).
        segments: The same per ``segment_dimension`` and ``segment``.
        lags: ``dimension, key, days, conversions``: the time lag from
            the key's first touch, in whole days (30 means 30 or more).
        lengths: ``touches, conversions``: path lengths (12 means 12+).
        decay: ``state, conversions, value``: time-decay credit.
        totals: ``conversions, value`` of every conversion considered, and
            ``with_path`` (those with an eligible touch).

    ``keys``, ``segments``, ``lags``, ``lengths`` and ``decay`` are ordered
    by their leading columns, so that every backend gives the same frames.
    """

    paths: Paths
    top_paths: pd.DataFrame
    keys: pd.DataFrame
    segments: pd.DataFrame
    lags: pd.DataFrame
    lengths: pd.DataFrame
    decay: pd.DataFrame
    totals: dict[str, float]


def _with_kept(table: ir.Table, group: str) -> ir.Table:
    """``kept``: whether a touch starts a run of its state in its group,
    what ``collapse_repeats`` keeps. A window: the assist sums run it, and
    so do the paths everywhere but DuckDB, which collapses runs inside each
    journey's list."""
    order = [table.step, table.state, table.touch_id]
    window = ibis.window(group_by=table[group], order_by=order)
    previous = table.state.lag().over(window)
    return table.mutate(kept=previous.isnull() | (previous != table.state))


def _states(warehouse: Warehouse, settings: AttributionSettings) -> ir.Table:
    """``state, token``: every state a touch can have, numbered from 1 in
    name order.

    Read from the distinct channels and flows of the raw tables rather than
    from :func:`touches_table`, which the warehouse would otherwise
    materialise whole to read twice; a flow's state with no touch yet only
    takes a number.
    """
    raw = table(warehouse, "touches")
    pairs = raw.select(channel=text(raw.channel), flow=text(raw.flow_key)).distinct()
    # Coupon redemptions are SMS clicks of their message's flow.
    messages = table(warehouse, "messages")
    coupons = messages.filter(messages.coupon_code.notnull())
    every = pairs.union(
        coupons.select(channel=ibis.literal("sms", "string"), flow=text(_.flow_key))
    )
    state = every.channel
    if settings.split_sms_by_flow:
        sms = (every.channel == "sms") & every.flow.notnull()
        state = sms.ifelse("sms:" + every.flow, every.channel)
    states = every.select(state=state).distinct()
    return states.mutate(token=ibis.row_number().over(order_by=states.state) + 1)


def _path_groups(
    warehouse: Warehouse,
    rows: ir.Table,
    group: str,
    settings: AttributionSettings,
    value: str | None = None,
) -> ir.Table:
    """Journeys (one per ``group``) counted by path: ``path`` (states in
    time order, runs collapsed with ``collapse_repeats``), ``journeys``
    and, with ``value``, the sum of each journey's largest ``value``.

    DuckDB sorts each journey's list of ``step`` and token integers and
    counts the journeys by their list of tokens; only the distinct lists
    are turned into strings. Elsewhere each journey's states are joined
    into a string in time order: PostgreSQL orders the aggregate, SQLite
    (no ordered aggregates) orders a window over the journey.
    """
    extra = {"value": rows[value].max()} if value else {}
    sums = {"value": _.value.sum()} if value else {}
    if warehouse.backend.name == "duckdb":
        span = 2**STATE_BITS
        states = _states(warehouse, settings)
        rows = rows.join(states, "state")
        at = rows.step * span + rows.token
        tokens = at.collect().sort().map(lambda each: each % span)
        each = rows.group_by(group).aggregate(tokens=tokens, **extra)
        lists = each.group_by("tokens").aggregate(journeys=each.count(), **sums)
        kept = lists.tokens
        if settings.collapse_repeats:
            kept = kept.filter(lambda token, i: (i == 0) | (token != kept[i - 1]))
        names = states.aggregate(names=states.state.collect(order_by=states.token))
        named = lists.cross_join(names)
        path = kept.map(lambda token: named.names[token - 1]).join(SEPARATOR)
        return named.select("journeys", *extra, path=path)
    if settings.collapse_repeats:
        rows = _with_kept(rows, group)
    keep = rows.kept if settings.collapse_repeats else None
    order = [rows.step, rows.state, rows.touch_id]
    if warehouse.backend.name in ORDERED_AGGREGATES:
        path = rows.state.group_concat(SEPARATOR, where=keep, order_by=order)
        each = rows.group_by(group).aggregate(path=path, **extra)
    else:
        whole = ibis.window(group_by=rows[group], order_by=order, rows=(None, None))
        path = rows.state.group_concat(SEPARATOR, where=keep).over(whole)
        each = rows.mutate(path=path).group_by(group, "path").aggregate(**extra)
    return each.group_by("path").aggregate(journeys=each.count(), **sums)


def _eligible(warehouse: Warehouse, settings: AttributionSettings) -> ir.Table:
    """One row per conversion and eligible touch: one range join of the
    conversions to their unit's touches, with each touch's lag, its
    ``step`` and its ``order`` (a string that sorts by step, state and
    touch id)."""
    touches = touches_table(warehouse, settings)
    conversions = conversions_table(warehouse, settings)
    converted = conversions.select(
        conversion_id=conversions.conversion_id,
        conversion_unit=conversions.unit_id,
        conversion_s=seconds(conversions.occurred_at),
        conversion_value=conversions.value,
        conversion_type=conversions.type,
    )
    joined = converted.join(
        touches,
        [
            converted.conversion_unit == touches.unit_id,
            touches.touch_s <= converted.conversion_s,
            touches.touch_s >= converted.conversion_s - touches.reach,
        ],
    )
    earliest = joined.conversion_s - settings.lookback_seconds
    step = (joined.touch_s - earliest) * 2 + joined.tie
    rank = step.cast("string").lpad(ORDER_DIGITS, "0")
    return joined.mutate(
        step=step,
        lag_s=joined.conversion_s - joined.touch_s,
        order=rank + ":" + joined.state + STATE_END + joined.touch_id,
    )


def _weighted(rows: ir.Table, settings: AttributionSettings) -> ir.Table:
    """``kept`` (with ``collapse_repeats``), each touch's time-decay
    ``weight`` and the weight it adds to its conversion's total
    (``counted``: a collapsed repeat adds none)."""
    if settings.collapse_repeats:
        rows = _with_kept(rows, "conversion_id")
    rate = LN2 / (settings.half_life_days * 86_400)
    weight = (-(rows.lag_s.cast("float64")) * rate).exp()
    counted = rows.kept.ifelse(weight, 0.0) if settings.collapse_repeats else weight
    return rows.mutate(weight=weight, counted=counted)


def _path_table(warehouse: Warehouse, settings: AttributionSettings) -> ir.Table:
    """The path query: ``path, conversions, value, nulls``, the conversions
    counted by path merged with the non-converting journeys counted by
    path, one row per distinct path, by conversions (most first), then
    path (in PostgreSQL, by the database's collation)."""
    groups = _path_groups(
        warehouse,
        _eligible(warehouse, settings),
        "conversion_id",
        settings,
        "conversion_value",
    )
    nulls = _null_paths(warehouse, settings)
    zero = ibis.literal(0.0, "float64")
    both = ibis.union(
        groups.select(
            path=groups.path,
            conversions=groups.journeys.cast("float64"),
            value=groups.value.cast("float64"),
            nulls=zero,
        ),
        nulls.select(
            path=nulls.path,
            conversions=zero,
            value=zero,
            nulls=nulls.journeys.cast("float64"),
        ),
    )
    paths = both.group_by("path").aggregate(
        conversions=both.conversions.sum(),
        value=ibis.coalesce(both.value.sum(), zero),
        nulls=both.nulls.sum(),
    )
    return paths.order_by([ibis.desc("conversions"), "path"])


def _marked(
    warehouse: Warehouse, settings: AttributionSettings
) -> tuple[ir.Table, ir.Table]:
    """The eligible touches marked ``final`` (the conversion's last touch),
    with their conversion's ``touches`` and each touch's time-decay
    ``share``, by aggregates over each conversion's rows (no ordering);
    and those aggregates, one row per conversion with its ``touches``."""
    rows = _weighted(_eligible(warehouse, settings), settings)
    # Grouped and joined back rather than windowed: a hash aggregate and a
    # hash join cost far less than sorting every conversion's rows.
    each = rows.group_by(final_id=rows.conversion_id).aggregate(
        final_order=rows.order.max(),
        touches=rows.count(),
        total=rows.counted.sum(),
    )
    joined = rows.join(each, rows.conversion_id == each.final_id)
    marked = joined.mutate(
        final=joined.order == joined.final_order,
        share=joined.weight / joined.total,
    ).drop("final_id", "final_order", "total")
    return marked, each


def _keyed(
    warehouse: Warehouse, settings: AttributionSettings, *, segments: bool
) -> dict[str, ir.Table]:
    """Parts of the assists query: assist sums per key and conversion type,
    per segment, the time-lag and path-length histograms, the time-decay
    sums and the totals.

    Path lengths count each conversion's eligible touches, before any
    collapsing.
    """
    marked, each = _marked(warehouse, settings)
    per_key = key_rows(marked, settings)
    keys = per_key.filter(per_key.dimension != STATE)
    length = each.touches.clip(upper=LENGTH_BUCKETS).cast("int64")
    conversions = conversions_table(warehouse, settings)
    parts = {"keys": key_sums(keys, ["dimension", "key", "conversion_type"])}
    if segments:
        labels = table(warehouse, "customer_segments")
        segmented = keys.join(labels, keys.conversion_unit == labels.unit_id).select(
            keys, segment_dimension=labels.dimension, segment=labels.value
        )
        groups = ["segment_dimension", "segment", "dimension", "key"]
        parts["segments"] = key_sums(segmented, groups)
    days = (keys.lag_s // 86_400).clip(upper=LAG_BUCKETS).cast("int64")
    lags = keys.mutate(bucket=days).group_by(["dimension", "key", "bucket"])
    parts["lags"] = lags.aggregate(conversions=_.count())
    parts["decay"] = decay_sums(per_key)
    parts["lengths"] = (
        each.mutate(bucket=length).group_by("bucket").aggregate(conversions=_.count())
    )
    parts["totals"] = conversions.aggregate(
        conversions=conversions.count(), value=conversions.value.sum()
    )
    return parts


def _null_paths(warehouse: Warehouse, settings: AttributionSettings) -> ir.Table:
    """``path, journeys``: each unit's touches after its last
    conversion (all of them if it never converted) within one lookback of
    its last touch, one journey per unit, counted by path.

    A unit's last touch is found from the touches table itself: coupon
    clicks sit at conversion times, so they are never after the last
    conversion and never end a non-converting journey.
    """
    touches = touches_table(warehouse, settings)
    conversions = conversions_table(warehouse, settings)
    last = conversions.group_by(last_unit=conversions.unit_id).aggregate(
        last_s=seconds(conversions.occurred_at).max()
    )
    raw = table(warehouse, "touches")
    ends = raw.group_by(end_unit=text(raw.unit_id)).aggregate(
        end_s=seconds(raw.occurred_at).max()
    )
    spans = ends.left_join(last, ends.end_unit == last.last_unit)
    spans = spans.filter(spans.last_s.isnull() | (spans.end_s > spans.last_s))
    spans = spans.select(
        span_unit=spans.end_unit,
        after_s=spans.last_s,
        from_s=spans.end_s - settings.lookback_seconds,
    )
    joined = touches.join(spans, touches.unit_id == spans.span_unit)
    spanned = joined.filter(
        (joined.after_s.isnull() | (joined.touch_s > joined.after_s))
        & (joined.touch_s >= joined.from_s)
    )
    spanned = spanned.select(
        *touches.columns, step=(spanned.touch_s - spanned.from_s) * 2 + spanned.tie
    )
    return _path_groups(warehouse, spanned, "unit_id", settings)


def path_frames(
    warehouse: Warehouse,
    settings: AttributionSettings,
    *,
    segments: bool = True,
    timings: dict[str, float] | None = None,
) -> PathFrames:
    """Build the paths in the warehouse and read back their aggregates.

    Two queries, nothing written to a table. The path query joins the
    conversions to their unit's touches (one range join), counts the
    conversions by path (one sorted list or ordered aggregation per
    conversion) and merges them with the non-converting journeys counted
    by path; the assists query sums the same join per conversion and key,
    its parts stacked with ``UNION ALL``.

    The path table arrives by conversions (most first), then path, in
    batches of ``PATH_BATCH_ROWS`` rows, each coded for the models as it
    comes (:meth:`Paths.from_strings`): Python never holds the strings of
    the whole table, only its codes. The order makes every model's sums,
    and so its credit, the same on every run. The top paths are kept as
    the batches pass, ties by path compared as bytes on every backend (a
    PostgreSQL database may collate the paths otherwise). After each query
    the warehouse gives back what it freed (:meth:`Warehouse.release_memory`),
    so that what Python holds next does not come on top of it.

    Args:
        warehouse: Where the touches and conversions live.
        settings: Windows, lookback and path options.
        segments: Also sum the assists per customer segment.
        timings: When given, filled with seconds: ``assists`` and
            ``paths``, waiting on each query, and ``path_coding``, coding
            the path table's batches in Python and joining them.
    """
    queries = aggregates_queries(warehouse, settings, segments=segments)
    timings = {} if timings is None else timings

    start = time.perf_counter()
    parts = split_parts(queries["assists"].to_pyarrow(), PARTS["assists"])
    timings["assists"] = time.perf_counter() - start
    warehouse.release_memory()

    paths, top = _read_paths(warehouse, queries["paths"], settings.top_paths, timings)
    frames = _frames(paths, top, parts)
    # Arrow's allocator keeps what the batches freed; the models allocate
    # through NumPy and could not reuse it.
    del parts
    pa.default_memory_pool().release_unused()
    return frames


def aggregates_queries(
    warehouse: Warehouse, settings: AttributionSettings, *, segments: bool = True
) -> dict[str, ir.Table]:
    """The queries behind :func:`path_frames`: ``paths``, the path table by
    conversions (most first), then path, and ``assists``, its parts
    stacked (sums per key and segment, time-lag and path-length histograms,
    time-decay sums, totals)."""
    return {
        "paths": _path_table(warehouse, settings),
        "assists": stack(_keyed(warehouse, settings, segments=segments)),
    }


def _floats(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A number column as a NumPy array, 0.0 where the warehouse returned
    null."""
    return pc.fill_null(column, 0.0).to_numpy(zero_copy_only=False)


def _read_paths(
    warehouse: Warehouse, query: ir.Table, top: int, timings: dict[str, float]
) -> tuple[Paths, pa.Table]:
    """The path table's batches read one by one: the table coded for the
    models, and its ``top`` converting rows with most conversions, ties by
    path (``path, conversions, value, nulls``)."""
    blocks: list[Paths] = []
    leaders = pa.schema(TOP_COLUMNS).empty_table()
    coding = 0.0
    start = time.perf_counter()
    for batch in warehouse.batches(query, PATH_BATCH_ROWS):
        tick = time.perf_counter()
        if batch.num_rows:
            blocks.append(
                Paths.from_strings(
                    batch["path"],
                    _floats(batch["conversions"]),
                    value=_floats(batch["value"]),
                    nulls=_floats(batch["nulls"]),
                )
            )
        leaders = _leading(leaders, batch, top)
        coding += time.perf_counter() - tick
    timings["paths"] = time.perf_counter() - start - coding
    warehouse.release_memory()
    tick = time.perf_counter()
    paths = Paths.concatenate(blocks)
    timings["path_coding"] = coding + time.perf_counter() - tick
    return paths, leaders


def _leading(leaders: pa.Table, batch: pa.RecordBatch, count: int) -> pa.Table:
    """The ``count`` converting rows of ``leaders`` and ``batch`` with most
    conversions, ties by path.

    The batches come by conversions, most first, so once there are
    ``count`` leaders only a batch's rows that tie with the last one are
    compared, and of those only the ``count`` first by path.
    """
    if count == 0:
        return leaders
    rows = pa.Table.from_batches([batch]).select(list(TOP_COLUMNS))
    conversions = rows["conversions"]
    wanted = pc.greater(conversions, 0.0)
    if len(leaders) == count:
        floor = leaders["conversions"][count - 1]
        wanted = pc.and_(wanted, pc.greater_equal(conversions, floor))
    rows = rows.filter(wanted)
    if rows.num_rows == 0:
        return leaders
    order = [("conversions", "descending"), ("path", "ascending")]
    if rows.num_rows > count:
        rows = rows.take(pc.select_k_unstable(rows, count, sort_keys=order))
    both = pa.concat_tables([leaders, rows.cast(leaders.schema)])
    return both.take(pc.sort_indices(both, sort_keys=order)[:count])


def _frames(paths: Paths, top: pa.Table, result: dict[str, pa.Table]) -> PathFrames:
    """The coded path table, its leading rows and the assists query's
    parts as :class:`PathFrames`."""
    total = result["totals"]
    totals = {
        "conversions": pc.sum(total["conversions"]).as_py() or 0.0,
        "value": pc.sum(total["value"]).as_py() or 0.0,
        "with_path": paths.total_conversions,
    }
    logger.info(
        "paths: %d distinct, %d conversions on a path of %d",
        len(paths.lengths), totals["with_path"], totals["conversions"],
    )  # fmt: skip
    keys = ["dimension", "key", "conversion_type"]
    segments = ["segment_dimension", "segment", "dimension", "key"]
    lags = ["dimension", "key", "bucket"]
    return PathFrames(
        paths=paths,
        top_paths=top.to_pandas(),
        keys=_ordered(result["keys"], keys, SUMS),
        segments=_ordered(result["segments"], segments, SUMS)
        if "segments" in result
        else pd.DataFrame(),
        lags=_ordered(
            result["lags"],
            lags,
            ["conversions"],
            names=["dimension", "key", "days", "conversions"],
        ),
        lengths=_ordered(
            result["lengths"],
            ["bucket"],
            ["conversions"],
            names=["touches", "conversions"],
        ),
        decay=_ordered(
            result["decay"],
            ["key"],
            ["conversions", "value"],
            names=["state", "conversions", "value"],
        ),
        totals=totals,
    )


def _ordered(
    part: pa.Table,
    by: Sequence[str],
    rest: Sequence[str],
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Columns ``by`` then ``rest`` of one part of the assists query,
    ordered by ``by`` (a database returns groups in no set order) and
    renamed to ``names``."""
    columns = [*by, *rest]
    ordered = part.select(columns).sort_by([(column, "ascending") for column in by])
    return ordered.rename_columns(list(names or columns)).to_pandas()
