"""Flow entry, assignment and each entrant's potential outcomes.

A flow's trigger fires for some customers; consenting ones enter and the
assignment engine decides their arm. Every customer the trigger fired for,
entered or not, has two intent propensities: ``q0`` without a text and
``q1`` with a delivered one, and one uniform draw that decides both
potential outcomes at once (common random numbers). The realised intent
conversion is the one of the customer's arm; an excluded customer realises
``q0``.

The potential outcome of the flow's metric (any conversion of its type in
its window after entry) also counts purchases that happen anyway: the
baseline purchase process and the intent conversions of the customer's
other flows whose times land in the window. Those do not depend on this
flow's arm, so with ``r`` the chance of one of them::

    p_arm = 1 - (1 - q_arm) * (1 - r)

and the exposed-minus-holdout difference in conversion estimates the mean
of ``p1 - p0`` without bias.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from liftlab.assignment import FlowRule, GlobalRule, assign_many
from liftlab.experiments import FlowSpec
from liftlab.simulate import scenario as sc
from liftlab.simulate.population import DAY, Population

__all__ = [
    "ARM_NAMES",
    "BASELINE_TYPE",
    "EXCLUDED",
    "EXPOSED",
    "FLOW_HOLDOUT",
    "GLOBAL_HOLDOUT",
    "FlowDraw",
    "draw_flow",
    "potential_outcomes",
]

EXPOSED, FLOW_HOLDOUT, GLOBAL_HOLDOUT, EXCLUDED = 0, 1, 2, 3
ARM_NAMES = ("exposed", "holdout", "holdout", None)
_REASON_ARM = {
    "outside_holdout": EXPOSED,
    "flow_holdout": FLOW_HOLDOUT,
    "global_holdout": GLOBAL_HOLDOUT,
}
BASELINE_TYPE = "purchase"
_UNDELIVERED_BELOW = sc.DELIVERED_SHARE + sc.UNDELIVERED_SHARE


@dataclass(frozen=True, slots=True)
class FlowDraw:
    """One flow's triggered customers, as parallel arrays.

    Times are whole seconds; ``*_after`` are measured from the entry.

    Attributes:
        spec: The flow's spec.
        behaviour: How its customers behave.
        window: The conversion window in whole seconds.
        units: Customer index per triggered customer, entered or not.
        entered_at: Entry time (the first trigger), from the period's start.
        arm: :data:`EXPOSED`, :data:`FLOW_HOLDOUT`, :data:`GLOBAL_HOLDOUT` or
            :data:`EXCLUDED` (no consent: not entered).
        sent_after: When the text is (or would be) sent.
        arrive_after: When it is (or would be) delivered.
        status: 0 delivered, 1 undelivered, 2 failed.
        click_after: When the text is clicked; ``inf`` for no click.
        q0: Intent propensity without a text.
        q1: Intent propensity with the text; ``q0`` where it fails.
        draw: The uniform draw deciding both potential intent outcomes.
        delay: Time of the intent conversion, whichever arm causes it.
    """

    spec: FlowSpec
    behaviour: sc.FlowBehaviour
    window: float
    units: np.ndarray
    entered_at: np.ndarray
    arm: np.ndarray
    sent_after: np.ndarray
    arrive_after: np.ndarray
    status: np.ndarray
    click_after: np.ndarray
    q0: np.ndarray
    q1: np.ndarray
    draw: np.ndarray
    delay: np.ndarray

    @property
    def converts(self) -> np.ndarray:
        """Whether the realised arm's intent conversion happens."""
        return self.draw < np.where(self.arm == EXPOSED, self.q1, self.q0)

    def delay_cdf(self, moment: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """P(delay < moment) for the triggered customers at ``rows``."""
        arrive = self.arrive_after[rows]
        span = self.window - arrive
        share = np.clip((moment - arrive) / span, 0.0, 1.0)
        if self.behaviour.timing == "late":
            return share**3
        scale = self.behaviour.delay_days * DAY / span
        return np.expm1(-share / scale) / np.expm1(-1.0 / scale)


def draw_flow(
    rng: np.random.Generator,
    population: Population,
    spec: FlowSpec,
    *,
    start: datetime,
    days: int,
    global_rule: GlobalRule | None,
) -> FlowDraw:
    """Trigger, enter and assign one flow's customers; draw their outcomes."""
    behaviour = sc.BEHAVIOURS[spec.key]
    window = float(np.floor(spec.window_hours * 3600))
    period = days * DAY
    opens = max((spec.starts - start).total_seconds(), 0.0)
    closes = period if spec.ends is None else (spec.ends - start).total_seconds()
    closes = min(closes, period)

    trigger = _trigger_times(rng, population, behaviour, opens=opens)
    fired = (trigger >= opens) & (trigger < closes)
    units = np.flatnonzero(fired)
    entered_at = np.floor(trigger[units])
    count = len(units)

    rule = FlowRule(
        key=spec.key, salt=spec.effective_salt, holdout_percent=spec.holdout_percent
    )
    batch = assign_many(
        rule,
        population.unit_ids.take(units).to_numpy(zero_copy_only=False),
        global_rule=global_rule,
        consent=population.consent[units],
    )
    arm = np.full(count, EXCLUDED, dtype=np.int8)
    reasons = batch.reasons
    for reason, code in _REASON_ARM.items():
        arm[reasons == reason] = code

    low, high = behaviour.send_delay_minutes
    minutes = low + (high - low) * rng.random(count)
    sent_after = np.floor(np.minimum(minutes * 60, window / 4))
    lag_low, lag_high = sc.DELIVERY_LAG_SECONDS
    arrive_after = sent_after + rng.integers(lag_low, lag_high, count, endpoint=True)
    outcome = rng.random(count)
    status = np.where(outcome < sc.DELIVERED_SHARE, 0, 2).astype(np.int8)
    status[(outcome >= sc.DELIVERED_SHARE) & (outcome < _UNDELIVERED_BELOW)] = 1
    clicked = (status == 0) & (rng.random(count) < behaviour.click_rate)
    lag = rng.exponential(sc.CLICK_LAG_MINUTES * 60, count)
    click_after = np.where(clicked, np.floor(arrive_after + lag), np.inf)

    propensity = population.propensity[units]
    q0 = behaviour.intent_floor + behaviour.intent_slope * propensity
    uplift = np.where(
        population.lifecycle[units] == sc.LIFECYCLES.index("new"),
        behaviour.uplift_new,
        behaviour.uplift_returning,
    )
    q1 = np.where(status == 0, q0 + uplift * (1 - q0), q0)

    span = window - arrive_after
    share = rng.random(count)
    if behaviour.timing == "late":
        offset = span * share ** (1 / 3)
    else:
        scale = behaviour.delay_days * DAY
        offset = -scale * np.log1p(share * np.expm1(-span / scale))
    return FlowDraw(
        spec=spec,
        behaviour=behaviour,
        window=window,
        units=units,
        entered_at=entered_at,
        arm=arm,
        sent_after=sent_after,
        arrive_after=arrive_after,
        status=status,
        click_after=click_after,
        q0=q0,
        q1=q1,
        draw=rng.random(count),
        delay=np.minimum(arrive_after + offset, np.nextafter(window, 0)),
    )


def _trigger_times(
    rng: np.random.Generator,
    population: Population,
    behaviour: sc.FlowBehaviour,
    *,
    opens: float,
) -> np.ndarray:
    """Each customer's first trigger from ``opens`` on, ``inf`` for none."""
    if behaviour.trigger == "lapse":
        return population.lapse_at
    if behaviour.trigger == "renewal":
        return population.renewal_due - sc.REMINDER_LEAD_DAYS * DAY
    per_day = behaviour.trigger_floor + behaviour.trigger_slope * population.daily_rate
    earliest = np.maximum(population.active_from, opens)
    return earliest + rng.exponential(DAY / per_day)


def potential_outcomes(
    draws: Sequence[FlowDraw], population: Population
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(p0, p1)`` of every triggered customer of every flow, in order.

    ``p_arm`` is the chance of at least one conversion of the flow's type in
    its window after entry, given the arm and the realised arms of the
    customer's other flows.
    """
    count = len(population)
    outcomes = []
    for draw in draws:
        others = np.ones(len(draw.units))
        if draw.spec.conversion == BASELINE_TYPE:
            rate = population.daily_rate[draw.units] / DAY
            others *= np.exp(-rate * draw.window)
        for other in draws:
            if other is draw or other.spec.conversion != draw.spec.conversion:
                continue
            row = np.full(count, -1, dtype=np.int64)
            row[other.units] = np.arange(len(other.units))
            rows = row[draw.units]
            both = np.flatnonzero(rows >= 0)
            rows = rows[both]
            since = draw.entered_at[both] - other.entered_at[rows]
            lands = other.delay_cdf(since + draw.window, rows) - other.delay_cdf(
                since, rows
            )
            realised = np.where(other.arm == EXPOSED, other.q1, other.q0)[rows]
            others[both] *= 1.0 - realised * lands
        p0 = 1.0 - (1.0 - draw.q0) * others
        p1 = 1.0 - (1.0 - draw.q1) * others
        outcomes.append((p0, p1))
    return outcomes
