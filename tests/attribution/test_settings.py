"""Bad options give one clear message naming the option and what it allows."""

from __future__ import annotations

import math

import pytest

from liftlab.attribution import AttributionError, AttributionSettings, credit_ratio
from liftlab.attribution.settings import check_model
from liftlab.stats import Estimate


@pytest.mark.parametrize("days", [0, 91, -5])
def test_lookback_outside_one_to_ninety_is_refused(days: int) -> None:
    with pytest.raises(AttributionError, match=r"lookback_days: must be from 1 to 90"):
        AttributionSettings(lookback_days=days)


def test_lookback_edges_are_allowed() -> None:
    assert AttributionSettings(lookback_days=1).lookback_seconds == 86_400
    assert AttributionSettings(lookback_days=90).lookback_days == 90


def test_unknown_model_names_the_models() -> None:
    with pytest.raises(
        AttributionError, match="unknown model 'ga4'; choose one of last"
    ):
        check_model("ga4")
    with pytest.raises(AttributionError, match="unknown model"):
        AttributionSettings(models=("markov", "magic"))


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"half_life_days": 0}, "half_life_days"),
        ({"view_window_hours": -1}, "view_window_hours"),
        ({"position_weights": (0.5, 0.5, 0.5)}, "position_weights"),
        ({"markov_order": 0}, "markov_order"),
    ],
)
def test_other_options_are_checked(options: dict, field: str) -> None:
    with pytest.raises(AttributionError, match=field):
        AttributionSettings(**options)


def test_credit_ratio_inverts_the_incremental_interval() -> None:
    ratio = credit_ratio(300, Estimate(100.0, 50.0, 150.0))

    assert (ratio.value, ratio.lower, ratio.upper) == (3.0, 2.0, 6.0)
    assert ratio.reason is None


def test_credit_ratio_is_unbounded_when_the_interval_includes_zero() -> None:
    ratio = credit_ratio(200, Estimate(4.0, -140.0, 124.0))

    assert ratio.value == 50.0
    assert ratio.lower == pytest.approx(200 / 124)
    assert math.isinf(ratio.upper)
    assert "includes zero" in (ratio.reason or "")


def test_credit_ratio_is_undefined_without_a_positive_effect() -> None:
    negative = credit_ratio(200, Estimate(-3.0, -50.0, 40.0))
    missing = credit_ratio(200, Estimate.undefined("no holdout units"))

    assert math.isnan(negative.value)
    assert "no positive" in (negative.reason or "")
    assert math.isnan(missing.value)
    assert "no holdout units" in (missing.reason or "")
