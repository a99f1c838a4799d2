"""Exposed versus holdout means of a metric (revenue per recipient, orders
per recipient), from each arm's count, sum and sum of squares.

The absolute lift gets Welch's t interval and test; the relative lift gets
the delta-method interval for a ratio of two independent means, which
accounts for the uncertainty of the holdout mean in the denominator.
Dividing the absolute interval by the holdout mean, a shortcut one popular
library took, ignores it and gives intervals that are too narrow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from liftlab.stats import _sums, _validate
from liftlab.stats.estimate import Estimate, Undefined

__all__ = ["MeanComparison", "compare_means", "delta_method_relative_lift"]


@dataclass(frozen=True, slots=True)
class MeanComparison:
    """A metric's mean in the exposed arm against the holdout.

    Attributes:
        mean_exposed: Mean per exposed unit; NaN without exposed units.
        mean_holdout: Mean per holdout unit; NaN without holdout units.
        absolute_lift: ``mean_exposed - mean_holdout`` with Welch's t
            interval.
        relative_lift: ``mean_exposed / mean_holdout - 1`` with the
            delta-method interval.
        incremental_total: The metric the texts added over the exposed arm,
            ``absolute_lift * n_exposed`` (incremental revenue for revenue
            per recipient), with the interval scaled alike.
        standard_error: Standard error of the absolute lift.
        degrees_of_freedom: Welch-Satterthwaite degrees of freedom.
        p_value: Two-sided Welch t-test p-value for equal means.
        alpha: Two-sided significance level of the intervals.
        reason: Why ``p_value`` or the absolute interval is NaN, else None.
    """

    mean_exposed: float
    mean_holdout: float
    absolute_lift: Estimate
    relative_lift: Estimate
    incremental_total: Estimate
    standard_error: float
    degrees_of_freedom: float
    p_value: float
    alpha: float
    reason: str | None = None


def compare_means(
    *,
    n_exposed: int,
    sum_exposed: float,
    sum_sq_exposed: float,
    n_holdout: int,
    sum_holdout: float,
    sum_sq_holdout: float,
    alpha: float = 0.05,
) -> MeanComparison:
    """Compare a metric's mean per unit between the exposed arm and holdout.

    Args:
        n_exposed: Exposed units, including those with a metric of 0.
        sum_exposed: Sum of the metric over exposed units.
        sum_sq_exposed: Sum of the squared metric over exposed units.
        n_holdout: Holdout units.
        sum_holdout: Sum of the metric over holdout units.
        sum_sq_holdout: Sum of the squared metric over holdout units.
        alpha: Two-sided significance level.

    Returns:
        Means, absolute and relative lift with intervals, and the Welch
        p-value. Fewer than two units in an arm, or no variance in either,
        leave the interval and p-value NaN with a reason; a holdout mean of
        0 leaves the relative lift NaN.

    Note:
        Welch's test does not assume equal variances, which matters with a
        10% holdout: the pooled-variance t-test is then badly calibrated when
        the variances differ. The intervals rely on the central limit
        theorem for the means; revenue is skewed, so a few hundred units per
        arm are the least for trustworthy intervals.

    References:
        Welch, B. L. (1947). The generalization of "Student's" problem when
        several different population variances are involved. Biometrika,
        34(1-2), 28-35.

        Satterthwaite, F. E. (1946). An approximate distribution of
        estimates of variance components. Biometrics Bulletin, 2(6),
        110-114.

        Deng, A., Knoblich, U., & Lu, J. (2018). Applying the delta method in
        metric analytics: a practical guide with novel ideas. Proceedings of
        the 24th ACM SIGKDD International Conference on Knowledge Discovery
        and Data Mining (KDD '18), 233-242.
    """
    exposed = _sums.check("exposed", n_exposed, sum_exposed, sum_sq_exposed)
    holdout = _sums.check("holdout", n_holdout, sum_holdout, sum_sq_holdout)
    alpha = _validate.alpha(alpha)
    n_e, n_h = float(exposed[0]), float(holdout[0])
    mean_e, var_e = (float(v) for v in _sums.mean_and_variance(*exposed))
    mean_h, var_h = (float(v) for v in _sums.mean_and_variance(*holdout))

    reason = _undefined_reason(n_e, n_h, var_e, var_h)
    if reason is not None:
        return _without_interval(mean_e, mean_h, n_e, alpha, reason)

    lift = mean_e - mean_h
    square_e, square_h = var_e / n_e, var_h / n_h
    standard_error = math.sqrt(square_e + square_h)
    df = (square_e + square_h) ** 2 / (
        square_e**2 / (n_e - 1) + square_h**2 / (n_h - 1)
    )
    t_crit = float(stats.t.isf(alpha / 2, df))
    t_stat = lift / standard_error
    low, high = lift - t_crit * standard_error, lift + t_crit * standard_error
    return MeanComparison(
        mean_exposed=mean_e,
        mean_holdout=mean_h,
        absolute_lift=Estimate(lift, low, high),
        relative_lift=delta_method_relative_lift(
            mean_exposed=mean_e,
            standard_error_exposed=math.sqrt(square_e),
            mean_holdout=mean_h,
            standard_error_holdout=math.sqrt(square_h),
            alpha=alpha,
        ),
        incremental_total=Estimate(lift * n_e, low * n_e, high * n_e),
        standard_error=standard_error,
        degrees_of_freedom=df,
        p_value=float(2 * stats.t.sf(abs(t_stat), df)),
        alpha=alpha,
    )


def delta_method_relative_lift(
    *,
    mean_exposed: float,
    standard_error_exposed: float,
    mean_holdout: float,
    standard_error_holdout: float,
    alpha: float = 0.05,
) -> Estimate:
    """Relative lift of two independent means with its delta-method interval.

    Args:
        mean_exposed: Estimated mean in the exposed arm.
        standard_error_exposed: Standard error of ``mean_exposed``.
        mean_holdout: Estimated mean in the holdout.
        standard_error_holdout: Standard error of ``mean_holdout``.
        alpha: Two-sided significance level.

    Returns:
        ``mean_exposed / mean_holdout - 1`` with a normal interval; NaN with
        reason ``holdout mean is zero`` when the denominator is 0.

    Note:
        For independent arms the first-order variance of the ratio
        ``R = m_e / m_h`` is ``se_e**2 / m_h**2 + m_e**2 * se_h**2 / m_h**4``.
        The second term, the holdout's own noise, is what dividing the
        absolute interval by ``m_h`` leaves out. The interval is symmetric
        and assumes the holdout mean is well away from 0 relative to its
        standard error.

    References:
        Deng, A., Knoblich, U., & Lu, J. (2018). Applying the delta method in
        metric analytics: a practical guide with novel ideas. Proceedings of
        the 24th ACM SIGKDD International Conference on Knowledge Discovery
        and Data Mining (KDD '18), 233-242.
    """
    alpha = _validate.alpha(alpha)
    for field, value in (
        ("mean_exposed", mean_exposed),
        ("standard_error_exposed", standard_error_exposed),
        ("mean_holdout", mean_holdout),
        ("standard_error_holdout", standard_error_holdout),
    ):
        _validate.finite(field, value)
    if mean_holdout == 0:
        return Estimate.undefined(Undefined.ZERO_HOLDOUT_MEAN)

    ratio = mean_exposed / mean_holdout
    variance = (
        standard_error_exposed**2 / mean_holdout**2
        + mean_exposed**2 * standard_error_holdout**2 / mean_holdout**4
    )
    half = float(stats.norm.isf(alpha / 2)) * math.sqrt(variance)
    return Estimate(ratio - 1, ratio - 1 - half, ratio - 1 + half)


def _undefined_reason(
    n_e: float, n_h: float, var_e: float, var_h: float
) -> Undefined | None:
    if n_e == 0:
        return Undefined.NO_EXPOSED_UNITS
    if n_h == 0:
        return Undefined.NO_HOLDOUT_UNITS
    if n_e < 2 or n_h < 2:
        return Undefined.TOO_FEW_UNITS
    if var_e == 0 and var_h == 0:
        return Undefined.NO_VARIANCE
    return None


def _without_interval(
    mean_e: float, mean_h: float, n_e: float, alpha: float, reason: Undefined
) -> MeanComparison:
    """Point estimates where they exist; every interval and the p-value NaN."""
    nan = math.nan
    lift = mean_e - mean_h
    if mean_h == 0:
        relative = Estimate.undefined(Undefined.ZERO_HOLDOUT_MEAN)
    else:
        relative = Estimate(mean_e / mean_h - 1, nan, nan, reason)
    return MeanComparison(
        mean_exposed=mean_e,
        mean_holdout=mean_h,
        absolute_lift=Estimate(lift, nan, nan, reason),
        relative_lift=relative,
        incremental_total=Estimate(lift * n_e, nan, nan, reason),
        standard_error=nan,
        degrees_of_freedom=nan,
        p_value=nan,
        alpha=alpha,
        reason=reason,
    )
