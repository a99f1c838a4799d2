"""compare_rates, the score test and the exact-test fallback, with
simulated coverage and false-positive rates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats import proportion as sm_proportion

from liftlab.stats import (
    RateTest,
    Undefined,
    compare_rates,
    newcombe_interval,
    rate_p_value,
    score_test,
)

REPLICATIONS = 4_000


def test_compare_rates_combines_the_published_intervals() -> None:
    result = compare_rates(n_exposed=70, x_exposed=56, n_holdout=80, x_holdout=48)

    # Newcombe (1998), Table II, example (a), method 10.
    assert result.absolute_lift.value == pytest.approx(0.2)
    assert result.absolute_lift.lower == pytest.approx(0.0524, abs=1e-4)
    assert result.absolute_lift.upper == pytest.approx(0.3339, abs=1e-4)
    ref_low, ref_high = sm_proportion.confint_proportions_2indep(
        56, 70, 48, 80, compare="ratio", method="score", correction=False
    )
    assert result.relative_lift.value == pytest.approx(0.8 / 0.6 - 1)
    assert result.relative_lift.lower == pytest.approx(ref_low - 1, abs=1e-4)
    assert result.relative_lift.upper == pytest.approx(ref_high - 1, abs=1e-4)
    assert result.incremental_conversions.value == pytest.approx(0.2 * 70)
    assert result.incremental_conversions.lower == pytest.approx(
        result.absolute_lift.lower * 70
    )
    assert result.rate_exposed.value == pytest.approx(0.8)
    assert result.rate_exposed.lower < 0.8 < result.rate_exposed.upper
    assert result.test is RateTest.SCORE
    assert result.reason is None


def test_score_test_matches_statsmodels() -> None:
    rng = np.random.default_rng(11)
    n_e = rng.integers(50, 5_000, 40)
    n_h = rng.integers(20, 800, 40)
    x_e = rng.binomial(n_e, 0.08)
    x_h = rng.binomial(n_h, 0.06)

    z, p_value = score_test(n_exposed=n_e, x_exposed=x_e, n_holdout=n_h, x_holdout=x_h)

    for i in range(n_e.size):
        # statsmodels test_proportions_2indep(method="score",
        # correction=False) and proportions_ztest (pooled variance).
        reference = sm_proportion.test_proportions_2indep(
            x_e[i], n_e[i], x_h[i], n_h[i], method="score", correction=False
        )
        z_ref, p_ref = sm_proportion.proportions_ztest(
            [x_e[i], x_h[i]], [n_e[i], n_h[i]]
        )
        assert z[i] == pytest.approx(reference.statistic, rel=1e-9)
        assert p_value[i] == pytest.approx(reference.pvalue, rel=1e-9)
        assert p_value[i] == pytest.approx(p_ref, rel=1e-9)
        assert z[i] == pytest.approx(z_ref, rel=1e-9)


def test_score_test_squared_is_pearson_chi_square() -> None:
    table = np.array([[120, 880], [9, 91]])
    chi2, p_ref, _, _ = stats.chi2_contingency(table, correction=False)

    z, p_value = score_test(n_exposed=1_000, x_exposed=120, n_holdout=100, x_holdout=9)

    assert z**2 == pytest.approx(chi2, rel=1e-10)
    assert p_value == pytest.approx(p_ref, rel=1e-10)


def test_rate_p_value_uses_fisher_when_an_expected_cell_is_small() -> None:
    # Expected holdout conversions: 12 * 40 / 440 = 1.1 < 5.
    p_value, test = rate_p_value(n_exposed=400, x_exposed=11, n_holdout=40, x_holdout=1)
    reference = stats.fisher_exact([[11, 389], [1, 39]])

    assert test is RateTest.FISHER_EXACT
    assert p_value == pytest.approx(reference.pvalue, rel=1e-12)


def test_rate_p_value_uses_score_test_at_the_boundary() -> None:
    # Smallest expected cell exactly 5: 50 conversions, 100 of 1,000 held out.
    p_value, test = rate_p_value(
        n_exposed=900, x_exposed=45, n_holdout=100, x_holdout=5
    )
    _, p_ref = score_test(n_exposed=900, x_exposed=45, n_holdout=100, x_holdout=5)

    assert test is RateTest.SCORE
    assert p_value == pytest.approx(float(p_ref))
    assert (
        rate_p_value(n_exposed=900, x_exposed=44, n_holdout=100, x_holdout=4)[1]
        is RateTest.FISHER_EXACT
    )


def test_compare_rates_no_holdout_conversions_is_undefined_not_an_error() -> None:
    result = compare_rates(n_exposed=9_000, x_exposed=40, n_holdout=1_000, x_holdout=0)

    assert math.isnan(result.relative_lift.value)
    assert result.relative_lift.reason == "no holdout conversions"
    assert result.relative_lift.upper == math.inf
    assert 0 < result.relative_lift.lower + 1 < math.inf
    assert result.absolute_lift.value == pytest.approx(40 / 9_000)
    assert result.test is RateTest.FISHER_EXACT
    assert 0 < result.p_value <= 1


def test_compare_rates_without_any_conversion() -> None:
    result = compare_rates(n_exposed=500, x_exposed=0, n_holdout=50, x_holdout=0)

    assert result.relative_lift.reason is Undefined.NO_CONVERSIONS
    assert math.isnan(result.relative_lift.lower)
    assert result.absolute_lift.value == 0.0
    assert result.p_value == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("n_exposed", "n_holdout", "reason"),
    [(0, 50, "no exposed units"), (500, 0, "no holdout units")],
)
def test_compare_rates_with_an_empty_arm(
    n_exposed: int, n_holdout: int, reason: str
) -> None:
    result = compare_rates(
        n_exposed=n_exposed, x_exposed=0, n_holdout=n_holdout, x_holdout=0
    )

    assert result.reason == reason
    for estimate in (
        result.absolute_lift,
        result.relative_lift,
        result.incremental_conversions,
    ):
        assert math.isnan(estimate.value)
        assert estimate.reason == reason
    assert math.isnan(result.p_value)


def test_newcombe_interval_covers_the_true_lift_95_percent() -> None:
    # 4,000 seeded experiments with a 10% holdout: coverage must be within
    # 95% +/- 1.5% (its Monte Carlo standard error is about 0.35%).
    rng = np.random.default_rng(20260101)
    n_e, n_h, p_e, p_h = 3_600, 400, 0.066, 0.05
    x_e = rng.binomial(n_e, p_e, REPLICATIONS)
    x_h = rng.binomial(n_h, p_h, REPLICATIONS)

    low, high = newcombe_interval(
        n_exposed=n_e, x_exposed=x_e, n_holdout=n_h, x_holdout=x_h
    )
    coverage = np.mean((low <= p_e - p_h) & (p_e - p_h <= high))

    assert coverage == pytest.approx(0.95, abs=0.015)


def test_koopman_interval_covers_the_true_relative_lift_95_percent() -> None:
    rng = np.random.default_rng(7)
    n_e, n_h, p_e, p_h = 1_800, 200, 0.12, 0.10
    x_e = rng.binomial(n_e, p_e, 2_000)
    x_h = rng.binomial(n_h, p_h, 2_000)

    covered = [
        compare_rates(
            n_exposed=n_e, x_exposed=int(a), n_holdout=n_h, x_holdout=int(b)
        ).relative_lift
        for a, b in zip(x_e, x_h, strict=True)
    ]
    coverage = np.mean([e.lower <= p_e / p_h - 1 <= e.upper for e in covered])

    assert coverage == pytest.approx(0.95, abs=0.015)


def test_score_test_a_a_false_positive_rate_is_5_percent() -> None:
    rng = np.random.default_rng(99)
    n_e, n_h, rate = 9_000, 1_000, 0.04
    x_e = rng.binomial(n_e, rate, REPLICATIONS)
    x_h = rng.binomial(n_h, rate, REPLICATIONS)

    _, p_value = score_test(n_exposed=n_e, x_exposed=x_e, n_holdout=n_h, x_holdout=x_h)

    assert np.mean(p_value < 0.05) == pytest.approx(0.05, abs=0.015)
