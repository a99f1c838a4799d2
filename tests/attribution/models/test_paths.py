"""The coded path table: strings and sequences give the same codes, and the
array models agree with the rules applied path by path.

The references here walk each path in plain Python (the rule as the
heuristics module's docstring states it), independently of the array
code under test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from liftlab.attribution.models import (
    Paths,
    first_touch,
    last_non_direct,
    last_touch,
    linear,
    position_based,
    shapley,
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


def test_array_heuristics_match_the_rules_path_by_path() -> None:
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
