"""Split an audience file into who to text and who to hold out.

An automation tool that sends in bulk exports its audience (a ``unit_id`` or
``phone`` column, optionally ``sms_consent``), and liftlab answers with two
files: ``send.csv`` (exposed units) and ``holdout.csv`` (every unit not to be
texted: flow and global holdout, and, with ``skip_invalid``, excluded rows),
both with the columns ``unit_id,arm,reason,bucket``. Entered units are logged
as entries of the flow in the same run.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlmodel import select

from liftlab.assignment import Arm, AssignmentBatch, Reason, assign_many
from liftlab.identity import normalise_units
from liftlab.store.engine import session_scope
from liftlab.store.entries import EntryRecord, RecordedEntries, record_entries
from liftlab.store.flows import flow_rule, get_flow, global_rule
from liftlab.store.tables import Customer

__all__ = ["AudienceError", "AudienceSplit", "read_audience", "split_audience"]

logger = logging.getLogger(__name__)

ID_COLUMNS = ("unit_id", "phone")
OUTPUT_COLUMNS = ("unit_id", "arm", "reason", "bucket")
MAX_LISTED = 100
_CONSENT_WORDS = {
    "true": True, "t": True, "yes": True, "y": True, "1": True,
    "false": False, "f": False, "no": False, "n": False, "0": False,
}  # fmt: skip


class AudienceError(ValueError):
    """The audience file cannot be split; nothing was written."""


@dataclass(frozen=True, slots=True)
class AudienceSplit:
    """The result of splitting one audience file.

    Attributes:
        flow: The flow key.
        rows: Rows read.
        counts: Units per (arm, reason), every pair that occurred.
        send_path: Where the units to text were written.
        holdout_path: Where the units not to text were written.
        recorded: Entries logged, or None when recording was off.
        invalid_rows: Rows excluded for an invalid id, with the reason.
    """

    flow: str
    rows: int
    counts: dict[tuple[str, str], int]
    send_path: Path
    holdout_path: Path
    recorded: RecordedEntries | None
    invalid_rows: tuple[str, ...] = ()


def read_audience(path: Path) -> pd.DataFrame:
    """Read an audience file (CSV or Parquet) with every column as text.

    Raises:
        AudienceError: The file is missing, unreadable, or has no id column.
    """
    if not path.is_file():
        raise AudienceError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path).astype("string").fillna("")
        else:
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, encoding="utf-8"
            )
    except (ValueError, OSError, UnicodeDecodeError) as error:
        raise AudienceError(f"{path}: cannot be read ({error})") from error

    frame.columns = [str(column).strip().lower() for column in frame.columns]
    if not any(column in frame.columns for column in ID_COLUMNS):
        found = ", ".join(frame.columns) or "none"
        raise AudienceError(
            f"{path}: no id column; the file needs a 'unit_id' or a 'phone' "
            f"column (found: {found})"
        )
    return frame


def split_audience(
    engine: Engine,
    flow_key: str,
    path: Path,
    out_dir: Path,
    *,
    region: str,
    record: bool = True,
    skip_invalid: bool = False,
    progress: Callable[[int], None] | None = None,
) -> AudienceSplit:
    """Assign every unit of an audience file and write send and holdout files.

    Nothing is written (neither files nor entries) unless every step works.

    Args:
        engine: The store.
        flow_key: The flow the audience enters.
        path: The audience file.
        out_dir: Where ``send.csv`` and ``holdout.csv`` go.
        region: Region for phone numbers without a country code.
        record: Log the entered units as entries of the flow.
        skip_invalid: Exclude rows with an invalid id (reason ``invalid_id``)
            instead of refusing the file.
        progress: Called with the number of rows just processed.

    Raises:
        AudienceError: A row has an invalid id or consent value, or the file
            cannot be read; the message names the file, rows and fields.
    """
    frame = read_audience(path)
    units, valid, id_problems = _resolve_units(frame, region=region, progress=progress)
    consent, problems = _consent(frame)
    if not skip_invalid:
        problems += id_problems
    if problems:
        raise AudienceError(_listing(path, problems))

    with session_scope(engine) as session:
        flow = get_flow(session, flow_key)
        rule, global_holdout = flow_rule(flow), global_rule(session)
        refused = _refusing_units(session)
    if refused:
        known = np.array([unit in refused for unit in units], dtype=bool)
        consent = np.where(known, False, consent)

    batch = assign_many(
        rule, units, global_rule=global_holdout, consent=consent, valid=valid
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    send_path, holdout_path = out_dir / "send.csv", out_dir / "holdout.csv"
    staged = _stage_outputs(batch, out_dir)
    try:
        recorded = None
        if record:
            with session_scope(engine) as session:
                flow = get_flow(session, flow_key)
                records = _entry_records(batch, datetime.now(UTC))
                recorded = record_entries(session, flow, records, source="file")
        os.replace(staged[0], send_path)
        os.replace(staged[1], holdout_path)
    finally:
        for leftover in staged:
            Path(leftover).unlink(missing_ok=True)

    counts = _counts(batch)
    logger.info(
        "audience split for flow %s: %d rows, %s",
        flow_key,
        len(batch),
        ", ".join(f"{arm}/{reason}={n}" for (arm, reason), n in counts.items()),
    )
    return AudienceSplit(
        flow=flow_key,
        rows=len(batch),
        counts=counts,
        send_path=send_path,
        holdout_path=holdout_path,
        recorded=recorded,
        invalid_rows=tuple(id_problems[:MAX_LISTED]),
    )


def _resolve_units(
    frame: pd.DataFrame,
    *,
    region: str,
    progress: Callable[[int], None] | None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Unit ids per row: the customer id when given, else the E.164 phone."""
    count = len(frame)
    ids = frame["unit_id"] if "unit_id" in frame else pd.Series([""] * count)
    phones = frame["phone"] if "phone" in frame else pd.Series([""] * count)
    use_phone = ids.str.strip().eq("").to_numpy() & ("phone" in frame)

    units = np.empty(count, dtype=object)
    errors: list[str | None] = [None] * count
    step = 100_000
    for start in range(0, count, step):
        stop = min(start + step, count)
        for kind, source in (("unit_id", ids), ("phone", phones)):
            mask = use_phone[start:stop] if kind == "phone" else ~use_phone[start:stop]
            rows = np.flatnonzero(mask) + start
            if not len(rows):
                continue
            result = normalise_units(source.iloc[rows], kind=kind, region=region)
            units[rows] = result.unit_ids
            for row, error in zip(rows, result.errors, strict=True):
                if error is not None:
                    errors[row] = f"{kind}: {error}"
        if progress is not None:
            progress(stop - start)

    valid = np.array([error is None for error in errors], dtype=bool)
    problems = [
        f"row {row + 1} (line {row + 2}): {error}"
        for row, error in enumerate(errors)
        if error is not None
    ]
    return units.astype(str), valid, problems


def _consent(frame: pd.DataFrame) -> tuple[np.ndarray | None, list[str]]:
    if "sms_consent" not in frame:
        return None, []
    values = np.empty(len(frame), dtype=object)
    problems = []
    for row, raw in enumerate(frame["sms_consent"]):
        text = str(raw).strip().lower()
        if text == "":
            values[row] = None
        elif text in _CONSENT_WORDS:
            values[row] = _CONSENT_WORDS[text]
        else:
            problems.append(
                f"row {row + 1} (line {row + 2}): sms_consent: must be true or "
                f"false (or yes/no, 1/0, empty for unknown), got {raw!r}"
            )
    return values, problems


def _refusing_units(session) -> set[str]:  # type: ignore[no-untyped-def]
    statement = select(Customer.unit_id).where(Customer.sms_consent.is_(False))
    return set(session.exec(statement).all())


def _listing(path: Path, problems: list[str]) -> str:
    shown = [f"{path}: {problem}" for problem in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        shown.append(f"{path}: ... and {len(problems) - MAX_LISTED} more rows")
    shown.append(
        f"{path}: {len(problems)} bad rows; nothing was written "
        "(fix them, or pass --skip-invalid to exclude rows with an invalid id)"
    )
    return "\n".join(shown)


def _stage_outputs(batch: AssignmentBatch, out_dir: Path) -> tuple[str, str]:
    buckets = np.where(batch.buckets >= 0, batch.buckets / 10_000, np.nan)
    table = pd.DataFrame(
        {
            "unit_id": np.asarray(batch.unit_ids, dtype=object),
            "arm": batch.arms,
            "reason": batch.reasons,
            "bucket": buckets,
        }
    )
    send = batch.send
    staged = []
    for name, part in (("send", table[send]), ("holdout", table[~send])):
        descriptor, staged_path = tempfile.mkstemp(
            dir=out_dir, prefix=f".{name}.", suffix=".csv"
        )
        staged.append(staged_path)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            part.to_csv(handle, index=False, float_format="%.4f")
    return staged[0], staged[1]


def _entry_records(batch: AssignmentBatch, moment: datetime) -> list[EntryRecord]:
    entered = batch.arms != Arm.EXCLUDED.value
    frame = pd.DataFrame(
        {
            "unit_id": np.asarray(batch.unit_ids, dtype=object)[entered],
            "arm": batch.arms[entered],
            "reason": batch.reasons[entered],
            "bucket": batch.buckets[entered] / 10_000,
        }
    )
    grouped = frame.groupby("unit_id", sort=False).agg(
        arm=("arm", "first"),
        reason=("reason", "first"),
        bucket=("bucket", "first"),
        times=("arm", "size"),
    )
    return [
        EntryRecord(
            unit_id=str(unit_id),
            arm=str(arm),
            reason=str(reason),
            bucket=float(bucket),
            entered_at=moment,
            times=int(times),
        )
        for unit_id, arm, reason, bucket, times in grouped.itertuples()
    ]


def _counts(batch: AssignmentBatch) -> dict[tuple[str, str], int]:
    order = [
        (Arm.EXPOSED, Reason.OUTSIDE_HOLDOUT),
        (Arm.HOLDOUT, Reason.FLOW_HOLDOUT),
        (Arm.HOLDOUT, Reason.GLOBAL_HOLDOUT),
        (Arm.EXCLUDED, Reason.NO_CONSENT),
        (Arm.EXCLUDED, Reason.INVALID_ID),
    ]
    tally = batch.counts()
    return {(arm.value, reason.value): tally[reason] for arm, reason in order}
