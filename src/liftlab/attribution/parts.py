"""Many aggregates in one query: parts stacked with ``UNION ALL``.

The aggregates of an attribution run's assists query (assist sums per key
and segment, histograms, time-decay sums, totals) have different columns.
A query's parts are stacked in one schema, the columns any of them has,
with each part's name in ``part`` and typed nulls where a part has no
column, so that the warehouse runs them as one statement: the joined rows
they share are computed once (DuckDB and PostgreSQL materialise a common
table expression read by several parts) instead of once per query or
through a temporary table.

The schema is the query's own, not one for every part of the run. The
path table, a row per distinct path, is a query of its own, read in
batches (:mod:`liftlab.attribution.paths`): stacked, it carried a dozen
empty columns on each row and had to be read whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["SUMS", "split_parts", "stack"]

TEXT = ("path", "dimension", "key", "conversion_type", "segment_dimension", "segment")
SUMS = (
    "conversions", "value", "assisted", "assisted_value", "click_assisted",
    "view_assisted", "last_touch", "last_touch_value", "lag_seconds",
    "path_touches",
)  # fmt: skip
NUMBERS = (*SUMS, "nulls")
# Every column a part can have, in the stacked order, with its type.
COLUMNS = {
    **dict.fromkeys(TEXT, "string"),
    "bucket": "int64",
    **dict.fromkeys(NUMBERS, "float64"),
}


def stack(parts: Mapping[str, ir.Table]) -> ir.Table:
    """The ``parts`` (by name) as one table: ``part`` and every column any
    of them has (text as strings, ``bucket`` as integers, numbers as
    floats), typed nulls where a part has none.

    Raises:
        ValueError: A part has a column the stack does not know.
    """
    present = set().union(*(table.columns for table in parts.values()))
    unknown = present - set(COLUMNS)
    if unknown:
        raise ValueError(
            f"parts {sorted(parts)}: columns {sorted(unknown)} are not among "
            f"{list(COLUMNS)}"
        )
    columns = [column for column in COLUMNS if column in present]
    stacked = []
    for name, table in parts.items():
        values: dict[str, ir.Value] = {"part": ibis.literal(name, "string")}
        for column in columns:
            kind = COLUMNS[column]
            values[column] = (
                table[column].cast(kind)
                if column in table.columns
                else ibis.literal(None, kind)
            )
        stacked.append(table.select(**values))
    return ibis.union(*stacked) if len(stacked) > 1 else stacked[0]


def split_parts(result: pa.Table, names: Iterable[str]) -> dict[str, pa.Table]:
    """The stacked result as one Arrow table per part, without ``part``;
    each of ``names`` is there, with no rows when the warehouse returned
    none."""
    found = [str(name) for name in pc.unique(result["part"]).to_pylist()]
    columns = [column for column in result.column_names if column != "part"]
    return {
        name: result.filter(pc.equal(result["part"], name)).select(columns)
        for name in sorted({*found, *names})
    }
