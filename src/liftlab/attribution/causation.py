"""Credit beside causation: a flow's attributed conversions next to the
incremental conversions its holdout measured.

Method. The attributed count ``A`` (assisted, or last-touch, conversions of
the flow's conversion type) is a count of events, treated as fixed. The
holdout's incremental conversions ``I`` come with a confidence interval
``[L, U]`` (Newcombe's hybrid score interval on the difference in rates,
times the exposed units; see :mod:`liftlab.results`). The
credit-to-causation ratio is ``A / I``, and its interval is the
incremental interval inverted: ``[A / U, A / L]``. It is therefore as wide
as the holdout is uncertain, and:

- when ``I <= 0`` the ratio is undefined (NaN), with the reason that the
  holdout shows no positive effect: any credit is credit without
  measured causation;
- when ``L <= 0 < I`` the ratio has a value and a lower bound ``A / U``,
  but no upper bound (``inf``), with the reason that the incremental
  interval includes zero.

A ratio of 1 means paths credit the flow with as many conversions as it
caused; 5 means five credited conversions per caused one. The verdict
compares ``A`` itself with ``[L, U]``.

Timing differs between the two numbers: assists count conversions with an
eligible SMS touch over the whole period of the touches, the lift counts
conversions within each entrant's conversion window. Both speak of the
same texts, which is why they are shown side by side; neither is a
correction of the other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from liftlab.attribution.types import AssistsReport, CreditVsCausation
from liftlab.results import FlowReport
from liftlab.stats import Estimate

__all__ = ["credit_ratio", "credit_vs_causation"]

NOT_POSITIVE = "the holdout shows no positive incremental conversions"
INCLUDES_ZERO = (
    "the incremental interval includes zero, so the ratio has no upper bound"
)


def credit_ratio(attributed: float, incremental: Estimate) -> Estimate:
    """``attributed / incremental`` with the inverted incremental interval."""
    if not incremental.defined:
        return Estimate.undefined(
            f"incremental conversions undefined ({incremental.reason})"
        )
    value, lower, upper = incremental.value, incremental.lower, incremental.upper
    if value <= 0:
        return Estimate.undefined(NOT_POSITIVE)
    point = attributed / value
    low = attributed / upper if math.isfinite(upper) and upper > 0 else 0.0
    if not lower > 0:
        return Estimate(point, low, math.inf, INCLUDES_ZERO)
    return Estimate(point, low, attributed / lower)


def _verdict(attributed: int, incremental: Estimate) -> str:
    if not incremental.defined or math.isnan(incremental.lower):
        return "undetermined"
    if attributed > incremental.upper:
        return "credit_exceeds_causation"
    if attributed < incremental.lower:
        return "credit_below_causation"
    return "consistent"


def _summary(row: dict[str, object], incremental: Estimate, verdict: str) -> str:
    flow, assisted, last = row["flow"], row["assisted"], row["last_touch"]
    credit = (
        f"{flow}: paths credit SMS with {assisted:,} assisted and {last:,} "
        f"last-touch {row['conversion_type']} conversions"
    )
    if not incremental.defined:
        return f"{credit}; the holdout's incremental conversions are undefined " + (
            f"({incremental.reason})"
        )
    measured = (
        f"the holdout measured {incremental.value:,.0f} incremental (95% CI "
        f"{incremental.lower:,.0f} to {incremental.upper:,.0f})"
    )
    ending = {
        "credit_exceeds_causation": "assisted credit exceeds what the texts caused",
        "credit_below_causation": "the texts caused more than paths credit them with",
        "consistent": "assisted credit is within what the texts caused",
        "undetermined": "the comparison is undetermined",
    }[verdict]
    return f"{credit}; {measured}: {ending}."


def credit_vs_causation(
    assists: AssistsReport, reports: Sequence[FlowReport]
) -> tuple[CreditVsCausation, ...]:
    """Per flow report, its path credit beside its incremental conversions.

    Args:
        assists: The assists report (from :func:`build_assists`).
        reports: Flow reports from :func:`liftlab.results.build_reports`;
            each flow's first exposed arm is compared.
    """
    rows = []
    for report in reports:
        flow, kind = report.flow, report.conversion_type
        figures = [
            item
            for item in assists.by_type
            if item.dimension == "flow"
            and item.key == flow
            and item.conversion_type == kind
        ]
        influenced = sum(item.conversions for item in figures)
        assisted = sum(item.assisted for item in figures)
        last = sum(item.last_touch for item in figures)
        state = f"sms:{flow}"
        credit = {
            model.model: model.credit().get(state, 0.0) for model in assists.models
        }
        incremental = report.primary.conversion.incremental_conversions
        verdict = _verdict(assisted, incremental)
        facts: dict[str, object] = {
            "flow": flow, "assisted": assisted, "last_touch": last,
            "conversion_type": kind,
        }  # fmt: skip
        rows.append(
            CreditVsCausation(
                flow=flow,
                conversion_type=kind,
                influenced=influenced,
                assisted=assisted,
                last_touch=last,
                model_credit=credit,
                incremental_conversions=incremental,
                assisted_ratio=credit_ratio(assisted, incremental),
                last_touch_ratio=credit_ratio(last, incremental),
                verdict=verdict,
                summary=_summary(facts, incremental, verdict),
            )
        )
    return tuple(rows)
