"""The touches and conversions attribution reads, in whole seconds.

Every touch gets its ``state`` (channel, or ``sms:<flow>``) and ``reach``:
how long before a conversion it stays eligible (the lookback, or an SMS
flow's view or click window when shorter). A conversion that redeems a
message's coupon code adds an SMS click of that message's flow at its own
time, with ``tie = 1`` so it sorts after any other touch of that second.
"""

from __future__ import annotations

from urllib.parse import urlparse

import ibis
import ibis.expr.types as ir

from liftlab.attribution.settings import AttributionSettings
from liftlab.warehouse import Warehouse, WarehouseError

__all__ = ["conversions_table", "seconds", "table", "text", "touches_table"]


def table(warehouse: Warehouse, name: str) -> ir.Table:
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


def text(column: ir.Value) -> ir.StringValue:
    """A plain, nullable string, so that unions line up on every backend."""
    return column.cast(ibis.dtype("string"))


def seconds(column: ir.TimestampValue) -> ir.IntegerValue:
    return column.epoch_seconds().cast("int64")


def conversions_table(warehouse: Warehouse, settings: AttributionSettings) -> ir.Table:
    conversions = table(warehouse, "conversions")
    if settings.conversion_types is not None:
        conversions = conversions.filter(
            conversions.type.isin(list(settings.conversion_types))
        )
    return conversions


def touches_table(warehouse: Warehouse, settings: AttributionSettings) -> ir.Table:
    """Every touch, coupon redemptions included, with its state and the
    longest it stays eligible (``reach``, seconds)."""
    touches = table(warehouse, "touches")
    plain = touches.select(
        unit_id=text(touches.unit_id),
        touch_s=seconds(touches.occurred_at),
        tie=ibis.literal(0, "int64"),
        touch_id=text(touches.touch_id),
        channel=text(touches.channel),
        kind=text(touches.kind),
        flow_key=text(touches.flow_key),
        campaign=text(touches.campaign),
    )

    messages = table(warehouse, "messages")
    coded = messages.filter(messages.coupon_code.notnull())
    codes = coded.group_by(code=coded.coupon_code).aggregate(
        coupon_flow=coded.flow_key.max()
    )
    conversions = conversions_table(warehouse, settings)
    redeemed = conversions.join(codes, conversions.coupon_code == codes.code)
    coupons = redeemed.select(
        unit_id=text(redeemed.unit_id),
        touch_s=seconds(redeemed.occurred_at),
        tie=ibis.literal(1, "int64"),
        touch_id=text(redeemed.conversion_id),
        channel=ibis.literal("sms", "string"),
        kind=ibis.literal("click", "string"),
        flow_key=text(redeemed.coupon_flow),
        campaign=ibis.literal(None, "string"),
    )
    every = plain.union(coupons)

    flows = table(warehouse, "flows")
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
