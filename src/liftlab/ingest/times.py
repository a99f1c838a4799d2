"""Parsing event times that must carry a zone, and writing them in bulk.

Times arrive as ISO 8601 text with a zone (``2026-11-02T09:30:00+01:00``,
``...Z``) or as zone-aware Parquet timestamps, and are stored in UTC. For
SQLite the store keeps the text form SQLAlchemy writes,
``YYYY-MM-DD HH:MM:SS.ffffff``; :func:`sqlite_text` builds it for millions of
values with integer arithmetic instead of one ``strftime`` per value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["ZONE_PATTERN", "parse_times", "sqlite_text"]

ZONE_PATTERN = (
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
    r"\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"
)
_NO_ZONE = "has no zone (write it with Z or an offset such as +01:00)"
_NOT_TIME = "is not an ISO 8601 time with a zone, e.g. 2026-11-02T09:30:00Z"


def parse_times(
    values: pd.Series, *, required: bool = True
) -> tuple[pd.Series, pd.Series]:
    """Parse a column of times to UTC.

    Args:
        values: ISO 8601 strings, or already-typed datetimes.
        required: Whether an empty value is an error.

    Returns:
        The UTC times (NaT where a value failed) and, per row, None or the
        reason the value failed.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        times = values.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
        reasons = pd.Series(None, index=values.index, dtype=object)
        if required:
            reasons[times.isna()] = "is required"
        return times, reasons
    if pd.api.types.is_datetime64_dtype(values.dtype):
        reason = _NO_ZONE
        return (
            pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]"),
            pd.Series(reason, index=values.index),
        )

    text = values.astype("string").str.strip()
    missing = text.isna() | text.eq("")
    zoned = text.str.contains(ZONE_PATTERN, regex=True).fillna(False)
    parsed = pd.to_datetime(
        text.where(zoned & ~missing), utc=True, format="ISO8601", errors="coerce"
    )
    reasons = pd.Series(None, index=values.index, dtype=object)
    timed = text.str.contains(r"\d{2}:\d{2}", regex=True).fillna(False)
    reasons[~missing & ~zoned & timed] = _NO_ZONE
    reasons[~missing & ~zoned & ~timed] = _NOT_TIME
    reasons[~missing & zoned & parsed.isna()] = _NOT_TIME
    if required:
        reasons[missing] = "is required"
    return parsed.astype("datetime64[us, UTC]"), reasons


def sqlite_text(times: pd.Series | pa.Array) -> list[str | None]:
    """UTC times as ``YYYY-MM-DD HH:MM:SS.ffffff`` strings; None for NaT."""
    if isinstance(times, pa.Array | pa.ChunkedArray):
        times = times.to_pandas()
    utc = times.dt.tz_convert("UTC") if times.dt.tz is not None else times
    missing = utc.isna().to_numpy()
    micros = utc.to_numpy(dtype="datetime64[us]").astype(np.int64)
    micros[missing] = 0

    days, of_day = np.divmod(micros, 86_400_000_000)
    year, month, day = _civil_from_days(days)
    seconds, micro = np.divmod(of_day, 1_000_000)
    hour, rest = np.divmod(seconds, 3_600)
    minute, second = np.divmod(rest, 60)

    digits = np.full((len(micros), 26), ord("0"), dtype=np.uint8)
    _write(digits, 0, year, 4)
    digits[:, 4] = ord("-")
    _write(digits, 5, month, 2)
    digits[:, 7] = ord("-")
    _write(digits, 8, day, 2)
    digits[:, 10] = ord(" ")
    _write(digits, 11, hour, 2)
    digits[:, 13] = ord(":")
    _write(digits, 14, minute, 2)
    digits[:, 16] = ord(":")
    _write(digits, 17, second, 2)
    digits[:, 19] = ord(".")
    _write(digits, 20, micro, 6)

    joined = digits.tobytes().decode("ascii")
    text: list[str | None] = [
        joined[start : start + 26] for start in range(0, len(joined), 26)
    ]
    for row in np.flatnonzero(missing).tolist():
        text[row] = None
    return text


def _write(digits: np.ndarray, start: int, values: np.ndarray, width: int) -> None:
    for place in range(width - 1, -1, -1):
        values, digit = np.divmod(values, 10)
        digits[:, start + place] = digit + ord("0")


def _civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Proleptic Gregorian year, month, day from days since 1970-01-01.

    The algorithm of Howard Hinnant, "chrono-Compatible Low-Level Date
    Algorithms" (2013), vectorised.
    """
    shifted = days + 719_468
    era = np.floor_divide(shifted, 146_097)
    day_of_era = shifted - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1_460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    year = year_of_era + era * 400
    day_of_year = day_of_era - (
        365 * year_of_era + year_of_era // 4 - year_of_era // 100
    )
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = np.where(shifted_month < 10, shifted_month + 3, shifted_month - 9)
    return year + (month <= 2), month, day


def arrow_timestamps(values: pa.Array) -> pa.Array:
    """Cast an Arrow timestamp column to microseconds in UTC."""
    return pc.cast(values, pa.timestamp("us", tz="UTC"))
