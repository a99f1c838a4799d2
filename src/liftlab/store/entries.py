"""Writing and counting flow entries.

An entry is logged once per unit, flow and epoch: the first entry's time and
arm are kept, and later entries raise ``entry_count`` and move
``last_entered_at``. Writes are upserts, so a retried batch is harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from liftlab.store.tables import Entry, Flow

__all__ = ["EntryRecord", "RecordedEntries", "entry_counts", "record_entries"]

_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """One unit entering a flow (only entered units are logged)."""

    unit_id: str
    arm: str
    reason: str
    bucket: float
    entered_at: datetime
    times: int = 1


@dataclass(frozen=True, slots=True)
class RecordedEntries:
    """What a write of entries did.

    Attributes:
        new: Units entering the flow's current epoch for the first time.
        repeated: Units already entered, whose entry count was raised.
    """

    new: int
    repeated: int


def record_entries(
    session: Session,
    flow: Flow,
    records: Sequence[EntryRecord],
    *,
    source: str,
) -> RecordedEntries:
    """Upsert entries of one flow, in the session's transaction.

    Each unit must appear once in ``records``; give ``times`` for a unit that
    entered more than once in the batch.
    """
    before = _count(session, flow)
    insert = _insert_for(session)
    for start in range(0, len(records), _CHUNK):
        chunk = records[start : start + _CHUNK]
        rows = [
            {
                "flow_key": flow.key,
                "epoch": flow.epoch,
                "unit_id": record.unit_id,
                "arm": record.arm,
                "reason": record.reason,
                "bucket": record.bucket,
                "flow_version": flow.version,
                "entered_at": record.entered_at,
                "last_entered_at": record.entered_at,
                "entry_count": record.times,
                "source": source,
            }
            for record in chunk
        ]
        statement = insert(Entry).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=["flow_key", "epoch", "unit_id"],
            set_={
                "entry_count": Entry.entry_count + statement.excluded.entry_count,
                "last_entered_at": func.max(
                    Entry.last_entered_at, statement.excluded.last_entered_at
                )
                if session.get_bind().dialect.name == "sqlite"
                else func.greatest(
                    Entry.last_entered_at, statement.excluded.last_entered_at
                ),
            },
        )
        session.execute(statement)
    new = _count(session, flow) - before
    return RecordedEntries(new=new, repeated=len(records) - new)


def _insert_for(session: Session):  # type: ignore[no-untyped-def]
    name = session.get_bind().dialect.name
    if name == "sqlite":
        return sqlite.insert
    if name == "postgresql":
        return postgresql.insert
    raise ValueError(f"the store runs on SQLite or PostgreSQL, not {name}")


def _count(session: Session, flow: Flow) -> int:
    statement = select(func.count()).where(
        Entry.flow_key == flow.key, Entry.epoch == flow.epoch
    )
    return int(session.execute(statement).scalar_one())


def entry_counts(session: Session) -> dict[tuple[str, str], int]:
    """Entries per flow and arm in each flow's current epoch."""
    statement = (
        select(Entry.flow_key, Entry.arm, func.count())
        .join(Flow, (Flow.key == Entry.flow_key) & (Flow.epoch == Entry.epoch))
        .group_by(Entry.flow_key, Entry.arm)
    )
    return {(key, arm): count for key, arm, count in session.execute(statement)}
