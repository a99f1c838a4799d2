"""Rule-based models: last, last non-direct, first, linear, position-based
and time decay.

Each model splits every converting path's conversions (and value, in the
same shares) among the path's touches by a fixed rule, and sums the shares
by state; the credit of all states adds up to the conversions. A state met
twice on a path gets both of its touches' shares. The models read the path
table block by block (:meth:`Paths.blocks`), so their working memory is
bounded by the block size, not by the table: in each block the paths with
neither conversions nor value are set aside, the shares of every other
touch are one array, summed by state with ``numpy.bincount``, and the
blocks' sums are added. The cost is a few passes over the touches and no
Python loop per path.

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


def _distribute(
    model: str, paths: Paths, rule: Callable[[Paths], np.ndarray]
) -> ModelCredit:
    """Sum each touch's share of its path's conversions and value by state.

    ``rule`` gives the shares of a table's touches, one number per touch
    (aligned with its ``codes``); it is applied block by block to the
    paths with conversions or value, the only ones that bring credit. A
    state is credited when it has a share on such a path, as when the
    paths were walked one by one.
    """
    size = len(paths.states)
    conversions = np.zeros(size)
    value = np.zeros(size)
    credited = np.zeros(size, dtype=bool)
    for block in paths.blocks():
        table = _credited_paths(block)
        if table is None:
            continue

        shares = rule(table)
        owner = table.owner
        codes = table.codes
        weights = shares * table.conversions[owner]
        conversions += np.bincount(codes, weights=weights, minlength=size)
        weights = np.multiply(shares, table.value[owner], out=weights)
        value += np.bincount(codes, weights=weights, minlength=size)
        credited |= np.bincount(codes[shares != 0], minlength=size).astype(bool)

    return ModelCredit(
        model=model,
        channels=tuple(np.array(paths.states, dtype=object)[credited]),
        conversions=tuple(float(x) for x in conversions[credited]),
        value=tuple(float(x) for x in value[credited]),
    )


def _credited_paths(block: Paths) -> Paths | None:
    """The paths of ``block`` with conversions or value (None if none):
    the block itself when every path has them, else a copy of those."""
    active = (block.conversions > 0) | (block.value > 0)
    if active.all():
        return block
    if not active.any():
        return None
    offsets = np.zeros(np.count_nonzero(active) + 1, np.int64)
    np.cumsum(block.lengths[active], out=offsets[1:])
    return Paths(
        states=block.states,
        codes=block.codes[np.repeat(active, block.lengths)],
        offsets=offsets,
        conversions=block.conversions[active],
        value=block.value[active],
        nulls=block.nulls[active],
    )


def _at(paths: Paths, chosen: np.ndarray) -> np.ndarray:
    """Shares: all of a path's credit to the touch at ``chosen`` (per path)."""
    return (paths.position == np.repeat(chosen, paths.lengths)).astype(float)


def last_touch(paths: Paths) -> ModelCredit:
    """All credit to the final touch of each path."""
    return _distribute("last", paths, lambda block: _at(block, block.lengths - 1))


def first_touch(paths: Paths) -> ModelCredit:
    """All credit to the first touch of each path."""
    return _distribute(
        "first", paths, lambda block: _at(block, np.zeros(len(block.lengths)))
    )


def last_non_direct(
    paths: Paths, *, direct: Sequence[str] = ("direct",)
) -> ModelCredit:
    """All credit to the last touch that is not direct; a path of direct
    touches only credits its last touch (direct), as Universal Analytics
    did."""
    passed = np.isin(np.array(paths.states, dtype=object), list(direct))

    def rule(block: Paths) -> np.ndarray:
        position = block.position
        candidate = np.where(passed[block.codes], -1, position)
        chosen = np.maximum.reduceat(candidate, block.offsets[:-1])
        chosen = np.where(chosen < 0, block.lengths - 1, chosen)
        return (position == np.repeat(chosen, block.lengths)).astype(float)

    return _distribute("last_non_direct", paths, rule)


def linear(paths: Paths) -> ModelCredit:
    """Equal credit to every touch of a path."""
    return _distribute(
        "linear", paths, lambda block: 1 / np.repeat(block.lengths, block.lengths)
    )


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
    pair = first + last

    def rule(block: Paths) -> np.ndarray:
        length = np.repeat(block.lengths, block.lengths)
        position = block.position
        shares = middle / np.maximum(length - 2, 1)
        shares = np.where(position == 0, first, shares)
        shares = np.where(position == length - 1, last, shares)
        shares = np.where(
            length == 2, np.where(position == 0, first / pair, last / pair), shares
        )
        return np.where(length == 1, 1.0, shares)

    return _distribute("position", paths, rule)


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
