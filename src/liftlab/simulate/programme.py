"""Simulate a store's SMS programme, reproducibly, with known true effects."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import numpy as np
import pandas as pd

from liftlab.assignment import GlobalRule, fnv1a32
from liftlab.experiments import FlowSpec
from liftlab.simulate import scenario as sc
from liftlab.simulate.events import build_events
from liftlab.simulate.flows import draw_flow, potential_outcomes
from liftlab.simulate.population import (
    DAY,
    covariates_frame,
    customers_frame,
    draw_population,
)
from liftlab.simulate.truths import truths_frame

__all__ = ["FRAMES", "SimulatedProgramme", "simulate_programme"]

logger = logging.getLogger(__name__)

FRAMES = (
    "customers",
    "entries",
    "messages",
    "touches",
    "conversions",
    "covariates",
    "truths",
)
MAX_CUSTOMERS = 10_000_000
MAX_DAYS = 3_650


@dataclass(frozen=True, slots=True, eq=False)
class SimulatedProgramme:
    """A simulated SMS programme: its event files and its true effects.

    Flows enter customers from ``start`` until ``end``; events run on until
    ``horizon``, when the last entrant's conversion window has closed, so
    every entrant's outcome is complete. Times are aware UTC.

    Attributes:
        seed: The seed it was simulated from.
        days: Length of the entry period in days.
        start: Start of the entry period.
        end: End of the entry period.
        horizon: End of the events.
        flows: The flow specs it was simulated for.
        global_rule: The global holdout it was simulated with, if any.
        customers: ``unit_id``, ``phone``, ``sms_consent`` and the segments
            ``lifecycle`` (new, returning) and ``ltv_tier`` (low, mid, high).
        entries: ``flow``, ``unit_id``, ``entered_at``, ``arm``.
        messages: ``message_id``, ``flow``, ``unit_id``, ``sent_at``,
            ``delivered_at``, ``status``, ``cost``, ``coupon_code``.
        touches: ``touch_id``, ``unit_id``, ``channel``, ``kind``,
            ``occurred_at``, ``flow``, ``campaign``, ``message_id``.
        conversions: ``conversion_id``, ``unit_id``, ``occurred_at``,
            ``type``, ``value``, ``channel``, ``coupon_code``.
        covariates: ``unit_id``, ``name``, ``value``: ``orders_prior_90d``
            and ``spend_prior_90d`` per customer.
        truths: ``flow_key``, ``dimension``, ``segment``, ``quantity``,
            ``value``, the rows of ``simulation_truths``.
    """

    seed: int
    days: int
    start: datetime
    end: datetime
    horizon: datetime
    flows: tuple[FlowSpec, ...]
    global_rule: GlobalRule | None
    customers: pd.DataFrame
    entries: pd.DataFrame
    messages: pd.DataFrame
    touches: pd.DataFrame
    conversions: pd.DataFrame
    covariates: pd.DataFrame
    truths: pd.DataFrame

    @property
    def frames(self) -> dict[str, pd.DataFrame]:
        """Every frame by name, in the order they are written."""
        return {name: getattr(self, name) for name in FRAMES}

    def counts(self) -> dict[str, int]:
        """Rows per frame."""
        return {name: len(frame) for name, frame in self.frames.items()}

    def truth(
        self, flow: str, quantity: str, *, dimension: str = "", segment: str = ""
    ) -> float:
        """One true quantity, e.g. ``truth("winback", "true_absolute_lift")``.

        Raises:
            KeyError: The programme holds no such quantity.
        """
        rows = self.truths
        match = rows[
            (rows["flow_key"] == flow)
            & (rows["dimension"] == dimension)
            & (rows["segment"] == segment)
            & (rows["quantity"] == quantity)
        ]
        if match.empty:
            where = f" in {dimension} = {segment}" if dimension else ""
            raise KeyError(f"no truth {quantity!r} for flow {flow!r}{where}")
        return float(match["value"].iloc[0])


def simulate_programme(
    *,
    seed: int = 7,
    days: int = 90,
    customers: int = 200_000,
    start: datetime | None = None,
    flows: Sequence[FlowSpec] = sc.DEFAULT_FLOWS,
    global_rule: GlobalRule | None = sc.DEFAULT_GLOBAL_RULE,
) -> SimulatedProgramme:
    """Simulate a store's SMS programme whose true causal effects are known.

    The result is a pure function of the arguments. Each flow's arms come
    from the assignment engine, so they match what ``liftlab assign`` says.

    Args:
        seed: Seed of every random draw; a non-negative integer.
        days: Days during which flows enter customers, 1 to 3,650.
        customers: Customers of the store, 1 to 10,000,000.
        start: Start of the period, aware; defaults to the flows' first
            ``starts``. Whole seconds.
        flows: Flow specs, e.g. from ``load_specs``; each key must be one
            the simulation knows (``BEHAVIOURS``) with its conversion type.
        global_rule: The global holdout, or None for none.

    Returns:
        The event files, covariates and true effects.

    Note:
        Each subscriber has one renewal due in the period, and lapsing
        customers reach 90 days without a purchase within its first 90
        days; a period longer than 90 days adds no second renewal or lapse.

    Raises:
        ValueError: An argument is out of range; the message names it.
    """
    flows = _checked(seed=seed, days=days, customers=customers, flows=flows)
    if start is None:
        start = min(spec.starts for spec in flows)
    if start.utcoffset() is None:
        raise ValueError(f"start: must carry a zone, got {start.isoformat()}")
    start = start.astimezone(UTC)
    if start.microsecond:
        raise ValueError(f"start: must be whole seconds, got {start.isoformat()}")

    began = time.perf_counter()
    random_for = partial(_stream, seed)
    population = draw_population(random_for("population"), customers, days=days)
    draws = [
        draw_flow(
            random_for(f"flow:{spec.key}"),
            population,
            spec,
            start=start,
            days=days,
            global_rule=global_rule,
        )
        for spec in flows
    ]
    outcomes = potential_outcomes(draws, population)
    horizon = days * DAY + max(draw.window for draw in draws)
    events = build_events(
        random_for, population, draws, start=start, horizon=horizon, seed=seed
    )
    programme = SimulatedProgramme(
        seed=seed,
        days=days,
        start=start,
        end=start + timedelta(days=days),
        horizon=start + timedelta(seconds=horizon),
        flows=flows,
        global_rule=global_rule,
        customers=customers_frame(population),
        entries=events.entries,
        messages=events.messages,
        touches=events.touches,
        conversions=events.conversions,
        covariates=covariates_frame(population),
        truths=truths_frame(
            draws, outcomes, population, seed=seed, days=days, start=start
        ),
    )
    logger.info(
        "simulated %d customers over %d days (seed %d) in %.1f s",
        customers,
        days,
        seed,
        time.perf_counter() - began,
    )
    return programme


def _stream(seed: int, name: str) -> np.random.Generator:
    """An independent generator per named part of the simulation, so that
    changing one part (adding a flow, say) leaves the others' draws alone."""
    return np.random.default_rng([seed, fnv1a32(name)])


def _checked(
    *, seed: int, days: int, customers: int, flows: Sequence[FlowSpec]
) -> tuple[FlowSpec, ...]:
    for name, value, low, high in (
        ("seed", seed, 0, None),
        ("days", days, 1, MAX_DAYS),
        ("customers", customers, 1, MAX_CUSTOMERS),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise ValueError(f"{name}: must be an integer, got {value!r}")
        if value < low or (high is not None and value > high):
            allowed = f"at least {low}" if high is None else f"{low} to {high:,}"
            raise ValueError(f"{name}: must be {allowed}, got {value}")

    flows = tuple(flows)
    if not flows:
        raise ValueError("flows: give at least one flow spec")
    keys = [spec.key for spec in flows]
    known = ", ".join(sc.BEHAVIOURS)
    for spec in flows:
        if keys.count(spec.key) > 1:
            raise ValueError(f"flows: flow '{spec.key}' is given more than once")
        behaviour = sc.BEHAVIOURS.get(spec.key)
        if behaviour is None:
            raise ValueError(
                f"flows: the simulation has no behaviour for flow '{spec.key}'; "
                f"simulated flows: {known}"
            )
        if spec.window_hours < 1:
            raise ValueError(
                f"flows: flow '{spec.key}' has a window of {spec.window_hours:g} "
                "hours; the simulation needs at least 1 hour"
            )
        if spec.conversion != behaviour.conversion:
            raise ValueError(
                f"flows: flow '{spec.key}' converts to '{behaviour.conversion}' "
                f"in the simulation, but its spec counts '{spec.conversion}'"
            )
    return flows
