"""The power preview: how long a holdout needs before a lift shows.

The sums are the planning functions' (``liftlab.stats.plan_sample_size``),
fed with what the flow has observed (entrants a day, the holdout's
conversion rate) when it has a report, and with the marketer's guesses
otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from liftlab.results import FlowReport
from liftlab.stats import SampleSizePlan, plan_sample_size

__all__ = ["Observed", "PowerPreview", "observed", "preview"]


@dataclass(frozen=True, slots=True)
class Observed:
    """What a flow has seen: entrants a day reaching its split, holdout rate."""

    daily_entries: float
    baseline_rate: float
    days: int


@dataclass(frozen=True, slots=True)
class PowerPreview:
    """A plan and the sentence that says it.

    Attributes:
        plan: The planning function's result, None when it could not plan.
        sentence: What the page shows.
        warning: The plan's warning (not reachable within a year), or why
            no plan could be made.
    """

    plan: SampleSizePlan | None
    sentence: str
    warning: str | None


def observed(report: FlowReport | None) -> Observed | None:
    """Entrants a day and the holdout rate of a flow's report, if usable."""
    if report is None or not report.daily:
        return None
    first, last = report.daily[0], report.daily[-1]
    days = (last.day - first.day).days + 1
    entrants = last.units_exposed + last.units_holdout
    rate = report.arms[0].rate.value
    if entrants <= 0 or not 0 < rate < 1:
        return None
    return Observed(entrants / days, rate, days)


def preview(
    *,
    holdout_percent: float,
    lift: float,
    daily_entries: float,
    baseline_rate: float,
    source: str,
) -> PowerPreview:
    """Days to detect ``lift`` at a holdout, with 80% power at alpha 0.05.

    Args:
        holdout_percent: The holdout in percent.
        lift: The relative lift worth detecting, e.g. 0.10.
        daily_entries: Entrants a day reaching the flow's split.
        baseline_rate: The conversion rate without texts.
        source: Where the two figures come from, for the sentence.
    """
    try:
        plan = plan_sample_size(
            baseline_rate=baseline_rate,
            minimum_relative_lift=lift,
            holdout_percent=holdout_percent,
            daily_entries=daily_entries,
        )
    except ValueError as error:
        return PowerPreview(None, "", f"no power preview: {error}")
    sentence = (
        f"At a {holdout_percent:g}% holdout a {lift:.0%} lift is detectable in "
        f"about {plan.days:,} days (80% power: {plan.units_total:,} entrants, "
        f"{plan.units_holdout:,} held out), at {daily_entries:,.0f} entries a day "
        f"and a {baseline_rate:.1%} conversion rate {source}."
    )
    return PowerPreview(plan, sentence, plan.warning)
