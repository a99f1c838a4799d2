"""Aggregates over the eligible touches of each conversion.

:mod:`liftlab.attribution.paths` builds one row per conversion and eligible
touch in the warehouse, marked ``final`` for the conversion's last touch and
with its time-decay ``share``; these expressions sum them per channel, flow
and campaign, and into time-decay credit, still in the warehouse.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from liftlab.attribution.settings import AttributionSettings

__all__ = ["DIMENSIONS", "LN2", "STATE", "decay_sums", "key_rows", "key_sums"]

DIMENSIONS = ("channel", "flow", "campaign")
LN2 = 0.6931471805599453
# The pseudo-dimension whose keys are the models' states (time decay only).
STATE = "state"


def key_rows(rows: ir.Table, settings: AttributionSettings) -> ir.Table:
    """One row per conversion, dimension and key on its path.

    Each touch meets a small table of the dimensions (a cross join), so the
    touches are read once for every dimension; the pseudo-dimension
    ``STATE`` carries each state's summed time-decay ``share``.
    """
    names = [*DIMENSIONS, STATE]
    dimensions = ibis.memtable({"dimension": names})
    crossed = rows.cross_join(dimensions)
    sms = crossed.channel == "sms"
    key = ibis.cases(
        (crossed.dimension == "channel", crossed.channel),
        (crossed.dimension == "flow", sms.ifelse(crossed.flow_key, None)),
        (crossed.dimension == "campaign", crossed.campaign),
        else_=crossed.state,
    )
    stacked = crossed.mutate(key=key)
    stacked = stacked.filter(stacked.key.notnull())
    assist = ~stacked.final
    share = stacked.share
    if settings.collapse_repeats:
        share = stacked.kept.ifelse(share, 0.0)
    # Time decay needs only the sums per state, so its rows are grouped
    # across conversions (a null conversion), not once per conversion.
    per = (stacked.dimension == STATE).ifelse(None, stacked.conversion_id)
    return stacked.group_by(
        conversion_id=per, dimension="dimension", key="key"
    ).aggregate(
        conversion_unit=stacked.conversion_unit.max(),
        conversion_type=stacked.conversion_type.max(),
        value=stacked.conversion_value.max(),
        touches=stacked.touches.max(),
        assisted=assist.ifelse(1, 0).max(),
        click_assisted=(assist & (stacked.kind != "view")).ifelse(1, 0).max(),
        view_assisted=(assist & (stacked.kind == "view")).ifelse(1, 0).max(),
        last_touch=stacked.final.ifelse(1, 0).max(),
        lag_s=(stacked.conversion_s - stacked.touch_s).max(),
        share=share.sum(),
        share_value=(share * stacked.conversion_value).sum(),
    )


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


def decay_sums(per_key: ir.Table) -> ir.Table:
    """Time-decay credit per state (``key``): each touch's ``share``, its
    weight ``2 ** (-lag / h)`` over its conversion's total (the formula of
    :func:`liftlab.attribution.models.decay_weights`), summed."""
    states = per_key.filter(per_key.dimension == STATE)
    return states.group_by("key").aggregate(
        conversions=states.share.sum(),
        value=states.share_value.sum(),
    )
