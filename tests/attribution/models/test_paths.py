"""The coded path table: strings and sequences give the same codes, blocks
cover the table, tables join and print back to strings, and the array
models agree with the rules applied path by path, in blocks of any size.

The references here walk each path in plain Python (the rule as the
heuristics module's docstring states it), independently of the array
code under test.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liftlab.attribution.models import (
    Paths,
    first_touch,
    last_non_direct,
    last_touch,
    linear,
    position_based,
    shapley,
)
from liftlab.attribution.models import paths as paths_module
from tests.attribution.models.support import (
    SMALL_BLOCKS,
    block_touches,
    path_tables,
)

STRINGS = ["a > b", " c ", "b > a > a", "direct > direct", "a >  > b"]


def test_paths_from_strings_match_build_for_chunked_arrays() -> None:
    chunked = pa.chunked_array([pa.array(STRINGS[:2]), pa.array(STRINGS[2:])])

    built = Paths.build(STRINGS, [1, 2, 3, 4, 5])
    coded = Paths.from_strings(chunked, [1, 2, 3, 4, 5])

    assert coded.states == built.states == ("a", "b", "c", "direct")
    assert coded.paths == built.paths
    assert coded.paths[4] == ("a", "b")  # an empty part is dropped
    np.testing.assert_array_equal(coded.codes, built.codes)
    np.testing.assert_array_equal(coded.offsets, built.offsets)


@pytest.mark.parametrize("storage", ["python", "pyarrow"])
def test_paths_from_a_string_series_match_build(storage: str) -> None:
    series = pd.Series(STRINGS, dtype=pd.StringDtype(storage))

    built = Paths.build(STRINGS, [1, 2, 3, 4, 5])
    coded = Paths.from_strings(series, [1, 2, 3, 4, 5])

    assert coded.states == built.states
    assert coded.paths == built.paths
    np.testing.assert_array_equal(coded.codes, built.codes)


def _same_table(actual: Paths, expected: Paths) -> None:
    assert actual.states == expected.states
    for column in ("codes", "offsets", "conversions", "value", "nulls"):
        np.testing.assert_array_equal(
            getattr(actual, column), getattr(expected, column), err_msg=column
        )


LONG = Paths.build(
    ["a > b", "c", "b > b > a > c > a", "a", "c > b"],
    [1, 0, 3, 2, 5],
    value=[10, 0, 30, 20, 50],
    nulls=[2, 4, 0, 1, 0],
)


@pytest.mark.parametrize(
    ("touches", "expected"),
    [
        (1, [[2], [1], [5], [1], [2]]),
        (2, [[2], [1], [5], [1], [2]]),
        (3, [[2, 1], [5], [1, 2]]),
        (7, [[2, 1], [5, 1], [2]]),
        (11, [[2, 1, 5, 1, 2]]),
    ],
)
def test_blocks_hold_whole_paths_up_to_the_limit(
    touches: int, expected: list[list[int]]
) -> None:
    blocks = list(LONG.blocks(touches))

    assert [block.lengths.tolist() for block in blocks] == expected
    assert all(block.offsets[0] == 0 for block in blocks)
    assert all(block.states is LONG.states for block in blocks)
    assert all(np.shares_memory(block.codes, LONG.codes) for block in blocks)
    assert sum((block.paths for block in blocks), ()) == LONG.paths
    _same_table(Paths.concatenate(blocks), LONG)


def test_blocks_give_a_path_longer_than_the_limit_a_block_of_its_own() -> None:
    blocks = list(LONG.blocks(2))

    assert blocks[2].paths == (("b", "b", "a", "c", "a"),)
    np.testing.assert_array_equal(blocks[2].offsets, [0, 5])
    assert blocks[2].conversions.tolist() == [3.0]
    assert blocks[3].paths == (("a",),)


def test_blocks_read_the_block_size_when_called(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(paths_module, "BLOCK_TOUCHES", 3)

    assert len(list(LONG.blocks())) == 3
    assert len(list(LONG.blocks(100))) == 1


def test_blocks_of_a_table_of_no_paths_are_none() -> None:
    empty = Paths.build([], [])

    assert list(empty.blocks(1)) == []
    assert list(empty.blocks()) == []


def test_blocks_reject_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="touches: must be 1 or more"):
        next(LONG.blocks(0))


@settings(max_examples=50, deadline=None)
@given(paths=path_tables(), touches=st.integers(min_value=1, max_value=12))
def test_blocks_cover_any_table_in_order(paths: Paths, touches: int) -> None:
    blocks = list(paths.blocks(touches))

    assert all(
        len(block.codes) <= touches or len(block.lengths) == 1 for block in blocks
    )
    # Each block is as long as it may be: the next path would not fit.
    for block, after in itertools.pairwise(blocks):
        assert len(block.codes) + after.lengths[0] > touches
    _same_table(Paths.concatenate(blocks), paths)


def test_concatenate_maps_each_part_onto_the_union_of_states() -> None:
    first = Paths.from_strings(["sms > email", "email"], [1, 2], nulls=[3, 4])
    second = Paths.from_strings(["direct > sms", "push"], [5, 0], value=[9, 0])

    joined = Paths.concatenate([first, second])

    assert first.states == ("email", "sms")
    assert joined.states == ("direct", "email", "push", "sms")
    assert joined.paths == (
        ("sms", "email"),
        ("email",),
        ("direct", "sms"),
        ("push",),
    )
    assert joined.conversions.tolist() == [1, 2, 5, 0]
    assert joined.value.tolist() == [0, 0, 9, 0]
    assert joined.nulls.tolist() == [3, 4, 0, 0]
    everything = Paths.from_strings(
        ["sms > email", "email", "direct > sms", "push"],
        [1, 2, 5, 0],
        value=[0, 0, 9, 0],
        nulls=[3, 4, 0, 0],
    )
    _same_table(joined, everything)


def test_concatenate_of_no_parts_or_empty_parts() -> None:
    empty = Paths.concatenate([])
    part = Paths.build(["b > a"], [1])

    joined = Paths.concatenate([Paths.build([], []), part, empty])

    assert empty.states == ()
    assert len(empty.codes) == 0
    np.testing.assert_array_equal(empty.offsets, [0])
    assert empty.conversions.shape == (0,)
    _same_table(joined, part)


def test_strings_join_the_states_of_each_path_in_order() -> None:
    strings = LONG.strings()

    assert strings.to_pylist() == [
        "a > b",
        "c",
        "b > b > a > c > a",
        "a",
        "c > b",
    ]
    assert LONG.strings(separator="|").to_pylist()[0] == "a|b"
    assert Paths.build([], []).strings().to_pylist() == []


def test_to_frame_has_one_row_per_path_in_order() -> None:
    frame = LONG.to_frame()

    assert list(frame.columns) == ["path", "conversions", "value", "nulls"]
    assert frame["path"].tolist() == LONG.strings().to_pylist()
    assert frame["conversions"].tolist() == [1, 0, 3, 2, 5]
    assert frame["value"].tolist() == [10, 0, 30, 20, 50]
    assert frame["nulls"].tolist() == [2, 4, 0, 1, 0]
    assert Paths.build([], []).to_frame().shape == (0, 4)


@settings(max_examples=50, deadline=None)
@given(paths=path_tables(), touches=st.sampled_from(SMALL_BLOCKS))
def test_strings_and_frame_read_back_into_the_same_table(
    paths: Paths, touches: int
) -> None:
    with block_touches(touches):
        strings = paths.strings()
        frame = paths.to_frame()

    read = Paths.from_strings(
        strings, paths.conversions, value=paths.value, nulls=paths.nulls
    )
    framed = Paths.from_strings(
        frame["path"], frame["conversions"], value=frame["value"], nulls=frame["nulls"]
    )

    _same_table(read, paths)
    _same_table(framed, paths)


def test_paths_reject_an_empty_path() -> None:
    with pytest.raises(ValueError, match="at least one state"):
        Paths.build([["a"], []], [1, 1])


def _random_paths(seed: int, states: int = 6) -> Paths:
    rng = np.random.default_rng(seed)
    names = ["direct", *(f"s{i:02d}" for i in range(states - 1))]
    paths = [list(rng.choice(names, size=rng.integers(1, 7))) for _ in range(300)]
    return Paths.build(
        paths,
        rng.integers(0, 4, size=300),
        value=rng.uniform(0, 50, size=300).round(2),
        nulls=rng.integers(0, 5, size=300),
    )


def _by_rule(paths: Paths, rule) -> dict[str, float]:  # type: ignore[no-untyped-def]
    credit: dict[str, float] = {}
    for path, converted, worth in zip(
        paths.paths, paths.conversions, paths.value, strict=True
    ):
        if converted == 0 and worth == 0:
            continue
        for state, share in zip(path, rule(path), strict=True):
            if share:
                credit[state] = credit.get(state, 0.0) + converted * share
    return credit


def _position(path: tuple[str, ...]) -> list[float]:
    if len(path) == 1:
        return [1.0]
    if len(path) == 2:
        return [0.5, 0.5]
    return [0.4, *([0.2 / (len(path) - 2)] * (len(path) - 2)), 0.4]


def _last_non_direct(path: tuple[str, ...]) -> list[float]:
    chosen = max(
        (i for i, state in enumerate(path) if state != "direct"),
        default=len(path) - 1,
    )
    return [1.0 if i == chosen else 0.0 for i in range(len(path))]


@pytest.mark.parametrize("touches", [None, *SMALL_BLOCKS])
def test_array_heuristics_match_the_rules_path_by_path(
    monkeypatch: pytest.MonkeyPatch, touches: int | None
) -> None:
    if touches is not None:
        monkeypatch.setattr(paths_module, "BLOCK_TOUCHES", touches)
    paths = _random_paths(3)
    rules = {
        last_touch: lambda p: [0.0] * (len(p) - 1) + [1.0],
        first_touch: lambda p: [1.0] + [0.0] * (len(p) - 1),
        linear: lambda p: [1 / len(p)] * len(p),
        position_based: _position,
        last_non_direct: _last_non_direct,
    }

    for model, rule in rules.items():
        assert model(paths).credit() == pytest.approx(
            _by_rule(paths, rule), rel=1e-12
        ), model.__name__


def test_shapley_beyond_sixty_four_channels_uses_every_word() -> None:
    paths = _random_paths(5, states=70)
    rates: dict[frozenset[str], list[float]] = {}
    for path, converted, nulls in zip(
        paths.paths, paths.conversions, paths.nulls, strict=True
    ):
        seen = rates.setdefault(frozenset(path), [0.0, 0.0])
        seen[0] += converted
        seen[1] += converted + nulls
    values: dict[str, float] = dict.fromkeys(paths.states, 0.0)
    for coalition, (converted, journeys) in rates.items():
        for channel in coalition:
            values[channel] += (converted / journeys if journeys else 0) / len(
                coalition
            )
    total = sum(values.values())
    expected = {c: v / total * paths.total_conversions for c, v in values.items()}

    assert len(paths.states) > 64
    assert shapley(paths).credit() == pytest.approx(expected, rel=1e-10)
