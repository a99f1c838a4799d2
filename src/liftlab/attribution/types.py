"""The attribution report's typed, frozen result objects."""

from __future__ import annotations

from dataclasses import dataclass

from liftlab.attribution.models import ModelCredit
from liftlab.attribution.settings import AttributionSettings
from liftlab.stats import Estimate

__all__ = [
    "AssistMetrics",
    "AssistsReport",
    "CreditVsCausation",
    "PathCount",
    "PathLength",
    "TimeLag",
]


@dataclass(frozen=True, slots=True)
class AssistMetrics:
    """Universal-Analytics-style assist figures of one channel, flow or
    campaign (optionally within one segment).

    Assisted and last-touch conversions overlap (a key can both assist and
    close a conversion), so they are never added together; ``conversions``
    counts each conversion with the key on its path once (for SMS: the
    SMS-influenced conversions).

    Attributes:
        dimension: ``channel``, ``flow`` or ``campaign``.
        key: The channel, flow key or campaign.
        conversion_type: The conversion type, or None for all types.
        segment_dimension: The segment's dimension (``lifecycle``...), or
            None outside a segment breakdown; ``segment`` its value.
        conversions: Conversions with the key anywhere on the path.
        value: Their value.
        assisted: Conversions with the key on the path before the final
            touch; ``assisted_value`` their value.
        click_assisted: Assisted by a click (or any touch that is not a
            view); ``view_assisted`` by a view (an SMS delivery).
        last_touch: Conversions whose final touch is the key;
            ``last_touch_value`` their value.
        assist_ratio: Assisted over last-touch conversions: near 0 for a
            closer, above 1 for an assister; NaN without last touches.
        mean_lag_days: Mean days from the key's first touch on the path to
            the conversion.
        mean_path_length: Mean touches on those conversions' paths.
    """

    dimension: str
    key: str
    conversion_type: str | None
    segment_dimension: str | None
    segment: str | None
    conversions: int
    value: float
    assisted: int
    assisted_value: float
    click_assisted: int
    view_assisted: int
    last_touch: int
    last_touch_value: float
    assist_ratio: float
    mean_lag_days: float
    mean_path_length: float


@dataclass(frozen=True, slots=True)
class PathCount:
    """One distinct path (states joined by `` > ``) and what followed it."""

    path: str
    conversions: int
    value: float
    nulls: int


@dataclass(frozen=True, slots=True)
class TimeLag:
    """Conversions ``days`` whole days after the key's first touch (the
    last bucket, 30, holds 30 days and more)."""

    dimension: str
    key: str
    days: int
    conversions: int


@dataclass(frozen=True, slots=True)
class PathLength:
    """Conversions whose path has ``touches`` touches (12 means 12+)."""

    touches: int
    conversions: int


@dataclass(frozen=True, slots=True)
class AssistsReport:
    """Paths, assist metrics and every model's credit, from one build.

    Attributes:
        settings: The settings the paths were built with.
        conversions: Conversions considered (of the chosen types).
        conversions_with_path: Those with at least one eligible touch; the
            rest have no path and no model credits them.
        value: Value of the conversions considered.
        distinct_paths: Distinct paths, converting or not.
        non_converting_journeys: Journeys that did not convert (nulls).
        metrics: Assist figures per channel, flow and campaign, all types.
        by_type: The same per conversion type.
        segments: The same per segment (all types).
        top_paths: The most converting paths.
        time_lag: Time-lag histograms per key.
        path_length: Path-length histogram.
        models: Each model's credit per state.
        notes: Caveats for the reader.
    """

    settings: AttributionSettings
    conversions: int
    conversions_with_path: int
    value: float
    distinct_paths: int
    non_converting_journeys: int
    metrics: tuple[AssistMetrics, ...]
    by_type: tuple[AssistMetrics, ...]
    segments: tuple[AssistMetrics, ...]
    top_paths: tuple[PathCount, ...]
    time_lag: tuple[TimeLag, ...]
    path_length: tuple[PathLength, ...]
    models: tuple[ModelCredit, ...]
    notes: tuple[str, ...] = ()

    def metric(self, dimension: str, key: str) -> AssistMetrics | None:
        """The all-types figures of one key, None when it is on no path."""
        for row in self.metrics:
            if row.dimension == dimension and row.key == key:
                return row
        return None

    def model(self, name: str) -> ModelCredit | None:
        """One model's credit, None when it was not run."""
        return next((item for item in self.models if item.model == name), None)


@dataclass(frozen=True, slots=True)
class CreditVsCausation:
    """What paths credit a flow with, beside what its holdout says it
    caused.

    Attributes:
        flow: The flow key; ``conversion_type`` the type its lift counts.
        influenced: Conversions of that type with the flow's SMS on the
            path; ``assisted`` before the final touch; ``last_touch`` as
            the final touch. Assisted and last-touch overlap.
        model_credit: Each model's credit to the flow's state
            (``sms:<flow>``), conversions of every type.
        incremental_conversions: The holdout's incremental conversions with
            their interval.
        assisted_ratio: Assisted over incremental conversions, with its
            interval (see :mod:`liftlab.attribution.causation`).
        last_touch_ratio: The same for last-touch conversions.
        verdict: ``credit_exceeds_causation`` when assisted conversions are
            above the incremental interval, ``consistent`` inside it,
            ``credit_below_causation`` below it, ``undetermined`` when the
            incremental conversions are undefined.
        summary: One sentence for a reader.
    """

    flow: str
    conversion_type: str
    influenced: int
    assisted: int
    last_touch: int
    model_credit: dict[str, float]
    incremental_conversions: Estimate
    assisted_ratio: Estimate
    last_touch_ratio: Estimate
    verdict: str
    summary: str
