"""Importing event files: validated, all or nothing, safe to repeat.

One import is one transaction. Every batch is checked; the first bad value
stops the writing but not the checking, so the user gets every bad row (the
first hundred listed, the rest counted) and the store is left exactly as it
was. A repeated event id, in the file or already stored, is skipped and
counted, so running the same import twice changes nothing the second time.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, insert, select, text
from sqlmodel import Session

from liftlab.assignment import Arm, assign_many
from liftlab.config import get_settings
from liftlab.identity import normalise_units
from liftlab.ingest.kinds import Kind, kind_named
from liftlab.ingest.reading import BATCH_ROWS, open_event_file
from liftlab.ingest.validate import BatchProblem, segment_columns, validate_batch
from liftlab.ingest.writing import BulkWriter, writer_for
from liftlab.store.flows import flow_rule, global_rule
from liftlab.store.tables import Flow, ImportRun

__all__ = ["ImportRejectedError", "ImportSummary", "import_file", "import_frame"]

logger = logging.getLogger(__name__)

MAX_LISTED = 100
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What one import did.

    Attributes:
        kind: What the file held.
        source: The file (or a name for an in-memory frame).
        rows_read: Data rows read.
        inserted: Rows new to the store.
        updated: Rows merged into existing ones (customers, entries).
        duplicates: Rows skipped because their id was already there.
        seconds: Wall time.
    """

    kind: str
    source: str
    rows_read: int
    inserted: int
    updated: int
    duplicates: int
    seconds: float


class ImportRejectedError(ValueError):
    """The file has bad values; nothing was written.

    Attributes:
        problems: One line per bad value, the first hundred.
        bad_rows: How many rows had a bad value.
        rows_read: How many rows were read.
    """

    def __init__(self, source: str, problems: list[str], *, bad_rows: int,
                 bad_values: int, rows_read: int) -> None:  # fmt: skip
        shown = [f"{source}: {line}" for line in problems[:MAX_LISTED]]
        if bad_values > MAX_LISTED:
            shown.append(f"{source}: ... and {bad_values - MAX_LISTED} more bad values")
        shown.append(
            f"{source}: {bad_rows:,} of {rows_read:,} rows rejected; nothing was "
            "written"
        )
        super().__init__("\n".join(shown))
        self.problems = problems[:MAX_LISTED]
        self.bad_rows = bad_rows
        self.rows_read = rows_read


def import_file(
    engine: Engine,
    kind: str,
    path: Path,
    *,
    actor: str,
    region: str | None = None,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportSummary:
    """Import a CSV or Parquet event file in one transaction.

    Raises:
        ImportRejectedError: Bad values or columns; nothing was written.
        EventFileError: The file cannot be read.
        ValueError: An unknown kind.
    """
    spec = kind_named(kind)
    event_file = open_event_file(path)
    line_offset = 1 if event_file.is_csv else None
    return _run(
        engine,
        spec,
        event_file.batches(batch_rows),
        columns=event_file.columns,
        source=str(path),
        actor=actor,
        region=region or get_settings().default_region,
        progress=progress,
        line_offset=line_offset,
        digest=_sha256(path),
    )


def import_frame(
    engine: Engine,
    kind: str,
    frame: pd.DataFrame,
    *,
    source: str,
    actor: str,
    region: str | None = None,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportSummary:
    """Import an in-memory table with the columns of an event file."""
    spec = kind_named(kind)
    frame = frame.rename(columns=lambda name: str(name).strip().lower())
    batches = (
        frame.iloc[start : start + batch_rows].reset_index(drop=True)
        for start in range(0, len(frame), batch_rows)
    )
    return _run(
        engine,
        spec,
        batches,
        columns=tuple(frame.columns),
        source=source,
        actor=actor,
        region=region or get_settings().default_region,
        progress=progress,
        line_offset=None,
        digest=None,
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _check_columns(spec: Kind, columns: tuple[str, ...], source: str) -> None:
    problems = []
    if "unit_id" not in columns and "phone" not in columns:
        problems.append("unit_id: column is required (or a phone column)")
    for name in spec.required:
        if name not in columns:
            problems.append(f"{name}: column is required")
    if not spec.open_columns:
        allowed = ", ".join(spec.allowed)
        for name in columns:
            if name not in spec.allowed:
                problems.append(
                    f"{name}: unknown column for {spec.name}; allowed: {allowed}"
                )
    if problems:
        raise ImportRejectedError(
            source, problems, bad_rows=0, bad_values=len(problems), rows_read=0
        )


def _run(
    engine: Engine,
    spec: Kind,
    batches: Iterable[pd.DataFrame],
    *,
    columns: tuple[str, ...],
    source: str,
    actor: str,
    region: str,
    progress: Progress | None,
    line_offset: int | None,
    digest: str | None,
) -> ImportSummary:
    _check_columns(spec, columns, source)
    started = datetime.now(UTC)
    clock = time.perf_counter()
    rows_read = valid_rows = touched = 0
    messages: list[str] = []
    bad_rows: set[int] = set()
    bad_values = 0

    with engine.begin() as connection:
        dialect = connection.dialect.name
        flows = _flows(connection)
        raw_connection = connection.connection.driver_connection
        writer = writer_for(
            raw_connection, dialect, table=spec.table, key=_table_key(spec)
        )
        segments = writer_for(
            raw_connection, dialect, table="customer_segments",
            key=("unit_id", "dimension"),
        )  # fmt: skip
        before = _count(connection, spec.table)
        for raw in batches:
            checked = validate_batch(
                spec,
                raw,
                first_row=rows_read + 1,
                region=region,
                known_flows=frozenset(flows),
            )
            problems = checked.problems
            frame = checked.frame
            if spec.name == "entries" and not problems:
                frame, problems = _entries(connection, frame, flows)
            if spec.name == "customers" and not problems:
                problems = _customer_phones(frame, raw, region)
            rows_read += len(raw)
            if problems:
                bad_values += len(problems)
                bad_rows.update(problem.row for problem in problems)
                room = MAX_LISTED - len(messages)
                messages.extend(_describe(p, line_offset) for p in problems[:room])
            elif not bad_rows:
                valid_rows += len(frame)
                touched += _write(writer, segments, spec, frame, dialect, started)
            if progress is not None:
                progress(len(raw))

        if bad_rows:
            raise ImportRejectedError(
                source, messages, bad_rows=len(bad_rows), bad_values=bad_values,
                rows_read=rows_read,
            )  # fmt: skip
        added = writer.finish()
        inserted = _count(connection, spec.table) - before
        if spec.name in ("customers", "entries"):
            updated, duplicates = touched - inserted, valid_rows - touched
        else:
            updated, duplicates = 0, valid_rows - added
        if inserted or updated:
            _record_run(connection, spec, source, digest, actor, rows_read,
                        inserted, duplicates, started)  # fmt: skip

    summary = ImportSummary(
        kind=spec.name,
        source=source,
        rows_read=rows_read,
        inserted=inserted,
        updated=updated,
        duplicates=duplicates,
        seconds=time.perf_counter() - clock,
    )
    logger.info(
        "imported %s from %s: %d read, %d inserted, %d updated, %d duplicates",
        spec.name, source, rows_read, inserted, updated, duplicates,
    )  # fmt: skip
    return summary


def _describe(problem: BatchProblem, line_offset: int | None) -> str:
    where = f"row {problem.row}"
    if line_offset is not None:
        where += f" (line {problem.row + line_offset})"
    return f"{where}: {problem.column}: {problem.reason}"


def _table_key(spec: Kind) -> tuple[str, ...]:
    if spec.name == "entries":
        return ("flow_key", "epoch", "unit_id")
    return spec.key


def _count(connection: Connection, table: str) -> int:
    return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _flows(connection: Connection) -> dict[str, Flow]:
    with Session(bind=connection) as session:
        rows = session.exec(select(Flow)).scalars().all()
        return {flow.key: flow for flow in rows if flow.kind == "flow"}


def _write(
    writer: BulkWriter, segments: BulkWriter, spec: Kind, frame: pd.DataFrame,
    dialect: str, moment: datetime,
) -> int:  # fmt: skip
    if spec.name == "customers":
        return _write_customers(writer, segments, frame, dialect, moment)
    if spec.name == "entries":
        return _write_entries(writer, frame, dialect)
    stored = frame.rename(columns={"flow": "flow_key"})
    wanted = [name for name in _EVENT_COLUMNS[spec.name] if name in stored]
    stored = stored[wanted].assign(ingested_at=pd.Timestamp(moment))
    writer.insert_new(stored)
    return 0


_EVENT_COLUMNS = {
    "messages": ["message_id", "flow_key", "unit_id", "sent_at", "delivered_at",
                 "status", "cost", "coupon_code"],
    "touches": ["touch_id", "unit_id", "channel", "kind", "occurred_at", "flow_key",
                "campaign", "message_id"],
    "conversions": ["conversion_id", "unit_id", "occurred_at", "type", "value",
                    "channel", "coupon_code"],
}  # fmt: skip


def _distinct(dialect: str) -> str:
    return "IS NOT" if dialect == "sqlite" else "IS DISTINCT FROM"


def _write_customers(
    writer: BulkWriter,
    segments_writer: BulkWriter,
    frame: pd.DataFrame,
    dialect: str,
    moment: datetime,
) -> int:
    latest = frame.drop_duplicates("unit_id", keep="last")
    stamp = pd.Timestamp(moment)
    customers = pd.DataFrame(
        {
            "unit_id": latest["unit_id"],
            "phone": latest.get("phone_e164"),
            "sms_consent": latest["sms_consent"],
            "created_at": stamp,
            "updated_at": stamp,
        }
    )
    differs = _distinct(dialect)
    touched = writer.upsert(
        customers,
        merge={
            "phone": "COALESCE(excluded.phone, customers.phone)",
            "sms_consent": "COALESCE(excluded.sms_consent, customers.sms_consent)",
            "updated_at": "excluded.updated_at",
        },
        when=(
            f"(excluded.phone IS NOT NULL AND excluded.phone {differs} "
            "customers.phone) OR (excluded.sms_consent IS NOT NULL AND "
            f"excluded.sms_consent {differs} customers.sms_consent)"
        ),
    )
    dimensions = [
        name for name in segment_columns(_CUSTOMERS, latest) if name != "phone_e164"
    ]
    if dimensions:
        segments = latest.melt(
            id_vars="unit_id", value_vars=dimensions, var_name="dimension"
        ).dropna(subset=["value"])
        segments["value"] = segments["value"].astype(str)
        segments_writer.upsert(
            segments,
            merge={"value": "excluded.value"},
            when=f"excluded.value {differs} customer_segments.value",
        )
    return touched


_CUSTOMERS = kind_named("customers")


def _customer_phones(
    frame: pd.DataFrame, raw: pd.DataFrame, region: str
) -> list[BatchProblem]:
    """Normalise the phone column of a customers file to E.164."""
    if "phone" not in frame:
        return []
    phones = frame["phone"]
    present = phones.notna()
    result = normalise_units(phones[present].tolist(), kind="phone", region=region)
    frame["phone_e164"] = pd.Series(pd.NA, index=frame.index, dtype=object)
    frame.loc[present, "phone_e164"] = result.unit_ids
    problems = []
    for row, error in zip(phones.index[present], result.errors, strict=True):
        if error is not None:
            problems.append(BatchProblem(int(row), "phone", error))
    return problems


def _entries(
    connection: Connection, frame: pd.DataFrame, flows: dict[str, Flow]
) -> tuple[pd.DataFrame, list[BatchProblem]]:
    """Arms for entries: the hash decides, a given arm must agree with it."""
    with Session(bind=connection) as session:
        global_holdout = global_rule(session)
    problems: list[BatchProblem] = []
    parts = []
    for key, rows in frame.groupby("flow", sort=False):
        flow = flows[str(key)]
        part = rows.copy()
        given = part["arm"] if "arm" in part else pd.Series(pd.NA, part.index)
        if flow.assignment == "external":
            for row in part.index[given.isna()]:
                problems.append(BatchProblem(int(row), "arm", "is required for a flow "
                                             "randomised outside liftlab"))  # fmt: skip
            part["reason"], part["bucket"] = "external", None
        else:
            batch = assign_many(
                flow_rule(flow), part["unit_id"].tolist(), global_rule=global_holdout
            )
            arms = pd.Series(batch.arms, index=part.index)
            wrong = given.notna() & given.ne(arms)
            for row in part.index[wrong]:
                problems.append(BatchProblem(
                    int(row), "arm", f"is {given[row]} but the assignment of this "
                    f"unit is {arms[row]}",
                ))  # fmt: skip
            part["arm"] = arms
            part["reason"] = batch.reasons
            part["bucket"] = batch.buckets / 10_000
        part["flow_key"], part["epoch"], part["flow_version"] = (
            flow.key, flow.epoch, flow.version,
        )  # fmt: skip
        parts.append(part)
    merged = pd.concat(parts) if parts else frame
    return merged, problems


def _write_entries(writer: BulkWriter, frame: pd.DataFrame, dialect: str) -> int:
    if "variant" not in frame:
        frame = frame.assign(variant=None)
    grouped = frame.groupby(["flow_key", "epoch", "unit_id"], sort=False).agg(
        arm=("arm", "first"),
        variant=("variant", "first"),
        reason=("reason", "first"),
        bucket=("bucket", "first"),
        flow_version=("flow_version", "first"),
        entered_at=("entered_at", "min"),
        last_entered_at=("entered_at", "max"),
        entry_count=("entered_at", "size"),
    )
    rows = grouped.reset_index().assign(source="import")
    rows = rows[rows["arm"].isin([Arm.EXPOSED.value, Arm.HOLDOUT.value])]
    earliest, latest = ("min", "max") if dialect == "sqlite" else ("LEAST", "GREATEST")
    return writer.upsert(
        rows,
        merge={
            "entered_at": f"{earliest}(entries.entered_at, excluded.entered_at)",
            "last_entered_at": (
                f"{latest}(entries.last_entered_at, excluded.last_entered_at)"
            ),
            "entry_count": f"{latest}(entries.entry_count, excluded.entry_count)",
        },
        when=(
            "excluded.entered_at < entries.entered_at OR excluded.last_entered_at "
            "> entries.last_entered_at OR excluded.entry_count > entries.entry_count"
        ),
    )


def _record_run(
    connection: Connection, spec: Kind, source: str, digest: str | None,
    actor: str, rows_read: int, inserted: int, duplicates: int, started: datetime,
) -> None:  # fmt: skip
    connection.execute(
        insert(ImportRun).values(
            kind=spec.name,
            source=source[-500:],
            sha256=digest,
            actor=actor,
            rows_read=rows_read,
            inserted=inserted,
            duplicates=duplicates,
            started_at=started,
            finished_at=datetime.now(UTC),
        )
    )
