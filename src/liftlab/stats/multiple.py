"""Adjusted p-values for many flows, segments or metrics read at once.

Holm's step-down procedure controls the family-wise error rate (the chance
of any false positive) and is the default. Benjamini and Hochberg's step-up
procedure controls the false discovery rate (the expected share of false
positives among the flagged) and is available on request. Both return
adjusted p-values, to compare with ``alpha`` as usual.

A NaN p-value (an undefined test) is left NaN and is not counted in the
family.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from liftlab.stats import _validate

__all__ = ["adjust_p_values", "benjamini_hochberg", "holm"]


def holm(p_values: npt.ArrayLike) -> _validate.FloatArray:
    """Holm-adjusted p-values.

    Args:
        p_values: Raw p-values in [0, 1]; NaN for undefined tests.

    Returns:
        Adjusted p-values in the input order. With the ``m`` defined
        p-values sorted ascending, the ``i``-th (from 1) becomes
        ``max over j <= i of min(1, (m - j + 1) * p_(j))``. Rejecting where
        the adjusted value is at most ``alpha`` is Holm's procedure.

    References:
        Holm, S. (1979). A simple sequentially rejective multiple test
        procedure. Scandinavian Journal of Statistics, 6(2), 65-70.
    """
    raw, defined = _p_values(p_values)
    ordered = np.sort(raw[defined])
    m = ordered.size
    factors = m - np.arange(m)
    adjusted = np.minimum(1.0, np.maximum.accumulate(factors * ordered))
    return _in_input_order(raw, defined, adjusted)


def benjamini_hochberg(p_values: npt.ArrayLike) -> _validate.FloatArray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate).

    Args:
        p_values: Raw p-values in [0, 1]; NaN for undefined tests.

    Returns:
        Adjusted p-values in the input order. With the ``m`` defined
        p-values sorted ascending, the ``i``-th (from 1) becomes
        ``min over j >= i of min(1, m / j * p_(j))``. Flagging where the
        adjusted value is at most ``q`` controls the false discovery rate
        at ``q`` for independent or positively dependent tests.

    References:
        Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery
        rate: a practical and powerful approach to multiple testing. Journal
        of the Royal Statistical Society: Series B (Methodological), 57(1),
        289-300.
    """
    raw, defined = _p_values(p_values)
    ordered = np.sort(raw[defined])
    m = ordered.size
    scaled = m / np.arange(1, m + 1) * ordered
    adjusted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return _in_input_order(raw, defined, adjusted)


def adjust_p_values(
    p_values: npt.ArrayLike, *, method: Literal["holm", "benjamini_hochberg"] = "holm"
) -> _validate.FloatArray:
    """Adjust p-values for multiplicity by the named method.

    Args:
        p_values: Raw p-values in [0, 1]; NaN for undefined tests.
        method: ``"holm"`` (family-wise error, the default) or
            ``"benjamini_hochberg"`` (false discovery rate).

    Returns:
        Adjusted p-values in the input order.

    References:
        Holm, S. (1979). A simple sequentially rejective multiple test
        procedure. Scandinavian Journal of Statistics, 6(2), 65-70.

        Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery
        rate: a practical and powerful approach to multiple testing. Journal
        of the Royal Statistical Society: Series B (Methodological), 57(1),
        289-300.
    """
    if method == "holm":
        return holm(p_values)
    if method == "benjamini_hochberg":
        return benjamini_hochberg(p_values)
    raise _validate.fail("method", "'holm' or 'benjamini_hochberg'", method)


def _p_values(
    p_values: npt.ArrayLike,
) -> tuple[_validate.FloatArray, npt.NDArray[np.bool_]]:
    raw = np.asarray(p_values, dtype=np.float64).ravel()
    defined = ~np.isnan(raw)
    if np.any((raw[defined] < 0) | (raw[defined] > 1)):
        raise _validate.fail("p_values", "numbers in [0, 1] or NaN", p_values)
    return raw, defined


def _in_input_order(
    raw: _validate.FloatArray,
    defined: npt.NDArray[np.bool_],
    adjusted_sorted: _validate.FloatArray,
) -> _validate.FloatArray:
    result = np.full(raw.shape, np.nan)
    positions = np.flatnonzero(defined)[np.argsort(raw[defined], kind="stable")]
    result[positions] = adjusted_sorted
    return result
