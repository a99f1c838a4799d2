"""Markov removal effects on published worked examples, solved exactly.

Sources of the expected numbers:

- Bryl, S. (2016), "Marketing Multi-Channel Attribution model with R (part
  1: Markov chains concept)", analyzecore.com, 3 August 2016: journeys
  C1 > C2 > C3 > conversion, C1 > null, C2 > C3 > null; removal effects
  C1 0.5, C2 1, C3 1; the one conversion split 0.2 / 0.4 / 0.4. The same
  graph is the running example of Anderl et al. (2016). Non-converting
  paths included.
- Puzyrov, S. (2019), "Markov Chain Attribution - Simple Explanation Of
  Removal Effect", serhiipuzyrov.com, July 2019: google ads (2
  conversions), mailing (1), google ads > mailing (1), google ads (0, one
  null); conversion probability 0.8, removal effects 0.75 and 0.5,
  conversions 2.4 and 1.6.
- eeghor/mta, ``tests/test_probabilistic_models.py``: a > b (3 conversions,
  1 null), a > c (1, 1) with transitions start>a 1, a>b 2/3, a>c 1/3,
  b>conv 3/4, c>conv 1/2. From those: P(conv) = 2/3, removal effects
  a 1, b 3/4, c 1/4 (worked by hand from the suite's transitions).

Every example gives the same numbers when the table is read in blocks of a
few touches.
"""

from __future__ import annotations

import importlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liftlab.attribution.models import Paths, markov
from liftlab.attribution.models import paths as paths_module
from tests.attribution.models.support import (
    SMALL_BLOCKS,
    assert_same_credit,
    block_touches,
    path_tables,
)

# The package exports the function under the module's name.
markov_module = importlib.import_module("liftlab.attribution.models.markov")

BRYL = Paths.build(["c1 > c2 > c3", "c1", "c2 > c3"], [1, 0, 0], nulls=[0, 1, 1])
PUZYROV = Paths.build(
    ["google ads", "mailing", "google ads > mailing", "google ads"],
    [2, 1, 1, 0],
    value=[200.0, 100.0, 100.0, 0.0],
    nulls=[0, 0, 0, 1],
)


def test_markov_matches_bryl_2016_with_non_converting_paths() -> None:
    result = markov(BRYL)

    assert result.channels == ("c1", "c2", "c3")
    assert result.removal_effects == pytest.approx((0.5, 1.0, 1.0), abs=1e-12)
    assert result.conversions == pytest.approx((0.2, 0.4, 0.4), abs=1e-12)
    assert result.conversion_probability == pytest.approx(1 / 3, abs=1e-12)


def test_markov_matches_puzyrov_2019() -> None:
    result = markov(PUZYROV)

    assert result.conversion_probability == pytest.approx(0.8, abs=1e-12)
    assert result.removal_effects == pytest.approx((0.75, 0.5), abs=1e-12)
    assert result.credit() == pytest.approx({"google ads": 2.4, "mailing": 1.6})
    # Value in the same shares as conversions.
    assert result.value_credit() == pytest.approx({"google ads": 240, "mailing": 160})


def test_markov_matches_the_mta_suite_transitions() -> None:
    paths = Paths.build(["a > b", "a > c"], [3, 1], nulls=[1, 1])

    result = markov(paths)

    assert result.conversion_probability == pytest.approx(2 / 3, abs=1e-12)
    assert result.removal_effects == pytest.approx((1.0, 0.75, 0.25), abs=1e-12)
    assert result.credit() == pytest.approx({"a": 2.0, "b": 1.5, "c": 0.5})


def test_markov_is_identical_on_every_run() -> None:
    first = markov(BRYL)

    assert all(markov(BRYL) == first for _ in range(5))


def test_markov_repeated_touches_do_not_change_first_order_effects() -> None:
    looped = Paths.build(
        ["c1 > c1 > c2 > c3", "c1", "c2 > c3 > c3"], [1, 0, 0], nulls=[0, 1, 1]
    )

    assert markov(looped).removal_effects == pytest.approx((0.5, 1.0, 1.0))


def test_higher_order_chain_conserves_conversions_and_differs() -> None:
    paths = Paths.build(
        ["a > b > c", "b > a > c", "a > c", "b > c", "c"],
        [5, 1, 2, 2, 1],
        nulls=[1, 6, 3, 2, 4],
    )

    first = markov(paths, order=1)
    second = markov(paths, order=2)

    assert sum(second.conversions) == pytest.approx(11.0)
    assert second.conversions != pytest.approx(first.conversions)
    assert all(effect >= 0 for effect in second.removal_effects or ())
    # An order-2 chain reproduces the observed conversion rate exactly here:
    # every path is shorter than three states, so histories are whole paths.
    assert second.conversion_probability == pytest.approx(11 / 27, abs=1e-12)


def test_markov_without_conversions_says_why() -> None:
    result = markov(Paths.build(["a > b"], [0], nulls=[3]))

    assert result.conversions == (0.0, 0.0)
    assert result.note == "no path converts"


@pytest.mark.parametrize("touches", SMALL_BLOCKS)
def test_published_examples_hold_block_by_block(
    monkeypatch: pytest.MonkeyPatch, touches: int
) -> None:
    monkeypatch.setattr(paths_module, "BLOCK_TOUCHES", touches)

    bryl = markov(BRYL)
    puzyrov = markov(PUZYROV)
    mta = markov(Paths.build(["a > b", "a > c"], [3, 1], nulls=[1, 1]))

    assert bryl.removal_effects == pytest.approx((0.5, 1.0, 1.0), abs=1e-12)
    assert bryl.conversions == pytest.approx((0.2, 0.4, 0.4), abs=1e-12)
    assert puzyrov.removal_effects == pytest.approx((0.75, 0.5), abs=1e-12)
    assert puzyrov.value_credit() == pytest.approx({"google ads": 240, "mailing": 160})
    assert mta.conversion_probability == pytest.approx(2 / 3, abs=1e-12)
    assert mta.removal_effects == pytest.approx((1.0, 0.75, 0.25), abs=1e-12)


def test_a_channel_only_on_paths_without_journeys_has_no_effect() -> None:
    # "c > a" has no conversions and no nulls: it adds no transition.
    paths = Paths.build(["a > b", "c > a", "b"], [2, 0, 1], nulls=[2, 0, 1])

    result = markov(paths, order=2)

    assert result.channels == ("a", "b", "c")
    assert result.removal_effects is not None
    assert result.removal_effects[2] == 0.0
    assert result.credit()["c"] == 0.0
    assert result.conversion_probability == pytest.approx(3 / 6, abs=1e-12)


def test_markov_refuses_an_order_whose_transitions_overflow() -> None:
    # Nine channels: base 10, and a transition has order + 1 digits.
    paths = Paths.build(
        ["c1 > c2 > c3 > c4 > c5 > c6 > c7 > c8 > c9", "c9 > c1"], [1, 0], nulls=[1, 2]
    )

    highest = markov(paths, order=17)

    assert sum(highest.conversions) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="order: 18 is too high for 9 channels"):
        markov(paths, order=18)


@settings(max_examples=50, deadline=None)
@given(
    paths=path_tables(),
    touches=st.sampled_from(SMALL_BLOCKS),
    order=st.integers(min_value=1, max_value=3),
)
def test_markov_is_the_same_in_blocks_of_any_size(
    paths: Paths, touches: int, order: int
) -> None:
    whole = markov(paths, order=order)

    with block_touches(touches):
        blocked = markov(paths, order=order)

    assert_same_credit(blocked, whole, rel=1e-9)


@settings(max_examples=50, deadline=None)
@given(
    paths=path_tables(),
    touches=st.sampled_from(SMALL_BLOCKS),
    order=st.integers(min_value=1, max_value=3),
)
def test_markov_counts_the_same_without_a_slot_per_transition(
    paths: Paths, touches: int, order: int
) -> None:
    dense = markov(paths, order=order)

    with (
        block_touches(touches),
        pytest.MonkeyPatch.context() as patch,
    ):
        # No chain is small enough to count densely: blocks are merged.
        patch.setattr(markov_module, "_DENSE_PAIRS", 0)
        merged = markov(paths, order=order)

    assert_same_credit(merged, dense, rel=1e-9)
