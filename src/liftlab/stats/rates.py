"""Exposed versus holdout conversion rates: the lift, its intervals and a
p-value, from four counts.

:func:`compare_rates` is the entry point the results engine calls with the
units and conversions of each arm. It combines the intervals of
:mod:`liftlab.stats.proportions` with the score test, falling back to
Fisher's exact test when the 2 x 2 table is too thin for the chi-square
approximation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy import stats

from liftlab.stats import _validate
from liftlab.stats.estimate import Estimate, Undefined
from liftlab.stats.proportions import (
    koopman_interval,
    newcombe_interval,
    wilson_interval,
)

__all__ = ["RateComparison", "RateTest", "compare_rates", "rate_p_value", "score_test"]

MIN_EXPECTED_CELL = 5.0
"""Smallest expected cell count for which the score (chi-square) test is used."""


class RateTest(StrEnum):
    """Which test produced a rate comparison's p-value."""

    SCORE = "score"
    FISHER_EXACT = "fisher_exact"


@dataclass(frozen=True, slots=True)
class RateComparison:
    """Conversion in the exposed arm against the holdout.

    Attributes:
        rate_exposed: Exposed conversion rate with its Wilson interval.
        rate_holdout: Holdout conversion rate with its Wilson interval.
        absolute_lift: ``rate_exposed - rate_holdout`` with the Newcombe
            hybrid score interval.
        relative_lift: ``rate_exposed / rate_holdout - 1`` with the Koopman
            score interval shifted by -1; NaN with reason ``no holdout
            conversions`` when the holdout never converted, and then an
            upper bound of ``inf``.
        incremental_conversions: Conversions the texts added in the exposed
            arm, ``absolute_lift * n_exposed``, with the interval scaled
            alike.
        p_value: Two-sided p-value for equal rates; NaN when an arm is empty.
        test: The test behind ``p_value``.
        alpha: The two-sided significance level of every interval.
        reason: Why ``p_value`` is NaN, else None.
    """

    rate_exposed: Estimate
    rate_holdout: Estimate
    absolute_lift: Estimate
    relative_lift: Estimate
    incremental_conversions: Estimate
    p_value: float
    test: RateTest
    alpha: float
    reason: str | None = None


def compare_rates(
    *,
    n_exposed: int,
    x_exposed: int,
    n_holdout: int,
    x_holdout: int,
    alpha: float = 0.05,
) -> RateComparison:
    """Compare the conversion rates of the exposed arm and the holdout.

    Args:
        n_exposed: Exposed units (flow entrants who were texted).
        x_exposed: Exposed units that converted, at most ``n_exposed``.
        n_holdout: Holdout units (flow entrants who were not texted).
        x_holdout: Holdout units that converted, at most ``n_holdout``.
        alpha: Two-sided significance level of every interval.

    Returns:
        The rates, the absolute and relative lift and the incremental
        conversions, each with its interval, and a p-value. Nothing raises
        for valid counts: an empty arm makes every figure that needs it NaN
        with the reason ``no exposed units`` or ``no holdout units``.

    Note:
        The intervals do not assume large samples: Wilson for each rate,
        Newcombe's method 10 for the difference and Koopman's score
        interval for the ratio all keep close to nominal coverage with few
        conversions. The p-value comes from :func:`rate_p_value`.

    References:
        Newcombe, R. G. (1998). Interval estimation for the difference
        between independent proportions: comparison of eleven methods.
        Statistics in Medicine, 17(8), 873-890.

        Koopman, P. A. R. (1984). Confidence intervals for the ratio of two
        binomial proportions. Biometrics, 40(2), 513-517.

        Wilson, E. B. (1927). Probable inference, the law of succession, and
        statistical inference. Journal of the American Statistical
        Association, 22(158), 209-212.
    """
    n_e, x_e, n_h, x_h = _counts(n_exposed, x_exposed, n_holdout, x_holdout)
    alpha = _validate.alpha(alpha)

    rate_exposed = _rate(n_e, x_e, alpha, Undefined.NO_EXPOSED_UNITS)
    rate_holdout = _rate(n_h, x_h, alpha, Undefined.NO_HOLDOUT_UNITS)
    p_value, test = rate_p_value(
        n_exposed=n_e, x_exposed=x_e, n_holdout=n_h, x_holdout=x_h
    )
    empty = rate_exposed.reason or rate_holdout.reason
    if empty is not None:
        missing = Estimate.undefined(empty)
        return RateComparison(
            rate_exposed=rate_exposed,
            rate_holdout=rate_holdout,
            absolute_lift=missing,
            relative_lift=missing,
            incremental_conversions=missing,
            p_value=math.nan,
            test=test,
            alpha=alpha,
            reason=empty,
        )

    lift_low, lift_high = newcombe_interval(
        n_exposed=n_e, x_exposed=x_e, n_holdout=n_h, x_holdout=x_h, alpha=alpha
    )
    lift = x_e / n_e - x_h / n_h
    absolute_lift = Estimate(lift, float(lift_low), float(lift_high))
    incremental = Estimate(lift * n_e, float(lift_low) * n_e, float(lift_high) * n_e)
    return RateComparison(
        rate_exposed=rate_exposed,
        rate_holdout=rate_holdout,
        absolute_lift=absolute_lift,
        relative_lift=_relative_lift(n_e, x_e, n_h, x_h, alpha),
        incremental_conversions=incremental,
        p_value=p_value,
        test=test,
        alpha=alpha,
    )


def score_test(
    *,
    n_exposed: npt.ArrayLike,
    x_exposed: npt.ArrayLike,
    n_holdout: npt.ArrayLike,
    x_holdout: npt.ArrayLike,
) -> tuple[np.float64 | _validate.FloatArray, np.float64 | _validate.FloatArray]:
    """Score test that two independent rates are equal (vectorised).

    Args:
        n_exposed: Exposed units.
        x_exposed: Exposed conversions.
        n_holdout: Holdout units.
        x_holdout: Holdout conversions.

    Returns:
        ``(z, p_value)``: the statistic, positive when the exposed rate is
        higher, and its two-sided p-value. Both are NaN where an arm is empty
        or the pooled rate is 0 or 1 (the statistic is then 0 / 0).

    Note:
        The variance is estimated under the null hypothesis from the pooled
        rate, so ``z ** 2`` is Pearson's chi-square statistic for the 2 x 2
        table without continuity correction.

    References:
        Miettinen, O., & Nurminen, M. (1985). Comparative analysis of two
        rates. Statistics in Medicine, 4(2), 213-226.

        Agresti, A. (2013). Categorical Data Analysis (3rd ed.), Section
        3.2. Wiley.
    """
    n_e = _validate.counts("n_exposed", n_exposed)
    x_e = _validate.successes("x_exposed", x_exposed, "n_exposed", n_e)
    n_h = _validate.counts("n_holdout", n_holdout)
    x_h = _validate.successes("x_holdout", x_holdout, "n_holdout", n_h)

    with np.errstate(divide="ignore", invalid="ignore"):
        p_pooled = (x_e + x_h) / (n_e + n_h)
        variance = p_pooled * (1 - p_pooled) * (1 / n_e + 1 / n_h)
        z = (x_e / n_e - x_h / n_h) / np.sqrt(variance)
    z = np.where(variance > 0, z, np.nan)
    return z[()], (2 * stats.norm.sf(np.abs(z)))[()]


def rate_p_value(
    *, n_exposed: float, x_exposed: float, n_holdout: float, x_holdout: float
) -> tuple[float, RateTest]:
    """Two-sided p-value for equal rates, by the score or the exact test.

    Args:
        n_exposed: Exposed units, a whole number.
        x_exposed: Exposed conversions, at most ``n_exposed``.
        n_holdout: Holdout units, a whole number.
        x_holdout: Holdout conversions, at most ``n_holdout``.

    Returns:
        ``(p_value, test)``. The score test is used when every expected cell
        of the 2 x 2 table (conversions and non-conversions per arm, under
        equal rates) is at least 5; otherwise Fisher's exact test. The
        p-value is NaN when an arm is empty.

    References:
        Cochran, W. G. (1954). Some methods for strengthening the common
        chi-square tests. Biometrics, 10(4), 417-451.

        Fisher, R. A. (1935). The logic of inductive inference. Journal of
        the Royal Statistical Society, 98(1), 39-82.

        Agresti, A. (1992). A survey of exact inference for contingency
        tables. Statistical Science, 7(1), 131-153.
    """
    n_e, x_e, n_h, x_h = _counts(n_exposed, x_exposed, n_holdout, x_holdout)
    total = n_e + n_h
    if n_e == 0 or n_h == 0:
        return math.nan, RateTest.SCORE

    converted = x_e + x_h
    smallest_margin = min(converted, total - converted)
    if smallest_margin * min(n_e, n_h) / total >= MIN_EXPECTED_CELL:
        _, p_value = score_test(
            n_exposed=n_e, x_exposed=x_e, n_holdout=n_h, x_holdout=x_h
        )
        return float(p_value), RateTest.SCORE
    table = [[x_e, n_e - x_e], [x_h, n_h - x_h]]
    result = stats.fisher_exact(np.asarray(table, dtype=np.int64))
    return float(result.pvalue), RateTest.FISHER_EXACT


def _counts(
    n_exposed: float, x_exposed: float, n_holdout: float, x_holdout: float
) -> tuple[float, float, float, float]:
    n_e = float(_validate.counts("n_exposed", n_exposed))
    x_e = float(_validate.successes("x_exposed", x_exposed, "n_exposed", n_e))
    n_h = float(_validate.counts("n_holdout", n_holdout))
    x_h = float(_validate.successes("x_holdout", x_holdout, "n_holdout", n_h))
    return n_e, x_e, n_h, x_h


def _rate(n: float, x: float, alpha: float, empty: Undefined) -> Estimate:
    if n == 0:
        return Estimate.undefined(empty)
    lower, upper = wilson_interval(n=n, x=x, alpha=alpha)
    return Estimate(x / n, float(lower), float(upper))


def _relative_lift(
    n_e: float, x_e: float, n_h: float, x_h: float, alpha: float
) -> Estimate:
    lower, upper = koopman_interval(
        n_exposed=n_e, x_exposed=x_e, n_holdout=n_h, x_holdout=x_h, alpha=alpha
    )
    if x_h == 0:
        reason = (
            Undefined.NO_CONVERSIONS if x_e == 0 else Undefined.NO_HOLDOUT_CONVERSIONS
        )
        return Estimate(math.nan, lower - 1, upper - 1, reason)
    return Estimate((x_e / n_e) / (x_h / n_h) - 1, lower - 1, upper - 1)
