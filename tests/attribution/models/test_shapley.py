"""Shapley values on published examples and against the definition.

Sources of the expected numbers:

- eeghor/mta, ``tests/test_shapley.py``: paths a (4 conversions) and a > b
  (6) give a 7 and b 3; a > b > c > d (10) gives 2.5 each. These use the
  conversions as the worth of a channel set (Zhao et al. 2018's
  simplified Shapley value).
- Shapley (1953): the average marginal contribution over every ordering of
  the players, computed here by brute force for the rate-based game.

Both hold when the table is read in blocks of a few touches.
"""

from __future__ import annotations

import math
from itertools import permutations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liftlab.attribution.models import Paths, shapley
from liftlab.attribution.models import paths as paths_module
from tests.attribution.models.support import (
    SMALL_BLOCKS,
    assert_same_credit,
    block_touches,
    path_tables,
)


@pytest.mark.parametrize("touches", [None, *SMALL_BLOCKS])
def test_shapley_matches_the_mta_suite(
    monkeypatch: pytest.MonkeyPatch, touches: int | None
) -> None:
    if touches is not None:
        monkeypatch.setattr(paths_module, "BLOCK_TOUCHES", touches)
    mixed = shapley(Paths.build(["a", "a > b"], [4, 6]), worth="conversions")
    four = shapley(Paths.build(["a > b > c > d"], [10]), worth="conversions")

    assert mixed.credit() == pytest.approx({"a": 7.0, "b": 3.0}, abs=1e-12)
    assert four.credit() == pytest.approx(dict.fromkeys("abcd", 2.5), abs=1e-12)


def _brute_force(rates: dict[frozenset[str], float], players: list[str]) -> dict:
    def worth(coalition: frozenset[str]) -> float:
        return sum(rate for subset, rate in rates.items() if subset <= coalition)

    values = dict.fromkeys(players, 0.0)
    orders = list(permutations(players))
    for order in orders:
        seen: frozenset[str] = frozenset()
        for player in order:
            values[player] += worth(seen | {player}) - worth(seen)
            seen = seen | {player}
    return {player: value / len(orders) for player, value in values.items()}


@pytest.mark.parametrize("touches", [None, *SMALL_BLOCKS])
def test_rate_shapley_equals_the_permutation_definition(
    monkeypatch: pytest.MonkeyPatch, touches: int | None
) -> None:
    if touches is not None:
        monkeypatch.setattr(paths_module, "BLOCK_TOUCHES", touches)
    paths = Paths.build(
        ["a", "b", "a > b", "b > a > c", "c", "a > c"],
        [3, 1, 4, 2, 1, 2],
        value=[30, 10, 40, 20, 10, 20],
        nulls=[7, 9, 4, 2, 9, 6],
    )
    rates = {
        frozenset("a"): 3 / 10, frozenset("b"): 1 / 10, frozenset("ab"): 4 / 8,
        frozenset("abc"): 2 / 4, frozenset("c"): 1 / 10, frozenset("ac"): 2 / 8,
    }  # fmt: skip

    exact = _brute_force(rates, ["a", "b", "c"])
    result = shapley(paths)

    total = sum(exact.values())
    expected = {player: 13 * value / total for player, value in exact.items()}
    assert result.credit() == pytest.approx(expected, rel=1e-12)
    assert math.fsum(result.conversions) == pytest.approx(13.0)
    assert math.fsum(result.value) == pytest.approx(130.0)


def test_shapley_rejects_an_unknown_worth() -> None:
    with pytest.raises(ValueError, match="worth"):
        shapley(Paths.build(["a"], [1]), worth="clicks")  # type: ignore[arg-type]


# Seventy channels: a path's channel set takes two words.
MANY_CHANNELS = tuple(f"c{number:02d}" for number in range(70))


@settings(max_examples=50, deadline=None)
@given(
    paths=path_tables() | path_tables(states=MANY_CHANNELS),
    touches=st.sampled_from(SMALL_BLOCKS),
    worth=st.sampled_from(["rate", "conversions"]),
)
def test_shapley_is_the_same_in_blocks_of_any_size(
    paths: Paths, touches: int, worth: str
) -> None:
    whole = shapley(paths, worth=worth)  # type: ignore[arg-type]

    with block_touches(touches):
        blocked = shapley(paths, worth=worth)  # type: ignore[arg-type]

    assert_same_credit(blocked, whole)


def test_shapley_of_a_table_of_no_paths_says_why() -> None:
    result = shapley(Paths.build([], []))

    assert result.channels == ()
    assert result.note == "no path converts"
