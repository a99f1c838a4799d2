"""Rule-based models: last, last non-direct, first, linear, position-based
and time decay.

Each model splits every converting path's conversions (and value, in the
same shares) among the path's touches by a fixed rule, and sums the shares
by state; the credit of all states adds up to the conversions. A state met
twice on a path gets both of its touches' shares. The shares of every touch
of every path are one array, summed by state with ``numpy.bincount``, so
the cost is a few passes over the touches and no Python loop per path.

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
from collections.abc import Sequence

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


def _distribute(model: str, paths: Paths, shares: np.ndarray) -> ModelCredit:
    """Sum each touch's share of its path's conversions and value by state.

    ``shares`` holds one number per touch (aligned with ``paths.codes``).
    A state is credited when it has a share on a path with conversions or
    value, as when the paths were walked one by one.
    """
    owner = paths.owner
    active = (paths.conversions > 0) | (paths.value > 0)
    size = len(paths.states)
    conversions = np.bincount(
        paths.codes, weights=shares * paths.conversions[owner], minlength=size
    )
    value = np.bincount(
        paths.codes, weights=shares * paths.value[owner], minlength=size
    )
    credited = np.bincount(
        paths.codes[(shares != 0) & active[owner]], minlength=size
    ).astype(bool)
    return ModelCredit(
        model=model,
        channels=tuple(np.array(paths.states, dtype=object)[credited]),
        conversions=tuple(float(x) for x in conversions[credited]),
        value=tuple(float(x) for x in value[credited]),
    )


def _at(paths: Paths, chosen: np.ndarray) -> np.ndarray:
    """Shares: all of a path's credit to the touch at ``chosen`` (per path)."""
    return (paths.position == np.repeat(chosen, paths.lengths)).astype(float)


def last_touch(paths: Paths) -> ModelCredit:
    """All credit to the final touch of each path."""
    return _distribute("last", paths, _at(paths, paths.lengths - 1))


def first_touch(paths: Paths) -> ModelCredit:
    """All credit to the first touch of each path."""
    return _distribute("first", paths, _at(paths, np.zeros(len(paths.lengths))))


def last_non_direct(
    paths: Paths, *, direct: Sequence[str] = ("direct",)
) -> ModelCredit:
    """All credit to the last touch that is not direct; a path of direct
    touches only credits its last touch (direct), as Universal Analytics
    did."""
    passed = np.isin(np.array(paths.states, dtype=object), list(direct))
    position = paths.position
    candidate = np.where(passed[paths.codes], -1, position)
    if len(candidate):
        chosen = np.maximum.reduceat(candidate, paths.offsets[:-1])
    else:
        chosen = np.zeros(0, np.int64)
    chosen = np.where(chosen < 0, paths.lengths - 1, chosen)
    return _distribute("last_non_direct", paths, _at(paths, chosen))


def linear(paths: Paths) -> ModelCredit:
    """Equal credit to every touch of a path."""
    return _distribute("linear", paths, 1 / np.repeat(paths.lengths, paths.lengths))


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
    length = np.repeat(paths.lengths, paths.lengths)
    position = paths.position
    shares = middle / np.maximum(length - 2, 1)
    shares = np.where(position == 0, first, shares)
    shares = np.where(position == length - 1, last, shares)
    pair = first + last
    shares = np.where(
        length == 2, np.where(position == 0, first / pair, last / pair), shares
    )
    return _distribute("position", paths, np.where(length == 1, 1.0, shares))


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
