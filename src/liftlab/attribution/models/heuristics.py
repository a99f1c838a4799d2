"""Rule-based models: last, last non-direct, first, linear, position-based
and time decay.

Each model splits every converting path's conversions (and value, in the
same shares) among the path's touches by a fixed rule, and sums the shares
by state; the credit of all states adds up to the conversions. A state met
twice on a path gets both of its touches' shares.

References:
    Google Analytics Help, "Attribution modeling overview" (Universal
    Analytics multi-channel funnels): last interaction, last non-direct
    click, first interaction, linear, time decay (7-day half-life) and
    position-based (40% first, 40% last, 20% shared by the middle).

    Shao, X. and Li, L. (2011). "Data-driven multi-touch attribution
    models." Proceedings of the 17th ACM SIGKDD, 258-264, on why such fixed
    rules are heuristics rather than measurements.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from liftlab.attribution.models.paths import ModelCredit, Paths

__all__ = [
    "decay_weights",
    "first_touch",
    "last_non_direct",
    "last_touch",
    "linear",
    "position_based",
    "time_decay",
]

Shares = Callable[[tuple[str, ...]], np.ndarray]


def _distribute(model: str, paths: Paths, shares: Shares) -> ModelCredit:
    conversions: dict[str, float] = defaultdict(float)
    value: dict[str, float] = defaultdict(float)
    for path, converted, worth in zip(
        paths.paths, paths.conversions, paths.value, strict=True
    ):
        if converted == 0 and worth == 0:
            continue
        for state, share in zip(path, shares(path), strict=True):
            if share:
                conversions[state] += converted * share
                value[state] += worth * share
    return ModelCredit.from_totals(model, conversions, value)


def _one_hot(length: int, index: int) -> np.ndarray:
    weights = np.zeros(length)
    weights[index] = 1.0
    return weights


def last_touch(paths: Paths) -> ModelCredit:
    """All credit to the final touch of each path."""
    return _distribute("last", paths, lambda path: _one_hot(len(path), -1))


def first_touch(paths: Paths) -> ModelCredit:
    """All credit to the first touch of each path."""
    return _distribute("first", paths, lambda path: _one_hot(len(path), 0))


def last_non_direct(
    paths: Paths, *, direct: Sequence[str] = ("direct",)
) -> ModelCredit:
    """All credit to the last touch that is not direct; a path of direct
    touches only credits its last touch (direct), as Universal Analytics
    did."""
    passed = frozenset(direct)

    def shares(path: tuple[str, ...]) -> np.ndarray:
        for index in range(len(path) - 1, -1, -1):
            if path[index] not in passed:
                return _one_hot(len(path), index)
        return _one_hot(len(path), -1)

    return _distribute("last_non_direct", paths, shares)


def linear(paths: Paths) -> ModelCredit:
    """Equal credit to every touch of a path."""
    return _distribute("linear", paths, lambda path: np.full(len(path), 1 / len(path)))


def position_based(
    paths: Paths, *, weights: tuple[float, float, float] = (0.4, 0.2, 0.4)
) -> ModelCredit:
    """First and last touch get their share (40% each by default), the
    touches between share the middle share (20%) equally.

    A path of two touches has no middle: its two touches split the credit
    in proportion to the first and last shares (50/50 by default); a path
    of one touch gets it all.
    """
    first, middle, last = weights

    def shares(path: tuple[str, ...]) -> np.ndarray:
        length = len(path)
        if length == 1:
            return np.ones(1)
        if length == 2:
            total = first + last
            return np.array([first / total, last / total])
        split = np.full(length, middle / (length - 2))
        split[0], split[-1] = first, last
        return split

    return _distribute("position", paths, shares)


def decay_weights(lag_seconds: np.ndarray, *, half_life_days: float) -> np.ndarray:
    """Unnormalised time-decay weights ``2 ** (-lag / half_life)``.

    A touch one half-life before the conversion weighs half as much as a
    touch at the conversion.
    """
    return np.exp2(-np.asarray(lag_seconds, dtype=float) / (half_life_days * 86_400))


def time_decay(
    paths: Sequence[Sequence[tuple[str, float]]],
    conversions: Sequence[float],
    value: Sequence[float] | None = None,
    *,
    half_life_days: float = 7.0,
) -> ModelCredit:
    """Credit in proportion to ``2 ** (-lag / half_life)``.

    Args:
        paths: Per path, its touches as ``(state, seconds before the
            conversion)``.
        conversions: Conversions per path.
        value: Their value; zero when None.
        half_life_days: The half-life (7 days, GA's default).

    The warehouse computes the same weights for each touch of each
    conversion in :mod:`liftlab.attribution.paths`, since a path table
    holds no times; this function is the reference it is tested against.
    """
    worths = [0.0] * len(conversions) if value is None else list(value)
    credit: dict[str, float] = defaultdict(float)
    value_credit: dict[str, float] = defaultdict(float)
    for touches, converted, worth in zip(paths, conversions, worths, strict=True):
        if not touches:
            continue
        lags = np.array([lag for _, lag in touches], dtype=float)
        weights = decay_weights(lags, half_life_days=half_life_days)
        weights = weights / weights.sum()
        for (state, _), share in zip(touches, weights, strict=True):
            credit[state] += converted * share
            value_credit[state] += worth * share
    return ModelCredit.from_totals("time_decay", credit, value_credit)
