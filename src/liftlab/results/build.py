"""Building flow reports from warehouse statistics and the stats package."""

from __future__ import annotations

import logging
import math
from datetime import datetime

import numpy as np
import pandas as pd
from sqlmodel import Session

from liftlab.results.sections import (
    daily_lift,
    guardrails,
    heterogeneity,
    sample_ratio_check,
    segment_lifts,
)
from liftlab.results.types import (
    ArmSummary,
    FlowReport,
    OverviewRow,
    ReportError,
    VariantResult,
)
from liftlab.stats import (
    Estimate,
    adjust_p_values,
    compare_means,
    compare_means_cuped,
    compare_rates,
    wilson_interval,
)
from liftlab.store.flows import flow_history
from liftlab.store.tables import Flow
from liftlab.warehouse import PRE_PERIOD, Warehouse

__all__ = ["build_reports", "overview"]

logger = logging.getLogger(__name__)

MIN_UNITS_PER_ARM = 2


def build_reports(
    warehouse: Warehouse,
    session: Session,
    flows: list[Flow],
    *,
    as_of: datetime | None = None,
    alpha: float = 0.05,
    covariate: str = PRE_PERIOD,
) -> list[FlowReport]:
    """Reports for flows, with one warehouse pass for all of them.

    Raises:
        ReportError: A flow has no entries, or no units in an arm.
    """
    keys = [flow.key for flow in flows]
    stats = warehouse.flow_statistics(keys, as_of=as_of, covariate=covariate)
    if warehouse.has_segments():
        segments = warehouse.flow_statistics(
            keys, as_of=stats.as_of, covariate=covariate, by_segment=True
        )
        segment_table = segments.table
    else:
        segment_table = stats.table.iloc[0:0].assign(dimension="", segment="")
    messages = warehouse.message_statistics(keys)
    reports = []
    for flow in flows:
        rows = stats.table[stats.table["flow_key"] == flow.key]
        segment_rows = segment_table[segment_table["flow_key"] == flow.key]
        percents = _percent_by_version(session, flow)
        reports.append(
            _report(
                flow,
                rows,
                segment_rows,
                messages,
                percents,
                stats.as_of,
                covariate,
                alpha,
            )
        )
    return reports


def _percent_by_version(session: Session, flow: Flow) -> dict[int, float]:
    percents = {flow.version: flow.holdout_percent}
    for change in flow_history(session, flow.key):
        after = change.after or {}
        if "version" in after and "holdout_percent" in after:
            percents[int(after["version"])] = float(after["holdout_percent"])
    return percents


def _report(
    flow: Flow,
    rows: pd.DataFrame,
    segment_rows: pd.DataFrame,
    messages: pd.DataFrame,
    percents: dict[int, float],
    as_of: datetime,
    covariate: str,
    alpha: float,
) -> FlowReport:
    if rows.empty:
        raise ReportError(
            f"flow '{flow.key}': no entries in epoch {flow.epoch}; assign units "
            "through the API or import entries first"
        )
    compared = rows[rows["reason"] != "global_holdout"]
    holdout = compared[compared["arm"] == "holdout"]
    if holdout["units"].sum() < MIN_UNITS_PER_ARM:
        raise ReportError(
            f"flow '{flow.key}': the holdout has {int(holdout['units'].sum())} units "
            f"with a closed window; a comparison needs at least {MIN_UNITS_PER_ARM}"
        )
    exposed = compared[compared["arm"] == "exposed"]
    variants = sorted(exposed["variant"].fillna("exposed").unique())
    holdout_sums = _sums(holdout)
    arms = [_arm("holdout", holdout_sums, alpha)]
    results = []
    message_row = messages.loc[flow.key] if flow.key in messages.index else None
    for variant in variants:
        part = exposed[exposed["variant"].fillna("exposed") == variant]
        sums = _sums(part)
        arms.append(_arm(variant, sums, alpha))
        share = sums["units"] / max(exposed["units"].sum(), 1)
        results.append(
            _variant(variant, sums, holdout_sums, flow, message_row, share, alpha)
        )

    notes = []
    open_units = int(rows["open_units"].sum())
    if open_units:
        notes.append(
            f"{open_units:,} entrants are still inside their "
            f"{flow.window_hours:g}-hour window and are not counted yet"
        )
    return FlowReport(
        flow=flow.key,
        name=flow.name,
        conversion_type=flow.conversion_type or "",
        window_hours=float(flow.window_hours or 0),
        holdout_percent=flow.holdout_percent,
        epoch=flow.epoch,
        as_of=as_of,
        covariate=covariate,
        arms=tuple(arms),
        results=tuple(results),
        open_units=open_units,
        global_holdout_units=int(
            rows.loc[rows["reason"] == "global_holdout", "units"].sum()
        ),
        srm=sample_ratio_check(rows, percents, len(variants)),
        daily=daily_lift(compared, alpha),
        segments=segment_lifts(segment_rows, alpha),
        heterogeneity=heterogeneity(segment_rows),
        guardrails=guardrails(message_row, alpha),
        notes=tuple(notes),
    )


def _sums(rows: pd.DataFrame) -> dict[str, float]:
    return {
        name: float(rows[name].sum())
        for name in (
            "units",
            "converters",
            "value",
            "value_sq",
            "covariate",
            "covariate_sq",
            "converted_covariate",
            "value_covariate",
        )
    }


def _arm(name: str, sums: dict[str, float], alpha: float) -> ArmSummary:
    units = int(sums["units"])
    lower, upper = wilson_interval(n=units, x=sums["converters"], alpha=alpha)
    rate = sums["converters"] / units if units else math.nan
    return ArmSummary(
        arm=name,
        units=units,
        conversions=int(sums["converters"]),
        rate=Estimate(rate, float(lower), float(upper)),
        revenue=sums["value"],
        revenue_per_recipient=sums["value"] / units if units else math.nan,
    )


def _variant(
    variant: str,
    exposed: dict[str, float],
    holdout: dict[str, float],
    flow: Flow,
    message_row: pd.Series | None,
    share: float,
    alpha: float,
) -> VariantResult:
    conversion = compare_rates(
        n_exposed=exposed["units"],
        x_exposed=exposed["converters"],
        n_holdout=holdout["units"],
        x_holdout=holdout["converters"],
        alpha=alpha,
    )
    revenue = compare_means(
        n_exposed=exposed["units"],
        sum_exposed=exposed["value"],
        sum_sq_exposed=exposed["value_sq"],
        n_holdout=holdout["units"],
        sum_holdout=holdout["value"],
        sum_sq_holdout=holdout["value_sq"],
        alpha=alpha,
    )
    cuped = {
        metric: compare_means_cuped(
            n_exposed=exposed["units"],
            sum_exposed=exposed[total],
            sum_sq_exposed=exposed[square],
            sum_x_exposed=exposed["covariate"],
            sum_x_sq_exposed=exposed["covariate_sq"],
            sum_xy_exposed=exposed[cross],
            n_holdout=holdout["units"],
            sum_holdout=holdout[total],
            sum_sq_holdout=holdout[square],
            sum_x_holdout=holdout["covariate"],
            sum_x_sq_holdout=holdout["covariate_sq"],
            sum_xy_holdout=holdout[cross],
            alpha=alpha,
        )
        for metric, total, square, cross in (
            ("conversion", "converters", "converters", "converted_covariate"),
            ("revenue", "value", "value_sq", "value_covariate"),
        )
    }
    cost = _cost(flow, message_row, share)
    return VariantResult(
        variant=variant,
        conversion=conversion,
        conversion_cuped=cuped["conversion"],
        revenue=revenue,
        revenue_cuped=cuped["revenue"],
        cost=cost,
        cost_per_incremental_conversion=_per(cost, conversion.incremental_conversions),
        incremental_return_on_spend=_over(revenue.incremental_total, cost),
    )


def _cost(flow: Flow, message_row: pd.Series | None, share: float) -> float | None:
    """The texts' cost: recorded costs, else messages × cost per message."""
    if message_row is None:
        return None
    if message_row["costed"] == message_row["messages"] and message_row["messages"]:
        return float(message_row["cost"]) * share
    if flow.cost_per_message is not None:
        return float(message_row["messages"]) * flow.cost_per_message * share
    return None


def _per(cost: float | None, incremental: Estimate) -> Estimate:
    if cost is None:
        return Estimate.undefined("message cost unknown")
    if not incremental.defined or incremental.value <= 0:
        return Estimate.undefined("no positive incremental conversions")
    upper = cost / incremental.lower if incremental.lower > 0 else math.inf
    reason = None if math.isfinite(upper) else "incremental conversions may be zero"
    value, lower = cost / incremental.value, cost / incremental.upper
    return Estimate(float(value), float(lower), float(upper), reason)


def _over(incremental: Estimate, cost: float | None) -> Estimate:
    if cost is None or cost <= 0:
        return Estimate.undefined("message cost unknown")
    if not incremental.defined:
        return Estimate.undefined(incremental.reason or "undefined")
    return Estimate(
        float(incremental.value / cost),
        float(incremental.lower / cost),
        float(incremental.upper / cost),
    )


def overview(
    reports: list[FlowReport], *, method: str = "holm", alpha: float = 0.05
) -> list[OverviewRow]:
    """Every flow's primary result with p-values adjusted across flows."""
    p_values = np.array([report.primary.conversion.p_value for report in reports])
    adjusted = adjust_p_values(p_values, method=method) if len(reports) else []
    return [
        OverviewRow(
            flow=report.flow,
            relative_lift=report.primary.conversion.relative_lift,
            absolute_lift=report.primary.conversion.absolute_lift,
            incremental_conversions=report.primary.conversion.incremental_conversions,
            incremental_revenue=report.primary.revenue.incremental_total,
            p_value=float(report.primary.conversion.p_value),
            adjusted_p_value=float(adjusted[i]),
            significant=bool(adjusted[i] < alpha),
            srm_mismatch=report.srm.mismatch,
        )
        for i, report in enumerate(reports)
    ]
