"""Aggregates over the eligible touches of each conversion.

:mod:`liftlab.attribution.paths` builds one row per conversion and eligible
touch in the warehouse; these expressions sum them per channel, flow and
campaign, and into time-decay credit, still in the warehouse.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from liftlab.attribution.settings import AttributionSettings

__all__ = ["DIMENSIONS", "decay_sums", "key_rows", "key_sums"]

DIMENSIONS = ("channel", "flow", "campaign")
LN2 = 0.6931471805599453


def key_rows(rows: ir.Table) -> ir.Table:
    """One row per conversion, dimension and key on its path."""
    parts = []
    for dimension in DIMENSIONS:
        if dimension == "channel":
            key = rows.channel
        elif dimension == "flow":
            key = (rows.channel == "sms").ifelse(rows.flow_key, None)
        else:
            key = rows.campaign
        part = rows.select(
            "conversion_id", "conversion_unit", "conversion_s", "conversion_value",
            "conversion_type", "touch_s", "kind", "final", "touches",
            dimension=ibis.literal(dimension, "string"), key=key,
        )  # fmt: skip
        parts.append(part.filter(part.key.notnull()))
    stacked = ibis.union(*parts)
    assist = ~stacked.final
    grouped = stacked.group_by(
        "conversion_id", "conversion_unit", "conversion_type", "dimension", "key"
    ).aggregate(
        value=stacked.conversion_value.max(),
        touches=stacked.touches.max(),
        assisted=assist.ifelse(1, 0).max(),
        click_assisted=(assist & (stacked.kind != "view")).ifelse(1, 0).max(),
        view_assisted=(assist & (stacked.kind == "view")).ifelse(1, 0).max(),
        last_touch=stacked.final.ifelse(1, 0).max(),
        lag_s=(stacked.conversion_s - stacked.touch_s).max(),
    )
    return grouped


def key_sums(per_key: ir.Table, groups: list[str]) -> ir.Table:
    return per_key.group_by(groups).aggregate(
        conversions=per_key.count(),
        value=per_key.value.sum(),
        assisted=per_key.assisted.sum(),
        assisted_value=(per_key.assisted * per_key.value).sum(),
        click_assisted=per_key.click_assisted.sum(),
        view_assisted=per_key.view_assisted.sum(),
        last_touch=per_key.last_touch.sum(),
        last_touch_value=(per_key.last_touch * per_key.value).sum(),
        lag_seconds=per_key.lag_s.sum(),
        path_touches=per_key.touches.sum(),
    )


def decay_sums(rows: ir.Table, settings: AttributionSettings) -> ir.Table:
    """Time-decay credit per state: each touch's weight ``2 ** (-lag / h)``
    over its conversion's total (the formula of
    :func:`liftlab.attribution.models.decay_weights`)."""
    if settings.collapse_repeats:
        rows = rows.filter(rows.kept)
    rate = LN2 / (settings.half_life_days * 86_400)
    weighted = rows.mutate(weight=(-(rows.lag_s.cast("float64")) * rate).exp())
    weighted = weighted.mutate(
        share=weighted.weight
        / weighted.weight.sum().over(ibis.window(group_by=weighted.conversion_id))
    )
    return weighted.group_by("state").aggregate(
        conversions=weighted.share.sum(),
        value=(weighted.share * weighted.conversion_value).sum(),
    )
