"""Markov-chain attribution by removal effect, solved exactly.

The paths become a Markov chain: from a start state through the touches'
states to one of two absorbing states, conversion or null (a journey that
did not convert). Transition probabilities are the observed shares of each
state's next step, counting every journey (converting or not) of a path.
A channel's removal effect is the share of the chain's conversion
probability that is lost when every transition into that channel goes to
null instead; conversions (and value, in the same shares) are credited in
proportion to the removal effects.

The conversion probability is the absorption probability of the chain,
found by one sparse linear solve of ``(I - Q) x = r`` (``Q`` the
transitions among transient states, ``r`` the one-step conversion
probabilities; ``(I - Q)^-1`` is the fundamental matrix), once for the full
chain and once per channel removed. Nothing is simulated and no matrix is
raised to a power, so the answer is the same on every run and no credit is
negative. With order ``k``, a state is the last ``k`` channels of the path
(shorter at its start); removing a channel removes every state that holds
it.

The transitions are counted block by block (:meth:`Paths.blocks`) and the
blocks' counts added, so the working memory is bounded by the block size
and the number of distinct transitions (for a small chain, one slot per
possible transition), not by the touches. A transition
is numbered by the last ``k + 1`` channels up to it, the digits of one
integer in base ``channels + 1``; an order whose numbers would not fit in
63 bits is refused (with 9 channels, orders above 17).

References:
    Anderl, E., Becker, I., von Wangenheim, F. and Schumann, J. H. (2016).
    "Mapping the customer journey: Lessons learned from graph-based online
    attribution modeling." International Journal of Research in Marketing
    33(3), 457-474.

    Kemeny, J. G. and Snell, J. L. (1960). Finite Markov Chains. Van
    Nostrand, chapter III (absorbing chains, the fundamental matrix).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from liftlab.attribution.models.paths import ModelCredit, Paths

__all__ = ["markov"]

logger = logging.getLogger(__name__)

_START = 0
# Chains with at most this many possible transitions count them densely.
_DENSE_PAIRS = 1 << 22
_LARGEST = int(np.iinfo(np.int64).max)


@dataclass(frozen=True, slots=True)
class _Chain:
    """The observed transitions of a chain and what its states hold.

    Attributes:
        sources: Each transition's state of origin (0 is the start).
        targets: The state it enters, numbered from 1.
        counts: The journeys that made it.
        endings: Per state, the journeys that ended there and their
            conversions (two columns).
        held: Per state from 1, the codes of the channels it holds, one
            column per place (-1 where the path had not started).
    """

    sources: np.ndarray
    targets: np.ndarray
    counts: np.ndarray
    endings: np.ndarray
    held: np.ndarray


class _Tally:
    """Weights summed by integer key over many blocks.

    With at most ``_DENSE_PAIRS`` possible keys every key has a slot (a
    linear pass per block, no sort); with more, the distinct keys are kept
    sorted and each block is merged into them. The first column's weights
    are all positive, so a key is observed where its sum is.
    """

    def __init__(self, keys: int, columns: int) -> None:
        self.dense = keys <= _DENSE_PAIRS
        self.keys = np.zeros(0, np.int64)
        self.sums = np.zeros((keys if self.dense else 0, columns))

    def add(self, keys: np.ndarray, *weights: np.ndarray) -> None:
        """Add one block's weights, one array per column, by key."""
        if self.dense:
            for column, weight in enumerate(weights):
                self.sums[:, column] += np.bincount(
                    keys, weights=weight, minlength=len(self.sums)
                )
            return
        self.keys, inverse = np.unique(
            np.concatenate([self.keys, keys]), return_inverse=True
        )
        self.sums = np.stack(
            [
                np.bincount(inverse, weights=np.concatenate([self.sums[:, i], w]))
                for i, w in enumerate(weights)
            ],
            axis=1,
        )

    def observed(self) -> tuple[np.ndarray, np.ndarray]:
        """The observed keys, sorted, and their sums (one column each)."""
        if not self.dense:
            return self.keys, self.sums
        keys = np.flatnonzero(self.sums[:, 0])
        return keys, self.sums[keys]


def _windows(block: Paths, width: int, base: int) -> np.ndarray:
    """Each touch's last ``width`` channels on its path as the digits of
    one integer in base ``base``, the touch's own the lowest: a channel's
    digit is its code plus 1, a place before the path's start is 0."""
    digits = block.codes.astype(np.int64) + 1
    windows = digits.copy()
    starts = block.offsets[:-1]
    earlier = digits
    for back in range(1, width):
        # The digit ``back`` places earlier: one place before the one
        # ``back - 1`` earlier, and none at a path's first touch.
        moved = np.empty_like(earlier)
        moved[1:] = earlier[:-1]
        moved[starts] = 0
        earlier = moved
        windows += earlier * base**back
    return windows


def _chain(paths: Paths, order: int) -> _Chain:
    """The order-``order`` chain of the paths, counted block by block.

    A touch's transition is numbered by the last ``order + 1`` channels up
    to it: divided by the base, that number is the state the journey came
    from (0 at the start); modulo ``base ** order``, the state it enters.
    Transitions and each path's final state are tallied with the path's
    journeys (conversions and nulls) as weight; only observed states are
    numbered, in the order of their numbers.
    """
    base = len(paths.states) + 1
    span = base**order
    moves = _Tally(span * base, 1)
    ends = _Tally(span, 2)
    for block in paths.blocks():
        journeys = block.conversions + block.nulls
        if not journeys.any():
            continue

        windows = _windows(block, order + 1, base)
        weights = np.repeat(journeys, block.lengths)
        used = weights > 0
        if used.all():
            moves.add(windows, weights)
        else:
            moves.add(windows[used], weights[used])
        ended = journeys > 0
        final = windows[block.offsets[1:] - 1][ended] % span
        ends.add(final, journeys[ended], block.conversions[ended])

    # A journey only comes from a state it entered the touch before, so
    # the states entered are all the states.
    keys, counts = moves.observed()
    entered = keys % span
    states = np.unique(entered)
    came_from = keys // base
    sources = np.where(came_from == 0, _START, np.searchsorted(states, came_from) + 1)
    finals, sums = ends.observed()
    endings = np.zeros((len(states) + 1, 2))
    endings[np.searchsorted(states, finals) + 1] = sums
    held = np.stack([(states // base**back) % base for back in range(order)], 1)
    return _Chain(
        sources=sources,
        targets=np.searchsorted(states, entered) + 1,
        counts=counts[:, 0],
        endings=endings,
        held=held - 1,
    )


def markov(paths: Paths, *, order: int = 1) -> ModelCredit:
    """Credit by the removal effect of each channel in an order-``order``
    Markov chain, with non-converting journeys (``nulls``) included.

    Returns:
        Credit per channel, with each channel's removal effect and the
        chain's conversion probability. When no path converts, every
        credit is zero and ``note`` says why.
    """
    channels = paths.channels
    if order < 1:
        raise ValueError(f"order: must be 1 or more, got {order}")
    if (len(channels) + 1) ** (order + 1) > _LARGEST:
        raise ValueError(
            f"order: {order} is too high for {len(channels)} channels, whose "
            "transitions would not fit in 63 bits"
        )
    total = paths.total_conversions
    if total == 0:
        zeros = tuple(0.0 for _ in channels)
        return ModelCredit(
            "markov", channels, zeros, zeros, zeros, 0.0, "no path converts"
        )

    # Transition counts are weighted sums over the observed (from, to)
    # pairs, so no path is visited in Python.
    chain = _chain(paths, order)
    sources, targets, held = chain.sources, chain.targets, chain.held
    size = len(held) + 1
    outflow = np.bincount(sources, weights=chain.counts, minlength=size)
    outflow += chain.endings[:, 0]
    probabilities = chain.counts / outflow[sources]
    conversion = chain.endings[:, 1] / np.where(outflow > 0, outflow, 1.0)

    full = _conversion_probability(sources, targets, probabilities, conversion, size)
    effects = []
    for channel in range(len(channels)):
        removed = np.zeros(size, dtype=bool)
        removed[1:] = (held == channel).any(axis=1)
        keep = ~removed[targets] & ~removed[sources]
        without = _conversion_probability(
            sources[keep],
            targets[keep],
            probabilities[keep],
            np.where(removed, 0.0, conversion),
            size,
        )
        effects.append(max(0.0, 1.0 - without / full))

    effect = np.array(effects)
    shares = effect / effect.sum() if effect.sum() > 0 else effect
    logger.debug("markov order %d: %d states, p=%.6f", order, size - 1, full)
    return ModelCredit(
        model="markov",
        channels=channels,
        conversions=tuple(float(x) for x in shares * total),
        value=tuple(float(x) for x in shares * paths.total_value),
        removal_effects=tuple(float(x) for x in effect),
        conversion_probability=float(full),
    )


def _conversion_probability(
    sources: np.ndarray,
    targets: np.ndarray,
    probabilities: np.ndarray,
    conversion: np.ndarray,
    size: int,
) -> float:
    """Absorption probability in conversion from the start state."""
    transient = sp.csc_matrix((probabilities, (sources, targets)), shape=(size, size))
    system = sp.identity(size, format="csc") - transient
    solution = spsolve(system, conversion)
    return float(np.clip(solution[_START], 0.0, 1.0))
