"""Group commit: concurrent assignments in one worker share a transaction,
and each is answered only with what that transaction committed."""

from __future__ import annotations

import asyncio
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from liftlab.api.entering import FlowCache, enter_one
from liftlab.api.entry_log import EntryLog
from liftlab.api.group_commit import Work
from liftlab.assignment import Arm, Assignment
from liftlab.ingest import import_frame
from liftlab.store.tables import Entry


def _entries(engine: Engine) -> dict[tuple[str, str], Entry]:
    with Session(engine) as session:
        rows = session.exec(select(Entry)).all()
        return {(row.flow_key, row.unit_id): row for row in rows}


def _counting_groups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of every group written by an EntryLog transaction."""
    sizes: list[int] = []
    transaction = EntryLog._transaction

    def counted(self: EntryLog, group: list[Work], *, wait: bool) -> list[Any]:
        outcomes = transaction(self, group, wait=wait)
        sizes.append(len(group))
        return outcomes

    monkeypatch.setattr(EntryLog, "_transaction", counted)
    return sizes


def test_group_commit_writes_concurrent_assignments_in_one_transaction(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers = pd.DataFrame({"unit_id": ["refuser"], "sms_consent": ["false"]})
    import_frame(store, "customers", customers, source="test", actor="test")
    sizes = _counting_groups(monkeypatch)
    log = EntryLog(store)
    flows = FlowCache(store, ttl=60)
    requests = [("winback", f"unit_{n}") for n in range(40)]
    requests += [("winback", "unit_0"), ("abandoned_cart", "unit_0")]
    requests += [("winback", "refuser")]

    async def assign_all() -> list[Assignment]:
        try:
            return await asyncio.gather(
                *(enter_one(log, flows.get(flow), unit) for flow, unit in requests)
            )
        finally:
            await log.aclose()

    answers = asyncio.run(assign_all())
    log.close()
    entries = _entries(store)

    # All requests were queued before the writer ran: one transaction.
    assert sizes == [len(requests)]
    assert [(answer.flow, answer.unit_id) for answer in answers] == requests
    assert answers[-1].arm is Arm.EXCLUDED
    assert ("winback", "refuser") not in entries
    assert len(entries) == 41
    assert entries["winback", "unit_0"].entry_count == 2
    assert entries["winback", "unit_0"].arm == answers[0].arm.value
    assert entries["abandoned_cart", "unit_0"].entry_count == 1


def test_group_commit_fails_only_the_request_whose_decision_raised(
    store: Engine,
) -> None:
    log = EntryLog(store)

    def entering(unit: str) -> Any:
        def decide(refused: set[str]) -> tuple[str, list[Any]]:
            return unit, [(unit, "exposed", "outside_holdout", 0.5, 1)]

        return decide

    def broken(refused: set[str]) -> tuple[str, list[Any]]:
        raise ValueError("no decision")

    async def enter(decide: Any) -> Any:
        return await log.enter_async(
            flow="winback", epoch=1, flow_version=1, unit_ids=["x"], decide=decide
        )

    async def run() -> list[Any]:
        try:
            return await asyncio.gather(
                enter(entering("first")),
                enter(broken),
                enter(entering("second")),
                return_exceptions=True,
            )
        finally:
            await log.aclose()

    first, failed, second = asyncio.run(run())
    log.close()

    assert (first, second) == ("first", "second")
    assert isinstance(failed, ValueError)
    assert set(_entries(store)) == {("winback", "first"), ("winback", "second")}
