"""Does the lift differ between segments?

Cochran's Q compares each segment's absolute lift with their
inverse-variance weighted mean. A small p-value says the segments' lifts
differ by more than their sampling noise; it does not say which segment.
``I^2`` is the share of the spread in lifts beyond what noise explains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from liftlab.stats import _validate
from liftlab.stats.estimate import Undefined

__all__ = ["Heterogeneity", "lift_heterogeneity", "rate_lift_heterogeneity"]


@dataclass(frozen=True, slots=True)
class Heterogeneity:
    """Cochran's Q test of equal lifts across segments.

    Attributes:
        q: Cochran's Q statistic.
        degrees_of_freedom: Segments used minus one.
        p_value: Upper-tail chi-square probability of ``q``.
        i_squared: ``max(0, (q - df) / q)``, in [0, 1]; 0 when ``q`` is 0.
        pooled_lift: The inverse-variance weighted mean lift (fixed effect).
        pooled_standard_error: Its standard error.
        segments_used: Segments with a positive, finite standard error.
        reason: Why the figures are NaN, else None.
    """

    q: float
    degrees_of_freedom: int
    p_value: float
    i_squared: float
    pooled_lift: float
    pooled_standard_error: float
    segments_used: int
    reason: str | None = None


def lift_heterogeneity(
    *, lifts: npt.ArrayLike, standard_errors: npt.ArrayLike
) -> Heterogeneity:
    """Cochran's Q for per-segment lifts with known standard errors.

    Args:
        lifts: Each segment's lift estimate.
        standard_errors: Each segment's standard error. Segments whose
            standard error is 0, infinite or NaN carry no usable weight and
            are left out (see ``segments_used``).

    Returns:
        The test; NaN with a reason when fewer than two segments remain.

    Note:
        ``Q = sum(w_i (d_i - d_bar)^2)`` with ``w_i = 1 / se_i^2`` and
        ``d_bar`` the weighted mean; under equal lifts it is approximately
        chi-square with ``k - 1`` degrees of freedom. The approximation
        wants each segment large enough for its own normal interval; the
        test has little power with few segments.

    References:
        Cochran, W. G. (1954). The combination of estimates from different
        experiments. Biometrics, 10(1), 101-129.

        Higgins, J. P. T., & Thompson, S. G. (2002). Quantifying
        heterogeneity in a meta-analysis. Statistics in Medicine, 21(11),
        1539-1558.
    """
    d = np.asarray(lifts, dtype=np.float64).ravel()
    se = np.asarray(standard_errors, dtype=np.float64).ravel()
    if d.shape != se.shape:
        raise _validate.fail("standard_errors", f"{d.size} values like lifts", se.size)
    usable = np.isfinite(d) & np.isfinite(se) & (se > 0)
    k = int(usable.sum())
    if k < 2:
        nan = math.nan
        return Heterogeneity(nan, 0, nan, nan, nan, nan, k, Undefined.TOO_FEW_SEGMENTS)

    weights = 1 / se[usable] ** 2
    pooled = float(np.sum(weights * d[usable]) / np.sum(weights))
    q = float(np.sum(weights * (d[usable] - pooled) ** 2))
    df = k - 1
    return Heterogeneity(
        q=q,
        degrees_of_freedom=df,
        p_value=float(stats.chi2.sf(q, df)),
        i_squared=max(0.0, (q - df) / q) if q > 0 else 0.0,
        pooled_lift=pooled,
        pooled_standard_error=float(1 / math.sqrt(np.sum(weights))),
        segments_used=k,
    )


def rate_lift_heterogeneity(
    *,
    n_exposed: npt.ArrayLike,
    x_exposed: npt.ArrayLike,
    n_holdout: npt.ArrayLike,
    x_holdout: npt.ArrayLike,
) -> Heterogeneity:
    """Cochran's Q for the absolute conversion lift across segments.

    Args:
        n_exposed: Exposed units per segment.
        x_exposed: Exposed conversions per segment.
        n_holdout: Holdout units per segment.
        x_holdout: Holdout conversions per segment.

    Returns:
        :func:`lift_heterogeneity` of ``rate_exposed - rate_holdout`` with
        standard errors ``sqrt(p_e q_e / n_e + p_h q_h / n_h)``. A segment
        with an empty arm, or with no conversions or all conversions in both
        arms, has no usable standard error and is left out.

    References:
        Cochran, W. G. (1954). The combination of estimates from different
        experiments. Biometrics, 10(1), 101-129.
    """
    n_e = _validate.counts("n_exposed", n_exposed)
    x_e = _validate.successes("x_exposed", x_exposed, "n_exposed", n_e)
    n_h = _validate.counts("n_holdout", n_holdout)
    x_h = _validate.successes("x_holdout", x_holdout, "n_holdout", n_h)

    with np.errstate(divide="ignore", invalid="ignore"):
        p_e, p_h = x_e / n_e, x_h / n_h
        variance = p_e * (1 - p_e) / n_e + p_h * (1 - p_h) / n_h
    return lift_heterogeneity(lifts=p_e - p_h, standard_errors=np.sqrt(variance))
