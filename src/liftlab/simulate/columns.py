"""Fast builders of the event files' text and time columns.

Millions of ids and labels are built in Arrow rather than Python strings,
then handed to pandas as its ``str`` dtype, the dtype a CSV reader gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["labels", "numbered", "take", "text", "times"]


def text(values: pa.Array) -> pd.api.extensions.ExtensionArray:
    """An Arrow string array as a pandas ``str`` column; nulls become NaN."""
    return pd.array(values.cast(pa.large_string()), dtype="str")


def labels(
    codes: np.ndarray, names: Sequence[str | None]
) -> pd.api.extensions.ExtensionArray:
    """A ``str`` column from integer codes into ``names``; -1 or None is null."""
    codes = np.asarray(codes, dtype=np.int32)
    indices = pa.array(codes, mask=codes < 0)
    dictionary = pa.array(list(names), type=pa.large_string())
    return text(pa.DictionaryArray.from_arrays(indices, dictionary))


def numbered(prefix: str, count: int, *, width: int, start: int = 1) -> pa.Array:
    """Ids ``prefix`` + a zero-padded serial number, e.g. ``msg-00000001``."""
    serials = pa.array(np.arange(start, start + count, dtype=np.int64))
    digits = pc.utf8_lpad(pc.cast(serials, pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, pa.scalar(""))


def take(values: pa.Array, indices: np.ndarray) -> pa.Array:
    """``values[indices]``, null where an index is negative."""
    indices = np.asarray(indices, dtype=np.int64)
    return values.take(pa.array(indices, mask=indices < 0))


def times(start: datetime, seconds: np.ndarray) -> pd.DatetimeIndex:
    """Aware UTC times ``start`` + whole ``seconds``; NaN or inf gives NaT."""
    seconds = np.asarray(seconds, dtype=float)
    known = np.isfinite(seconds)
    whole = np.where(known, seconds, 0.0).astype(np.int64) + int(start.timestamp())
    stamps = pd.to_datetime(whole, unit="s", utc=True).as_unit("us")
    return stamps.where(known)
