"""Always-valid confidence sequences for monitoring a lift day by day.

A fixed-horizon interval is valid at one pre-planned look. Looking every day
and stopping at the first look that excludes zero inflates the false-positive
rate far above ``alpha``. A confidence sequence covers the true lift at every
look simultaneously with probability ``1 - alpha``, so it may be read as
often as anyone likes. This module gives both, side by side, for each look.

Every input is the *cumulative* sufficient statistic at a look, as an array
of any shape (one element per look, or per simulated experiment and look);
the outputs have the same shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from liftlab.stats import _sums, _validate
from liftlab.stats.estimate import Undefined

__all__ = [
    "DEFAULT_TUNING_SIZE",
    "ConfidenceSequence",
    "confidence_sequence",
    "mixture_rho",
    "rate_confidence_sequence",
]

DEFAULT_TUNING_SIZE = 5_000.0
"""Total units at which the sequence is tightest (GrowthBook's default)."""


@dataclass(frozen=True, slots=True)
class ConfidenceSequence:
    """Per-look estimates with fixed-horizon and always-valid intervals.

    Attributes:
        estimate: ``mean_exposed - mean_holdout`` at each look.
        standard_error: Its standard error at each look.
        fixed_lower: Lower bound of the normal fixed-horizon interval, valid
            only for a single look planned in advance.
        fixed_upper: Upper bound of the fixed-horizon interval.
        always_valid_lower: Lower bound of the confidence sequence.
        always_valid_upper: Upper bound of the confidence sequence.
        always_valid_p_value: ``min(1, 1 / M)`` for the normal-mixture
            martingale ``M`` of the null of no lift; at most ``alpha``
            exactly when the sequence excludes 0.
        reasons: Why a look's intervals are NaN (an arm with fewer than two
            units, or no variance), None where they are defined.
        alpha: Two-sided significance level.
        tuning_size: Total units at which the sequence was made tightest.
        rho: The mixture parameter derived from ``alpha`` and
            ``tuning_size``.
    """

    estimate: _validate.FloatArray
    standard_error: _validate.FloatArray
    fixed_lower: _validate.FloatArray
    fixed_upper: _validate.FloatArray
    always_valid_lower: _validate.FloatArray
    always_valid_upper: _validate.FloatArray
    always_valid_p_value: _validate.FloatArray
    reasons: npt.NDArray[np.object_]
    alpha: float
    tuning_size: float
    rho: float


def mixture_rho(
    *, alpha: float = 0.05, tuning_size: float = DEFAULT_TUNING_SIZE
) -> float:
    """The normal-mixture parameter that makes the sequence tightest at
    ``tuning_size`` total units.

    Args:
        alpha: Two-sided significance level.
        tuning_size: Total units (both arms) at which the width should be
            smallest; pick the number expected by the decision date.

    Returns:
        ``rho = sqrt((-2 ln alpha + ln(1 - 2 ln alpha)) / tuning_size)``.

    References:
        Waudby-Smith, I., Arbour, D., Sinha, R., Kennedy, E. H., & Ramdas, A.
        (2024). Time-uniform central limit theory and asymptotic confidence
        sequences. The Annals of Statistics, 52(6), 2613-2640.

        Howard, S. R., Ramdas, A., McAuliffe, J., & Sekhon, J. (2021).
        Time-uniform, nonparametric, nonasymptotic confidence sequences. The
        Annals of Statistics, 49(2), 1055-1080.
    """
    log_alpha = math.log(_validate.alpha(alpha))
    size = _validate.positive("tuning_size", tuning_size)
    return math.sqrt((-2 * log_alpha + math.log(1 - 2 * log_alpha)) / size)


def confidence_sequence(
    *,
    n_exposed: npt.ArrayLike,
    sum_exposed: npt.ArrayLike,
    sum_sq_exposed: npt.ArrayLike,
    n_holdout: npt.ArrayLike,
    sum_holdout: npt.ArrayLike,
    sum_sq_holdout: npt.ArrayLike,
    alpha: float = 0.05,
    tuning_size: float = DEFAULT_TUNING_SIZE,
) -> ConfidenceSequence:
    """Asymptotic confidence sequence for the difference of two means.

    Args:
        n_exposed: Cumulative exposed units at each look.
        sum_exposed: Cumulative sum of the metric over exposed units.
        sum_sq_exposed: Cumulative sum of the squared metric, exposed.
        n_holdout: Cumulative holdout units at each look.
        sum_holdout: Cumulative sum of the metric over holdout units.
        sum_sq_holdout: Cumulative sum of the squared metric, holdout.
        alpha: Two-sided significance level; the sequence covers the true
            lift at all looks at once with probability ``1 - alpha``.
        tuning_size: Total units (both arms) where the sequence is tightest;
            default 5,000 as in GrowthBook. Too small a value widens late
            looks, too large a value widens early ones; coverage holds
            either way.

    Returns:
        Estimates, standard errors and both kinds of interval per look.

    Note:
        With ``N`` total units and ``s2 = N * (var_exposed / n_exposed +
        var_holdout / n_holdout)`` the per-unit variance of the difference,
        the half-width is ``sqrt(s2 * 2 (N rho^2 + 1) / (N rho)^2 *
        ln(sqrt(N rho^2 + 1) / alpha))``: Robbins' normal-mixture boundary
        with the variance estimated, which Waudby-Smith et al. show is an
        asymptotic confidence sequence. Like the central limit theorem it
        replaces, it needs enough units per arm; treat looks with fewer than
        a few hundred units per arm as indicative.

    References:
        Waudby-Smith, I., Arbour, D., Sinha, R., Kennedy, E. H., & Ramdas, A.
        (2024). Time-uniform central limit theory and asymptotic confidence
        sequences. The Annals of Statistics, 52(6), 2613-2640.

        Howard, S. R., Ramdas, A., McAuliffe, J., & Sekhon, J. (2021).
        Time-uniform, nonparametric, nonasymptotic confidence sequences. The
        Annals of Statistics, 49(2), 1055-1080.

        Robbins, H. (1970). Statistical methods related to the law of the
        iterated logarithm. The Annals of Mathematical Statistics, 41(5),
        1397-1409.
    """
    n_e, sum_e, sq_e = _sums.check("exposed", n_exposed, sum_exposed, sum_sq_exposed)
    n_h, sum_h, sq_h = _sums.check("holdout", n_holdout, sum_holdout, sum_sq_holdout)
    rho = mixture_rho(alpha=alpha, tuning_size=tuning_size)

    mean_e, var_e = _sums.mean_and_variance(n_e, sum_e, sq_e)
    mean_h, var_h = _sums.mean_and_variance(n_h, sum_h, sq_h)
    estimate = mean_e - mean_h
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = var_e / n_e + var_h / n_h
    too_few = np.broadcast_to((n_e < 2) | (n_h < 2), variance.shape)
    flat = ~too_few & (variance <= 0)
    variance = np.where(too_few | flat, np.nan, variance)
    standard_error = np.sqrt(variance)

    z = float(stats.norm.isf(alpha / 2))
    total = n_e + n_h
    spread = total * rho**2 + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        half = standard_error * np.sqrt(
            2 * spread / (total * rho**2) * np.log(np.sqrt(spread) / alpha)
        )
        log_mixture = rho**2 * total * (estimate / standard_error) ** 2 / (
            2 * spread
        ) - 0.5 * np.log(spread)
    p_value = np.where(
        np.isnan(log_mixture), np.nan, np.exp(-np.maximum(log_mixture, 0))
    )

    reasons = np.full(estimate.shape, None, dtype=object)
    reasons[flat] = Undefined.NO_VARIANCE
    reasons[too_few] = Undefined.TOO_FEW_UNITS
    return ConfidenceSequence(
        estimate=estimate,
        standard_error=standard_error,
        fixed_lower=estimate - z * standard_error,
        fixed_upper=estimate + z * standard_error,
        always_valid_lower=estimate - half,
        always_valid_upper=estimate + half,
        always_valid_p_value=p_value,
        reasons=reasons,
        alpha=alpha,
        tuning_size=float(tuning_size),
        rho=rho,
    )


def rate_confidence_sequence(
    *,
    n_exposed: npt.ArrayLike,
    x_exposed: npt.ArrayLike,
    n_holdout: npt.ArrayLike,
    x_holdout: npt.ArrayLike,
    alpha: float = 0.05,
    tuning_size: float = DEFAULT_TUNING_SIZE,
) -> ConfidenceSequence:
    """Confidence sequence for the difference of two conversion rates.

    Args:
        n_exposed: Cumulative exposed units at each look.
        x_exposed: Cumulative exposed conversions at each look.
        n_holdout: Cumulative holdout units at each look.
        x_holdout: Cumulative holdout conversions at each look.
        alpha: Two-sided significance level.
        tuning_size: Total units where the sequence is tightest.

    Returns:
        As :func:`confidence_sequence` for a 0/1 metric, whose sum and sum
        of squares are both the conversions.

    References:
        Waudby-Smith, I., Arbour, D., Sinha, R., Kennedy, E. H., & Ramdas, A.
        (2024). Time-uniform central limit theory and asymptotic confidence
        sequences. The Annals of Statistics, 52(6), 2613-2640.
    """
    n_e = _validate.counts("n_exposed", n_exposed)
    x_e = _validate.successes("x_exposed", x_exposed, "n_exposed", n_e)
    n_h = _validate.counts("n_holdout", n_holdout)
    x_h = _validate.successes("x_holdout", x_holdout, "n_holdout", n_h)
    return confidence_sequence(
        n_exposed=n_e,
        sum_exposed=x_e,
        sum_sq_exposed=x_e,
        n_holdout=n_h,
        sum_holdout=x_h,
        sum_sq_holdout=x_h,
        alpha=alpha,
        tuning_size=tuning_size,
    )
