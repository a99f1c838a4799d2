"""Group commit: one writer per worker commits many assignments at once.

Each single assignment puts its work on the writer's queue and waits for
its own future. The writer takes everything queued, writes it in one
transaction (one consent read, one multi-row upsert, one commit) and only
then resolves the futures, so every answer still follows its entry's
commit. While a commit is under way (or the store is busy), new requests
queue up and go together in the next one: the busier the worker, the larger
the groups, and the fewer statements and commits per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Failed", "GroupWriter", "Work"]

logger = logging.getLogger(__name__)

#: Groups are capped so one transaction stays short (a few milliseconds).
MAX_GROUP = 1_000


@dataclass(frozen=True, slots=True)
class Work:
    """One request's share of a group: units entering one flow.

    Attributes:
        flow: The flow key.
        epoch: The flow's epoch, which the entries belong to.
        flow_version: The flow version that decides.
        unit_ids: The units to look up for consent.
        decide: Called inside the transaction with the refusing units;
            returns the answer and the entry rows to log.
    """

    flow: str
    epoch: int
    flow_version: int
    unit_ids: Sequence[str]
    decide: Callable[[set[str]], tuple[Any, list[Any]]]


@dataclass(frozen=True, slots=True)
class Failed:
    """The outcome of a work item whose decision raised ``error``."""

    error: Exception


#: Commits a group in one transaction; returns one outcome per work item,
#: an answer or :class:`Failed`. Raising fails the whole group.
CommitGroup = Callable[[list[Work]], Awaitable[list[Any]]]


@dataclass(slots=True)
class _Queue:
    loop: asyncio.AbstractEventLoop
    wake: asyncio.Event
    pending: list[tuple[Work, asyncio.Future[Any]]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class GroupWriter:
    """A queue of assignments and the task that commits them in groups.

    The task is started on first use in the running event loop (a worker
    has one) and stopped by :meth:`aclose`.

    Args:
        commit: Writes a group in one transaction.
    """

    def __init__(self, commit: CommitGroup) -> None:
        self._commit = commit
        self._queue: _Queue | None = None

    async def submit(self, work: Work) -> Any:
        """Queue ``work`` and return its answer once its group is committed.

        Raises:
            Exception: What the decision or the group's transaction raised.
        """
        queue = self._current()
        future = queue.loop.create_future()
        queue.pending.append((work, future))
        queue.wake.set()
        return await future

    async def aclose(self) -> None:
        """Commit what is queued, then stop the writer task."""
        queue, self._queue = self._queue, None
        if queue is None or queue.task is None:
            return
        while queue.pending:
            await asyncio.sleep(0.001)
        queue.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await queue.task

    def _current(self) -> _Queue:
        loop = asyncio.get_running_loop()
        queue = self._queue
        if queue is None or queue.loop is not loop or queue.task is None:
            queue = _Queue(loop=loop, wake=asyncio.Event())
            queue.task = loop.create_task(self._run(queue), name="liftlab-writer")
            self._queue = queue
        return queue

    async def _run(self, queue: _Queue) -> None:
        while True:
            await queue.wake.wait()
            queue.wake.clear()
            while queue.pending:
                group = queue.pending[:MAX_GROUP]
                del queue.pending[:MAX_GROUP]
                await self._write(group)

    async def _write(self, group: list[tuple[Work, asyncio.Future[Any]]]) -> None:
        try:
            outcomes = await self._commit([work for work, _ in group])
        except asyncio.CancelledError:
            for _, future in group:
                future.cancel()
            raise
        except Exception as error:
            # Nothing of the group was committed: every request fails.
            for _, future in group:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, Failed):
                future.set_exception(outcome.error)
            else:
                future.set_result(outcome)
