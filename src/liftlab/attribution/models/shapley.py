"""Shapley-value attribution over channels, in the closed form of Zhao et
al. (2018).

Channels are the players. A journey's coalition is the set of channels on
its path (order and repeats do not matter). The worth of a coalition
``S`` is ``v(S) = sum of r(T) over every channel set T contained in S``,
where ``r(T)`` is what journeys with exactly the channels ``T`` brought:

- ``worth="rate"`` (the default): their conversion rate, conversions over
  conversions plus nulls, so non-converting journeys count;
- ``worth="conversions"``: their conversions, as in Zhao et al.'s example.

For such a game the Shapley value has a closed form: each channel set's
``r(T)`` is shared equally by its ``|T|`` channels, ``phi_j = sum over T
containing j of r(T) / |T|``. It is exact, needs no sampling and no
enumeration of the ``2**n`` coalitions, so any number of channels works.
Paths are grouped by channel set with array operations (a bit mask per
path, built block by block from the touches of :meth:`Paths.blocks`, so
the working memory beyond the table grows with the paths, not with the
touches), and the cost grows with the touches, not with Python loops.
With ``worth="conversions"`` the values add up to the conversions; with
``worth="rate"`` they are rescaled so that they do (value likewise).

References:
    Shapley, L. S. (1953). "A value for n-person games." In Contributions
    to the Theory of Games II, Annals of Mathematics Studies 28, 307-317.

    Zhao, K., Mahboobi, S. H. and Bagheri, S. R. (2018). "Shapley value
    methods for attribution modeling in online advertising."
    arXiv:1804.05327.

    Dalessandro, B., Perlich, C., Stitelman, O. and Provost, F. (2012).
    "Causally motivated attribution for online advertising." Proceedings
    of the Sixth International Workshop on Data Mining for Online
    Advertising (ADKDD), on Shapley values as attribution.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from liftlab.attribution.models.paths import ModelCredit, Paths

__all__ = ["shapley"]

Worth = Literal["rate", "conversions"]


def shapley(paths: Paths, *, worth: Worth = "rate") -> ModelCredit:
    """Shapley values of the channels, as conversions and value.

    Args:
        paths: The path table, non-converting journeys included.
        worth: What a channel set brings: its conversion ``rate`` or its
            ``conversions``.
    """
    if worth not in ("rate", "conversions"):
        raise ValueError(f"worth: must be 'rate' or 'conversions', got {worth!r}")

    # Each path's channel set as a bit mask (64 channels to a word), then
    # conversions and journeys summed per distinct set.
    size = len(paths.states)
    masks = _channel_sets(paths, words=max(1, -(-size // 64)))
    if masks.shape[1] == 1:
        # One word: a plain sort of numbers, much faster than one of rows.
        distinct, inverse = np.unique(masks[:, 0], return_inverse=True)
        sets = distinct[:, None]
    else:
        sets, inverse = np.unique(masks, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)

    # Floats even for a table of no paths, which bincount counts in integers.
    converted = np.bincount(
        inverse, weights=paths.conversions, minlength=len(sets)
    ).astype(float, copy=False)
    journeys = np.bincount(
        inverse, weights=paths.conversions + paths.nulls, minlength=len(sets)
    ).astype(float, copy=False)

    channel = np.arange(size)
    member = (
        (sets[:, channel // 64] >> (channel % 64).astype(np.uint64)) & np.uint64(1)
    ).astype(bool)
    if worth == "conversions":
        dividend = converted
    else:
        dividend = np.divide(
            converted, journeys, out=np.zeros_like(converted), where=journeys > 0
        )
    players = member.sum(axis=1)
    share = np.divide(dividend, players, out=np.zeros_like(dividend), where=players > 0)
    credit = member.T.astype(float) @ share
    values = dict(zip(paths.states, credit, strict=True))

    channels = paths.channels
    total = sum(values.values())
    shares = {c: values.get(c, 0.0) / total if total else 0.0 for c in channels}
    note = None if total else "no path converts"
    return ModelCredit(
        model="shapley",
        channels=channels,
        conversions=tuple(float(shares[c] * paths.total_conversions) for c in channels),
        value=tuple(float(shares[c] * paths.total_value) for c in channels),
        note=note,
    )


def _channel_sets(paths: Paths, *, words: int) -> np.ndarray:
    """Each path's channels as a bit mask of ``words`` 64-bit words:
    channel ``c`` is bit ``c % 64`` of word ``c // 64``."""
    masks = np.zeros((len(paths.lengths), words), np.uint64)
    first = 0
    for block in paths.blocks():
        rows = slice(first, first + len(block.lengths))
        codes = block.codes.astype(np.uint64)
        bits = np.left_shift(np.uint64(1), codes % np.uint64(64))

        for word in range(words):
            # With one word every channel's bit is in it.
            inside = bits
            if words > 1:
                inside = np.where(codes // np.uint64(64) == word, bits, np.uint64(0))
            masks[rows, word] = np.bitwise_or.reduceat(inside, block.offsets[:-1])
        first = rows.stop
    return masks
