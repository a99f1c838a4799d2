"""Welch's t and the delta-method relative lift from sufficient statistics."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from scipy import stats
from statsmodels.stats._delta_method import NonlinearDeltaCov

from liftlab.stats import (
    MeanComparison,
    Undefined,
    compare_means,
    delta_method_relative_lift,
)


def _revenue(
    rng: np.random.Generator, n: int, buy_rate: float, scale: float
) -> npt.NDArray[np.float64]:
    """Revenue per recipient: mostly zeros, a skewed amount for buyers."""
    buys = rng.random(n) < buy_rate
    return np.where(buys, rng.lognormal(np.log(scale), 0.8, n), 0.0)


def _compare(
    exposed: npt.ArrayLike, holdout: npt.ArrayLike, **options: float
) -> MeanComparison:
    exposed = np.asarray(exposed, dtype=np.float64)
    holdout = np.asarray(holdout, dtype=np.float64)
    return compare_means(
        n_exposed=exposed.size,
        sum_exposed=exposed.sum(),
        sum_sq_exposed=(exposed**2).sum(),
        n_holdout=holdout.size,
        sum_holdout=holdout.sum(),
        sum_sq_holdout=(holdout**2).sum(),
        **options,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_compare_means_matches_scipy_welch_on_raw_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    exposed = _revenue(rng, 2_700, 0.06, 40.0)
    holdout = _revenue(rng, 300, 0.05, 38.0)

    result = _compare(exposed, holdout, alpha=0.1)
    # scipy.stats.ttest_ind(equal_var=False) on the raw observations.
    reference = stats.ttest_ind(exposed, holdout, equal_var=False)
    ref_low, ref_high = reference.confidence_interval(confidence_level=0.9)

    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-8)
    assert result.degrees_of_freedom == pytest.approx(reference.df, rel=1e-8)
    assert result.absolute_lift.lower == pytest.approx(ref_low, rel=1e-8)
    assert result.absolute_lift.upper == pytest.approx(ref_high, rel=1e-8)
    assert result.mean_exposed == pytest.approx(exposed.mean())
    assert result.incremental_total.value == pytest.approx(
        result.absolute_lift.value * exposed.size
    )


def test_delta_method_matches_statsmodels_numerical_delta_method() -> None:
    # statsmodels' NonlinearDeltaCov differentiates f(m_e, m_h) = m_e / m_h - 1
    # numerically; Deng, Knoblich & Lu (2018) give the same first-order
    # variance analytically.
    mean_e, se_e, mean_h, se_h = 3.1, 0.21, 2.6, 0.34
    reference = NonlinearDeltaCov(
        lambda p: np.array([p[0] / p[1] - 1]),
        np.array([mean_e, mean_h]),
        np.diag([se_e**2, se_h**2]),
    )
    ref_low, ref_high = reference.conf_int(alpha=0.05)[0]

    result = delta_method_relative_lift(
        mean_exposed=mean_e,
        standard_error_exposed=se_e,
        mean_holdout=mean_h,
        standard_error_holdout=se_h,
    )

    assert result.value == pytest.approx(float(reference.predicted()[0]))
    assert result.lower == pytest.approx(ref_low, abs=1e-6)
    assert result.upper == pytest.approx(ref_high, abs=1e-6)


def test_relative_interval_is_wider_than_the_divided_absolute_interval() -> None:
    rng = np.random.default_rng(5)
    result = _compare(_revenue(rng, 9_000, 0.07, 30), _revenue(rng, 1_000, 0.06, 30))

    naive = (result.absolute_lift.upper - result.absolute_lift.lower) / (
        result.mean_holdout
    )
    width = result.relative_lift.upper - result.relative_lift.lower

    assert width > 1.02 * naive


def test_relative_lift_interval_covers_95_percent() -> None:
    # 2,000 seeded experiments with revenue skewed like SMS orders.
    rng = np.random.default_rng(2024)
    true_lift = (0.075 * 40) / (0.06 * 40) - 1
    hits = 0
    for _ in range(2_000):
        result = _compare(
            _revenue(rng, 4_500, 0.075, 40), _revenue(rng, 1_500, 0.06, 40)
        )
        hits += result.relative_lift.lower <= true_lift <= result.relative_lift.upper

    assert hits / 2_000 == pytest.approx(0.95, abs=0.015)


def test_welch_a_a_false_positive_rate_is_5_percent() -> None:
    rng = np.random.default_rng(77)
    flagged = 0
    for _ in range(2_000):
        result = _compare(_revenue(rng, 2_000, 0.1, 25), _revenue(rng, 500, 0.1, 25))
        flagged += result.p_value < 0.05

    assert flagged / 2_000 == pytest.approx(0.05, abs=0.015)


def test_compare_means_undefined_cases_do_not_raise() -> None:
    empty = _compare([], [1.0, 2.0])
    lonely = _compare([4.0], [1.0, 2.0])
    flat = _compare([3.0, 3.0], [2.0, 2.0, 2.0])
    zero_holdout = _compare([3.0, 1.0], [0.0, 0.0])

    assert empty.reason is Undefined.NO_EXPOSED_UNITS
    assert math.isnan(empty.absolute_lift.value)
    assert lonely.reason == "fewer than two units in an arm"
    assert lonely.absolute_lift.value == pytest.approx(2.5)
    assert math.isnan(lonely.absolute_lift.lower)
    assert math.isnan(lonely.p_value)
    assert flat.reason is Undefined.NO_VARIANCE
    assert flat.relative_lift.value == pytest.approx(0.5)
    assert zero_holdout.relative_lift.reason == "holdout mean is zero"
    assert math.isnan(zero_holdout.relative_lift.value)
    assert zero_holdout.absolute_lift.defined


def test_compare_means_rejects_invalid_sums() -> None:
    with pytest.raises(ValueError, match="sum_sq_holdout must be a number >= 0"):
        compare_means(
            n_exposed=3,
            sum_exposed=1.0,
            sum_sq_exposed=1.0,
            n_holdout=3,
            sum_holdout=1.0,
            sum_sq_holdout=-1.0,
        )
    with pytest.raises(ValueError, match="n_exposed must be a whole number"):
        compare_means(
            n_exposed=2.5,
            sum_exposed=1.0,
            sum_sq_exposed=1.0,
            n_holdout=3,
            sum_holdout=1.0,
            sum_sq_holdout=1.0,
        )
