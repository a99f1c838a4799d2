"""Reading event files in batches: CSV or Parquet, never whole in memory."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

__all__ = ["BATCH_ROWS", "EventFile", "EventFileError", "open_event_file"]

BATCH_ROWS = 50_000
_AMOUNTS = ("value", "cost")


class EventFileError(ValueError):
    """The file as a whole cannot be read."""


@dataclass(frozen=True, slots=True)
class EventFile:
    """An event file opened for reading in batches.

    Attributes:
        path: The file.
        columns: Its column names, lower-cased and stripped.
        rows: Its row count when known up front (Parquet), else None.
        is_csv: Whether rows map to lines (for messages).
    """

    path: Path
    columns: tuple[str, ...]
    rows: int | None
    is_csv: bool

    def batches(self, rows: int = BATCH_ROWS) -> Iterator[pd.DataFrame]:
        """The file's rows as DataFrames, text columns as strings."""
        if self.is_csv:
            yield from self._csv_batches(rows)
        else:
            yield from self._parquet_batches(rows)

    def _csv_batches(self, rows: int) -> Iterator[pd.DataFrame]:
        names = list(self.columns)
        options = pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        read = pa_csv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 24)
        try:
            reader = pa_csv.open_csv(
                self.path, read_options=read, convert_options=options
            )
            buffered: list[pa.RecordBatch] = []
            count = 0
            for batch in reader:
                buffered.append(batch)
                count += batch.num_rows
                if count >= rows:
                    yield _frame(pa.Table.from_batches(buffered))
                    buffered, count = [], 0
            if buffered:
                yield _frame(pa.Table.from_batches(buffered))
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            raise EventFileError(
                f"{self.path}: cannot be read as CSV ({error})"
            ) from None

    def _parquet_batches(self, rows: int) -> Iterator[pd.DataFrame]:
        # Without pre-buffering and with a small read buffer, memory stays
        # flat however large the file: Arrow otherwise reads whole row groups
        # ahead and keeps them.
        parquet = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)
        for batch in parquet.iter_batches(batch_size=rows):
            table = pa.Table.from_batches([batch])
            table = table.rename_columns([_clean(name) for name in table.column_names])
            yield _frame(table)


def _clean(name: str) -> str:
    return str(name).strip().lower()


def _frame(table: pa.Table) -> pd.DataFrame:
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        numeric = pa.types.is_floating(column.type) or pa.types.is_integer(column.type)
        if pa.types.is_timestamp(column.type) or (numeric and name in _AMOUNTS):
            columns[name] = column.to_pandas()
        elif pa.types.is_boolean(column.type):
            columns[name] = column.to_pandas().map(
                {True: "true", False: "false"}, na_action="ignore"
            )
        else:
            columns[name] = column.cast(pa.string()).to_pandas()
    return pd.DataFrame(columns)


def open_event_file(path: Path) -> EventFile:
    """Open a CSV or Parquet event file and read its header.

    Raises:
        EventFileError: Missing, empty, not UTF-8, or not CSV or Parquet.
    """
    if not path.is_file():
        raise EventFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as error:
            raise EventFileError(f"{path}: not a Parquet file ({error})") from None
        names = tuple(_clean(name) for name in parquet.schema_arrow.names)
        return EventFile(path, names, parquet.metadata.num_rows, is_csv=False)
    if suffix not in (".csv", ".txt"):
        raise EventFileError(f"{path}: must be a .csv or .parquet file")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise EventFileError(f"{path}: is not UTF-8 text") from None
    if not header or not any(name.strip() for name in header):
        raise EventFileError(f"{path}: has no header row")
    return EventFile(path, tuple(_clean(name) for name in header), None, is_csv=True)
