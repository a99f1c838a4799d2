"""The report's typed, frozen result objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from liftlab.stats import (
    CupedComparison,
    Estimate,
    Heterogeneity,
    MeanComparison,
    RateComparison,
    SampleRatioCheck,
)

__all__ = [
    "ArmSummary",
    "DailyLift",
    "FlowReport",
    "Guardrail",
    "OverviewRow",
    "ReportError",
    "SegmentLift",
    "VariantResult",
]


class ReportError(ValueError):
    """A report cannot be made: an unknown flow, or no data to compare."""


@dataclass(frozen=True, slots=True)
class ArmSummary:
    """One arm or exposed variant: units, conversions, rates and revenue."""

    arm: str
    units: int
    conversions: int
    rate: Estimate
    revenue: float
    revenue_per_recipient: float


@dataclass(frozen=True, slots=True)
class VariantResult:
    """One exposed variant (or the exposed arm) against the holdout.

    Attributes:
        variant: ``exposed``, or the variant's name.
        conversion: Rates, absolute (Newcombe) and relative (Koopman) lift,
            incremental conversions, the p-value and the test used.
        conversion_cuped: The conversion lift adjusted for the covariate.
        revenue: Revenue per recipient (Welch; relative lift by the delta
            method) and incremental revenue.
        revenue_cuped: Revenue per recipient adjusted for the covariate.
        cost: Cost of the variant's texts, None when unknown.
        cost_per_incremental_conversion: Cost over incremental conversions,
            with the interval from the incremental conversions' bounds.
        incremental_return_on_spend: Incremental revenue over cost.
    """

    variant: str
    conversion: RateComparison
    conversion_cuped: CupedComparison
    revenue: MeanComparison
    revenue_cuped: CupedComparison
    cost: float | None
    cost_per_incremental_conversion: Estimate
    incremental_return_on_spend: Estimate


@dataclass(frozen=True, slots=True)
class DailyLift:
    """Cumulative lift up to a day of entry, with both kinds of interval."""

    day: date
    units_exposed: int
    units_holdout: int
    absolute_lift: float
    fixed_lower: float
    fixed_upper: float
    always_valid_lower: float
    always_valid_upper: float


@dataclass(frozen=True, slots=True)
class SegmentLift:
    """The conversion lift in one segment."""

    dimension: str
    segment: str
    units_exposed: int
    units_holdout: int
    conversion: RateComparison


@dataclass(frozen=True, slots=True)
class Guardrail:
    """A metric that must not get worse, e.g. the SMS opt-out rate."""

    name: str
    rate: Estimate
    units: int
    note: str


@dataclass(frozen=True, slots=True)
class FlowReport:
    """Everything known about one flow's lift.

    Attributes:
        flow: The flow key; ``name``, ``conversion_type``, ``window_hours``,
            ``holdout_percent`` and ``epoch`` as configured.
        as_of: Windows closed by this time are counted.
        covariate: What CUPED adjusts for.
        arms: The holdout first, then each exposed arm or variant.
        results: Each exposed arm or variant against the holdout.
        open_units: Entrants whose window is still open (not counted).
        global_holdout_units: Entrants in the global holdout (not compared).
        srm: The sample-ratio check against the configured split.
        daily: Cumulative lift by day of entry with the always-valid band.
        segments: The lift per segment; ``heterogeneity`` per dimension.
        guardrails: The SMS opt-out rate among texted units.
        notes: Caveats for the reader.
    """

    flow: str
    name: str
    conversion_type: str
    window_hours: float
    holdout_percent: float
    epoch: int
    as_of: datetime
    covariate: str
    arms: tuple[ArmSummary, ...]
    results: tuple[VariantResult, ...]
    open_units: int
    global_holdout_units: int
    srm: SampleRatioCheck
    daily: tuple[DailyLift, ...]
    segments: tuple[SegmentLift, ...]
    heterogeneity: dict[str, Heterogeneity]
    guardrails: tuple[Guardrail, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def primary(self) -> VariantResult:
        """The first exposed arm's result."""
        return self.results[0]


@dataclass(frozen=True, slots=True)
class OverviewRow:
    """One flow in the overview, with its p-value adjusted across flows."""

    flow: str
    relative_lift: Estimate
    absolute_lift: Estimate
    incremental_conversions: Estimate
    incremental_revenue: Estimate
    p_value: float
    adjusted_p_value: float
    significant: bool
    srm_mismatch: bool
