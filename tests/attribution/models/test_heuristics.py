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
- Google Ads Help, "About attribution models": time decay with a 7-day
  half-life, "an ad interaction 8 days before a conversion gets half as
  much credit as an ad interaction 1 day before".
"""

from __future__ import annotations

import pytest

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
