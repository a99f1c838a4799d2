"""Checking one batch of an event file: every bad value, by row and column.

A batch comes in as the file's columns and goes out as the store's columns,
with unit ids resolved (the customer id, else the E.164 phone) and times in
UTC. Each problem names the row (counted from 1 after the header), the
column and the reason; phone numbers are never echoed back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.errors

from liftlab.identity import MAX_UNIT_ID_LENGTH, normalise_units
from liftlab.ingest.kinds import Kind
from liftlab.ingest.times import parse_times

__all__ = ["BatchProblem", "ValidatedBatch", "validate_batch"]

_CONTROL = r"[\x00-\x1f\x7f]"
_CONSENT = {
    "true": True, "t": True, "yes": True, "y": True, "1": True,
    "false": False, "f": False, "no": False, "n": False, "0": False,
}  # fmt: skip
_SEGMENT_NAME = r"[a-z][a-z0-9_]{0,63}"


@dataclass(frozen=True, slots=True)
class BatchProblem:
    """One bad value: its row (1-based), column and what is wrong."""

    row: int
    column: str
    reason: str


@dataclass(frozen=True, slots=True)
class ValidatedBatch:
    """A checked batch: the good rows as store values, and the problems."""

    frame: pd.DataFrame
    problems: list[BatchProblem] = field(default_factory=list)


def validate_batch(
    kind: Kind,
    raw: pd.DataFrame,
    *,
    first_row: int,
    region: str,
    known_flows: frozenset[str],
) -> ValidatedBatch:
    """Check a batch and convert it to store columns.

    Args:
        kind: What the file holds.
        raw: The batch, with the file's column names.
        first_row: The 1-based row number of the batch's first row.
        region: Region for phone numbers without a country code.
        known_flows: Flow keys in the store; messages, entries and SMS
            touches must name one.
    """
    frame = raw.copy()
    frame.index = pd.RangeIndex(first_row, first_row + len(frame))
    problems: list[BatchProblem] = []

    for name in frame.columns:
        if frame[name].dtype == object or isinstance(frame[name].dtype, pd.StringDtype):
            text = frame[name].astype("string").str.strip()
            frame[name] = text.mask(text.eq(""))

    frame["unit_id"] = _units(frame, region, problems)
    order = {name: place for place, name in enumerate(frame.columns)}
    for name in kind.times:
        if name in frame:
            required = name in kind.required
            frame[name], reasons = parse_times(frame[name], required=required)
            _collect(problems, reasons, name)

    for name in kind.amounts:
        if name in frame:
            frame[name] = _amount(frame[name], name, kind, problems)
    if "sms_consent" in frame:
        consent = frame["sms_consent"].astype("string").str.strip().str.lower()
        frame["sms_consent"] = consent.mask(consent.eq(""))
    checked = [name for name in kind.schema.columns if name in frame]
    if checked:
        _schema_problems(kind, frame[checked], problems)

    _flow_problems(kind, frame, known_flows, problems)
    if kind.name == "customers":
        frame["sms_consent"] = _consent(frame)
        for name in segment_columns(kind, frame):
            if not re.fullmatch(_SEGMENT_NAME, name):
                reason = (
                    "is not a segment name: use lowercase letters, digits or "
                    "underscores, starting with a letter"
                )
                problems.append(BatchProblem(first_row, name, reason))
    problems.sort(key=lambda problem: (problem.row, order.get(problem.column, 0)))
    return ValidatedBatch(frame=frame, problems=problems)


def segment_columns(kind: Kind, frame: pd.DataFrame) -> list[str]:
    """Columns of a customers file that are segment dimensions."""
    if not kind.open_columns:
        return []
    return [name for name in frame.columns if name not in kind.allowed]


def _units(frame: pd.DataFrame, region: str, problems: list[BatchProblem]) -> pd.Series:
    """The unit per row: the customer id, else the E.164 phone."""
    empty = pd.Series(pd.NA, index=frame.index, dtype="string")
    units = frame["unit_id"].astype("string") if "unit_id" in frame else empty
    phones = frame["phone"].astype("string") if "phone" in frame else empty

    bad_id = units.notna() & (
        (units.str.len() > MAX_UNIT_ID_LENGTH)
        | units.str.contains(_CONTROL, regex=True).fillna(False)
    )
    for row in units.index[bad_id]:
        reason = (
            f"must be 1 to {MAX_UNIT_ID_LENGTH} characters without control characters"
        )
        problems.append(BatchProblem(int(row), "unit_id", reason))

    by_phone = units.isna() & phones.notna()
    if by_phone.any():
        rows = units.index[by_phone]
        result = normalise_units(phones[rows].tolist(), kind="phone", region=region)
        units.loc[rows] = result.unit_ids
        for row, error in zip(rows, result.errors, strict=True):
            if error is not None:
                problems.append(BatchProblem(int(row), "phone", error))
                units.loc[row] = pd.NA

    missing = units.isna() & ~by_phone
    column = "phone" if "phone" in frame and "unit_id" not in frame else "unit_id"
    for row in units.index[missing]:
        problems.append(BatchProblem(int(row), column, "is required"))
    return units.mask(bad_id)


def _amount(
    values: pd.Series, name: str, kind: Kind, problems: list[BatchProblem]
) -> pd.Series:
    """Money values: numbers, 0 or more; empty only where optional."""
    numbers = pd.to_numeric(values, errors="coerce")
    present = values.notna()
    bad = (present & numbers.isna()) | (numbers < 0)
    if name in kind.required:
        bad |= ~present
    for row in values.index[bad]:
        reason = (
            "is required" if pd.isna(values[row]) else "must be a number, 0 or more"
        )
        problems.append(BatchProblem(int(row), name, reason))
    return numbers.astype(float)


def _collect(problems: list[BatchProblem], reasons: pd.Series, column: str) -> None:
    bad = reasons.notna()
    for row, reason in reasons[bad].items():
        problems.append(BatchProblem(int(row), column, str(reason)))


def _schema_problems(
    kind: Kind, values: pd.DataFrame, problems: list[BatchProblem]
) -> None:
    try:
        kind.schema.validate(values, lazy=True)
    except pandera.errors.SchemaErrors as error:
        cases = error.failure_cases
        for case in cases.itertuples(index=False):
            row = case.index
            if row is None or (isinstance(row, float) and np.isnan(row)):
                continue
            check = str(case.check)
            if check.startswith("coerce_dtype"):
                reason = "must be a number, 0 or more"
            elif check == "not_nullable":
                reason = "is required"
            else:
                reason = check
            problems.append(BatchProblem(int(row), str(case.column), reason))


def _flow_problems(
    kind: Kind,
    frame: pd.DataFrame,
    known_flows: frozenset[str],
    problems: list[BatchProblem],
) -> None:
    if "flow" not in frame or kind.name not in ("entries", "messages", "touches"):
        return
    flows = frame["flow"]
    must_know = flows.notna()
    if kind.name == "touches":
        must_know &= frame["channel"].eq("sms").fillna(False)
    unknown = must_know & ~flows.isin(known_flows)
    listing = ", ".join(sorted(known_flows)) or "none (run liftlab apply)"
    for row in flows.index[unknown]:
        problems.append(
            BatchProblem(row, "flow", f"no flow '{flows[row]}'; known flows: {listing}")
        )


def _consent(frame: pd.DataFrame) -> pd.Series:
    if "sms_consent" not in frame:
        return pd.Series(None, index=frame.index, dtype=object)
    return (
        frame["sms_consent"]
        .map(_CONSENT)
        .astype(object)
        .where(frame["sms_consent"].notna(), None)
    )
