"""The simulated customers: segments, consent, purchase propensity, history."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa

from liftlab.simulate import scenario as sc
from liftlab.simulate.columns import labels, numbered, text

__all__ = ["Population", "covariates_frame", "customers_frame", "draw_population"]

DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Population:
    """The customers as parallel arrays, one element per customer.

    Times are seconds from the start of the period; ``inf`` means never.

    Attributes:
        unit_ids: The unit ids, ``c0000000`` onwards, as an Arrow array.
        lifecycle: Index into :data:`~liftlab.simulate.scenario.LIFECYCLES`.
        tier: Index into :data:`~liftlab.simulate.scenario.TIERS`.
        consent: SMS consent.
        daily_rate: Baseline purchases per day while active.
        propensity: ``daily_rate / (daily_rate + HALF_RATE)``, in ``[0, 1)``.
        active_from: When the customer starts buying: 0, or for a lapsing
            customer the moment 90 days of inactivity are reached.
        lapse_at: When a lapsing customer crosses 90 days of inactivity.
        renewal_due: When a subscriber's plan renews.
        phone: E.164 phone per customer, null for most.
        orders_prior: Orders in the 90 days before the period.
        spend_prior: Spend in the 90 days before the period.
    """

    unit_ids: pa.Array
    lifecycle: np.ndarray
    tier: np.ndarray
    consent: np.ndarray
    daily_rate: np.ndarray
    propensity: np.ndarray
    active_from: np.ndarray
    lapse_at: np.ndarray
    renewal_due: np.ndarray
    phone: pa.Array
    orders_prior: np.ndarray
    spend_prior: np.ndarray

    def __len__(self) -> int:
        return len(self.tier)


def draw_population(rng: np.random.Generator, count: int, *, days: int) -> Population:
    """Draw ``count`` customers for a period of ``days`` days."""
    returning = rng.random(count) >= sc.NEW_SHARE
    lifecycle = returning.astype(np.int8)
    tier = np.empty(count, dtype=np.int8)
    for code, name in enumerate(sc.LIFECYCLES):
        members = lifecycle == code
        tier[members] = rng.choice(3, size=int(members.sum()), p=sc.TIER_SHARES[name])
    consent = rng.random(count) < sc.CONSENT_SHARE

    spread = sc.RATE_SPREAD
    noise = np.exp(spread * rng.standard_normal(count) - spread**2 / 2)
    daily_rate = np.asarray(sc.PURCHASE_RATE)[tier] * noise
    daily_rate[~returning] *= sc.NEW_RATE_FACTOR

    # Lapsing customers bought last just under 90 days before crossing.
    lapsing = returning & (rng.random(count) < sc.LAPSING_SHARE)
    crossing = rng.random(count) * min(float(days), sc.INACTIVE_DAYS) * DAY
    lapse_at = np.where(lapsing, np.floor(crossing), np.inf)
    daily_rate[lapsing] *= sc.LAPSED_RATE_FACTOR
    active_from = np.where(lapsing, lapse_at, 0.0)

    subscriber = rng.random(count) < np.asarray(sc.SUBSCRIBER_SHARE)[tier]
    lead = sc.REMINDER_LEAD_DAYS
    due = (lead + rng.random(count) * days) * DAY
    renewal_due = np.where(subscriber, np.floor(due), np.inf)

    orders_prior = rng.poisson(daily_rate * sc.INACTIVE_DAYS)
    orders_prior[~returning | lapsing] = 1
    mean_value = np.asarray(sc.ORDER_VALUE)[tier]
    spend_prior = np.round(mean_value * rng.gamma(orders_prior.astype(float)), 2)

    return Population(
        unit_ids=numbered("c", count, width=7, start=0),
        lifecycle=lifecycle,
        tier=tier,
        consent=consent,
        daily_rate=daily_rate,
        propensity=daily_rate / (daily_rate + sc.HALF_RATE),
        active_from=active_from,
        lapse_at=lapse_at,
        renewal_due=renewal_due,
        phone=_phones(rng, count),
        orders_prior=orders_prior,
        spend_prior=spend_prior,
    )


@lru_cache(maxsize=1)
def _fictional_area_codes() -> tuple[int, ...]:
    """North American area codes whose 555-0100 to 555-0199 lines are valid.

    Those lines are reserved for fiction, so a simulated store can never
    text a real subscriber.
    """
    return tuple(
        code
        for code in range(200, 1000)
        if phonenumbers.is_valid_number(phonenumbers.parse(f"+1{code}5550100"))
    )


def _phones(rng: np.random.Generator, count: int) -> pa.Array:
    """Fictional E.164 numbers for a share of the customers.

    The fictional pool holds about 45,000 numbers, so at most that many
    customers get a phone; the rest are known by customer id alone.
    """
    areas = _fictional_area_codes()
    pool = len(areas) * 100
    owners = min(round(count * sc.PHONE_SHARE), pool)
    who = rng.choice(count, size=owners, replace=False)
    lines = rng.choice(pool, size=owners, replace=False)
    numbers: list[str | None] = [None] * count
    for unit, line in zip(who.tolist(), lines.tolist(), strict=True):
        numbers[unit] = f"+1{areas[line // 100]}55501{line % 100:02d}"
    return pa.array(numbers, type=pa.large_string())


def customers_frame(population: Population) -> pd.DataFrame:
    """The ``customers`` event file: id, phone, consent and segments."""
    return pd.DataFrame(
        {
            "unit_id": text(population.unit_ids),
            "phone": text(population.phone),
            "sms_consent": population.consent,
            "lifecycle": labels(population.lifecycle, sc.LIFECYCLES),
            "ltv_tier": labels(population.tier, sc.TIERS),
        }
    )


def covariates_frame(population: Population) -> pd.DataFrame:
    """Pre-period covariates, long: one row per customer and covariate."""
    count = len(population)
    names = ("orders_prior_90d", "spend_prior_90d")
    return pd.DataFrame(
        {
            "unit_id": text(pa.concat_arrays([population.unit_ids] * len(names))),
            "name": labels(np.repeat(np.arange(len(names)), count), names),
            "value": np.concatenate(
                [population.orders_prior.astype(float), population.spend_prior]
            ),
        }
    )
