"""Units entering flows through the API: decide, log durably, then answer.

The hot path reads no flow from the store: each worker keeps the flow specs
it has used for ``api_cache_seconds`` (two by default), so a changed holdout
or salt takes effect within that time. Per request, one transaction of the
:class:`~liftlab.api.entry_log.EntryLog` reads which units refused SMS,
decides, and logs the entered units; it commits before the answer is sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlmodel import Session

from liftlab.api.entry_log import EntryLog, EntryRow
from liftlab.assignment import (
    BUCKETS,
    Arm,
    Assignment,
    AssignmentBatch,
    FlowRule,
    GlobalRule,
    assign,
    assign_many,
)
from liftlab.store.flows import flow_rule, get_flow, global_rule

__all__ = ["FlowCache", "FlowSpec", "enter_many", "enter_one"]


@dataclass(frozen=True, slots=True)
class FlowSpec:
    """What a worker needs to assign units to a flow and log them.

    Attributes:
        rule: The flow's assignment rule (key, salt, percent, version).
        epoch: The flow's randomisation epoch, which entries are logged in.
        external: Whether the flow is randomised outside liftlab.
        global_rule: The global holdout, if one is configured.
    """

    rule: FlowRule
    epoch: int
    external: bool
    global_rule: GlobalRule | None


class FlowCache:
    """Flow specs by key, each trusted for ``ttl`` seconds.

    Args:
        engine: The store.
        ttl: Seconds a spec is used before it is read again.
    """

    def __init__(self, engine: Engine, *, ttl: float) -> None:
        self._engine = engine
        self._ttl = ttl
        self._specs: dict[str, tuple[float, FlowSpec]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> FlowSpec:
        """The flow's spec, from the cache or the store.

        Raises:
            UnknownFlowError: No flow has the key.
        """
        found = self._specs.get(key)
        if found is not None and time.monotonic() - found[0] < self._ttl:
            return found[1]
        with Session(self._engine) as session:
            flow = get_flow(session, key)
            spec = FlowSpec(
                rule=flow_rule(flow),
                epoch=flow.epoch,
                external=flow.assignment == "external",
                global_rule=global_rule(session),
            )
        with self._lock:
            self._specs[key] = (time.monotonic(), spec)
        return spec


async def enter_one(log: EntryLog, spec: FlowSpec, unit_id: str) -> Assignment:
    """Assign one unit, log its entry durably, and return the decision."""

    def decide(refused: set[str]) -> tuple[Assignment, list[EntryRow]]:
        consent = False if unit_id in refused else None
        decision = assign(
            spec.rule, unit_id, global_rule=spec.global_rule, consent=consent
        )
        if decision.arm is Arm.EXCLUDED:
            return decision, []
        row = (unit_id, decision.arm.value, decision.reason.value, decision.bucket, 1)
        return decision, [row]

    return await log.enter_async(
        flow=spec.rule.key,
        epoch=spec.epoch,
        flow_version=spec.rule.version,
        unit_ids=[unit_id],
        decide=decide,
    )


def enter_many(
    log: EntryLog,
    spec: FlowSpec,
    unit_ids: Sequence[str],
    valid: Sequence[bool] | None = None,
) -> AssignmentBatch:
    """Assign many units of one flow, log the entered ones durably.

    Args:
        log: The entry log.
        spec: The flow.
        unit_ids: Normalised unit ids, in request order; may repeat.
        valid: False where an id failed identity rules (answered as
            excluded, reason ``invalid_id``).

    Returns:
        The decisions in request order.
    """
    lookup = (
        list(unit_ids)
        if valid is None
        else [unit for unit, ok in zip(unit_ids, valid, strict=True) if ok]
    )

    def decide(refused: set[str]) -> tuple[AssignmentBatch, list[EntryRow]]:
        consent = None
        if refused:
            consent = np.array([unit not in refused for unit in unit_ids], dtype=bool)
        batch = assign_many(
            spec.rule,
            list(unit_ids),
            global_rule=spec.global_rule,
            consent=consent,
            valid=None if valid is None else np.array(valid, dtype=bool),
        )
        return batch, _entry_rows(batch)

    return log.enter(
        flow=spec.rule.key,
        epoch=spec.epoch,
        flow_version=spec.rule.version,
        unit_ids=lookup,
        decide=decide,
    )


def _entry_rows(batch: AssignmentBatch) -> list[EntryRow]:
    """One row per entered unit, repeats counted, in unit order (so that
    concurrent batches lock rows in the same order)."""
    entered = np.flatnonzero(batch.arms != Arm.EXCLUDED.value)
    units = np.asarray(batch.unit_ids, dtype=object)[entered].tolist()
    arms = batch.arms[entered].tolist()
    reasons = batch.reasons[entered].tolist()
    buckets = batch.buckets[entered].tolist()
    rows: dict[str, list[Any]] = {}
    for unit, arm, reason, index in zip(units, arms, reasons, buckets, strict=True):
        row = rows.get(unit)
        if row is None:
            rows[unit] = [unit, arm, reason, index / BUCKETS, 1]
        else:
            row[4] += 1
    return [tuple(rows[unit]) for unit in sorted(rows)]  # type: ignore[misc]
