"""Bulk writes into the store, inside the caller's transaction.

SQLite gets one ``executemany`` per batch with ``ON CONFLICT``; PostgreSQL
gets ``COPY`` into a temporary staging table and one ``INSERT ... SELECT ...
ON CONFLICT`` at the end. Either way a repeated key is skipped (or, for
upserts, merged) by the database itself, and nothing is visible to others
until the caller commits.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from liftlab.ingest.times import sqlite_text

__all__ = ["BulkWriter", "writer_for"]


class BulkWriter(Protocol):
    """Writes batches of rows into one table."""

    def insert_new(self, frame: pd.DataFrame) -> None:
        """Insert rows whose key is new; skip the others."""

    def upsert(self, frame: pd.DataFrame, *, merge: dict[str, str], when: str) -> int:
        """Insert rows, or merge them into existing rows; return rows touched."""

    def finish(self) -> int:
        """Flush what is staged; return how many rows ``insert_new`` added."""


def writer_for(
    connection: Any, dialect: str, *, table: str, key: Sequence[str]
) -> BulkWriter:
    """The bulk writer for a DBAPI connection of the given dialect."""
    if dialect == "sqlite":
        return _SQLiteWriter(connection, table, tuple(key))
    if dialect == "postgresql":
        return _PostgresWriter(connection, table, tuple(key))
    raise ValueError(f"the store runs on SQLite or PostgreSQL, not {dialect}")


def _python_columns(frame: pd.DataFrame, *, sqlite: bool) -> list[list[Any]]:
    columns = []
    for name in frame.columns:
        values = frame[name]
        if isinstance(values.dtype, pd.DatetimeTZDtype) and sqlite:
            columns.append(sqlite_text(values))
        elif isinstance(values.dtype, pd.DatetimeTZDtype):
            columns.append([None if pd.isna(v) else v.to_pydatetime() for v in values])
        elif values.dtype.kind in "fi":
            array = values.to_numpy(dtype=float, na_value=np.nan)
            listed = array.tolist()
            for row in np.flatnonzero(np.isnan(array)).tolist():
                listed[row] = None
            columns.append(listed)
        else:
            objects = values.astype(object)
            columns.append(objects.where(values.notna(), None).tolist())
    return columns


class _SQLiteWriter:
    def __init__(self, connection: Any, table: str, key: tuple[str, ...]) -> None:
        self.connection = connection
        self.table = table
        self.key = key
        self.inserted = 0

    def _statement(self, columns: Sequence[str], conflict: str) -> str:
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        keys = ", ".join(self.key)
        return (
            f"INSERT INTO {self.table} ({names}) VALUES ({marks}) "
            f"ON CONFLICT ({keys}) {conflict}"
        )

    def insert_new(self, frame: pd.DataFrame) -> None:
        statement = self._statement(list(frame.columns), "DO NOTHING")
        rows = zip(*_python_columns(frame, sqlite=True), strict=True)
        cursor = self.connection.cursor()
        cursor.executemany(statement, rows)
        self.inserted += cursor.rowcount
        cursor.close()

    def upsert(self, frame: pd.DataFrame, *, merge: dict[str, str], when: str) -> int:
        sets = ", ".join(f"{name} = {expression}" for name, expression in merge.items())
        conflict = f"DO UPDATE SET {sets} WHERE {when}"
        statement = self._statement(list(frame.columns), conflict)
        rows = zip(*_python_columns(frame, sqlite=True), strict=True)
        cursor = self.connection.cursor()
        cursor.executemany(statement, rows)
        touched = cursor.rowcount
        cursor.close()
        return touched

    def finish(self) -> int:
        return self.inserted


class _PostgresWriter:
    def __init__(self, connection: Any, table: str, key: tuple[str, ...]) -> None:
        self.connection = connection
        self.table = table
        self.key = key
        self.staging = f"liftlab_staging_{table}"
        self.columns: list[str] | None = None

    def insert_new(self, frame: pd.DataFrame) -> None:
        with self.connection.cursor() as cursor:
            if self.columns is None:
                self.columns = list(frame.columns)
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {self.staging} "
                    f"(LIKE {self.table} INCLUDING DEFAULTS) ON COMMIT DROP"
                )
            names = ", ".join(self.columns)
            copy_sql = (
                f"COPY {self.staging} ({names}) FROM STDIN "
                "WITH (FORMAT csv, HEADER false, NULL '\\N')"
            )
            with cursor.copy(copy_sql) as copy:
                copy.write(_csv_bytes(frame[self.columns]))

    def upsert(self, frame: pd.DataFrame, *, merge: dict[str, str], when: str) -> int:
        """Merge through a staging table: ``COPY`` in, one ``INSERT`` out.

        The rows of one call must have distinct keys.
        """
        columns = list(frame.columns)
        names = ", ".join(columns)
        staging = f"liftlab_merge_{self.table}"
        sets = ", ".join(f"{name} = {expression}" for name, expression in merge.items())
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} "
                f"(LIKE {self.table} INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            copy_sql = (
                f"COPY {staging} ({names}) FROM STDIN "
                "WITH (FORMAT csv, HEADER false, NULL '\\N')"
            )
            with cursor.copy(copy_sql) as copy:
                copy.write(_csv_bytes(frame))
            cursor.execute(
                f"INSERT INTO {self.table} AS {self.table} ({names}) "
                f"SELECT {names} FROM {staging} "
                f"ON CONFLICT ({', '.join(self.key)}) DO UPDATE SET {sets} WHERE {when}"
            )
            touched = cursor.rowcount
            cursor.execute(f"TRUNCATE {staging}")
        return touched

    def finish(self) -> int:
        if self.columns is None:
            return 0
        names = ", ".join(self.columns)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {self.table} ({names}) SELECT {names} FROM "
                f"{self.staging} ON CONFLICT ({', '.join(self.key)}) DO NOTHING"
            )
            inserted = cursor.rowcount
            cursor.execute(f"DROP TABLE {self.staging}")
        return inserted


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    buffer = io.BytesIO()
    options = pa_csv.WriteOptions(include_header=False, null_string="\\N")
    pa_csv.write_csv(table, buffer, write_options=options)
    return buffer.getvalue()
