"""Apply experiment specs to the store: idempotent, audited, safe to re-run.

Every created or changed flow gets a row in the change log with who, when,
the values before and the values after. A change that would re-randomise
units of a running flow (a new salt, a lower holdout) is refused unless the
caller asks to reshuffle, which starts a new randomisation epoch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, select

from liftlab.experiments.specs import (
    GLOBAL_KEY,
    ExperimentSpec,
    FlowSpec,
    GlobalSpec,
    LoadedSpec,
    SpecError,
    SpecProblem,
    _problem,
)
from liftlab.store.engine import session_scope
from liftlab.store.tables import Entry, Flow, FlowChange

__all__ = [
    "ApplyResult",
    "FieldChange",
    "FlowPlan",
    "apply_spec",
    "apply_specs",
    "flow_values",
]

logger = logging.getLogger(__name__)

TRACKED = (
    "kind",
    "name",
    "stage",
    "holdout_percent",
    "salt",
    "conversion_type",
    "window_hours",
    "starts_at",
    "ends_at",
    "cost_per_message",
    "view_window_hours",
    "click_window_hours",
)


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of a flow, before and after."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class FlowPlan:
    """What applying one spec does to its flow.

    Attributes:
        key: The flow key.
        action: ``create``, ``update``, ``reshuffle`` or ``unchanged``.
        changes: The fields that change.
        notes: What the change means for the experiment, for the user.
        epoch: The flow's randomisation epoch after the change.
    """

    key: str
    action: str
    changes: tuple[FieldChange, ...] = ()
    notes: tuple[str, ...] = ()
    epoch: int = 1


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """The outcome of one apply.

    Attributes:
        plans: One plan per spec, in file order.
        untracked: Keys in the store that no spec declares (left as they are).
        written: False for a dry run.
    """

    plans: tuple[FlowPlan, ...]
    untracked: tuple[str, ...] = ()
    written: bool = True

    @property
    def changed(self) -> tuple[FlowPlan, ...]:
        return tuple(plan for plan in self.plans if plan.action != "unchanged")


def flow_values(spec: ExperimentSpec) -> dict[str, Any]:
    """The flow row's tracked values declared by a spec."""
    if isinstance(spec, FlowSpec):
        return {
            "kind": "flow",
            "name": spec.name,
            "stage": spec.stage,
            "holdout_percent": spec.holdout_percent,
            "salt": spec.effective_salt,
            "conversion_type": spec.conversion,
            "window_hours": spec.window_hours,
            "starts_at": spec.starts.astimezone(UTC),
            "ends_at": spec.ends.astimezone(UTC) if spec.ends else None,
            "cost_per_message": spec.cost_per_message,
            "view_window_hours": spec.view_window_hours,
            "click_window_hours": spec.click_window_hours,
        }
    return {
        "kind": "global",
        "name": spec.name,
        "stage": None,
        "holdout_percent": spec.holdout_percent,
        "salt": spec.salt,
        "conversion_type": None,
        "window_hours": None,
        "starts_at": None,
        "ends_at": None,
        "cost_per_message": None,
        "view_window_hours": 24.0,
        "click_window_hours": 120.0,
    }


def _row_values(flow: Flow) -> dict[str, Any]:
    return {name: getattr(flow, name) for name in TRACKED}


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in values.items()
    }


def apply_specs(
    engine: Engine,
    loaded: list[LoadedSpec],
    *,
    actor: str,
    reshuffle: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ApplyResult:
    """Create or update the flows the specs declare, in one transaction.

    Args:
        engine: The store.
        loaded: Validated specs with their files, from ``load_specs``.
        actor: Who applies, recorded in the change log.
        reshuffle: Allow changes that re-randomise a running flow; each such
            flow starts a new epoch.
        dry_run: Plan and report without writing.
        now: The time of the change; defaults to the current time.

    Raises:
        SpecError: A change needs ``reshuffle``; nothing was written.
    """
    moment = now or datetime.now(UTC)
    with session_scope(engine) as session:
        existing = {flow.key: flow for flow in session.exec(select(Flow))}
        running = _running_keys(session, existing, moment)
        plans, problems = [], []
        for item in loaded:
            plan = _plan(item, existing.get(item.spec.key), running, reshuffle)
            if isinstance(plan, SpecProblem):
                problems.append(plan)
            else:
                plans.append(plan)
        if problems:
            raise SpecError(problems)

        global_reshuffled = any(
            plan.key == GLOBAL_KEY and plan.action == "reshuffle" for plan in plans
        )
        declared = {item.spec.key for item in loaded}
        untracked = tuple(sorted(set(existing) - declared))
        if dry_run:
            session.rollback()
            return ApplyResult(tuple(plans), untracked, written=False)

        for item, plan in zip(loaded, plans, strict=True):
            _write(session, item, plan, existing.get(plan.key), actor, moment)
        if global_reshuffled:
            _reshuffle_all_flows(session, actor, moment)
    for plan in plans:
        if plan.action != "unchanged":
            logger.info("flow %s: %s by %s", plan.key, plan.action, actor)
    return ApplyResult(tuple(plans), untracked, written=True)


def apply_spec(
    engine: Engine,
    values: dict[str, Any],
    *,
    actor: str,
    create: bool,
    source: str = "app",
    reshuffle: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ApplyResult:
    """Validate one spec given as values (e.g. from a form) and apply it.

    The same models as spec files check the values, so a form gets the
    file's messages, and the change log records the change as for a file.

    Args:
        engine: The store.
        values: The spec's fields; ``kind = "global"`` for the global holdout.
        actor: Who applies, recorded in the change log.
        create: Refuse a key already in the store instead of updating it.
        source: The spec's origin as the flow records it.
        reshuffle: As in ``apply_specs``; ``dry_run`` and ``now`` too.

    Raises:
        SpecError: Every invalid field, a key already taken, or a change
            that needs ``reshuffle``; nothing was written.
    """
    path = Path(source)
    model: type[FlowSpec] | type[GlobalSpec]
    model = GlobalSpec if values.get("kind") == "global" else FlowSpec
    try:
        spec = model.model_validate(values)
    except ValidationError as error:
        problems = [_problem(path, model, detail) for detail in error.errors()]
        raise SpecError(problems) from None
    if create:
        with session_scope(engine) as session:
            taken = session.get(Flow, spec.key)
        if taken is not None:
            message = (
                f"'{spec.key}' is already taken by '{taken.name}'; choose another "
                "key or edit that flow"
            )
            raise SpecError([SpecProblem(path, "key", message)])
    loaded = [LoadedSpec(path=path, spec=spec)]
    return apply_specs(
        engine, loaded, actor=actor, reshuffle=reshuffle, dry_run=dry_run, now=now
    )


def _running_keys(
    session: Session, existing: dict[str, Flow], moment: datetime
) -> set[str]:
    """Flows that have started or have entries in their current epoch."""
    rows = session.exec(select(Entry.flow_key, Entry.epoch).distinct()).all()
    with_entries = {
        key for key, epoch in rows if key in existing and existing[key].epoch == epoch
    }
    started = {
        key
        for key, flow in existing.items()
        if flow.starts_at is not None and flow.starts_at <= moment
    }
    running = with_entries | started
    if running - {GLOBAL_KEY}:
        running.add(GLOBAL_KEY)
    return running


def _plan(
    item: LoadedSpec, current: Flow | None, running: set[str], reshuffle: bool
) -> FlowPlan | SpecProblem:
    spec = item.spec
    wanted = flow_values(spec)
    if current is None:
        return FlowPlan(spec.key, "create", _diff({}, wanted), epoch=1)

    changes = _diff(_row_values(current), wanted)
    if not changes:
        return FlowPlan(spec.key, "unchanged", epoch=current.epoch)

    by_field = {change.field: change for change in changes}
    what = "the global holdout" if spec.key == GLOBAL_KEY else f"flow '{spec.key}'"
    rerandomising = []
    if "salt" in by_field:
        rerandomising.append(
            "a new salt re-randomises every unit: units held out so far would be "
            "texted and exposed units held out, so results before and after "
            "cannot be pooled"
        )
    percent = by_field.get("holdout_percent")
    if percent is not None and percent.after < percent.before:
        rerandomising.append(
            f"lowering the holdout from {percent.before:g}% to {percent.after:g}% "
            "would start texting units that were held out"
        )
    notes = []
    if percent is not None and percent.after > percent.before:
        notes.append(
            f"holdout raised from {percent.before:g}% to {percent.after:g}%: only "
            "exposed units move into the holdout; logged entries keep their first "
            "arm, and the split is checked against the percent in force at entry"
        )

    if rerandomising and spec.key in running:
        if not reshuffle:
            field = "salt" if "salt" in by_field else "holdout_percent"
            return SpecProblem(
                item.path,
                field,
                f"{'; '.join(rerandomising)} of running {what}. Re-run with "
                f"--reshuffle to start randomisation epoch {current.epoch + 1}: "
                "every unit is assigned afresh, reports count entries of the new "
                "epoch only, and earlier entries stay in the log",
            )
        notes.append(
            f"reshuffled: epoch {current.epoch} -> {current.epoch + 1}; every unit "
            "is assigned afresh and reports count entries of the new epoch only"
        )
        return FlowPlan(spec.key, "reshuffle", changes, tuple(notes), current.epoch + 1)
    return FlowPlan(spec.key, "update", changes, tuple(notes), current.epoch)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[FieldChange, ...]:
    return tuple(
        FieldChange(name, before.get(name), after[name])
        for name in TRACKED
        if before.get(name) != after[name]
    )


def _write(
    session: Session,
    item: LoadedSpec,
    plan: FlowPlan,
    current: Flow | None,
    actor: str,
    moment: datetime,
) -> None:
    if plan.action == "unchanged":
        return
    values = flow_values(item.spec)
    before = _jsonable(_row_values(current)) if current else None
    source = _display_path(item.path)
    if current is None:
        current = Flow(key=plan.key, **values, source=source, created_at=moment)
    else:
        for name, value in values.items():
            setattr(current, name, value)
        current.version += 1
        current.epoch = plan.epoch
        current.source = source
    current.updated_at = moment
    session.add(current)
    session.flush()
    session.add(
        FlowChange(
            flow_key=plan.key,
            changed_at=moment,
            actor=actor,
            action=plan.action,
            before=before,
            after=_jsonable(values) | {"version": current.version, "epoch": plan.epoch},
            note="; ".join(plan.notes) or None,
        )
    )


def _reshuffle_all_flows(session: Session, actor: str, moment: datetime) -> None:
    """A new global salt re-randomises who every flow may text."""
    flows = session.exec(select(Flow).where(Flow.key != GLOBAL_KEY)).all()
    for flow in flows:
        before = {"version": flow.version, "epoch": flow.epoch}
        flow.version += 1
        flow.epoch += 1
        flow.updated_at = moment
        session.add(flow)
        session.add(
            FlowChange(
                flow_key=flow.key,
                changed_at=moment,
                actor=actor,
                action="reshuffle",
                before=before,
                after={"version": flow.version, "epoch": flow.epoch},
                note="the global holdout was reshuffled, so every flow starts a "
                "new epoch",
            )
        )


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
