"""Always-valid confidence sequences against the fixed-horizon interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from liftlab.stats import (
    DEFAULT_TUNING_SIZE,
    Undefined,
    confidence_sequence,
    mixture_rho,
    rate_confidence_sequence,
)

REPLICATIONS = 4_000
DAYS = 30


def _daily(
    seed: int,
    *,
    exposed_per_day: int,
    holdout_per_day: int,
    rate_holdout: float,
    rate_exposed: float | None = None,
) -> dict[str, np.ndarray]:
    """Cumulative counts of REPLICATIONS experiments over DAYS daily looks;
    an A/A experiment unless ``rate_exposed`` is given."""
    rng = np.random.default_rng(seed)
    shape = (REPLICATIONS, DAYS)
    days = np.arange(1, DAYS + 1)
    rate_exposed = rate_holdout if rate_exposed is None else rate_exposed
    exposed = rng.binomial(exposed_per_day, rate_exposed, shape)
    holdout = rng.binomial(holdout_per_day, rate_holdout, shape)
    return {
        "n_exposed": np.broadcast_to(exposed_per_day * days, shape),
        "x_exposed": np.cumsum(exposed, axis=1),
        "n_holdout": np.broadcast_to(holdout_per_day * days, shape),
        "x_holdout": np.cumsum(holdout, axis=1),
    }


def test_mixture_rho_matches_the_closed_form() -> None:
    # Waudby-Smith et al. (2024): rho = sqrt((-2 ln a + ln(1 - 2 ln a)) / n*),
    # evaluated by hand for alpha = 0.05 and n* = 5,000.
    assert mixture_rho(alpha=0.05, tuning_size=5_000) == pytest.approx(
        0.03984006677137368, rel=1e-12
    )
    assert DEFAULT_TUNING_SIZE == 5_000


def test_confidence_sequence_half_width_at_the_tuning_size() -> None:
    # At N = n* = 5,000 the normal-mixture boundary of Howard et al. (2021)
    # is 3.0352089904 standard errors wide each side (hand-evaluated), against
    # 1.959964 for the fixed-horizon interval.
    rng = np.random.default_rng(0)
    exposed = rng.normal(10.0, 3.0, 4_500)
    holdout = rng.normal(10.0, 3.0, 500)

    result = confidence_sequence(
        n_exposed=exposed.size,
        sum_exposed=exposed.sum(),
        sum_sq_exposed=(exposed**2).sum(),
        n_holdout=holdout.size,
        sum_holdout=holdout.sum(),
        sum_sq_holdout=(holdout**2).sum(),
    )
    se = math.sqrt(exposed.var(ddof=1) / 4_500 + holdout.var(ddof=1) / 500)

    assert result.standard_error == pytest.approx(se, rel=1e-10)
    assert result.always_valid_upper - result.estimate == pytest.approx(
        3.0352089903762534 * se, rel=1e-10
    )
    assert result.fixed_upper - result.estimate == pytest.approx(
        stats.norm.isf(0.025) * se, rel=1e-10
    )


def test_always_valid_p_value_agrees_with_the_interval() -> None:
    data = _daily(
        4,
        exposed_per_day=900,
        holdout_per_day=100,
        rate_holdout=0.05,
        rate_exposed=0.06,
    )

    result = rate_confidence_sequence(**data)
    excludes = (result.always_valid_lower > 0) | (result.always_valid_upper < 0)

    assert excludes.any()
    np.testing.assert_array_equal(excludes, result.always_valid_p_value <= 0.05)


def test_daily_looks_keep_the_always_valid_false_positive_rate() -> None:
    # 4,000 seeded A/A experiments, 30 daily looks, 90/10 split, 5% rate.
    # Stopping at the first look whose interval excludes 0 is a false
    # positive. The confidence sequence must stay at or below 5%; the
    # fixed-horizon interval read daily must clearly exceed it.
    data = _daily(2026, exposed_per_day=1_800, holdout_per_day=200, rate_holdout=0.05)

    result = rate_confidence_sequence(**data)
    always_valid = np.mean(
        np.any((result.always_valid_lower > 0) | (result.always_valid_upper < 0), 1)
    )
    fixed = np.mean(np.any((result.fixed_lower > 0) | (result.fixed_upper < 0), 1))

    assert always_valid <= 0.05
    assert fixed > 0.10


def test_confidence_sequence_covers_a_real_lift_at_every_look() -> None:
    data = _daily(
        17,
        exposed_per_day=1_800,
        holdout_per_day=200,
        rate_holdout=0.05,
        rate_exposed=0.06,
    )
    true_lift = 0.06 - 0.05

    result = rate_confidence_sequence(**data)
    missed = np.any(
        (result.always_valid_lower > true_lift)
        | (result.always_valid_upper < true_lift),
        axis=1,
    )

    assert np.mean(missed) <= 0.05


def test_confidence_sequence_looks_without_enough_data_are_nan() -> None:
    result = confidence_sequence(
        n_exposed=[1, 10, 10],
        sum_exposed=[1.0, 5.0, 10.0],
        sum_sq_exposed=[1.0, 5.0, 10.0],
        n_holdout=[1, 4, 4],
        sum_holdout=[0.0, 1.0, 4.0],
        sum_sq_holdout=[0.0, 1.0, 4.0],
    )

    assert result.reasons[0] is Undefined.TOO_FEW_UNITS
    assert result.reasons[1] is None
    assert result.reasons[2] == "no variance in either arm"
    assert np.isnan(result.always_valid_lower[[0, 2]]).all()
    assert np.isfinite(result.always_valid_lower[1])
    assert result.estimate[2] == pytest.approx(0.0)
