"""Deterministic holdout assignment, bit-exact to the published contract.

A unit's bucket for a seed is::

    bucket(seed, unit) = (fnv1a32(str(fnv1a32(seed + unit))) % 10000) / 10000

with FNV-1a 32 taken over UTF-16 code units. This is the "v2" hash of the
GrowthBook SDKs, so any of their SDKs, in any language, reproduces a liftlab
assignment. The decision for one unit entering one flow is, in order:

1. an invalid unit id, or a unit known to lack SMS consent, is not entered
   (arm ``excluded``). Consent is checked before any hashing so that both arms
   lose non-consenting units alike; checking it only for exposed units would
   leave them in the holdout alone and bias the comparison;
2. a unit with ``bucket(global_salt, unit) < global_percent / 100`` is in the
   global holdout (arm ``holdout``, reason ``global_holdout``);
3. a unit with ``bucket(flow_salt, unit) < holdout_percent / 100`` is in the
   flow's holdout (arm ``holdout``, reason ``flow_holdout``);
4. everyone else is exposed and gets the text.

The comparisons are done in IEEE doubles exactly as written above, so a client
that evaluates the formula literally agrees on every boundary. Because the
range ``[0, percent / 100)`` only grows with the percent, raising a holdout only
moves exposed units into it; a new salt reshuffles everyone.

This module is pure: no database, no I/O. :func:`assign` is the scalar path
used by the API; :func:`assign_many` is the vectorised path for audience files.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import numpy as np
from fnv_hash_fast import fnv1a_32 as _fnv1a_32_bytes

__all__ = [
    "BUCKETS",
    "Arm",
    "Assignment",
    "AssignmentBatch",
    "FlowRule",
    "GlobalRule",
    "Reason",
    "assign",
    "assign_many",
    "bucket",
    "bucket_index",
    "bucket_indices",
    "fnv1a32",
]

BUCKETS = 10_000

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
_MASK32 = 0xFFFFFFFF
_UTF16 = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"
_DIGIT_PLACES = np.array([10**p for p in range(9, -1, -1)], dtype=np.uint32)


class Arm(StrEnum):
    """Which side of the experiment a unit is on."""

    EXPOSED = "exposed"
    HOLDOUT = "holdout"
    EXCLUDED = "excluded"


class Reason(StrEnum):
    """Why a unit got its arm."""

    OUTSIDE_HOLDOUT = "outside_holdout"
    GLOBAL_HOLDOUT = "global_holdout"
    FLOW_HOLDOUT = "flow_holdout"
    NO_CONSENT = "no_consent"
    INVALID_ID = "invalid_id"


_ARM_OF_REASON = {
    Reason.OUTSIDE_HOLDOUT: Arm.EXPOSED,
    Reason.GLOBAL_HOLDOUT: Arm.HOLDOUT,
    Reason.FLOW_HOLDOUT: Arm.HOLDOUT,
    Reason.NO_CONSENT: Arm.EXCLUDED,
    Reason.INVALID_ID: Arm.EXCLUDED,
}
_REASONS = tuple(Reason)
_REASON_CODE = {reason: code for code, reason in enumerate(_REASONS)}


@dataclass(frozen=True, slots=True)
class FlowRule:
    """What the engine needs to know of a flow.

    Attributes:
        key: The flow key, e.g. ``abandoned_cart``.
        salt: The hash seed; a flow's salt defaults to its key.
        holdout_percent: Share of entrants held out, ``0 < x < 100``.
        version: The flow's version, increased by every applied change.
    """

    key: str
    salt: str
    holdout_percent: float
    version: int = 1


@dataclass(frozen=True, slots=True)
class GlobalRule:
    """The global holdout: a share of all units that no flow texts.

    Attributes:
        salt: The hash seed of the global holdout.
        holdout_percent: Share of all units held out, ``0 <= x < 100``;
            zero turns the global holdout off.
    """

    salt: str
    holdout_percent: float


@dataclass(frozen=True, slots=True)
class Assignment:
    """The decision for one unit entering one flow.

    Attributes:
        flow: The flow key.
        unit_id: The unit as given (after identity normalisation).
        arm: ``exposed``, ``holdout`` or ``excluded``.
        reason: Why the unit got its arm.
        bucket: The bucket in ``[0, 1)`` that decided the arm: the global
            bucket for a global-holdout unit, else the flow bucket; None for an
            excluded unit, which is never hashed.
        flow_version: The version of the flow spec that decided.
    """

    flow: str
    unit_id: str
    arm: Arm
    reason: Reason
    bucket: float | None
    flow_version: int

    @property
    def send(self) -> bool:
        """Whether the automation tool should send the text."""
        return self.arm is Arm.EXPOSED


@dataclass(frozen=True, slots=True)
class AssignmentBatch:
    """Decisions for many units of one flow, as parallel arrays.

    Attributes:
        flow: The flow key.
        flow_version: The version of the flow spec that decided.
        unit_ids: The units, in input order, as given.
        reason_codes: Index into :class:`Reason` order for each unit.
        buckets: The deciding bucket index (0 to 9,999) per unit, -1 where the
            unit was excluded and never hashed.
    """

    flow: str
    flow_version: int
    unit_ids: Sequence[str] | np.ndarray
    reason_codes: np.ndarray
    buckets: np.ndarray

    def __len__(self) -> int:
        return len(self.unit_ids)

    @property
    def reasons(self) -> np.ndarray:
        """The reason of each unit as strings."""
        return np.array([r.value for r in _REASONS], dtype=object)[self.reason_codes]

    @property
    def arms(self) -> np.ndarray:
        """The arm of each unit as strings."""
        arm_of_code = np.array([_ARM_OF_REASON[r].value for r in _REASONS])
        return arm_of_code.astype(object)[self.reason_codes]

    @property
    def send(self) -> np.ndarray:
        """Boolean mask of the units to text."""
        return self.reason_codes == _REASON_CODE[Reason.OUTSIDE_HOLDOUT]

    def counts(self) -> dict[Reason, int]:
        """Units per reason, every reason listed."""
        tally = np.bincount(self.reason_codes, minlength=len(_REASONS))
        return {reason: int(tally[code]) for code, reason in enumerate(_REASONS)}

    def __iter__(self) -> Iterable[Assignment]:
        for unit_id, code, index in zip(
            self.unit_ids, self.reason_codes, self.buckets, strict=True
        ):
            reason = _REASONS[code]
            yield Assignment(
                flow=self.flow,
                unit_id=str(unit_id),
                arm=_ARM_OF_REASON[reason],
                reason=reason,
                bucket=None if index < 0 else int(index) / BUCKETS,
                flow_version=self.flow_version,
            )


def fnv1a32(text: str) -> int:
    """FNV-1a 32-bit hash of a string over its UTF-16 code units.

    Args:
        text: Any string; characters outside the Basic Multilingual Plane count
            as two code units (a surrogate pair), as in JavaScript.

    Returns:
        The hash as an unsigned 32-bit integer.
    """
    if text.isascii():
        # ASCII code units are the bytes themselves: hash them in C.
        return _fnv1a_32_bytes(text.encode())
    return _fnv1a32_code_units(_FNV_OFFSET, text)


def _fnv1a32_code_units(state: int, text: str) -> int:
    units = memoryview(text.encode(_UTF16, "surrogatepass")).cast("H")
    for unit in units:
        state = ((state ^ unit) * _FNV_PRIME) & _MASK32
    return state


def bucket_index(seed: str, unit: str) -> int:
    """The unit's bucket for a seed as an integer from 0 to 9,999."""
    first = fnv1a32(seed + unit)
    return _fnv1a_32_bytes(str(first).encode()) % BUCKETS


def bucket(seed: str, unit: str) -> float:
    """The unit's bucket for a seed in ``[0, 1)``, e.g. ``bucket("seed", "a")``
    is ``0.0505``."""
    return bucket_index(seed, unit) / BUCKETS


def _in_holdout(index: int, percent: float) -> bool:
    return index / BUCKETS < percent / 100


def assign(
    flow: FlowRule,
    unit_id: str,
    *,
    global_rule: GlobalRule | None = None,
    consent: bool | None = None,
    valid: bool = True,
) -> Assignment:
    """Decide one unit's arm in one flow.

    Args:
        flow: The flow's rule.
        unit_id: The unit, already normalised by :mod:`liftlab.identity`.
        global_rule: The global holdout, if one is configured.
        consent: The unit's SMS consent: False excludes it; True or None
            (unknown, left to the sending tool) lets it enter.
        valid: False when the unit id failed identity rules.

    Returns:
        The decision, with the bucket that made it.
    """
    reason: Reason
    index: int | None = None
    if not valid:
        reason = Reason.INVALID_ID
    elif consent is False:
        reason = Reason.NO_CONSENT
    else:
        if global_rule is not None and global_rule.holdout_percent > 0:
            index = bucket_index(global_rule.salt, unit_id)
            if _in_holdout(index, global_rule.holdout_percent):
                reason = Reason.GLOBAL_HOLDOUT
                return _decision(flow, unit_id, reason, index)
        index = bucket_index(flow.salt, unit_id)
        if _in_holdout(index, flow.holdout_percent):
            reason = Reason.FLOW_HOLDOUT
        else:
            reason = Reason.OUTSIDE_HOLDOUT
    return _decision(flow, unit_id, reason, index)


def _decision(
    flow: FlowRule, unit_id: str, reason: Reason, index: int | None
) -> Assignment:
    return Assignment(
        flow=flow.key,
        unit_id=unit_id,
        arm=_ARM_OF_REASON[reason],
        reason=reason,
        bucket=None if index is None else index / BUCKETS,
        flow_version=flow.version,
    )


def bucket_indices(seed: str, units: Sequence[str] | np.ndarray) -> np.ndarray:
    """Bucket indices (0 to 9,999) of many units for one seed, vectorised.

    Args:
        seed: The hash seed (a salt).
        units: The unit ids.

    Returns:
        An ``int64`` array, equal element by element to :func:`bucket_index`.
    """
    return _UnitCodes.of(units).bucket_indices(seed)


@lru_cache(maxsize=256)
def _seed_state(seed: str) -> int:
    return _fnv1a32_code_units(_FNV_OFFSET, seed)


class _UnitCodes:
    """Unit ids laid out once as columns of UTF-16 code units.

    The ids are ordered by length, longest first, and column ``k`` holds the
    ``k``-th code unit of every id longer than ``k``: the FNV step for that
    code unit then runs over a prefix of the order with no masking. Hashing
    under several seeds reuses the columns; hashes come back in input order.
    ASCII ids (nearly all of them in practice) are laid out as bytes; the
    rest go in a second, UTF-16 layout of their own.
    """

    def __init__(self, units: list[str]) -> None:
        self.count = len(units)
        plain = np.fromiter(map(str.isascii, units), dtype=bool, count=self.count)
        self.wide_rows = np.flatnonzero(~plain)
        wide = [units[row] for row in self.wide_rows.tolist()]
        if len(wide):
            units = list(units)
            for row in self.wide_rows.tolist():
                units[row] = ""
        self.narrow = _Columns(units, wide=False)
        self.wide = _Columns(wide, wide=True) if wide else None

    @classmethod
    def of(cls, units: Sequence[str] | np.ndarray) -> _UnitCodes:
        if isinstance(units, np.ndarray):
            if units.ndim != 1:
                raise ValueError("units must be one-dimensional")
            units = units.tolist()
        units = units if isinstance(units, list) else list(units)
        try:
            return cls(units)
        except TypeError:
            return cls([str(unit) for unit in units])

    def bucket_indices(self, seed: str) -> np.ndarray:
        state = _seed_state(seed)
        first = self.narrow.fnv1a32(state)
        if self.wide is not None:
            first[self.wide_rows] = self.wide.fnv1a32(state)
        return (_fnv1a32_decimal(first) % BUCKETS).astype(np.int64)


class _Columns:
    """One layout of ids as length-ordered code unit columns."""

    def __init__(self, units: list[str], *, wide: bool) -> None:
        joined = "".join(units)
        lengths = np.fromiter(map(len, units), dtype=np.int64, count=len(units))
        if wide:
            encoded = joined.encode(_UTF16, "surrogatepass")
            data = np.frombuffer(encoded, dtype=np.uint16)
            if len(data) != len(joined):
                # Astral characters take two code units each.
                lengths = np.array(
                    [len(u.encode(_UTF16, "surrogatepass")) // 2 for u in units],
                    dtype=np.int64,
                )
        else:
            data = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)

        self.count = len(units)
        longest = int(lengths.max()) if self.count else 0
        # A stable sort of small integers is a radix sort in numpy.
        shortfall = (longest - lengths).astype(np.uint16)
        self.order = np.argsort(shortfall, kind="stable")
        starts = (np.cumsum(lengths) - lengths)[self.order]
        tally = np.bincount(lengths, minlength=longest + 1)
        active = (self.count - np.cumsum(tally)[:longest]).tolist()
        self.columns = [data[starts[:n] + k] for k, n in enumerate(active)]

    def fnv1a32(self, state: int) -> np.ndarray:
        hashes = np.full(self.count, state, dtype=np.uint32)
        prime = np.uint32(_FNV_PRIME)
        for column in self.columns:
            head = hashes[: len(column)]
            np.bitwise_xor(head, column, out=head)
            np.multiply(head, prime, out=head)
        in_order = np.empty_like(hashes)
        in_order[self.order] = hashes
        return in_order


def _decimal_tables() -> tuple[np.ndarray, np.ndarray]:
    """FNV-1a states after each decimal prefix 1..42949, and 5-digit suffixes.

    A 32-bit value ``v >= 100000`` is written as ``str(v // 100000)`` followed
    by exactly five digits of ``v % 100000``, leading zeros included.
    """
    prefixes = np.arange(_MAX_PREFIX + 1, dtype=np.uint32)
    states = _fnv1a32_decimal_slow(prefixes)
    suffix = np.arange(100_000, dtype=np.uint32)
    places = np.array([10_000, 1_000, 100, 10, 1], dtype=np.uint32)
    digits = (suffix[:, None] // places) % np.uint32(10) + np.uint32(ord("0"))
    return states, np.ascontiguousarray(digits.T.astype(np.uint32))


_MAX_PREFIX = _MASK32 // 100_000


def _fnv1a32_decimal_slow(values: np.ndarray) -> np.ndarray:
    hashes = np.full(len(values), _FNV_OFFSET, dtype=np.uint32)
    prime = np.uint32(_FNV_PRIME)
    zero = np.uint32(ord("0"))
    for place in _DIGIT_PLACES:
        digit = (values // place) % np.uint32(10)
        # Leading zeros are not written; the number 0 is written as "0".
        active = values >= place if place > 1 else np.ones(len(values), bool)
        stepped = (hashes ^ (digit + zero)) * prime
        np.copyto(hashes, stepped, where=active)
    return hashes


@lru_cache(maxsize=1)
def _cached_decimal_tables() -> tuple[np.ndarray, np.ndarray]:
    return _decimal_tables()


def _fnv1a32_decimal(values: np.ndarray) -> np.ndarray:
    """FNV-1a of each unsigned integer's decimal digits, vectorised."""
    prefix_states, suffix_digits = _cached_decimal_tables()
    prefix, suffix = np.divmod(values, np.uint32(100_000))
    hashes = prefix_states[prefix]
    prime = np.uint32(_FNV_PRIME)
    for digits in suffix_digits:
        np.bitwise_xor(hashes, digits[suffix], out=hashes)
        np.multiply(hashes, prime, out=hashes)

    small = np.flatnonzero(prefix == 0)
    if len(small):
        hashes[small] = _fnv1a32_decimal_slow(values[small])
    return hashes


def assign_many(
    flow: FlowRule,
    unit_ids: Sequence[str] | np.ndarray,
    *,
    global_rule: GlobalRule | None = None,
    consent: np.ndarray | None = None,
    valid: np.ndarray | None = None,
) -> AssignmentBatch:
    """Decide the arms of many units in one flow, vectorised.

    Args:
        flow: The flow's rule.
        unit_ids: The units, already normalised by :mod:`liftlab.identity`.
        global_rule: The global holdout, if one is configured.
        consent: Optional per-unit consent: a float or object array where
            False (or 0) excludes the unit and True or missing lets it enter.
        valid: Optional boolean mask, False where the id failed identity rules.

    Returns:
        The decisions in input order; element by element equal to :func:`assign`.
    """
    count = len(unit_ids)
    codes = np.full(count, _REASON_CODE[Reason.OUTSIDE_HOLDOUT], dtype=np.int8)
    buckets = np.full(count, -1, dtype=np.int64)

    entering = np.ones(count, dtype=bool)
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        codes[~valid] = _REASON_CODE[Reason.INVALID_ID]
        entering &= valid
    if consent is not None:
        refused = _refused(consent) & entering
        codes[refused] = _REASON_CODE[Reason.NO_CONSENT]
        entering &= ~refused

    prepared = _UnitCodes.of(unit_ids)
    flow_buckets = prepared.bucket_indices(flow.salt)
    in_flow_holdout = flow_buckets / BUCKETS < flow.holdout_percent / 100
    codes[entering & in_flow_holdout] = _REASON_CODE[Reason.FLOW_HOLDOUT]
    buckets[entering] = flow_buckets[entering]

    if global_rule is not None and global_rule.holdout_percent > 0:
        global_buckets = prepared.bucket_indices(global_rule.salt)
        held = entering & (global_buckets / BUCKETS < global_rule.holdout_percent / 100)
        codes[held] = _REASON_CODE[Reason.GLOBAL_HOLDOUT]
        buckets[held] = global_buckets[held]

    return AssignmentBatch(
        flow=flow.key,
        flow_version=flow.version,
        unit_ids=unit_ids,
        reason_codes=codes,
        buckets=buckets,
    )


def _refused(consent: np.ndarray) -> np.ndarray:
    values = np.asarray(consent)
    if values.dtype == bool:
        return ~values
    if values.dtype.kind in "iuf":
        return values == 0
    return np.array([value is False or value == 0 for value in values], dtype=bool)
