"""Cochran's Q for lifts across segments, against statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from liftlab.stats import Undefined, lift_heterogeneity, rate_lift_heterogeneity

N_EXPOSED = np.array([9_000, 4_500, 12_000, 2_000])
N_HOLDOUT = np.array([1_000, 500, 1_300, 220])


def test_lift_heterogeneity_matches_statsmodels_combine_effects() -> None:
    lifts = np.array([0.012, 0.020, -0.004, 0.031, 0.008])
    standard_errors = np.array([0.006, 0.009, 0.007, 0.012, 0.005])

    result = lift_heterogeneity(lifts=lifts, standard_errors=standard_errors)
    # statsmodels.stats.meta_analysis.combine_effects: Cochran's Q, I^2 and
    # the fixed-effect (inverse-variance) mean.
    reference = combine_effects(lifts, standard_errors**2, method_re="chi2")

    assert result.q == pytest.approx(reference.q, rel=1e-10)
    assert result.i_squared == pytest.approx(reference.i2, rel=1e-10)
    assert result.pooled_lift == pytest.approx(reference.mean_effect_fe, rel=1e-10)
    assert result.pooled_standard_error == pytest.approx(
        reference.sd_eff_w_fe, rel=1e-10
    )
    assert result.degrees_of_freedom == 4
    assert 0 < result.p_value < 1


def test_rate_lift_heterogeneity_detects_a_segment_that_differs() -> None:
    rng = np.random.default_rng(3)
    rate_h = np.array([0.05, 0.05, 0.05, 0.05])
    rate_e = np.array([0.06, 0.06, 0.06, 0.12])
    x_e = rng.binomial(N_EXPOSED, rate_e)
    x_h = rng.binomial(N_HOLDOUT, rate_h)

    result = rate_lift_heterogeneity(
        n_exposed=N_EXPOSED, x_exposed=x_e, n_holdout=N_HOLDOUT, x_holdout=x_h
    )
    p_e, p_h = x_e / N_EXPOSED, x_h / N_HOLDOUT
    reference = combine_effects(
        p_e - p_h,
        p_e * (1 - p_e) / N_EXPOSED + p_h * (1 - p_h) / N_HOLDOUT,
        method_re="chi2",
    )

    assert result.q == pytest.approx(reference.q, rel=1e-10)
    assert result.p_value < 0.01


def test_rate_lift_heterogeneity_false_positive_rate_when_lifts_are_equal() -> None:
    rng = np.random.default_rng(15)
    flagged = 0
    for _ in range(2_000):
        x_e = rng.binomial(N_EXPOSED, 0.06)
        x_h = rng.binomial(N_HOLDOUT, 0.05)
        result = rate_lift_heterogeneity(
            n_exposed=N_EXPOSED, x_exposed=x_e, n_holdout=N_HOLDOUT, x_holdout=x_h
        )
        flagged += result.p_value < 0.05

    assert flagged / 2_000 == pytest.approx(0.05, abs=0.015)


def test_segments_without_a_standard_error_are_left_out() -> None:
    result = rate_lift_heterogeneity(
        n_exposed=[1_000, 800, 500, 0],
        x_exposed=[60, 40, 0, 0],
        n_holdout=[100, 90, 60, 20],
        x_holdout=[5, 4, 0, 1],
    )

    assert result.segments_used == 2
    assert result.degrees_of_freedom == 1


def test_heterogeneity_with_fewer_than_two_segments_is_undefined() -> None:
    result = lift_heterogeneity(lifts=[0.01, 0.02], standard_errors=[0.005, 0.0])

    assert result.reason is Undefined.TOO_FEW_SEGMENTS
    assert math.isnan(result.q)
    assert math.isnan(result.p_value)
    assert result.segments_used == 1


def test_identical_lifts_have_zero_q_and_i_squared() -> None:
    result = lift_heterogeneity(lifts=[0.01, 0.01, 0.01], standard_errors=[1, 2, 3])

    assert result.q == pytest.approx(0.0)
    assert result.i_squared == 0.0
    assert result.p_value == pytest.approx(1.0)
