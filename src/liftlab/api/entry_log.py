"""The API's entry log: consent read, decision and upsert in one transaction.

This is the hot path of every assignment, so it speaks plain SQL to the
driver (SQLite or psycopg) on a pooled connection, with the same semantics
as :func:`liftlab.store.entries.record_entries`: one row per unit, flow and
epoch; the first entry's time and arm are kept; a repeat raises
``entry_count`` and moves ``last_entered_at``.

Single assignments (:meth:`EntryLog.enter_async`) are committed in groups
by the worker's :class:`~liftlab.api.group_commit.GroupWriter`: one
transaction reads the consent of every unit in the group, decides each
request, writes all the rows with one multi-row upsert, and commits; then
each request is answered. On SQLite the transaction starts with ``BEGIN
IMMEDIATE``, so the consent read and the write see one snapshot and no other
writer slips in between; it runs on the event loop (a group takes a fraction
of a millisecond in process), and when another process holds the lock it
does not sleep in SQLite's busy handler (a millisecond or more per retry,
blocking the loop): the workers queue for the lock on a file lock
(:mod:`liftlab.api.write_lock`), waited for in a thread, and a lock held by
another kind of writer is retried from the loop shortly after.
Batches (:meth:`EntryLog.enter`) run in a thread and wait in the busy
handler. On PostgreSQL everything runs in threads, and rows are written in
(flow, epoch, unit) order, so concurrent writers lock them in the same
order. A transaction commits before any of its callers is answered: an
acknowledged entry is in the store.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from liftlab.api.group_commit import Failed, GroupWriter, Work
from liftlab.api.write_lock import WriteLock

__all__ = ["Decide", "EntryLog", "EntryRow", "StoreBusyError", "with_retries"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_READ_CHUNK = 900
_RETRIES = 8
_BUSY_SECONDS = 30.0
_COLUMNS = (
    "flow_key, epoch, unit_id, arm, reason, bucket, flow_version, entered_at, "
    "last_entered_at, entry_count, source"
)


@dataclass(frozen=True, slots=True)
class _Dialect:
    refusing: str
    upsert: str
    in_list: bool


_SQLITE = _Dialect(
    refusing="SELECT unit_id FROM customers WHERE sms_consent = 0 AND unit_id IN ({})",
    upsert=(
        f"INSERT INTO entries ({_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'api') "
        "ON CONFLICT (flow_key, epoch, unit_id) DO UPDATE SET "
        "entry_count = entry_count + excluded.entry_count, "
        "last_entered_at = max(last_entered_at, excluded.last_entered_at)"
    ),
    in_list=True,
)
_POSTGRESQL = _Dialect(
    refusing=(
        "SELECT unit_id FROM customers WHERE sms_consent = false AND unit_id = ANY(%s)"
    ),
    upsert=(
        f"INSERT INTO entries ({_COLUMNS}) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'api') "
        "ON CONFLICT (flow_key, epoch, unit_id) DO UPDATE SET "
        "entry_count = entries.entry_count + EXCLUDED.entry_count, "
        "last_entered_at = GREATEST(entries.last_entered_at, "
        "EXCLUDED.last_entered_at)"
    ),
    in_list=False,
)

#: An entry to log: unit, arm, reason, bucket, and how many times it entered.
EntryRow = tuple[str, str, str, float | None, int]
#: Decides the units' arms given the set of those that refused SMS; returns
#: the answer and the entry rows to log, in unit order.
Decide = Callable[[set[str]], tuple[_T, list[EntryRow]]]


class StoreBusyError(RuntimeError):
    """SQLite's write lock is held elsewhere and the caller would not wait."""


class EntryLog:
    """Entries of API assignments, written durably before the answer.

    Args:
        engine: The store (SQLite or PostgreSQL).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        name = engine.dialect.name
        if name not in ("sqlite", "postgresql"):
            raise ValueError(f"the store runs on SQLite or PostgreSQL, not {name}")
        self._sqlite = name == "sqlite"
        self._dialect = _SQLITE if self._sqlite else _POSTGRESQL
        self._writing = threading.Lock() if self._sqlite else None
        # The event loop's own SQLite connection: busy timeout 0, so that a
        # lock held by another process is reported at once, not slept on.
        self._loop_connection: Any = None
        self._writer = GroupWriter(self._commit_group)
        self._lock = WriteLock.beside(engine.url.database) if self._sqlite else None

    async def aclose(self) -> None:
        """Commit the queued assignments and stop the group writer."""
        await self._writer.aclose()

    def close(self) -> None:
        """Close the event loop's connection, if one was opened."""
        if self._loop_connection is not None:
            self._loop_connection.close()
            self._loop_connection = None
        if self._lock is not None:
            self._lock.close()

    def enter(
        self,
        *,
        flow: str,
        epoch: int,
        flow_version: int,
        unit_ids: Sequence[str],
        decide: Decide[_T],
    ) -> _T:
        """Decide and log units entering one flow, in one transaction.

        Args:
            flow: The flow key.
            epoch: The flow's epoch, which the entries belong to.
            flow_version: The flow version that decided.
            unit_ids: The units to look up for consent.
            decide: Called inside the transaction with the refusing units;
                returns the answer and the entries to log.

        Returns:
            The answer of ``decide``, once its entries are committed.
        """
        work = Work(flow, epoch, flow_version, unit_ids, decide)
        with self._lock.held() if self._lock is not None else nullcontext():
            (outcome,) = with_retries(lambda: self._transaction([work], wait=True))
        if isinstance(outcome, Failed):
            raise outcome.error
        return outcome  # type: ignore[no-any-return]

    async def enter_async(
        self,
        *,
        flow: str,
        epoch: int,
        flow_version: int,
        unit_ids: Sequence[str],
        decide: Decide[_T],
    ) -> _T:
        """:meth:`enter` for the event loop, committed with the worker's other
        pending assignments (group commit); waiting for the store never
        blocks the loop.

        Raises:
            StoreBusyError: SQLite stayed locked for ``_BUSY_SECONDS``.
        """
        work = Work(flow, epoch, flow_version, unit_ids, decide)
        return await self._writer.submit(work)  # type: ignore[no-any-return]

    async def _commit_group(self, group: list[Work]) -> list[Any]:
        """Write a group in one transaction: in a thread on PostgreSQL, on
        the loop's connection on SQLite, where a busy store is waited for by
        yielding to the loop, never in SQLite's busy handler."""
        if not self._sqlite:
            return await run_in_threadpool(
                with_retries, lambda: self._transaction(group, wait=True)
            )
        if self._lock is not None:
            await self._lock.acquire_async()
        try:
            deadline = time.monotonic() + _BUSY_SECONDS
            pause = 0.0001
            while True:
                try:
                    return self._transaction(group, wait=False)
                except StoreBusyError:
                    if time.monotonic() > deadline:
                        raise
                except sqlite3.OperationalError as error:
                    if not _transient(error) or time.monotonic() > deadline:
                        raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.002)
        finally:
            if self._lock is not None:
                self._lock.release_async()

    def _transaction(self, group: list[Work], *, wait: bool) -> list[Any]:
        if self._writing is not None and not self._writing.acquire(blocking=wait):
            raise StoreBusyError("another thread of this process is writing")
        try:
            return self._locked_transaction(group, wait=wait)
        finally:
            if self._writing is not None:
                self._writing.release()

    def _locked_transaction(self, group: list[Work], *, wait: bool) -> list[Any]:
        connection = self._engine.raw_connection() if wait else self._loop()
        try:
            cursor = connection.cursor()
            if self._sqlite:
                _begin_immediate(cursor, wait=wait)
            units = [unit for work in group for unit in work.unit_ids]
            refused = self._refusing(cursor, units)
            outcomes: list[Any] = []
            entered: list[tuple[Work, list[EntryRow]]] = []
            for work in group:
                try:
                    answer, entries = work.decide(refused)
                except Exception as error:
                    outcomes.append(Failed(error))
                    continue
                outcomes.append(answer)
                entered.append((work, entries))
            self._upsert(cursor, entered)
            if self._sqlite:
                cursor.execute("COMMIT")
            else:
                connection.commit()
            return outcomes
        except BaseException:
            _roll_back(connection, sqlite=self._sqlite)
            raise
        finally:
            if wait:
                connection.close()

    def _upsert(self, cursor: Any, entered: list[tuple[Work, list[EntryRow]]]) -> None:
        moment = datetime.now(UTC)
        # SQLite keeps UTC times as text in SQLAlchemy's layout.
        stamp: Any = (
            moment.replace(tzinfo=None).isoformat(" ", "microseconds")
            if self._sqlite
            else moment
        )
        rows = [
            (work.flow, work.epoch, unit, arm, reason, bucket, work.flow_version,
             stamp, stamp, times)
            for work, entries in entered
            for unit, arm, reason, bucket, times in entries
        ]  # fmt: skip
        if len(entered) > 1:
            # One lock order for every writer: PostgreSQL cannot deadlock
            # two groups that share units.
            rows.sort(key=lambda row: (row[0], row[1], row[2]))
        if len(rows) == 1:
            cursor.execute(self._dialect.upsert, rows[0])
        elif rows:
            cursor.executemany(self._dialect.upsert, rows)

    def _loop(self) -> Any:
        if self._loop_connection is None:
            connection = self._engine.raw_connection()
            connection.detach()
            connection.cursor().execute("PRAGMA busy_timeout = 0")
            self._loop_connection = connection
        return self._loop_connection

    def _refusing(self, cursor: Any, unit_ids: Sequence[str]) -> set[str]:
        """The units among ``unit_ids`` known to have refused SMS."""
        distinct = list(dict.fromkeys(unit_ids))
        if not self._dialect.in_list:
            cursor.execute(self._dialect.refusing, (distinct,))
            return {row[0] for row in cursor.fetchall()}
        refused: set[str] = set()
        for start in range(0, len(distinct), _READ_CHUNK):
            chunk = distinct[start : start + _READ_CHUNK]
            marks = ", ".join("?" * len(chunk))
            cursor.execute(self._dialect.refusing.format(marks), chunk)
            refused.update(row[0] for row in cursor.fetchall())
        return refused


def _begin_immediate(cursor: Any, *, wait: bool) -> None:
    """Take SQLite's write lock; without ``wait`` (on the loop's connection,
    whose busy timeout is 0) raise StoreBusyError at once if it is held."""
    try:
        cursor.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if wait or "locked" not in str(error):
            raise
        raise StoreBusyError("another process is writing") from None


def _roll_back(connection: Any, *, sqlite: bool) -> None:
    try:
        if sqlite:
            connection.cursor().execute("ROLLBACK")
        else:
            connection.rollback()
    except (sqlite3.Error, psycopg.Error):
        # No transaction was open (BEGIN itself failed); nothing to undo.
        pass


def with_retries(call: Callable[[], _T]) -> _T:
    """Run a store transaction; retry it on a lock or deadlock error.

    A failed attempt is rolled back whole, so a retry never counts an entry
    or an event twice. SQLite waits for its lock up to its busy timeout
    before it reports one.
    """
    for attempt in range(_RETRIES):
        try:
            return call()
        except (OperationalError, sqlite3.OperationalError,
                psycopg.OperationalError) as error:  # fmt: skip
            if attempt + 1 == _RETRIES or not _transient(error):
                raise
            cause = getattr(error, "orig", None) or error
            logger.info("store busy (%s); retrying", type(cause).__name__)
            time.sleep(0.005 * 2**attempt)
    raise AssertionError("unreachable")


def _transient(error: Exception) -> bool:
    text = str(getattr(error, "orig", None) or error).lower()
    return any(
        phrase in text
        for phrase in ("database is locked", "deadlock detected", "could not serialize")
    )
