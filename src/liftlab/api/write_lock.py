"""A queue for SQLite's write lock among the API's worker processes.

SQLite reports a held write lock at once (the API's connections have a busy
timeout of 0) or sleeps in its busy handler, in steps of milliseconds;
either way a waiting worker learns late that the lock is free. The workers
therefore take an advisory ``flock`` on a file beside the database before
``BEGIN IMMEDIATE``: the kernel wakes a waiter the moment the holder lets
go, and every API writer gets its turn. Writers outside the API (imports,
the command line) do not take it; against them SQLite's own lock and the
callers' retries still hold.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

__all__ = ["WriteLock"]


class WriteLock:
    """The write queue of one SQLite file, for one worker process.

    Args:
        path: The lock file, beside the database.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._loop_fd: int | None = None
        # One thread waits for the lock on the loop's behalf; the loop
        # itself never blocks.
        self._waiter: ThreadPoolExecutor | None = None

    @classmethod
    def beside(cls, database: str | None) -> WriteLock | None:
        """The lock for a SQLite database file, or None for an in-memory
        database (one process only)."""
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return cls(os.path.abspath(database) + "-api-lock")

    async def acquire_async(self) -> None:
        """Take the lock for the event loop's connection, waiting in a
        thread if another process holds it."""
        if self._loop_fd is None:
            self._loop_fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            self._waiter = ThreadPoolExecutor(1, thread_name_prefix="liftlab-lock")
        fd = self._loop_fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        loop = asyncio.get_running_loop()
        waiting = loop.run_in_executor(self._waiter, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            # Let go of the lock as soon as the waiting thread gets it.
            waiting.add_done_callback(lambda _: fcntl.flock(fd, fcntl.LOCK_UN))
            raise

    def release_async(self) -> None:
        """Let go of the event loop's lock."""
        if self._loop_fd is not None:
            fcntl.flock(self._loop_fd, fcntl.LOCK_UN)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock in a thread, waiting as long as it takes."""
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def close(self) -> None:
        """Close the loop's file and the waiting thread."""
        if self._loop_fd is not None:
            os.close(self._loop_fd)
            self._loop_fd = None
        if self._waiter is not None:
            self._waiter.shutdown(wait=False)
            self._waiter = None
