"""Input checks shared by the ``liftlab.stats`` functions.

Invalid input (a negative count, more conversions than units, an alpha of 2)
is a caller's mistake and raises :class:`ValueError` with one message shape,
``"<field> must be <allowed>, got <value>"``. Undefined statistics on valid
input are not errors; the functions return NaN with a reason instead.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def fail(field: str, allowed: str, value: object) -> ValueError:
    """The uniform error for a bad input."""
    return ValueError(f"{field} must be {allowed}, got {value!r}")


def counts(field: str, value: npt.ArrayLike) -> FloatArray:
    """``value`` as floats, checked to be whole numbers >= 0."""
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise fail(field, "a whole number >= 0", value)
    if np.any(array != np.floor(array)):
        raise fail(field, "a whole number >= 0", value)
    return array


def successes(
    field: str, value: npt.ArrayLike, total_field: str, total: FloatArray
) -> FloatArray:
    """A count of successes, checked against its number of units."""
    array = counts(field, value)
    if np.any(array > total):
        raise fail(field, f"at most {total_field}", value)
    return array


def finite(field: str, value: npt.ArrayLike) -> FloatArray:
    """``value`` as floats, checked to be finite."""
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise fail(field, "finite", value)
    return array


def alpha(value: float) -> float:
    """A two-sided significance level, checked to lie in (0, 1)."""
    if not (isinstance(value, int | float) and 0 < value < 1):
        raise fail("alpha", "a number in (0, 1)", value)
    return float(value)


def probability(field: str, value: float, *, low: float = 0, high: float = 1) -> float:
    """A number checked to lie strictly between ``low`` and ``high``."""
    if not (isinstance(value, int | float) and low < value < high):
        raise fail(field, f"a number in ({low:g}, {high:g})", value)
    return float(value)


def positive(field: str, value: float) -> float:
    """A finite number checked to be > 0."""
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise fail(field, "a finite number > 0", value)
    return float(value)
