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

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from liftlab.attribution.models.paths import ModelCredit, Paths

__all__ = ["markov"]

logger = logging.getLogger(__name__)

_START = 0
# Chains with at most this many possible transitions count them densely.
_DENSE_PAIRS = 1 << 22


def _histories(paths: Paths, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Each touch's state as a number, and for every state number the codes
    of the channels it holds (one column per place, -1 where empty).

    Order 1: the touch's channel. Order ``k``: the last ``k`` channels of
    its path (fewer at the path's start), as the digits of one integer in
    base ``channels + 1`` (0 for a place before the path's start).
    """
    base = len(paths.states) + 1
    if order == 1:
        return paths.codes.astype(np.int64), np.arange(base - 1)[:, None]
    digits = paths.codes.astype(np.int64) + 1
    position = paths.position
    history = np.zeros(len(digits), np.int64)
    for back in range(order):
        shifted = np.zeros_like(digits)
        shifted[back:] = digits[: len(digits) - back]
        history += np.where(position >= back, shifted, 0) * base**back
    distinct, codes = np.unique(history, return_inverse=True)
    held = np.stack([(distinct // base**back) % base for back in range(order)], 1)
    return codes.astype(np.int64), held - 1


def markov(paths: Paths, *, order: int = 1) -> ModelCredit:
    """Credit by the removal effect of each channel in an order-``order``
    Markov chain, with non-converting journeys (``nulls``) included.

    Returns:
        Credit per channel, with each channel's removal effect and the
        chain's conversion probability. When no path converts, every
        credit is zero and ``note`` says why.
    """
    if order < 1:
        raise ValueError(f"order: must be 1 or more, got {order}")
    channels = paths.channels
    total = paths.total_conversions
    if total == 0:
        zeros = tuple(0.0 for _ in channels)
        return ModelCredit(
            "markov", channels, zeros, zeros, zeros, 0.0, "no path converts"
        )

    # Every touch of every path with a journey, as state numbers from 1;
    # state 0 is the start. Transition counts are weighted sums over
    # (from, to) pairs, so no path is visited in Python.
    journeys = paths.conversions + paths.nulls
    history, held = _histories(paths, order)
    lengths = paths.lengths
    weight_of_touch = np.repeat(journeys, lengths)
    used = weight_of_touch > 0
    codes = history + 1
    size = len(held) + 1
    starts = paths.offsets[:-1]
    previous = np.empty_like(codes)
    previous[1:] = codes[:-1]
    previous[starts] = _START
    last = codes[paths.offsets[1:] - 1]

    pairs, weights = previous * size + codes, weight_of_touch
    if not used.all():
        pairs, weights = pairs[used], weights[used]
    pairs, counts = _pair_counts(pairs, weights, size)
    sources, targets = pairs // size, pairs % size
    outflow = np.bincount(previous, weights=weight_of_touch, minlength=size)
    outflow += np.bincount(last, weights=journeys, minlength=size)
    probabilities = counts / outflow[sources]
    conversion = np.bincount(last, weights=paths.conversions, minlength=size) / (
        np.where(outflow > 0, outflow, 1.0)
    )

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


def _pair_counts(
    pairs: np.ndarray, weights: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``from * size + to`` pairs and their summed weights.

    A first-order chain has few states, so every possible pair gets a slot
    of one weighted count (linear in the touches, no sort); a chain with
    too many states for that sorts the pairs instead.
    """
    if size * size <= _DENSE_PAIRS:
        # Every weight is positive, so a pair is observed where its sum is.
        counts = np.bincount(pairs, weights=weights, minlength=size * size)
        observed = np.flatnonzero(counts)
        return observed, counts[observed]
    distinct, inverse = np.unique(pairs, return_inverse=True)
    return distinct, np.bincount(inverse, weights=weights)


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
