"""The Assists page's download: every figure in long form, as
``liftlab assists --format csv`` writes it."""

from __future__ import annotations

import csv
import io
from typing import Any

from liftlab.attribution import (
    AssistsReport,
    CreditVsCausation,
    assist_rows,
    causation_rows,
    model_rows,
)

__all__ = ["LONG_COLUMNS", "assists_csv", "csv_rows"]

LONG_COLUMNS = ("table", "model", "dimension", "key", "metric", "value")


def csv_rows(
    report: AssistsReport, comparison: tuple[CreditVsCausation, ...]
) -> list[dict[str, Any]]:
    """The page's figures in long form, as ``liftlab assists --format csv``
    writes them: table, model, dimension, key, metric, value."""
    rows = []
    for row in assist_rows(report):
        for metric, value in row.items():
            if metric not in ("dimension", "key"):
                rows.append(
                    {"table": "assists", "model": "", "dimension": row["dimension"],
                     "key": row["key"], "metric": metric, "value": value}
                )  # fmt: skip
    for row in model_rows(report):
        for metric in ("conversions", "value", "removal_effect"):
            if row[metric] is not None:
                rows.append(
                    {"table": "models", "model": row["model"], "dimension": "state",
                     "key": row["state"], "metric": metric, "value": row[metric]}
                )  # fmt: skip
    for row in causation_rows(comparison):
        for metric, value in row.items():
            if metric != "flow":
                rows.append(
                    {"table": "credit_vs_causation", "model": "",
                     "dimension": "flow", "key": row["flow"], "metric": metric,
                     "value": value}
                )  # fmt: skip
    return rows


def assists_csv(
    report: AssistsReport, comparison: tuple[CreditVsCausation, ...]
) -> bytes:
    """:func:`csv_rows` as CSV, UTF-8."""
    rows = csv_rows(report, comparison)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(LONG_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
