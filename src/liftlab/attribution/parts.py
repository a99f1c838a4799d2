"""Many aggregates in one query: parts stacked with ``UNION ALL``.

The aggregates of an attribution run (the path table, the non-converting
paths, assist sums per key and segment, histograms, time-decay sums,
totals) have different columns. Each becomes a *part* with one common
schema, its name in ``part`` and typed nulls where it has no column, so
that the warehouse runs them as one statement: the joined rows they share
are computed once (DuckDB and PostgreSQL materialise a common table
expression read by several parts) instead of once per query or through a
temporary table.
"""

from __future__ import annotations

from collections.abc import Iterable

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

__all__ = ["SUMS", "part", "split_parts"]

TEXT = ("path", "dimension", "key", "conversion_type", "segment_dimension", "segment")
SUMS = (
    "conversions", "value", "assisted", "assisted_value", "click_assisted",
    "view_assisted", "last_touch", "last_touch_value", "lag_seconds",
    "path_touches",
)  # fmt: skip
NUMBERS = (*SUMS, "nulls")


def part(name: str, table: ir.Table) -> ir.Table:
    """``table`` in the common schema: its own columns where it has them,
    typed nulls elsewhere, and ``part = name``."""
    columns = set(table.columns)
    values: dict[str, ir.Value] = {"part": ibis.literal(name, "string")}
    for column in TEXT:
        values[column] = (
            table[column].cast("string")
            if column in columns
            else ibis.literal(None, "string")
        )
    values["bucket"] = (
        table.bucket.cast("int64")
        if "bucket" in columns
        else ibis.literal(None, "int64")
    )
    for column in NUMBERS:
        values[column] = (
            table[column].cast("float64")
            if column in columns
            else ibis.literal(None, "float64")
        )
    return table.select(**values)


def split_parts(result: pa.Table, names: Iterable[str]) -> dict[str, pd.DataFrame]:
    """The stacked result as one frame per part (numbers as floats); each
    of ``names`` is there, with no rows when the warehouse returned none."""
    frame = result.to_pandas()
    parts = {
        str(name): rows.drop(columns="part").reset_index(drop=True)
        for name, rows in frame.groupby("part", sort=True)
    }
    empty = frame.drop(columns="part").iloc[0:0]
    return {name: parts.get(name, empty) for name in names} | parts
