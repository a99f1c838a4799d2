"""Numbers and sentences as the pages show them, worded as the CLI words them.

Formatting only: every figure comes from a report object. An undefined
figure reads "undefined" with its reason, never as a number.
"""

from __future__ import annotations

import math

from liftlab.results import FlowReport, VariantResult
from liftlab.stats import Estimate

__all__ = [
    "count",
    "interval",
    "money",
    "number",
    "p_value",
    "percent",
    "ratio",
    "verdict",
]


def number(value: float, *, kind: str = "count") -> str:
    """One number: ``count`` (1,234), ``percent`` (12.3%), ``points``
    (+1.23), ``money`` (1,234.56), ``money_small`` (0.0123) or ``ratio``
    (1.23)."""
    if not math.isfinite(value):
        if math.isnan(value):
            return "undefined"
        return "∞" if value > 0 else "-∞"
    if kind == "percent":
        return f"{value:.1%}"
    if kind == "points":
        return f"{value * 100:+.2f}"
    if kind in ("money", "ratio"):
        return f"{value:,.2f}"
    if kind == "money_small":
        return f"{value:,.4f}"
    return f"{value:,.0f}"


def count(value: float) -> str:
    """A count with thousands separators."""
    return number(value)


def percent(value: float) -> str:
    """A share as a percent with one decimal."""
    return number(value, kind="percent")


def money(value: float) -> str:
    """An amount with two decimals."""
    return number(value, kind="money")


def interval(estimate: Estimate, *, kind: str = "count") -> str:
    """``value [lower, upper]``, or ``undefined (reason)``."""
    if not estimate.defined:
        return f"undefined ({estimate.reason})"
    unit = " pts" if kind == "points" else ""
    return (
        f"{number(estimate.value, kind=kind)}{unit} "
        f"[{number(estimate.lower, kind=kind)}, {number(estimate.upper, kind=kind)}]"
    )


def ratio(estimate: Estimate) -> str:
    """A ratio with its interval, ``3.10 [1.20, ∞]``; "undefined" (without
    the reason, which the page states elsewhere) when it has no value."""
    if not estimate.defined:
        return "undefined"
    return interval(estimate, kind="ratio")


def p_value(value: float) -> str:
    """A p-value with three significant digits."""
    return "undefined" if math.isnan(value) else f"{value:.3g}"


def verdict(
    report: FlowReport, result: VariantResult, *, assisted: float | None = None
) -> str:
    """The plain-language verdict on one exposed arm or variant.

    Args:
        report: The flow's report.
        result: The arm or variant against the holdout.
        assisted: Conversions the attribution engine credits the flow with;
            when given, the sentence sets them beside the caused ones.
    """
    incremental = result.conversion.incremental_conversions
    texted = next(arm.units for arm in report.arms if arm.arm == result.variant)
    what = (
        f"{report.conversion_type} conversions"
        if report.conversion_type
        else ("conversions")
    )
    if not incremental.defined:
        sentence = f"SMS's effect is undefined ({incremental.reason})"
    else:
        sentence = (
            f"SMS caused about {count(incremental.value)} extra {what} "
            f"(95% CI {count(incremental.lower)} to {count(incremental.upper)}) "
            f"among {count(texted)} texted units"
        )
    if assisted is not None:
        sentence += f"; assists credited it with {count(assisted)}"
    return sentence + "."
