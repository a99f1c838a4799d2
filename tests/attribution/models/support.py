"""Helpers for the model tests: random path tables, a block size of one's
own, and credit compared model result against model result."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import strategies as st

from liftlab.attribution.models import ModelCredit, Paths
from liftlab.attribution.models import paths as paths_module

# Names as the warehouse writes them, none holding the separator.
STATES = (
    "direct",
    "email",
    "organic_search",
    "paid_search",
    "push",
    "sms:abandoned_cart",
    "sms:winback",
)

# Block sizes that cut tables between almost every path, or through long ones.
SMALL_BLOCKS = (1, 2, 3, 7)

_NUMBERS = {
    "conversions": (0.0, 0.0, 1.0, 2.0, 3.0, 0.5, 2.25),
    "value": (0.0, 0.0, 10.0, 12.5, 99.99),
    "nulls": (0.0, 0.0, 1.0, 4.0, 1.5),
}


@st.composite
def path_tables(
    draw: st.DrawFn,
    *,
    states: tuple[str, ...] = STATES,
    max_paths: int = 30,
    max_length: int = 8,
) -> Paths:
    """Path tables of up to ``max_paths`` paths (none included), each of
    up to ``max_length`` touches, many with no conversions, value or
    nulls."""
    touches = st.lists(st.sampled_from(states), min_size=1, max_size=max_length)
    row = st.tuples(touches, *(st.sampled_from(n) for n in _NUMBERS.values()))
    rows = draw(st.lists(row, max_size=max_paths))
    return Paths.build(
        [row[0] for row in rows],
        [row[1] for row in rows],
        value=[row[2] for row in rows],
        nulls=[row[3] for row in rows],
    )


@contextmanager
def block_touches(touches: int) -> Iterator[None]:
    """Models read tables in blocks of ``touches`` touches inside."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(paths_module, "BLOCK_TOUCHES", touches)
        yield


def assert_same_credit(
    actual: ModelCredit, expected: ModelCredit, *, rel: float = 1e-12
) -> None:
    """The same states credited with the same numbers, up to the order in
    which floating-point sums were taken."""
    assert actual.model == expected.model
    assert actual.channels == expected.channels
    assert actual.note == expected.note
    assert actual.conversions == pytest.approx(expected.conversions, rel=rel)
    assert actual.value == pytest.approx(expected.value, rel=rel)
    if expected.removal_effects is None:
        assert actual.removal_effects is None
        assert actual.conversion_probability is None
        return
    assert actual.removal_effects == pytest.approx(expected.removal_effects, rel=rel)
    assert actual.conversion_probability == pytest.approx(
        expected.conversion_probability, rel=rel
    )
