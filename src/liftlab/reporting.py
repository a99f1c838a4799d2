"""Reports as data: JSON-safe dictionaries and flat CSV rows.

The CLI, the API and the app render the same report objects; this module
turns them into plain data. A number that is undefined or unbounded becomes
null, and the reason next to it says why.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime
from enum import Enum
from typing import Any

import numpy as np

from liftlab.results import FlowReport, OverviewRow
from liftlab.stats import Estimate

__all__ = ["CSV_COLUMNS", "jsonable", "overview_rows", "report_rows"]

CSV_COLUMNS = ("flow", "variant", "metric", "value", "lower", "upper", "reason")


def jsonable(value: Any) -> Any:
    """Dataclasses, enums, dates and numbers as JSON-safe values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            item.name: jsonable(getattr(value, item.name))
            for item in dataclasses.fields(value)
        }
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return [jsonable(item) for item in value.tolist()]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _estimate_row(
    flow: str, variant: str, metric: str, estimate: Estimate
) -> dict[str, Any]:
    return {
        "flow": flow,
        "variant": variant,
        "metric": metric,
        "value": jsonable(estimate.value),
        "lower": jsonable(estimate.lower),
        "upper": jsonable(estimate.upper),
        "reason": estimate.reason or "",
    }


def report_rows(report: FlowReport) -> list[dict[str, Any]]:
    """One row per figure: flow, variant, metric, value, bounds, reason."""
    rows = []
    for arm in report.arms:
        rows.append(_estimate_row(report.flow, arm.arm, "conversion_rate", arm.rate))
        for metric, number in (
            ("units", arm.units),
            ("conversions", arm.conversions),
            ("revenue_per_recipient", arm.revenue_per_recipient),
        ):
            plain = Estimate(float(number), math.nan, math.nan)
            rows.append(_estimate_row(report.flow, arm.arm, metric, plain))
    for result in report.results:
        figures = {
            "absolute_lift": result.conversion.absolute_lift,
            "relative_lift": result.conversion.relative_lift,
            "incremental_conversions": result.conversion.incremental_conversions,
            "absolute_lift_cuped": result.conversion_cuped.absolute_lift,
            "revenue_per_recipient_lift": result.revenue.absolute_lift,
            "revenue_per_recipient_relative_lift": result.revenue.relative_lift,
            "incremental_revenue": result.revenue.incremental_total,
            "cost_per_incremental_conversion": result.cost_per_incremental_conversion,
            "incremental_return_on_spend": result.incremental_return_on_spend,
        }
        for metric, estimate in figures.items():
            rows.append(_estimate_row(report.flow, result.variant, metric, estimate))
        p_value = Estimate(float(result.conversion.p_value), math.nan, math.nan)
        rows.append(_estimate_row(report.flow, result.variant, "p_value", p_value))
    srm = Estimate(report.srm.flow.p_value, math.nan, math.nan, report.srm.flow.reason)
    rows.append(_estimate_row(report.flow, "", "srm_p_value", srm))
    return rows


def overview_rows(rows: list[OverviewRow]) -> list[dict[str, Any]]:
    """The overview as flat rows for a table or CSV."""
    flat = []
    for row in rows:
        flat.append(
            {
                "flow": row.flow,
                "relative_lift": jsonable(row.relative_lift.value),
                "relative_lift_lower": jsonable(row.relative_lift.lower),
                "relative_lift_upper": jsonable(row.relative_lift.upper),
                "incremental_conversions": jsonable(row.incremental_conversions.value),
                "incremental_conversions_lower": jsonable(
                    row.incremental_conversions.lower
                ),
                "incremental_conversions_upper": jsonable(
                    row.incremental_conversions.upper
                ),
                "incremental_revenue": jsonable(row.incremental_revenue.value),
                "p_value": jsonable(row.p_value),
                "adjusted_p_value": jsonable(row.adjusted_p_value),
                "significant": row.significant,
                "srm_mismatch": row.srm_mismatch,
            }
        )
    return flat
