"""Entry logging: first entry kept, later entries counted, retries harmless."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from liftlab.store.entries import EntryRecord, entry_counts, record_entries
from liftlab.store.tables import Entry, Flow

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _flow() -> Flow:
    return Flow(key="winback", name="Win-back", holdout_percent=15.0, salt="winback")


def _record(unit_id: str, arm: str, at: datetime, times: int = 1) -> EntryRecord:
    reason = "outside_holdout" if arm == "exposed" else "flow_holdout"
    return EntryRecord(unit_id, arm, reason, 0.25, at, times)


def test_record_entries_keeps_first_entry_and_counts_repeats(engine: Engine) -> None:
    with Session(engine) as session:
        flow = _flow()
        session.add(flow)
        session.flush()
        first = record_entries(
            session,
            flow,
            [_record("a", "exposed", T0), _record("b", "holdout", T0, times=2)],
            source="file",
        )
        again = record_entries(
            session,
            flow,
            [
                _record("a", "holdout", T0 + timedelta(days=1)),
                _record("c", "exposed", T0),
            ],
            source="api",
        )
        session.commit()

    assert (first.new, first.repeated) == (2, 0)
    assert (again.new, again.repeated) == (1, 1)
    with Session(engine) as session:
        rows = {row.unit_id: row for row in session.exec(select(Entry)).all()}
        counts = entry_counts(session)
    assert rows["a"].arm == "exposed"
    assert rows["a"].entered_at == T0
    assert rows["a"].last_entered_at == T0 + timedelta(days=1)
    assert rows["a"].entry_count == 2
    assert rows["b"].entry_count == 2
    assert counts == {("winback", "exposed"): 2, ("winback", "holdout"): 1}


def test_entry_counts_follow_the_current_epoch(engine: Engine) -> None:
    with Session(engine) as session:
        flow = _flow()
        session.add(flow)
        session.flush()
        record_entries(session, flow, [_record("a", "exposed", T0)], source="api")
        flow.epoch = 2
        session.add(flow)
        session.flush()
        record_entries(session, flow, [_record("a", "holdout", T0)], source="api")
        session.commit()
        assert entry_counts(session) == {("winback", "holdout"): 1}
        assert len(session.exec(select(Entry)).all()) == 2
