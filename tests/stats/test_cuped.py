"""CUPED from sufficient statistics against least squares."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
import statsmodels.api as sm

from liftlab.stats import (
    CupedComparison,
    Undefined,
    compare_means,
    compare_means_cuped,
)


def _cuped(
    y: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    exposed: npt.NDArray[np.bool_],
) -> CupedComparison:
    sums = {}
    for arm, mask in (("exposed", exposed), ("holdout", ~exposed)):
        sums |= {
            f"n_{arm}": int(mask.sum()),
            f"sum_{arm}": y[mask].sum(),
            f"sum_sq_{arm}": (y[mask] ** 2).sum(),
            f"sum_x_{arm}": x[mask].sum(),
            f"sum_x_sq_{arm}": (x[mask] ** 2).sum(),
            f"sum_xy_{arm}": (x[mask] * y[mask]).sum(),
        }
    return compare_means_cuped(**sums)


def _revenue_with_history(
    rng: np.random.Generator, n: int, lift: float, holdout_share: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    exposed = rng.random(n) >= holdout_share
    loyal = rng.random(n) < 0.4
    x = np.where(loyal, rng.gamma(2.0, 15.0, n), 0.0)
    y = 0.5 * x + np.where(rng.random(n) < 0.3, rng.gamma(1.5, 10.0, n), 0.0)
    return y + lift * exposed, x, exposed


@pytest.mark.parametrize("seed", [3, 4])
def test_cuped_matches_ols_of_y_on_arm_and_covariate(seed: int) -> None:
    # statsmodels OLS of Y on [1, arm, X]: with theta pooled within arms the
    # arm coefficient equals the CUPED difference exactly; its HC1 robust
    # standard error agrees with the per-arm CUPED variance within 1%.
    rng = np.random.default_rng(seed)
    y, x, exposed = _revenue_with_history(rng, 6_000, 1.5, 0.1)

    result = _cuped(y, x, exposed)
    design = sm.add_constant(np.column_stack([exposed.astype(float), x]))
    fit = sm.OLS(y, design).fit(cov_type="HC1")

    assert result.absolute_lift.value == pytest.approx(fit.params[1], rel=1e-9)
    assert result.theta == pytest.approx(fit.params[2], rel=1e-9)
    assert result.standard_error == pytest.approx(fit.bse[1], rel=0.01)


def test_cuped_variance_reduction_is_about_the_squared_correlation() -> None:
    rng = np.random.default_rng(8)
    y, x, exposed = _revenue_with_history(rng, 20_000, 0.0, 0.5)

    result = _cuped(y, x, exposed)
    correlation = np.corrcoef(y, x)[0, 1]

    assert result.variance_reduction == pytest.approx(correlation**2, abs=0.02)
    assert result.variance_reduction > 0.3
    assert result.standard_error < result.unadjusted_standard_error


def test_cuped_works_for_conversion_metrics() -> None:
    rng = np.random.default_rng(12)
    n = 8_000
    exposed = rng.random(n) >= 0.2
    bought_before = (rng.random(n) < 0.2).astype(float)
    rate = 0.03 + 0.1 * bought_before + 0.01 * exposed
    converted = (rng.random(n) < rate).astype(float)

    result = _cuped(converted, bought_before, exposed)
    design = sm.add_constant(np.column_stack([exposed.astype(float), bought_before]))
    fit = sm.OLS(converted, design).fit(cov_type="HC1")

    assert result.absolute_lift.value == pytest.approx(fit.params[1], rel=1e-9)
    assert result.standard_error == pytest.approx(fit.bse[1], rel=0.01)
    assert result.variance_reduction > 0


def test_cuped_a_a_false_positive_rate_is_5_percent() -> None:
    rng = np.random.default_rng(31)
    flagged = 0
    for _ in range(2_000):
        y, x, exposed = _revenue_with_history(rng, 1_000, 0.0, 0.2)
        flagged += _cuped(y, x, exposed).p_value < 0.05

    assert flagged / 2_000 == pytest.approx(0.05, abs=0.015)


def test_cuped_with_a_constant_covariate_makes_no_adjustment() -> None:
    rng = np.random.default_rng(2)
    y = rng.gamma(2.0, 5.0, 500)
    exposed = rng.random(500) < 0.8

    result = _cuped(y, np.full(500, 3.0), exposed)
    plain = compare_means(
        n_exposed=int(exposed.sum()),
        sum_exposed=y[exposed].sum(),
        sum_sq_exposed=(y[exposed] ** 2).sum(),
        n_holdout=int((~exposed).sum()),
        sum_holdout=y[~exposed].sum(),
        sum_sq_holdout=(y[~exposed] ** 2).sum(),
    )

    assert math.isnan(result.theta)
    assert result.reason is Undefined.CONSTANT_COVARIATE
    assert result.absolute_lift.value == pytest.approx(plain.absolute_lift.value)
    assert result.p_value == pytest.approx(plain.p_value)
    assert result.variance_reduction == pytest.approx(0.0, abs=1e-12)


def test_cuped_with_too_few_units_is_undefined() -> None:
    y = np.array([1.0, 2.0, 3.0])
    exposed = np.array([True, True, False])

    result = _cuped(y, y, exposed)

    assert result.reason == "fewer than two units in an arm"
    assert math.isnan(result.absolute_lift.value)
    assert math.isnan(result.p_value)
