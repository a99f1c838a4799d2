"""Means and variances from sufficient statistics (count, sum, sum of squares)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from liftlab.stats import _validate


def mean_and_variance(
    n: npt.ArrayLike, total: npt.ArrayLike, total_sq: npt.ArrayLike
) -> tuple[_validate.FloatArray, _validate.FloatArray]:
    """Sample mean and unbiased sample variance, NaN where undefined.

    The mean needs ``n >= 1`` and the variance ``n >= 2``. Rounding in
    ``sum_sq - sum**2 / n`` can leave a tiny negative number for a constant
    metric; it is clipped to 0.
    """
    n_arr = np.asarray(n, dtype=np.float64)
    total_arr = np.asarray(total, dtype=np.float64)
    total_sq_arr = np.asarray(total_sq, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n_arr >= 1, total_arr / n_arr, np.nan)
        squares = np.maximum(total_sq_arr - total_arr * mean, 0.0)
        variance = np.where(n_arr >= 2, squares / (n_arr - 1), np.nan)
    return mean, variance


def check(
    arm: str, n: npt.ArrayLike, total: npt.ArrayLike, total_sq: npt.ArrayLike
) -> tuple[_validate.FloatArray, _validate.FloatArray, _validate.FloatArray]:
    """Validate one arm's ``n``, ``sum`` and ``sum_sq``; field names carry
    the arm suffix."""
    n_arr = _validate.counts(f"n_{arm}", n)
    total_arr = _validate.finite(f"sum_{arm}", total)
    total_sq_arr = _validate.finite(f"sum_sq_{arm}", total_sq)
    if np.any(total_sq_arr < 0):
        raise _validate.fail(f"sum_sq_{arm}", "a number >= 0", total_sq)
    return n_arr, total_arr, total_sq_arr
