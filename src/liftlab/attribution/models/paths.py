"""The input every model reads: a table of distinct paths, and the credit
every model returns.

A path is the ordered states of one or more journeys (``("email",
"sms:abandoned_cart", "direct")``), with the conversions, the value and the
non-converting journeys (nulls) that followed it. This is the path table
of the attribution literature and of ChannelAttribution; liftlab builds it
in the warehouse (:mod:`liftlab.attribution.paths`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["SEPARATOR", "ModelCredit", "Paths"]

SEPARATOR = " > "


def _split(path: str, separator: str) -> tuple[str, ...]:
    parts = tuple(path.strip().split(separator))
    if "" in parts:
        parts = tuple(part.strip() for part in parts if part.strip())
    return parts


@dataclass(frozen=True, slots=True)
class Paths:
    """Distinct paths with their conversions, value and nulls.

    Attributes:
        paths: Each path's states in time order; never empty.
        conversions: Conversions that followed each path.
        value: Their total value.
        nulls: Journeys along each path that did not convert.
    """

    paths: tuple[tuple[str, ...], ...]
    conversions: np.ndarray
    value: np.ndarray
    nulls: np.ndarray

    def __post_init__(self) -> None:
        count = len(self.paths)
        for name in ("conversions", "value", "nulls"):
            column = getattr(self, name)
            if column.shape != (count,):
                raise ValueError(f"{name}: needs one number per path ({count})")
            if np.any(column < 0) or not np.all(np.isfinite(column)):
                raise ValueError(f"{name}: must be finite and not negative")
        if any(len(path) == 0 for path in self.paths):
            raise ValueError("paths: a path needs at least one state")

    @classmethod
    def build(
        cls,
        paths: Iterable[str | Sequence[str]],
        conversions: Iterable[float],
        *,
        value: Iterable[float] | None = None,
        nulls: Iterable[float] | None = None,
        separator: str = SEPARATOR,
    ) -> Paths:
        """Paths from strings such as ``"a > b"`` or from sequences of states.

        Value defaults to zero and nulls to zero.
        """
        states = tuple(
            _split(path, separator) if isinstance(path, str) else tuple(path)
            for path in paths
        )
        count = len(states)
        converted = np.asarray(list(conversions), dtype=float)
        worth = np.zeros(count) if value is None else np.asarray(list(value), float)
        lost = np.zeros(count) if nulls is None else np.asarray(list(nulls), float)
        return cls(states, converted, worth, lost)

    @property
    def channels(self) -> tuple[str, ...]:
        """Every state on any path, sorted."""
        return tuple(sorted({state for path in self.paths for state in path}))

    @property
    def total_conversions(self) -> float:
        return float(self.conversions.sum())

    @property
    def total_value(self) -> float:
        return float(self.value.sum())


@dataclass(frozen=True, slots=True)
class ModelCredit:
    """The conversions and value one model credits to each state.

    Attributes:
        model: The model's name (``last``, ``markov``, ...).
        channels: The states credited, sorted.
        conversions: Credited conversions per state; they add up to the
            conversions of the paths (unless ``note`` says otherwise).
        value: Credited value per state, in the same shares.
        removal_effects: Markov only: each state's removal effect.
        conversion_probability: Markov only: the chain's probability of
            conversion from the start.
        note: Why credit is missing, when it is.
    """

    model: str
    channels: tuple[str, ...]
    conversions: tuple[float, ...]
    value: tuple[float, ...]
    removal_effects: tuple[float, ...] | None = None
    conversion_probability: float | None = None
    note: str | None = None

    @classmethod
    def from_totals(
        cls,
        model: str,
        conversions: Mapping[str, float],
        value: Mapping[str, float],
        **extra: object,
    ) -> ModelCredit:
        """Credit from per-state totals."""
        channels = tuple(sorted(set(conversions) | set(value)))
        return cls(
            model=model,
            channels=channels,
            conversions=tuple(float(conversions.get(c, 0.0)) for c in channels),
            value=tuple(float(value.get(c, 0.0)) for c in channels),
            **extra,  # type: ignore[arg-type]
        )

    def credit(self) -> dict[str, float]:
        """Credited conversions by state."""
        return dict(zip(self.channels, self.conversions, strict=True))

    def value_credit(self) -> dict[str, float]:
        """Credited value by state."""
        return dict(zip(self.channels, self.value, strict=True))
