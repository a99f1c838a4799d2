"""Parts stacked in one query and split back apart."""

from __future__ import annotations

import ibis
import pytest

from liftlab.attribution.parts import split_parts, stack


@pytest.fixture
def backend():
    return ibis.duckdb.connect()


def test_a_stack_carries_only_the_columns_its_parts_have(backend) -> None:
    paths = ibis.memtable({"path": ["sms > email", "email"], "conversions": [3, 1]})
    totals = ibis.memtable({"conversions": [4], "value": [10.5]})

    stacked = stack({"paths": paths, "totals": totals})

    assert stacked.columns == ("part", "path", "conversions", "value")
    assert str(stacked.schema()["conversions"]) == "float64"
    parts = split_parts(backend.to_pyarrow(stacked), ["paths", "totals"])
    assert parts["paths"].column_names == ["path", "conversions", "value"]
    assert parts["paths"]["path"].to_pylist() == ["sms > email", "email"]
    assert parts["paths"]["value"].to_pylist() == [None, None]
    assert parts["totals"].to_pylist() == [
        {"path": None, "conversions": 4.0, "value": 10.5}
    ]


def test_a_part_with_no_rows_splits_out_empty(backend) -> None:
    nulls = ibis.memtable({"path": ["email"], "nulls": [2]})

    parts = split_parts(
        backend.to_pyarrow(stack({"nulls": nulls.filter(nulls.nulls > 5)})),
        ["nulls"],
    )

    assert parts["nulls"].num_rows == 0
    assert parts["nulls"].column_names == ["path", "nulls"]


def test_a_column_outside_the_stack_is_refused_by_name() -> None:
    odd = ibis.memtable({"path": ["sms"], "clicks": [1]})

    with pytest.raises(ValueError, match=r"\['clicks'\]"):
        stack({"odd": odd})
