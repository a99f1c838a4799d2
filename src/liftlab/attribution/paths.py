"""Conversion paths built where the data lives.

One backend-neutral Ibis expression puts every conversion beside its
unit's eligible touches; it runs in the store or the warehouse (SQLite,
PostgreSQL, DuckDB, Parquet) and is cached there as a temporary table for
the aggregates read from it. Only aggregates reach Python: the path table,
counts per channel, flow and campaign, histograms and time-decay sums.

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
last touch. Touches of one second are ordered by their id.

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
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlparse

import ibis
import ibis.expr.types as ir
import pandas as pd

from liftlab.attribution.aggregates import decay_sums, key_rows, key_sums
from liftlab.attribution.models import SEPARATOR
from liftlab.attribution.settings import AttributionSettings
from liftlab.warehouse import Warehouse, WarehouseError

__all__ = ["LAG_BUCKETS", "PathFrames", "path_frames"]

logger = logging.getLogger(__name__)

# Time-lag histogram buckets, in whole days (the last one is "30 or more").
LAG_BUCKETS = 30
LENGTH_BUCKETS = 12
# Backends whose aggregates take an ORDER BY (string_agg, listagg).
ORDERED_AGGREGATES = ("duckdb", "postgres")


@dataclass(frozen=True, slots=True)
class PathFrames:
    """Every aggregate the assist metrics and the models read.

    Attributes:
        paths: ``path, conversions, value, nulls``: the path table.
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
    """

    paths: pd.DataFrame
    keys: pd.DataFrame
    segments: pd.DataFrame
    lags: pd.DataFrame
    lengths: pd.DataFrame
    decay: pd.DataFrame
    totals: dict[str, float]


def _table(warehouse: Warehouse, name: str) -> ir.Table:
    """A table of the warehouse; a Parquet warehouse reads ``touches`` from
    its folder on first use, since the results engine does not need it."""
    try:
        return warehouse.table(name)
    except WarehouseError:
        if not warehouse.name.startswith("parquet:"):
            raise
        parsed = urlparse(warehouse.name.split("?", 1)[0])
        folder = "/" + (parsed.netloc + parsed.path).lstrip("/")
        try:
            return warehouse.backend.read_parquet(
                f"{folder}/{name}.parquet", table_name=name
            )
        except Exception as error:
            raise WarehouseError(
                f"warehouse {warehouse.name}: no {name}.parquet for attribution"
            ) from error


def _text(column: ir.Value) -> ir.StringValue:
    """A plain, nullable string, so that unions line up on every backend."""
    return column.cast(ibis.dtype("string"))


def _seconds(column: ir.TimestampValue) -> ir.IntegerValue:
    return column.epoch_seconds().cast("int64")


def _conversions(warehouse: Warehouse, settings: AttributionSettings) -> ir.Table:
    conversions = _table(warehouse, "conversions")
    if settings.conversion_types is not None:
        conversions = conversions.filter(
            conversions.type.isin(list(settings.conversion_types))
        )
    return conversions


def _touches(warehouse: Warehouse, settings: AttributionSettings) -> ir.Table:
    """Every touch, coupon redemptions included, with its state and the
    longest it stays eligible (``reach``, seconds)."""
    touches = _table(warehouse, "touches")
    plain = touches.select(
        unit_id=_text(touches.unit_id),
        touch_s=_seconds(touches.occurred_at),
        tie=ibis.literal(0, "int64"),
        touch_id=_text(touches.touch_id),
        channel=_text(touches.channel),
        kind=_text(touches.kind),
        flow_key=_text(touches.flow_key),
        campaign=_text(touches.campaign),
    )

    messages = _table(warehouse, "messages")
    coded = messages.filter(messages.coupon_code.notnull())
    codes = coded.group_by(code=coded.coupon_code).aggregate(
        coupon_flow=coded.flow_key.max()
    )
    conversions = _conversions(warehouse, settings)
    redeemed = conversions.join(codes, conversions.coupon_code == codes.code)
    coupons = redeemed.select(
        unit_id=_text(redeemed.unit_id),
        touch_s=_seconds(redeemed.occurred_at),
        tie=ibis.literal(1, "int64"),
        touch_id=_text(redeemed.conversion_id),
        channel=ibis.literal("sms", "string"),
        kind=ibis.literal("click", "string"),
        flow_key=_text(redeemed.coupon_flow),
        campaign=ibis.literal(None, "string"),
    )
    every = plain.union(coupons)

    flows = _table(warehouse, "flows")
    windows = flows.select(
        window_flow=flows.key,
        view_s=(flows.view_window_hours.cast("float64") * 3600).round().cast("int64"),
        click_s=(flows.click_window_hours.cast("float64") * 3600).round().cast("int64"),
    )
    joined = every.left_join(windows, every.flow_key == windows.window_flow)
    view_s = joined.view_s.fill_null(round(settings.view_window_hours * 3600))
    click_s = joined.click_s.fill_null(round(settings.click_window_hours * 3600))
    lookback = ibis.literal(settings.lookback_seconds, "int64")
    sms = joined.channel == "sms"
    reach = ibis.cases(
        (~sms, lookback),
        (joined.kind == "view", ibis.least(view_s, lookback)),
        else_=ibis.least(click_s, lookback),
    )
    if settings.split_sms_by_flow:
        state = (sms & joined.flow_key.notnull()).ifelse(
            "sms:" + joined.flow_key, joined.channel
        )
    else:
        state = joined.channel
    return joined.select(
        "unit_id", "touch_s", "tie", "touch_id", "channel", "kind", "flow_key",
        "campaign", state=state, reach=reach,
    )  # fmt: skip


def _ordered(table: ir.Table, group: str) -> ir.Table:
    """Each touch's position and its group's length, and whether it starts
    a run of its state (``kept``: what ``collapse_repeats`` keeps)."""
    order = [table.touch_s, table.tie, table.touch_id]
    window = ibis.window(group_by=table[group], order_by=order)
    table = table.mutate(
        position=ibis.row_number().over(window),
        touches=table.count().over(ibis.window(group_by=table[group])),
        previous=table.state.lag().over(window),
    )
    return table.mutate(kept=table.previous.isnull() | (table.previous != table.state))


def _path_strings(
    warehouse: Warehouse,
    rows: ir.Table,
    group: str,
    settings: AttributionSettings,
    **extra: ir.Value,
) -> ir.Table:
    """One row per group: its states joined in time order (``path``).

    DuckDB and PostgreSQL order the aggregate itself; elsewhere (SQLite
    has no ordered aggregates) a window over the whole group orders it,
    which is slower but gives the same strings.
    """
    keep = rows.kept if settings.collapse_repeats else None
    order = [rows.touch_s, rows.tie, rows.touch_id]
    if warehouse.backend.name in ORDERED_AGGREGATES:
        path = rows.state.group_concat(SEPARATOR, where=keep, order_by=order)
        return rows.group_by(group).aggregate(path=path, **extra)
    whole = ibis.window(group_by=rows[group], order_by=order, rows=(None, None))
    path = rows.state.group_concat(SEPARATOR, where=keep).over(whole)
    first = rows.mutate(path=path).filter(rows.position == 0)
    return first.group_by(group, "path").aggregate(**extra)


def _eligible(warehouse: Warehouse, settings: AttributionSettings) -> ir.Table:
    """One row per conversion and eligible touch, with the path facts."""
    touches = _touches(warehouse, settings)
    conversions = _conversions(warehouse, settings)
    converted = conversions.select(
        conversion_id=conversions.conversion_id,
        conversion_unit=conversions.unit_id,
        conversion_s=_seconds(conversions.occurred_at),
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
    rows = _ordered(joined, "conversion_id")
    return rows.mutate(
        final=rows.position == rows.touches - 1,
        lag_s=rows.conversion_s - rows.touch_s,
    )


def _null_paths(warehouse: Warehouse, settings: AttributionSettings) -> ir.Table:
    touches = _touches(warehouse, settings)
    conversions = _conversions(warehouse, settings)
    last = conversions.group_by(last_unit=conversions.unit_id).aggregate(
        last_s=_seconds(conversions.occurred_at).max()
    )
    joined = touches.left_join(last, touches.unit_id == last.last_unit)
    after = joined.filter(
        joined.last_s.isnull() | (joined.touch_s > joined.last_s)
    ).select(touches.columns)
    after = after.mutate(
        end_s=after.touch_s.max().over(ibis.window(group_by=after.unit_id))
    )
    after = after.filter(after.touch_s >= after.end_s - settings.lookback_seconds)
    rows = _ordered(after, "unit_id")
    journeys = _path_strings(warehouse, rows, "unit_id", settings)
    return journeys.group_by("path").aggregate(nulls=journeys.count())


@contextmanager
def _cached(warehouse: Warehouse, table: ir.Table) -> Iterator[ir.Table]:
    """``table`` as a temporary table of the warehouse, dropped on exit.

    Ibis's own ``cache()`` cannot drop its tables with the sqlglot this
    project locks, so the table is named and dropped here.
    """
    backend = warehouse.backend
    name = f"liftlab_paths_{uuid.uuid4().hex[:12]}"
    cached = backend.create_table(name, table, temp=True)
    try:
        yield cached
    finally:
        result = backend.raw_sql(f'DROP TABLE IF EXISTS "{name}"')
        # SQLite and PostgreSQL return a cursor to close; DuckDB returns
        # its connection, which must stay open.
        if "cursor" in type(result).__name__.lower():
            result.close()


def path_frames(
    warehouse: Warehouse, settings: AttributionSettings, *, segments: bool = True
) -> PathFrames:
    """Build the paths in the warehouse and read back their aggregates."""
    eligible = _eligible(warehouse, settings)
    with _cached(warehouse, eligible) as rows:
        finals = rows.filter(rows.final)
        journeys = _path_strings(
            warehouse, rows, "conversion_id", settings,
            value=rows.conversion_value.max(),
        )  # fmt: skip
        converting = (
            journeys.group_by("path")
            .aggregate(conversions=journeys.count(), value=journeys.value.sum())
            .to_pandas()
        )
        per_key = key_rows(rows)
        keys = key_sums(per_key, ["dimension", "key", "conversion_type"]).to_pandas()
        if segments:
            labels = _table(warehouse, "customer_segments")
            segmented = per_key.join(
                labels, per_key.conversion_unit == labels.unit_id
            ).select(per_key, segment_dimension=labels.dimension, segment=labels.value)
            segment_frame = key_sums(
                segmented, ["segment_dimension", "segment", "dimension", "key"]
            ).to_pandas()
        else:
            segment_frame = pd.DataFrame()
        bucketed = per_key.mutate(
            days=(per_key.lag_s // 86_400).clip(upper=LAG_BUCKETS).cast("int64")
        )
        lags = (
            bucketed.group_by(["dimension", "key", "days"])
            .aggregate(conversions=bucketed.count())
            .to_pandas()
        )
        lengths_expr = finals.mutate(
            length=finals.touches.clip(upper=LENGTH_BUCKETS).cast("int64")
        )
        lengths = (
            lengths_expr.group_by(touches="length")
            .aggregate(conversions=lengths_expr.count())
            .to_pandas()
        )
        decay = decay_sums(rows, settings).to_pandas()
    nulls = _null_paths(warehouse, settings).to_pandas()
    totals = _totals(warehouse, settings)
    paths = converting.merge(nulls, on="path", how="outer")
    paths = paths.fillna({"conversions": 0, "value": 0.0, "nulls": 0})
    for name in ("conversions", "value", "nulls"):
        paths[name] = paths[name].astype(float)
    totals["with_path"] = float(paths["conversions"].sum())
    logger.info(
        "paths: %d distinct, %d conversions on a path of %d",
        len(paths), totals["with_path"], totals["conversions"],
    )  # fmt: skip
    return PathFrames(
        paths=paths.sort_values(
            ["conversions", "path"], ascending=[False, True]
        ).reset_index(drop=True),
        keys=_numbers(keys),
        segments=_numbers(segment_frame),
        lags=_numbers(lags),
        lengths=_numbers(lengths),
        decay=_numbers(decay),
        totals=totals,
    )


def _totals(warehouse: Warehouse, settings: AttributionSettings) -> dict[str, float]:
    conversions = _conversions(warehouse, settings)
    frame = conversions.aggregate(
        conversions=conversions.count(), value=conversions.value.sum()
    ).to_pandas()
    return {
        "conversions": float(frame["conversions"].iloc[0]),
        "value": float(frame["value"].fillna(0.0).iloc[0]),
    }


def _numbers(frame: pd.DataFrame) -> pd.DataFrame:
    for name in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[name]):
            frame[name] = frame[name].astype(float)
    return frame
