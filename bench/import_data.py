"""A realistic touches file for the import benchmark, built in chunks.

The file has the touches columns of the event-file contract: ``touch_id``
(UUID v4 text), ``unit_id`` (13-digit customer ids and E.164 phone numbers,
a few customers with many touches), ``channel``, ``kind``, ``occurred_at``
(UTC microseconds over 90 days, in time order as an export would be),
``flow`` (only on SMS rows), ``campaign`` and ``message_id`` (Twilio-style
message SIDs on SMS rows). Rows are generated with numpy a chunk at a time
and written with a ``ParquetWriter``, one row group per chunk, so no more
than one chunk is ever held in memory. The same count always gives the same
file, which is cached by its row count.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["CHUNK_ROWS", "FLOWS", "SCHEMA", "touch_file"]

CHUNK_ROWS = 500_000
FORMAT_VERSION = 1

SCHEMA = pa.schema(
    [
        ("touch_id", pa.string()),
        ("unit_id", pa.string()),
        ("channel", pa.string()),
        ("kind", pa.string()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
        ("flow", pa.string()),
        ("campaign", pa.string()),
        ("message_id", pa.string()),
    ]
)

FLOWS = ("abandoned_cart", "browse_abandonment", "renewal_reminder", "winback")
_FLOW_SHARES = (0.40, 0.30, 0.15, 0.15)

# channel, share of rows, share of its touches that are clicks (None: sessions)
_CHANNELS = (
    ("sms", 0.30, 0.18),
    ("email", 0.25, 0.12),
    ("paid_search", 0.12, None),
    ("organic_search", 0.12, None),
    ("direct", 0.13, None),
    ("push", 0.08, 0.10),
)
# channel, share of its rows with a campaign, campaign names
_CAMPAIGNS = {
    "sms": (0.25, ("sms_vip_early_access", "sms_bfcm_teaser", "sms_restock")),
    "email": (
        1.0,
        (
            *(f"newsletter_2026_w{week}" for week in range(36, 49)),
            "black_friday_early_access",
            "black_friday",
            "cyber_monday",
            "back_in_stock",
            "price_drop",
            "welcome_series_1",
            "welcome_series_2",
            "post_purchase_review",
        ),
    ),
    "paid_search": (
        1.0,
        ("brand_us", "brand_uk", "generic_shoes", "generic_apparel", "pmax_all"),
    ),
    "push": (0.7, ("app_flash_sale", "app_back_in_stock", "app_cart_reminder")),
}
_KINDS = ("view", "click", "session")
_STARTS = datetime(2026, 9, 1, tzinfo=UTC)
_SPAN_MICROS = 90 * 86_400 * 1_000_000
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def touch_file(rows: int, directory: Path, *, seed: int = 2026) -> Path:
    """The path of a touches file of ``rows`` rows, written if not cached."""
    path = directory / f"touches-v{FORMAT_VERSION}-{rows}.parquet"
    if path.is_file() and pq.ParquetFile(path).metadata.num_rows == rows:
        return path

    directory.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    rng = np.random.default_rng(seed)
    units = _unit_pool(rng, max(1_000, rows // 10))
    chunks = -(-rows // CHUNK_ROWS)
    with pq.ParquetWriter(partial, SCHEMA) as writer:
        for index in range(chunks):
            count = min(CHUNK_ROWS, rows - index * CHUNK_ROWS)
            table = _chunk(rng, units, count, index, chunks)
            writer.write_table(table, row_group_size=CHUNK_ROWS)
    os.replace(partial, path)
    return path


def _unit_pool(rng: np.random.Generator, size: int) -> pa.Array:
    """Customer ids (65%) and E.164 phone numbers (35%), shuffled."""
    customers = rng.integers(10**12, 10**13, size=size, dtype=np.int64)
    phones = rng.integers(2 * 10**9, 10**10, size=size, dtype=np.int64)
    as_phone = rng.random(size) < 0.35
    customer_text = pc.cast(pa.array(customers), pa.string())
    phone_text = pc.binary_join_element_wise(
        "+1", pc.cast(pa.array(phones), pa.string()), ""
    )
    return pc.if_else(pa.array(as_phone), phone_text, customer_text)


def _chunk(
    rng: np.random.Generator, units: pa.Array, count: int, index: int, chunks: int
) -> pa.Table:
    shares = np.array([share for _, share, _ in _CHANNELS])
    channel = rng.choice(len(_CHANNELS), size=count, p=shares / shares.sum())
    is_sms = channel == 0

    clicks = np.array([0.0 if rate is None else rate for *_, rate in _CHANNELS])
    sessions = np.array([rate is None for *_, rate in _CHANNELS])
    kind = np.where(rng.random(count) < clicks[channel], 1, 0)
    kind = np.where(sessions[channel], 2, kind)

    # Active customers touch more often: unit i is drawn with density ~ 1/sqrt(i).
    unit = (len(units) * rng.random(count) ** 2).astype(np.int64)

    lower = _SPAN_MICROS * index // chunks
    upper = _SPAN_MICROS * (index + 1) // chunks
    micros = np.sort(rng.integers(lower, upper, size=count, dtype=np.int64))
    micros += int(_STARTS.timestamp()) * 1_000_000

    flow = rng.choice(len(FLOWS), size=count, p=_FLOW_SHARES)
    flow = np.where(is_sms, flow, len(FLOWS))
    campaign_names, campaign = _campaigns(rng, channel)
    sids = _strings(
        np.hstack(
            [
                np.full((count, 1), ord("S"), np.uint8),
                np.full((count, 1), ord("M"), np.uint8),
                _hex(rng, count, 16),
            ]
        )
    )

    return pa.table(
        [
            _strings(_uuid4(rng, count)),
            units.take(pa.array(unit)),
            pa.array([name for name, *_ in _CHANNELS]).take(pa.array(channel)),
            pa.array(_KINDS).take(pa.array(kind)),
            pa.array(micros, type=pa.timestamp("us", tz="UTC")),
            pa.array([*FLOWS, None], pa.string()).take(pa.array(flow)),
            pa.array([*campaign_names, None], pa.string()).take(pa.array(campaign)),
            pc.if_else(pa.array(is_sms), sids, pa.scalar(None, pa.string())),
        ],
        schema=SCHEMA,
    )


def _campaigns(
    rng: np.random.Generator, channel: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """All campaign names, and per row an index into them (or past the end)."""
    names: list[str] = []
    count = len(channel)
    picked = np.full(count, -1, dtype=np.int64)
    for code, (channel_name, *_) in enumerate(_CHANNELS):
        if channel_name not in _CAMPAIGNS:
            continue
        share, pool = _CAMPAIGNS[channel_name]
        rows = np.flatnonzero((channel == code) & (rng.random(count) < share))
        picked[rows] = len(names) + rng.integers(0, len(pool), size=len(rows))
        names.extend(pool)
    picked[picked < 0] = len(names)
    return names, picked


def _hex(rng: np.random.Generator, count: int, width: int) -> np.ndarray:
    """``count`` random lower-case hex strings of ``2 * width`` characters."""
    raw = rng.integers(0, 256, size=(count, width), dtype=np.uint8)
    text = np.empty((count, 2 * width), dtype=np.uint8)
    text[:, 0::2] = _HEX[raw >> 4]
    text[:, 1::2] = _HEX[raw & 0x0F]
    return text


def _uuid4(rng: np.random.Generator, count: int) -> np.ndarray:
    """Random UUID v4 text, ``8-4-4-4-12`` hex digits."""
    digits = _hex(rng, count, 16)
    digits[:, 12] = ord("4")
    digits[:, 16] = _HEX[8 + rng.integers(0, 4, size=count)]
    text = np.full((count, 36), ord("-"), dtype=np.uint8)
    for start, end, shift in (
        (0, 8, 0),
        (8, 12, 1),
        (12, 16, 2),
        (16, 20, 3),
        (20, 32, 4),
    ):
        text[:, start + shift : end + shift] = digits[:, start:end]
    return text


def _strings(chars: np.ndarray) -> pa.Array:
    """An Arrow string array from a matrix of ASCII codes, one row a value."""
    count, width = chars.shape
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars).tobytes()
    return pa.StringArray.from_buffers(
        count, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data)
    )
