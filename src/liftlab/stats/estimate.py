"""The shared result vocabulary of ``liftlab.stats``: an estimate with its
interval, and the reasons a statistic can be undefined.

An undefined statistic is never an exception and never a number that looks
real: its value is NaN (or an infinite bound where the literature defines
one) and :attr:`Estimate.reason` says why, in words a report can show as they
are. The reasons are :class:`Undefined` members, which are plain strings, so
they compare equal to their text and serialise without help.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Estimate", "Undefined"]


class Undefined(StrEnum):
    """Why a statistic has no value; each member's value is its message."""

    NO_EXPOSED_UNITS = "no exposed units"
    NO_HOLDOUT_UNITS = "no holdout units"
    NO_HOLDOUT_CONVERSIONS = "no holdout conversions"
    NO_CONVERSIONS = "no conversions in either arm"
    TOO_FEW_UNITS = "fewer than two units in an arm"
    NO_VARIANCE = "no variance in either arm"
    ZERO_HOLDOUT_MEAN = "holdout mean is zero"
    CONSTANT_COVARIATE = "the pre-entry covariate does not vary"
    TOO_FEW_SEGMENTS = "fewer than two segments with a defined lift"
    TOO_FEW_EXPECTED = "expected count below the minimum for the chi-square test"


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its two-sided confidence interval.

    Attributes:
        value: The point estimate; NaN when undefined.
        lower: Lower confidence bound; NaN when undefined, ``-inf`` or a
            natural limit (such as -1 for a relative lift) when unbounded.
        upper: Upper confidence bound; NaN when undefined, ``inf`` when the
            data cannot bound it (a ratio over a holdout without conversions).
        reason: None when value and bounds are all finite; otherwise why the
            value or a bound is missing or infinite.
    """

    value: float
    lower: float
    upper: float
    reason: str | None = None

    @classmethod
    def undefined(cls, reason: str) -> Estimate:
        """An estimate with no value and no bounds, for ``reason``."""
        return cls(math.nan, math.nan, math.nan, reason)

    @property
    def defined(self) -> bool:
        """Whether the point estimate is a finite number."""
        return math.isfinite(self.value)

    def excludes(self, value: float = 0.0) -> bool:
        """Whether the interval lies wholly on one side of ``value``.

        An interval with a NaN bound excludes nothing.
        """
        return self.lower > value or self.upper < value
