"""CUPED: the exposed-versus-holdout difference in a metric, adjusted for
the same metric measured before entry.

From each arm's sufficient statistics of the metric ``Y`` and its pre-entry
value ``X`` (count, sums, sums of squares and the cross-product), the
adjusted metric is ``Y - theta * (X - mean(X))`` with one ``theta`` for both
arms. Randomisation makes ``X`` independent of the arm, so the adjustment
removes variance without moving the expected difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from liftlab.stats import _sums, _validate
from liftlab.stats.estimate import Estimate, Undefined
from liftlab.stats.means import delta_method_relative_lift

__all__ = ["CupedComparison", "compare_means_cuped"]


@dataclass(frozen=True, slots=True)
class CupedComparison:
    """A CUPED-adjusted comparison of the exposed arm against the holdout.

    Attributes:
        mean_exposed: Adjusted mean per exposed unit.
        mean_holdout: Adjusted mean per holdout unit.
        absolute_lift: Adjusted ``mean_exposed - mean_holdout`` with a Welch
            t interval on the adjusted variances.
        relative_lift: Ratio of the adjusted means minus 1, with the
            delta-method interval.
        incremental_total: ``absolute_lift * n_exposed`` with its interval.
        standard_error: Standard error of the adjusted absolute lift.
        unadjusted_standard_error: Standard error without the adjustment.
        variance_reduction: Share of the variance of the difference removed,
            ``1 - standard_error**2 / unadjusted_standard_error**2``; about
            the squared correlation of ``Y`` and ``X``.
        theta: The regression coefficient used; NaN when ``X`` is constant,
            in which case no adjustment is made.
        degrees_of_freedom: Welch-Satterthwaite degrees of freedom.
        p_value: Two-sided p-value for equal adjusted means.
        alpha: Two-sided significance level of the intervals.
        reason: Why ``theta``, an interval or ``p_value`` is NaN, else None.
    """

    mean_exposed: float
    mean_holdout: float
    absolute_lift: Estimate
    relative_lift: Estimate
    incremental_total: Estimate
    standard_error: float
    unadjusted_standard_error: float
    variance_reduction: float
    theta: float
    degrees_of_freedom: float
    p_value: float
    alpha: float
    reason: str | None = None


def compare_means_cuped(
    *,
    n_exposed: int,
    sum_exposed: float,
    sum_sq_exposed: float,
    sum_x_exposed: float,
    sum_x_sq_exposed: float,
    sum_xy_exposed: float,
    n_holdout: int,
    sum_holdout: float,
    sum_sq_holdout: float,
    sum_x_holdout: float,
    sum_x_sq_holdout: float,
    sum_xy_holdout: float,
    alpha: float = 0.05,
) -> CupedComparison:
    """Compare means with CUPED variance reduction.

    Args:
        n_exposed: Exposed units.
        sum_exposed: Sum of the metric ``Y`` over exposed units.
        sum_sq_exposed: Sum of ``Y ** 2`` over exposed units.
        sum_x_exposed: Sum of the pre-entry covariate ``X`` over exposed
            units (0 for a unit with no history).
        sum_x_sq_exposed: Sum of ``X ** 2`` over exposed units.
        sum_xy_exposed: Sum of ``X * Y`` over exposed units.
        n_holdout: Holdout units.
        sum_holdout: Sum of ``Y`` over holdout units.
        sum_sq_holdout: Sum of ``Y ** 2`` over holdout units.
        sum_x_holdout: Sum of ``X`` over holdout units.
        sum_x_sq_holdout: Sum of ``X ** 2`` over holdout units.
        sum_xy_holdout: Sum of ``X * Y`` over holdout units.
        alpha: Two-sided significance level.

    Returns:
        The adjusted comparison, with ``theta`` and the variance reduction.
        Works alike for revenue and for conversion (0/1) metrics, where
        ``sum`` and ``sum_sq`` are both the number of conversions.

    Note:
        ``theta`` is pooled within arms: the sum over arms of the centred
        cross-products of ``X`` and ``Y`` over the sum of the centred squares
        of ``X``. This makes the adjusted difference equal to the arm
        coefficient of the least-squares regression of ``Y`` on the arm and
        ``X``. The standard error treats ``theta`` as known, as Deng et al.
        (2013) do; its estimation error is of a smaller order in large
        samples. Use a covariate measured before entry only: anything the
        text could have changed biases the result.

    References:
        Deng, A., Xu, Y., Kohavi, R., & Walker, T. (2013). Improving the
        sensitivity of online controlled experiments by utilizing
        pre-experiment data. Proceedings of the Sixth ACM International
        Conference on Web Search and Data Mining (WSDM '13), 123-132.

        Welch, B. L. (1947). The generalization of "Student's" problem when
        several different population variances are involved. Biometrika,
        34(1-2), 28-35.
    """
    exposed = _Arm.of(
        "exposed",
        (n_exposed, sum_exposed, sum_sq_exposed),
        (sum_x_exposed, sum_x_sq_exposed, sum_xy_exposed),
    )
    holdout = _Arm.of(
        "holdout",
        (n_holdout, sum_holdout, sum_sq_holdout),
        (sum_x_holdout, sum_x_sq_holdout, sum_xy_holdout),
    )
    alpha = _validate.alpha(alpha)
    reason = _size_reason(exposed.n, holdout.n)
    if reason is not None:
        return _undefined(exposed, holdout, alpha, reason)

    centred_xx = exposed.sxx + holdout.sxx
    if centred_xx > 0:
        theta = (exposed.sxy + holdout.sxy) / centred_xx
        reason = None
    else:
        theta, reason = math.nan, Undefined.CONSTANT_COVARIATE
    slope = 0.0 if math.isnan(theta) else theta
    mean_x = (exposed.sum_x + holdout.sum_x) / (exposed.n + holdout.n)
    adjusted_e = exposed.mean_y - slope * (exposed.mean_x - mean_x)
    adjusted_h = holdout.mean_y - slope * (holdout.mean_x - mean_x)

    lift = adjusted_e - adjusted_h

    square_e = exposed.adjusted_variance(slope) / exposed.n
    square_h = holdout.adjusted_variance(slope) / holdout.n
    raw_square = exposed.adjusted_variance(0.0) / exposed.n + (
        holdout.adjusted_variance(0.0) / holdout.n
    )
    if square_e + square_h == 0 or raw_square == 0:
        return _undefined(exposed, holdout, alpha, Undefined.NO_VARIANCE)

    standard_error = math.sqrt(square_e + square_h)
    df = (square_e + square_h) ** 2 / (
        square_e**2 / (exposed.n - 1) + square_h**2 / (holdout.n - 1)
    )
    half = float(stats.t.isf(alpha / 2, df)) * standard_error
    t_stat = lift / standard_error
    return CupedComparison(
        mean_exposed=adjusted_e,
        mean_holdout=adjusted_h,
        absolute_lift=Estimate(lift, lift - half, lift + half),
        relative_lift=delta_method_relative_lift(
            mean_exposed=adjusted_e,
            standard_error_exposed=math.sqrt(square_e),
            mean_holdout=adjusted_h,
            standard_error_holdout=math.sqrt(square_h),
            alpha=alpha,
        ),
        incremental_total=Estimate(
            lift * exposed.n, (lift - half) * exposed.n, (lift + half) * exposed.n
        ),
        standard_error=standard_error,
        unadjusted_standard_error=math.sqrt(raw_square),
        variance_reduction=1 - (square_e + square_h) / raw_square,
        theta=theta,
        degrees_of_freedom=df,
        p_value=float(2 * stats.t.sf(abs(t_stat), df)),
        alpha=alpha,
        reason=reason,
    )


@dataclass(frozen=True, slots=True)
class _Arm:
    """One arm's centred sums: ``sxx``, ``syy``, ``sxy``."""

    n: float
    sum_x: float
    mean_x: float
    mean_y: float
    sxx: float
    syy: float
    sxy: float

    @classmethod
    def of(
        cls,
        arm: str,
        metric: tuple[float, float, float],
        covariate: tuple[float, float, float],
    ) -> _Arm:
        """Validate ``(n, sum, sum_sq)`` and ``(sum_x, sum_x_sq, sum_xy)``."""
        n_arr, y_arr, yy_arr = _sums.check(arm, *metric)
        x, xx, xy = (
            float(_validate.finite(f"{field}_{arm}", value))
            for field, value in zip(
                ("sum_x", "sum_x_sq", "sum_xy"), covariate, strict=True
            )
        )
        if xx < 0:
            raise _validate.fail(f"sum_x_sq_{arm}", "a number >= 0", xx)
        n, y, yy = float(n_arr), float(y_arr), float(yy_arr)
        if n == 0:
            return cls(n, x, math.nan, math.nan, 0.0, 0.0, 0.0)

        mean_x, mean_y = x / n, y / n
        return cls(
            n=n,
            sum_x=x,
            mean_x=mean_x,
            mean_y=mean_y,
            sxx=max(xx - x * mean_x, 0.0),
            syy=max(yy - y * mean_y, 0.0),
            sxy=xy - x * mean_y,
        )

    def adjusted_variance(self, theta: float) -> float:
        """Sample variance of ``Y - theta * X`` within the arm."""
        centred = self.syy - 2 * theta * self.sxy + theta**2 * self.sxx
        return max(centred, 0.0) / (self.n - 1)


def _size_reason(n_e: float, n_h: float) -> Undefined | None:
    if n_e == 0:
        return Undefined.NO_EXPOSED_UNITS
    if n_h == 0:
        return Undefined.NO_HOLDOUT_UNITS
    if n_e < 2 or n_h < 2:
        return Undefined.TOO_FEW_UNITS
    return None


def _undefined(
    exposed: _Arm, holdout: _Arm, alpha: float, reason: Undefined
) -> CupedComparison:
    missing = Estimate.undefined(reason)
    nan = math.nan
    return CupedComparison(
        mean_exposed=exposed.mean_y,
        mean_holdout=holdout.mean_y,
        absolute_lift=missing,
        relative_lift=missing,
        incremental_total=missing,
        standard_error=nan,
        unadjusted_standard_error=nan,
        variance_reduction=nan,
        theta=nan,
        degrees_of_freedom=nan,
        p_value=nan,
        alpha=alpha,
        reason=reason,
    )
