"""Rule-based models on published worked examples.

Sources of the expected numbers:

- eeghor/mta (the ``mta`` Python package), ``tests/conftest.py`` and
  ``tests/test_heuristic_models.py``: the path table ``direct`` (2
  conversions, 1 null), ``search > email`` (3, 2), ``search > social >
  email`` (5, 4), with first touch {direct 2, search 8}, last touch
  {direct 2, email 8}, linear {direct 2, search 19/6, email 19/6, social
  5/3} and position-based 40/20/40 {direct 2, search 3.5, email 3.5,
  social 1}; and ``x > y`` with 10 conversions split 5/5 by the default
  position weights (the two-touch case).
  The same numbers hold when the table is read in blocks of a few
  touches.
- Google Ads Help, "About attribution models": time decay with a 7-day
  half-life, "an ad interaction 8 days before a conversion gets half as
  much credit as an ad interaction 1 day before".
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liftlab.attribution.models import (
    Paths,
    decay_weights,
    first_touch,
    last_non_direct,
    last_touch,
    linear,
    position_based,
    time_decay,
)
from liftlab.attribution.models import paths as paths_module
from liftlab.attribution.models.paths import ModelCredit
from tests.attribution.models.support import (
    SMALL_BLOCKS,
    assert_same_credit,
    block_touches,
    path_tables,
)

MTA_PATHS = Paths.build(
    ["direct", "search > email", "search > social > email"],
    [2, 3, 5],
    value=[20.0, 30.0, 50.0],
    nulls=[1, 2, 4],
)


def test_first_and_last_touch_match_the_mta_suite() -> None:
    assert first_touch(MTA_PATHS).credit() == {"direct": 2.0, "search": 8.0}
    assert last_touch(MTA_PATHS).credit() == {"direct": 2.0, "email": 8.0}


def test_linear_matches_the_mta_suite() -> None:
    credit = linear(MTA_PATHS).credit()

    assert credit == pytest.approx(
        {"direct": 2.0, "search": 19 / 6, "email": 19 / 6, "social": 5 / 3}, rel=1e-12
    )


def test_position_based_matches_the_mta_suite_with_two_touch_paths() -> None:
    credit = position_based(MTA_PATHS).credit()

    # search > email has two touches: 50/50, not 40/40 with 20 lost.
    assert credit == pytest.approx(
        {"direct": 2.0, "search": 3.5, "email": 3.5, "social": 1.0}, rel=1e-12
    )
    two = position_based(Paths.build(["x > y"], [10])).credit()
    assert two == {"x": 5.0, "y": 5.0}


def test_position_based_middle_touches_share_twenty_percent() -> None:
    credit = position_based(Paths.build(["a > b > c > d"], [10])).credit()

    assert credit == pytest.approx({"a": 4.0, "b": 1.0, "c": 1.0, "d": 4.0})


def test_value_is_credited_in_the_same_shares_as_conversions() -> None:
    for model in (first_touch, last_touch, linear, position_based):
        credit = model(MTA_PATHS)
        # Each path's value is ten times its conversions here.
        for conversions, value in zip(credit.conversions, credit.value, strict=True):
            assert value == pytest.approx(10 * conversions)
        assert sum(credit.conversions) == pytest.approx(10.0)


def test_last_non_direct_skips_direct_unless_only_direct() -> None:
    paths = Paths.build(
        ["email > direct", "direct > direct", "sms > direct"], [3, 2, 1]
    )

    assert last_non_direct(paths).credit() == {"email": 3.0, "direct": 2.0, "sms": 1.0}


def test_time_decay_halves_credit_per_half_life_as_google_describes() -> None:
    day = 86_400.0
    weights = decay_weights([1 * day, 8 * day], half_life_days=7)
    assert weights[1] / weights[0] == pytest.approx(0.5, rel=1e-12)

    credit = time_decay(
        [[("email", 14 * day), ("search", 7 * day), ("sms", 0.0)]], [7], [70.0]
    )
    # Weights 1/4, 1/2, 1 of 7/4: shares 1/7, 2/7, 4/7.
    assert credit.credit() == pytest.approx({"email": 1, "search": 2, "sms": 4})
    assert credit.value_credit() == pytest.approx(
        {"email": 10, "search": 20, "sms": 40}
    )


@pytest.mark.parametrize("touches", SMALL_BLOCKS)
def test_mta_suite_numbers_hold_block_by_block(
    monkeypatch: pytest.MonkeyPatch, touches: int
) -> None:
    monkeypatch.setattr(paths_module, "BLOCK_TOUCHES", touches)

    assert first_touch(MTA_PATHS).credit() == {"direct": 2.0, "search": 8.0}
    assert last_touch(MTA_PATHS).credit() == {"direct": 2.0, "email": 8.0}
    assert linear(MTA_PATHS).credit() == pytest.approx(
        {"direct": 2.0, "search": 19 / 6, "email": 19 / 6, "social": 5 / 3}, rel=1e-12
    )
    assert position_based(MTA_PATHS).credit() == pytest.approx(
        {"direct": 2.0, "search": 3.5, "email": 3.5, "social": 1.0}, rel=1e-12
    )
    assert position_based(MTA_PATHS).value_credit() == pytest.approx(
        {"direct": 20.0, "search": 35.0, "email": 35.0, "social": 10.0}, rel=1e-12
    )


def test_paths_without_conversions_or_value_credit_nothing() -> None:
    # Blocks of three touches: the second block mixes a credited path with
    # paths that are not, the third holds only paths that are not.
    paths = Paths.build(
        ["a > b", "c", "d > b", "e", "f > c", "g"],
        [1, 0, 0, 2, 0, 0],
        value=[0, 0, 5, 0, 0, 0],
        nulls=[0, 3, 1, 0, 6, 2],
    )

    with block_touches(3):
        last = last_touch(paths)
        first = first_touch(paths)

    assert last.credit() == {"b": 1.0, "e": 2.0}
    assert last.value_credit() == {"b": 5.0, "e": 0.0}
    assert first.credit() == {"a": 1.0, "d": 0.0, "e": 2.0}


HEURISTICS: dict[str, Callable[[Paths], ModelCredit]] = {
    "last": last_touch,
    "first": first_touch,
    "last_non_direct": lambda paths: last_non_direct(paths, direct=("direct", "push")),
    "linear": linear,
    "position": position_based,
    "position_30_40_30": lambda paths: position_based(paths, weights=(0.3, 0.4, 0.3)),
}


@settings(max_examples=50, deadline=None)
@given(
    paths=path_tables(),
    touches=st.sampled_from(SMALL_BLOCKS),
    model=st.sampled_from(sorted(HEURISTICS)),
)
def test_heuristics_credit_the_same_in_blocks_of_any_size(
    paths: Paths, touches: int, model: str
) -> None:
    whole = HEURISTICS[model](paths)

    with block_touches(touches):
        blocked = HEURISTICS[model](paths)

    assert_same_credit(blocked, whole)
