"""Writing a simulated programme to the store, and the ``demo`` in one call.

The event files go through the importer like any other data, so the demo
exercises the same validation and the same assignment checks a real import
does. Covariates and the true effects, which no event file carries, are
written directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from liftlab.assignment import GlobalRule
from liftlab.experiments import FlowSpec, GlobalSpec, apply_specs, load_specs
from liftlab.ingest import import_frame
from liftlab.simulate.programme import SimulatedProgramme, simulate_programme
from liftlab.simulate.scenario import BEHAVIOURS
from liftlab.simulate.truths import RUN_KEY, TRUTH_COLUMNS, FlowTruth, flow_truths
from liftlab.store.engine import session_scope
from liftlab.store.flows import GLOBAL_KEY
from liftlab.store.tables import (
    Conversion,
    Covariate,
    Entry,
    Flow,
    Message,
    SimulationTruth,
    Touch,
)

__all__ = [
    "DemoSummary",
    "SimulationConflictError",
    "run_demo",
    "stored_truths",
    "write_programme",
]

logger = logging.getLogger(__name__)

EVENT_KINDS = ("customers", "entries", "messages", "touches", "conversions")
REGION = "US"
Progress = Callable[[str, int], None]


class SimulationConflictError(ValueError):
    """The store holds data a simulated programme must not be mixed with."""


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What ``run_demo`` simulated and wrote.

    Attributes:
        seed: The seed.
        days: Days of flow entries.
        customers: Customers simulated.
        start: Start of the period.
        end: End of the entries (events run on until every window closed).
        rows: Rows new to the store per table.
        effects: Each flow's true effect: whole flows first, then by
            segment (``lifecycle``, then ``ltv_tier``).
        unsimulated: Flow specs the simulation has no behaviour for; applied
            but left without events.
        simulate_seconds: Time spent simulating.
        write_seconds: Time spent writing.
    """

    seed: int
    days: int
    customers: int
    start: datetime
    end: datetime
    rows: dict[str, int]
    effects: tuple[FlowTruth, ...]
    unsimulated: tuple[str, ...]
    simulate_seconds: float
    write_seconds: float


def write_programme(
    engine: Engine,
    programme: SimulatedProgramme,
    *,
    actor: str,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Load a simulated programme into the store, idempotently.

    The flows must be in the store as the programme was simulated (apply
    the same specs first). Writing the same programme twice changes nothing
    the second time and finishes a write that was interrupted; a store that
    holds other data is refused.

    Args:
        engine: The store.
        programme: From :func:`simulate_programme`.
        actor: Who writes, recorded with each import.
        progress: Called with an event kind and a count of rows done.

    Returns:
        Rows new to the store per table.

    Raises:
        SimulationConflictError: The flows differ from the programme's, or
            the store holds events of something else; nothing was written.
    """
    _check_store(engine, programme)
    source = f"simulation seed={programme.seed}"
    rows: dict[str, int] = {}
    for kind in EVENT_KINDS:
        frame = getattr(programme, kind)
        if kind == "customers":
            consent = frame["sms_consent"].to_numpy(dtype=bool)
            frame = frame.assign(sms_consent=np.where(consent, "true", "false"))
        report = None if progress is None else _named(progress, kind)
        summary = import_frame(
            engine,
            kind,
            frame,
            source=f"{source} ({kind})",
            actor=actor,
            region=REGION,
            progress=report,
        )
        rows[kind] = summary.inserted

    with session_scope(engine) as session:
        dialect = session.get_bind().dialect.name
        upsert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        before = session.scalar(select(func.count()).select_from(Covariate)) or 0
        covariates = programme.covariates.to_dict("records")
        statement = upsert(Covariate).on_conflict_do_nothing(
            index_elements=["unit_id", "name"]
        )
        if covariates:
            session.execute(statement, covariates)
        after = session.scalar(select(func.count()).select_from(Covariate)) or 0
        rows["covariates"] = after - before

        session.execute(delete(SimulationTruth))
        truths = programme.truths.to_dict("records")
        session.execute(insert(SimulationTruth), truths)
        rows["simulation_truths"] = len(truths)
    logger.info("wrote simulated programme (seed %d): %s", programme.seed, rows)
    return rows


def _named(progress: Progress, kind: str) -> Callable[[int], None]:
    def report(count: int) -> None:
        progress(kind, count)

    return report


def _check_store(engine: Engine, programme: SimulatedProgramme) -> None:
    """Refuse flows unlike the programme's and stores with other events;
    mark an empty store as this programme's."""
    problems = []
    with session_scope(engine) as session:
        stored = {flow.key: flow for flow in session.scalars(select(Flow))}
        for spec in programme.flows:
            flow = stored.get(spec.key)
            if flow is None or flow.kind != "flow":
                problems.append(f"flow '{spec.key}' is not in the store")
                continue
            for field, mine, theirs in (
                ("salt", spec.effective_salt, flow.salt),
                ("holdout_percent", spec.holdout_percent, flow.holdout_percent),
                ("window_hours", spec.window_hours, flow.window_hours),
                ("conversion", spec.conversion, flow.conversion_type),
            ):
                if mine != theirs:
                    problems.append(
                        f"flow '{spec.key}': {field} is {theirs!r} in the store "
                        f"but {mine!r} in the simulation"
                    )
            if flow.assignment != "hash":
                problems.append(f"flow '{spec.key}' is randomised outside liftlab")
        problems += _global_problems(stored.get(GLOBAL_KEY), programme.global_rule)
        if problems:
            raise SimulationConflictError(
                "; ".join(problems) + ". Apply the specs the programme was "
                "simulated with (liftlab apply) before writing it"
            )

        run = {
            row.quantity: row.value
            for row in session.scalars(
                select(SimulationTruth).where(SimulationTruth.flow_key == RUN_KEY)
            )
        }
        wanted = dict(
            programme.truths.loc[
                programme.truths["flow_key"] == RUN_KEY, ["quantity", "value"]
            ].itertuples(index=False)
        )
        events = sum(
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Entry, Message, Touch, Conversion)
        )
    if run and run != wanted:
        raise SimulationConflictError(
            f"the store holds another simulated programme ({_describe_run(run)}); "
            "write this one to an empty store"
        )
    if not run and events:
        raise SimulationConflictError(
            f"the store already holds {events:,} events that are not a simulated "
            "programme; write the simulation to an empty store (set "
            "LIFTLAB_DATABASE_URL, e.g. sqlite:///demo.db)"
        )
    if not run:
        # Claim the store before the first import, so that an interrupted
        # write can be finished by writing the same programme again.
        with session_scope(engine) as session:
            session.execute(
                insert(SimulationTruth),
                [
                    {"flow_key": RUN_KEY, "dimension": "", "segment": ""}
                    | {"quantity": quantity, "value": value}
                    for quantity, value in wanted.items()
                ],
            )


def _global_problems(flow: Flow | None, rule: GlobalRule | None) -> list[str]:
    stored = None
    if flow is not None and flow.holdout_percent > 0:
        stored = (flow.salt, flow.holdout_percent)
    wanted = None
    if rule is not None and rule.holdout_percent > 0:
        wanted = (rule.salt, rule.holdout_percent)
    if stored == wanted:
        return []
    return [
        f"the global holdout is {_holdout(stored)} in the store but "
        f"{_holdout(wanted)} in the simulation"
    ]


def _holdout(rule: tuple[str, float] | None) -> str:
    return "off" if rule is None else f"{rule[1]:g}% with salt {rule[0]!r}"


def _describe_run(run: dict[str, float]) -> str:
    names = ("seed", "days", "customers")
    return ", ".join(f"{name} {run[name]:g}" for name in names if name in run)


def stored_truths(engine: Engine) -> tuple[FlowTruth, ...]:
    """The true effects of the simulated programme in the store, if any."""
    with session_scope(engine) as session:
        rows = session.scalars(select(SimulationTruth)).all()
        frame = pd.DataFrame(
            [
                (row.flow_key, row.dimension, row.segment, row.quantity, row.value)
                for row in rows
            ],
            columns=list(TRUTH_COLUMNS),
        )
    return flow_truths(frame)


def run_demo(
    engine: Engine,
    *,
    seed: int = 7,
    days: int = 90,
    customers: int = 200_000,
    actor: str,
    experiments_dir: Path,
    progress: Progress | None = None,
) -> DemoSummary:
    """Apply the specs, simulate a programme for them and write it.

    The period starts at the flows' first ``starts``. Specs for flows the
    simulation has no behaviour for are applied but get no events.

    Raises:
        SpecError: A spec is invalid or would re-randomise a running flow.
        SimulationConflictError: The store holds other data.
        ValueError: ``seed``, ``days`` or ``customers`` is out of range.
    """
    loaded = load_specs(experiments_dir)
    apply_specs(engine, loaded, actor=actor)
    flows = [item.spec for item in loaded if isinstance(item.spec, FlowSpec)]
    simulated = [spec for spec in flows if spec.key in BEHAVIOURS]
    unsimulated = tuple(spec.key for spec in flows if spec.key not in BEHAVIOURS)
    rule = None
    for item in loaded:
        if isinstance(item.spec, GlobalSpec):
            rule = GlobalRule(
                salt=item.spec.salt, holdout_percent=item.spec.holdout_percent
            )

    began = time.perf_counter()
    programme = simulate_programme(
        seed=seed, days=days, customers=customers, flows=simulated, global_rule=rule
    )
    simulated_at = time.perf_counter()
    rows = write_programme(engine, programme, actor=actor, progress=progress)
    return DemoSummary(
        seed=seed,
        days=days,
        customers=customers,
        start=programme.start,
        end=programme.end,
        rows=rows,
        effects=flow_truths(programme.truths),
        unsimulated=unsimulated,
        simulate_seconds=simulated_at - began,
        write_seconds=time.perf_counter() - simulated_at,
    )
