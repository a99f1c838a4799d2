"""Score-based confidence intervals for conversion rates.

Three intervals, each from the score family that the comparisons of
Newcombe (1998) and Fagerland, Lydersen and Laake (2015) recommend over the
Wald interval:

* :func:`wilson_interval` for one rate;
* :func:`newcombe_interval` for the difference of two independent rates
  (exposed minus holdout), Newcombe's hybrid score method 10;
* :func:`koopman_interval` for their ratio (exposed over holdout), the
  asymptotic score interval of Koopman (1984), found numerically.

The first two are vectorised: counts may be arrays of any matching shape and
the bounds come back in that shape (numpy scalars for scalar input). Units
are ``n_*``, conversions ``x_*``; the suffix names the arm.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

from liftlab.stats import _validate

__all__ = ["koopman_interval", "newcombe_interval", "wilson_interval"]

Bounds = tuple[np.float64 | _validate.FloatArray, np.float64 | _validate.FloatArray]

# exp() overflows past 709; ratios beyond e**700 are unbounded for any data.
_LOG_RATIO_LIMIT = 700.0
_ANCHOR_FAR = 50.0


def wilson_interval(
    *, n: npt.ArrayLike, x: npt.ArrayLike, alpha: float = 0.05
) -> Bounds:
    """Wilson score interval for a rate of ``x`` conversions in ``n`` units.

    Args:
        n: Units (trials); whole numbers >= 0.
        x: Conversions (successes); whole numbers, at most ``n``.
        alpha: Two-sided significance level; the interval has coverage
            ``1 - alpha``.

    Returns:
        ``(lower, upper)``, with NaN where ``n`` is 0.

    Note:
        The interval inverts the score test of a single proportion, so it
        stays inside [0, 1] and keeps close to nominal coverage for rates
        near 0, where the Wald interval fails.

    References:
        Wilson, E. B. (1927). Probable inference, the law of succession, and
        statistical inference. Journal of the American Statistical
        Association, 22(158), 209-212.

        Newcombe, R. G. (1998). Two-sided confidence intervals for the single
        proportion: comparison of seven methods. Statistics in Medicine,
        17(8), 857-872 (method 3).
    """
    n_arr = _validate.counts("n", n)
    x_arr = _validate.successes("x", x, "n", n_arr)
    z = stats.norm.isf(_validate.alpha(alpha) / 2)

    with np.errstate(divide="ignore", invalid="ignore"):
        rate = x_arr / n_arr
        centre = (x_arr + z**2 / 2) / (n_arr + z**2)
        half = z / (n_arr + z**2) * np.sqrt(x_arr * (1 - rate) + z**2 / 4)
    lower = np.where(x_arr == 0, 0.0, centre - half)
    upper = np.where(x_arr == n_arr, 1.0, centre + half)
    empty = n_arr == 0
    return (
        np.where(empty, np.nan, lower)[()],
        np.where(empty, np.nan, upper)[()],
    )


def newcombe_interval(
    *,
    n_exposed: npt.ArrayLike,
    x_exposed: npt.ArrayLike,
    n_holdout: npt.ArrayLike,
    x_holdout: npt.ArrayLike,
    alpha: float = 0.05,
) -> Bounds:
    """Newcombe hybrid score interval for ``rate_exposed - rate_holdout``.

    Args:
        n_exposed: Exposed units.
        x_exposed: Exposed conversions, at most ``n_exposed``.
        n_holdout: Holdout units.
        x_holdout: Holdout conversions, at most ``n_holdout``.
        alpha: Two-sided significance level.

    Returns:
        ``(lower, upper)`` of the absolute lift, NaN where an arm has no
        units.

    Note:
        Each arm's Wilson interval supplies the distance from its rate to its
        bound; the two distances are combined in quadrature on each side.
        The interval is defined for zero conversions in either or both arms,
        stays within [-1, 1], and in Newcombe's evaluation kept coverage
        close to nominal for small and large samples alike.

    References:
        Newcombe, R. G. (1998). Interval estimation for the difference
        between independent proportions: comparison of eleven methods.
        Statistics in Medicine, 17(8), 873-890 (method 10).
    """
    n_e = _validate.counts("n_exposed", n_exposed)
    x_e = _validate.successes("x_exposed", x_exposed, "n_exposed", n_e)
    n_h = _validate.counts("n_holdout", n_holdout)
    x_h = _validate.successes("x_holdout", x_holdout, "n_holdout", n_h)

    low_e, up_e = wilson_interval(n=n_e, x=x_e, alpha=alpha)
    low_h, up_h = wilson_interval(n=n_h, x=x_h, alpha=alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_e = x_e / n_e
        p_h = x_h / n_h

    lift = p_e - p_h
    lower = lift - np.sqrt((p_e - low_e) ** 2 + (up_h - p_h) ** 2)
    upper = lift + np.sqrt((up_e - p_e) ** 2 + (p_h - low_h) ** 2)
    return np.asarray(lower)[()], np.asarray(upper)[()]


def koopman_interval(
    *,
    n_exposed: float,
    x_exposed: float,
    n_holdout: float,
    x_holdout: float,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Koopman asymptotic score interval for ``rate_exposed / rate_holdout``.

    Args:
        n_exposed: Exposed units, a whole number.
        x_exposed: Exposed conversions, at most ``n_exposed``.
        n_holdout: Holdout units, a whole number.
        x_holdout: Holdout conversions, at most ``n_holdout``.
        alpha: Two-sided significance level.

    Returns:
        ``(lower, upper)`` for the ratio of rates. The upper bound is ``inf``
        when the holdout has no conversions, and the lower bound is 0 when
        the exposed arm has none: the data cannot bound that side. Both are
        NaN when an arm has no units or neither arm has a conversion.

    Note:
        The bounds are the two ratios at which the uncorrected score
        statistic, with both rates re-estimated under the constraint
        ``rate_exposed = ratio * rate_holdout``, equals the chi-square
        critical value on one degree of freedom. Each side is solved with
        Brent's method on the log ratio. This is the score interval without
        the ``N / (N - 1)`` factor of Miettinen and Nurminen (1985), as
        Fagerland et al. (2015) recommend for the ratio.

    References:
        Koopman, P. A. R. (1984). Confidence intervals for the ratio of two
        binomial proportions. Biometrics, 40(2), 513-517.

        Miettinen, O., & Nurminen, M. (1985). Comparative analysis of two
        rates. Statistics in Medicine, 4(2), 213-226.

        Fagerland, M. W., Lydersen, S., & Laake, P. (2015). Recommended
        confidence intervals for two independent binomial proportions.
        Statistical Methods in Medical Research, 24(2), 224-254.
    """
    n_e = float(_validate.counts("n_exposed", n_exposed))
    x_e = float(_validate.successes("x_exposed", x_exposed, "n_exposed", n_e))
    n_h = float(_validate.counts("n_holdout", n_holdout))
    x_h = float(_validate.successes("x_holdout", x_holdout, "n_holdout", n_h))
    critical = float(stats.chi2.isf(_validate.alpha(alpha), 1))
    if n_e == 0 or n_h == 0 or x_e + x_h == 0:
        return math.nan, math.nan

    def excess(log_ratio: float) -> float:
        value = _koopman_statistic(math.exp(log_ratio), n_e, x_e, n_h, x_h)
        return value - critical

    if x_e == 0:
        anchor = -_ANCHOR_FAR
    elif x_h == 0:
        anchor = _ANCHOR_FAR
    else:
        anchor = math.log((x_e / n_e) / (x_h / n_h))
    lower = 0.0 if x_e == 0 else _solve_side(excess, anchor, direction=-1.0)
    upper = math.inf if x_h == 0 else _solve_side(excess, anchor, direction=1.0)
    return lower, upper


def _koopman_statistic(
    ratio: float, n_e: float, x_e: float, n_h: float, x_h: float
) -> float:
    """The score statistic for ``rate_exposed = ratio * rate_holdout``."""
    # Constrained maximum likelihood for the holdout rate: the smaller root
    # of a quadratic, written in the form that avoids cancellation.
    b = n_e * ratio + x_e + n_h + x_h * ratio
    c = x_e + x_h
    root = math.sqrt(max(b * b - 4.0 * (n_e + n_h) * ratio * c, 0.0))
    p_h = 2.0 * c / (b + root)
    p_e = min(ratio * p_h, 1.0)

    gap = (x_e / n_e - ratio * x_h / n_h) ** 2
    variance = p_e * (1 - p_e) / n_e + ratio**2 * p_h * (1 - p_h) / n_h
    if variance <= 0:
        return 0.0 if gap == 0 else math.inf
    return gap / variance


def _solve_side(
    excess: Callable[[float], float], anchor: float, *, direction: float
) -> float:
    """The ratio where ``excess`` crosses zero, walking away from ``anchor``.

    ``excess`` is negative at the anchor (the estimate, or far out where the
    data put no bound) and grows monotonically away from it on each side.
    """
    inside = anchor
    step = 0.5
    while True:
        outside = inside + direction * step
        if abs(outside) > _LOG_RATIO_LIMIT:
            return 0.0 if direction < 0 else math.inf
        if excess(outside) > 0:
            break
        inside = outside
        step *= 2.0
    low, high = sorted((inside, outside))
    return math.exp(optimize.brentq(excess, low, high, xtol=1e-12))
