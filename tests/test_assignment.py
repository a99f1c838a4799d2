"""Tests of the assignment engine against the published GrowthBook "v2" hash.

References:
    GrowthBook SDK conformance cases, ``packages/sdk-js/test/cases.json`` in
    github.com/growthbook/growthbook (spec version 0.5.0), section ``"hash"``:
    the rows with hash version 2 are pinned below verbatim.
    GrowthBook Python SDK 4.0.0, ``growthbook.core.gbhash``: the executable
    peer for the equality tests.
    Fowler, Noll, Vo, Eastlake (2024), "The FNV Non-Cryptographic Hash
    Algorithm", IETF draft-eastlake-fnv: FNV-1a 32, offset basis 0x811C9DC5,
    prime 0x01000193.
    Pearson (1900), Phil. Mag. 50:157: the chi-square test of independence
    used for two flows with different salts.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from growthbook.core import gbhash
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency

from liftlab.assignment import (
    BUCKETS,
    Arm,
    AssignmentBatch,
    FlowRule,
    GlobalRule,
    Reason,
    assign,
    assign_many,
    bucket,
    bucket_index,
    bucket_indices,
    fnv1a32,
)

# The version-2 rows of the "hash" section of cases.json: seed, value, bucket.
GROWTHBOOK_HASH_V2_CASES = [
    ("seed", "a", 0.0505),
    ("seed", "b", 0.2696),
    ("foo", "ab", 0.2575),
    ("foo", "def", 0.2019),
    ("89123klj", "8952klfjas09ujkasdf", 0.124),
    ("90850943850283058242805", "123", 0.7516),
    ("()**(%$##$%#$#", '___)((*":&', 0.0128),
]

FLOW = FlowRule(key="abandoned_cart", salt="abandoned_cart", holdout_percent=10.0)
OTHER_FLOW = FlowRule(
    key="browse_abandonment", salt="browse_abandonment", holdout_percent=10.0
)
GLOBAL = GlobalRule(salt="global_2026", holdout_percent=5.0)

SEEDS = ["abandoned_cart", "győzelem_🎉_κλειδί"]
SDK_UNITS = 100_000
POPULATION = 1_000_000

# Pieces of non-ASCII ids: accents, CJK, Cyrillic, Greek, and astral-plane
# characters (emoji, CJK extension B, mathematical letters) that are two
# UTF-16 code units each.
_ACCENTED = "áàâäãåçéèêëíìîïñóòôöõúùûüýÿßøæœłšžđŁŠŽ"
_CJK = "顧客用户会员購物車東京北京서울고객カスタマー"
_CYRILLIC = "клиентпокупательЖЩЯЁ"
_GREEK = "αβγδεζηθλμπσωΩΣΔ"
_ASTRAL = "😀🎉🛒📱🚀💬👍🏽𠀋𠜎𝔘𝔫𝔦𝔠𝔬𝔡𝔢🇫🇷"
_NON_ASCII = _ACCENTED + _CJK + _CYRILLIC + _GREEK + _ASTRAL


def _unit_ids(count: int, seed: int) -> list[str]:
    """Customer ids, E.164 phones and non-ASCII ids of many lengths."""
    rng = random.Random(seed)
    ascii_pool = "abcdefghijklmnopqrstuvwxyz0123456789_-.@+"
    units: list[str] = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.35:
            units.append(f"cust_{rng.randrange(10**9)}")
        elif kind < 0.6:
            country = rng.choice(["1", "44", "33", "49", "81", "61", "55"])
            units.append(f"+{country}{rng.randrange(10**9, 10**10)}")
        elif kind < 0.7:
            length = rng.randrange(0, 40)
            units.append("".join(rng.choices(ascii_pool, k=length)))
        elif kind < 0.85:
            name = "".join(rng.choices(_NON_ASCII, k=rng.randrange(1, 12)))
            units.append(f"{name}_{rng.randrange(10**6)}")
        else:
            pool = ascii_pool + _NON_ASCII
            units.append("".join(rng.choices(pool, k=rng.randrange(0, 48))))
    return units


@pytest.fixture(scope="module")
def sdk_units() -> list[str]:
    units = _unit_ids(SDK_UNITS, seed=20261101)
    assert sum(not unit.isascii() for unit in units) > SDK_UNITS // 5
    assert any(ord(char) > 0xFFFF for unit in units for char in unit)
    return units


@pytest.fixture(scope="module")
def population() -> np.ndarray:
    return np.asarray([f"cust_{n:07d}" for n in range(POPULATION)], dtype=np.str_)


@pytest.fixture(scope="module")
def flow_batch(population: np.ndarray) -> AssignmentBatch:
    return assign_many(FLOW, population)


@pytest.fixture(scope="module")
def unit_at_index() -> dict[int, str]:
    """One unit per flow bucket index 0 to 9,999 under the flow salt."""
    candidates = np.asarray([f"u{n}" for n in range(200_000)], dtype=np.str_)
    indices = bucket_indices(FLOW.salt, candidates)
    # Walk backwards so that each index keeps its first unit.
    units = {
        int(index): str(unit)
        for unit, index in zip(candidates[::-1], indices[::-1], strict=True)
    }
    assert len(units) == BUCKETS
    return units


@pytest.mark.parametrize(("seed", "unit", "expected"), GROWTHBOOK_HASH_V2_CASES)
def test_bucket_growthbook_conformance_vectors(
    seed: str, unit: str, expected: float
) -> None:
    assert bucket(seed, unit) == expected
    assert bucket_indices(seed, [unit]).tolist() == [round(expected * BUCKETS)]
    assert gbhash(seed, unit, 2) == expected


def test_bucket_design_examples() -> None:
    assert bucket("seed", "a") == 0.0505
    assert bucket("foo", "ab") == 0.2575
    assert bucket("90850943850283058242805", "123") == 0.7516


def test_fnv1a32_surrogate_pair_counts_two_code_units() -> None:
    # U+1F600 is the UTF-16 pair D83D DE00, hashed as two units as in JavaScript.
    offset, prime, mask = 0x811C9DC5, 0x01000193, 0xFFFFFFFF
    state = offset
    for code_unit in (0xD83D, 0xDE00):
        state = ((state ^ code_unit) * prime) & mask
    assert fnv1a32("😀") == state
    assert fnv1a32("") == offset


@pytest.mark.parametrize("seed", SEEDS)
def test_bucket_matches_growthbook_sdk_on_unicode_ids(
    sdk_units: list[str], seed: str
) -> None:
    expected = [gbhash(seed, unit, 2) for unit in sdk_units]
    actual = [bucket(seed, unit) for unit in sdk_units]
    mismatches = [
        (unit, want, got)
        for unit, want, got in zip(sdk_units, expected, actual, strict=True)
        if want != got
    ]
    assert mismatches[:5] == []


@pytest.mark.parametrize("seed", SEEDS)
def test_bucket_indices_matches_growthbook_sdk_on_unicode_ids(
    sdk_units: list[str], seed: str
) -> None:
    expected = np.array([gbhash(seed, unit, 2) for unit in sdk_units])
    actual = bucket_indices(seed, sdk_units) / BUCKETS
    differing = np.flatnonzero(actual != expected)
    assert [sdk_units[row] for row in differing[:5]] == []


def test_bucket_indices_matches_scalar_across_lengths() -> None:
    rng = random.Random(7)
    pool = "ab9+_" + _NON_ASCII
    units = [""] + ["".join(rng.choices(pool, k=n % 97)) for n in range(5_000)]
    rng.shuffle(units)
    for seed in ["", *SEEDS]:
        expected = [bucket_index(seed, unit) for unit in units]
        assert bucket_indices(seed, units).tolist() == expected


def test_bucket_indices_matches_scalar_all_empty() -> None:
    assert bucket_indices("seed", ["", ""]).tolist() == [bucket_index("seed", "")] * 2
    assert bucket_indices("seed", []).tolist() == []


@pytest.mark.parametrize(
    ("unit", "first_hash"),
    [
        ("cust_563463", 561),
        ("cust_2582993", 1468),
        ("cust_406948", 3423),
        ("cust_332132", 32480),
        ("cust_250799", 75636),
    ],
)
def test_bucket_indices_matches_scalar_short_decimal_first_hash(
    unit: str, first_hash: int
) -> None:
    # The second hash runs over the decimal digits of the first; values below
    # 100,000 have fewer than six digits and take the vectorised slow path.
    assert fnv1a32(FLOW.salt + unit) == first_hash
    expected = gbhash(FLOW.salt, unit, 2)
    assert bucket(FLOW.salt, unit) == expected
    assert bucket_indices(FLOW.salt, [unit, "cust_1"])[0] / BUCKETS == expected


def test_assign_many_holdout_share_within_tenth_point(
    flow_batch: AssignmentBatch,
) -> None:
    counts = flow_batch.counts()
    share = counts[Reason.FLOW_HOLDOUT] / len(flow_batch)
    assert abs(share - 0.10) < 0.001
    assert counts[Reason.FLOW_HOLDOUT] + counts[Reason.OUTSIDE_HOLDOUT] == POPULATION


def test_assign_many_different_salts_independent(
    population: np.ndarray, flow_batch: AssignmentBatch
) -> None:
    other = assign_many(OTHER_FLOW, population)
    held_first = flow_batch.arms == Arm.HOLDOUT.value
    held_other = other.arms == Arm.HOLDOUT.value

    table = np.array(
        [
            [np.sum(held_first & held_other), np.sum(held_first & ~held_other)],
            [np.sum(~held_first & held_other), np.sum(~held_first & ~held_other)],
        ]
    )
    result = chi2_contingency(table)
    assert result.pvalue > 0.001


def test_assign_many_global_holdout_takes_precedence(
    population: np.ndarray, flow_batch: AssignmentBatch
) -> None:
    batch = assign_many(FLOW, population, global_rule=GLOBAL)
    global_buckets = bucket_indices(GLOBAL.salt, population)
    in_global = global_buckets / BUCKETS < GLOBAL.holdout_percent / 100
    in_flow = flow_batch.buckets / BUCKETS < FLOW.holdout_percent / 100
    reasons = batch.reasons

    # Units in the global holdout are there whatever their flow bucket says.
    assert np.any(in_global & in_flow)
    assert np.any(in_global & ~in_flow)
    assert set(reasons[in_global]) == {Reason.GLOBAL_HOLDOUT.value}
    assert np.array_equal(batch.buckets[in_global], global_buckets[in_global])

    # Everyone else gets the flow decision unchanged.
    rest = ~in_global
    assert np.array_equal(reasons[rest], flow_batch.reasons[rest])
    assert np.array_equal(batch.buckets[rest], flow_batch.buckets[rest])
    assert abs(in_global.mean() - 0.05) < 0.001


def test_assign_global_holdout_takes_precedence() -> None:
    units = [f"cust_{n}" for n in range(5_000)]
    in_global = [bucket(GLOBAL.salt, unit) < 0.05 for unit in units]
    in_flow = [bucket(FLOW.salt, unit) < 0.10 for unit in units]
    assert any(g and f for g, f in zip(in_global, in_flow, strict=True))

    for unit, held_globally in zip(units, in_global, strict=True):
        decision = assign(FLOW, unit, global_rule=GLOBAL)
        if held_globally:
            assert decision.reason is Reason.GLOBAL_HOLDOUT
            assert decision.arm is Arm.HOLDOUT
            assert decision.bucket == bucket(GLOBAL.salt, unit)
        else:
            assert decision.reason is not Reason.GLOBAL_HOLDOUT
            assert decision.bucket == bucket(FLOW.salt, unit)


def test_assign_many_excluded_units_get_no_bucket(population: np.ndarray) -> None:
    units = population[:100_000]
    rng = np.random.default_rng(11)
    consent = rng.random(len(units)) > 0.2
    valid = rng.random(len(units)) > 0.05
    batch = assign_many(FLOW, units, global_rule=GLOBAL, consent=consent, valid=valid)
    reasons = batch.reasons

    assert set(reasons[~valid]) == {Reason.INVALID_ID.value}
    assert set(reasons[valid & ~consent]) == {Reason.NO_CONSENT.value}
    assert np.all(batch.buckets[~valid | ~consent] == -1)
    assert set(batch.arms[~valid | ~consent]) == {Arm.EXCLUDED.value}
    assert not np.any(batch.send[~valid | ~consent])
    entering = valid & consent
    assert np.all(batch.buckets[entering] >= 0)
    assert not np.isin(
        reasons[entering], [Reason.NO_CONSENT.value, Reason.INVALID_ID.value]
    ).any()


def test_assign_excluded_units_never_hashed(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(seed: str, unit: str) -> int:
        raise AssertionError(f"hashed {unit!r} under {seed!r}")

    monkeypatch.setattr("liftlab.assignment.bucket_index", refuse)
    refused = assign(FLOW, "cust_1", global_rule=GLOBAL, consent=False)
    invalid = assign(FLOW, "not a unit", global_rule=GLOBAL, valid=False)
    both = assign(FLOW, "not a unit", consent=False, valid=False)

    assert (refused.arm, refused.reason, refused.bucket) == (
        Arm.EXCLUDED,
        Reason.NO_CONSENT,
        None,
    )
    assert (invalid.arm, invalid.reason, invalid.bucket) == (
        Arm.EXCLUDED,
        Reason.INVALID_ID,
        None,
    )
    assert both.reason is Reason.INVALID_ID
    assert not refused.send


def test_assign_unknown_consent_enters() -> None:
    assert assign(FLOW, "cust_1", consent=None) == assign(FLOW, "cust_1", consent=True)


def test_assign_many_raising_holdout_five_to_ten_moves_only_exposed(
    population: np.ndarray, flow_batch: AssignmentBatch
) -> None:
    before = assign_many(dataclasses.replace(FLOW, holdout_percent=5.0), population)
    held_before = before.arms == Arm.HOLDOUT.value
    held_after = flow_batch.arms == Arm.HOLDOUT.value
    assert not np.any(held_before & ~held_after)
    moved = held_after & ~held_before
    assert abs(moved.mean() - 0.05) < 0.001


@settings(max_examples=60, deadline=None)
@given(
    low=st.integers(min_value=1, max_value=9_998),
    step=st.integers(min_value=1, max_value=9_999),
)
def test_assign_many_raising_holdout_never_releases_units(
    population: np.ndarray, low: int, step: int
) -> None:
    # Percents with two decimals, e.g. 12.34 -> 56.78.
    percent_low = low / 100
    percent_high = min(low + step, 9_999) / 100
    units = population[:20_000]
    before = assign_many(dataclasses.replace(FLOW, holdout_percent=percent_low), units)
    after = assign_many(dataclasses.replace(FLOW, holdout_percent=percent_high), units)

    held_before = before.arms == Arm.HOLDOUT.value
    held_after = after.arms == Arm.HOLDOUT.value
    assert not np.any(held_before & ~held_after)
    assert np.array_equal(before.buckets, after.buckets)
    moved = held_after & ~held_before
    band = (before.buckets / BUCKETS >= percent_low / 100) & (
        before.buckets / BUCKETS < percent_high / 100
    )
    assert np.array_equal(moved, band)


_ID_CHARACTERS = st.characters() | st.characters(categories=["Cs"])


@settings(max_examples=150, deadline=None)
@given(
    units=st.lists(
        st.tuples(
            st.text(_ID_CHARACTERS, max_size=24),
            st.none() | st.booleans(),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_assign_matches_assign_many_on_unicode_ids(
    units: list[tuple[str, bool | None, bool]],
) -> None:
    unit_ids = [unit for unit, _, _ in units]
    consent = np.array([known for _, known, _ in units], dtype=object)
    valid = np.array([ok for _, _, ok in units], dtype=bool)
    batch = assign_many(
        FLOW, unit_ids, global_rule=GLOBAL, consent=consent, valid=valid
    )

    expected = [
        assign(FLOW, unit, global_rule=GLOBAL, consent=known, valid=ok)
        for unit, known, ok in units
    ]
    assert list(batch) == expected


def test_assign_many_trailing_nul_matches_assign() -> None:
    unit = "cust_1\x00"
    assert bucket_indices(FLOW.salt, [unit])[0] == bucket_index(FLOW.salt, unit)
    assert list(assign_many(FLOW, [unit])) == [assign(FLOW, unit)]


def _held_in_flow(unit: str) -> bool:
    return assign(FLOW, unit).arm is Arm.HOLDOUT


_FRESH_PROCESS = textwrap.dedent(
    """
    import dataclasses, json, sys
    from liftlab.assignment import FlowRule, GlobalRule, assign
    flow = FlowRule(*json.loads(sys.argv[1]))
    rule = GlobalRule(*json.loads(sys.argv[2]))
    units = json.loads(sys.argv[3])
    decisions = [
        dataclasses.asdict(assign(flow, unit, global_rule=rule)) for unit in units
    ]
    print(json.dumps(decisions))
    """
)


def test_assign_same_arm_in_fresh_process() -> None:
    units = ["cust_1", "+14155550123", "josé.garcía", "顧客42", "🎉😀", ""]
    candidates = (f"cust_{n}" for n in range(200))
    units += [unit for unit in candidates if _held_in_flow(unit)][:3]
    flow_args = json.dumps([FLOW.key, FLOW.salt, FLOW.holdout_percent, FLOW.version])
    rule_args = json.dumps([GLOBAL.salt, GLOBAL.holdout_percent])

    completed = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, flow_args, rule_args, json.dumps(units)],
        capture_output=True,
        check=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "4242", "PYTHONIOENCODING": "utf-8"},
        timeout=60,
    )

    expected = [
        json.loads(json.dumps(dataclasses.asdict(assign(FLOW, u, global_rule=GLOBAL))))
        for u in units
    ]
    assert json.loads(completed.stdout) == expected
    assert {d["arm"] for d in expected} >= {"exposed", "holdout"}


def test_assign_bucket_equal_to_percent_not_held_out(
    unit_at_index: dict[int, str],
) -> None:
    at_ten = assign(FLOW, unit_at_index[1_000])
    below_ten = assign(FLOW, unit_at_index[999])

    assert at_ten.bucket == 0.1
    assert at_ten.arm is Arm.EXPOSED
    assert below_ten.arm is Arm.HOLDOUT
    assert assign(FLOW, unit_at_index[0]).arm is Arm.HOLDOUT
    assert assign(FLOW, unit_at_index[9_999]).arm is Arm.EXPOSED


def test_assign_boundary_follows_float_comparison(
    unit_at_index: dict[int, str],
) -> None:
    # The contract compares index / 10000 < percent / 100 in IEEE doubles; for
    # 0.07 the quotient rounds up, so bucket 0.0007 is inside a 0.07% holdout.
    assert 7 / BUCKETS < 0.07 / 100
    seven = dataclasses.replace(FLOW, holdout_percent=0.07)
    assert assign(seven, unit_at_index[7]).arm is Arm.HOLDOUT
    assert assign(seven, unit_at_index[8]).arm is Arm.EXPOSED

    for hundredths in range(1, BUCKETS):
        percent = hundredths / 100
        flow = dataclasses.replace(FLOW, holdout_percent=percent)
        for index in (hundredths - 1, hundredths, min(hundredths + 1, BUCKETS - 1)):
            held = assign(flow, unit_at_index[index]).arm is Arm.HOLDOUT
            assert held == (index / BUCKETS < percent / 100), (percent, index)
