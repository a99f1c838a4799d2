"""The event files of a simulated programme, built from the flows' draws.

Purchases come from two sources: the baseline process (every active
customer buys at their own rate, whatever any flow does) and each flow's
intent conversion, realised for the customer's arm. Touches come from other
channels in the background, from the session that closes most purchases,
and from texts: a ``view`` at delivery and a ``click`` for some.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Self

import numpy as np
import pandas as pd
import pyarrow as pa

from liftlab.simulate import scenario as sc
from liftlab.simulate.columns import labels, numbered, take, text, times
from liftlab.simulate.flows import ARM_NAMES, BASELINE_TYPE, EXCLUDED, EXPOSED, FlowDraw
from liftlab.simulate.population import DAY, Population

__all__ = ["Events", "build_events"]

STATUSES = ("delivered", "undelivered", "failed", "opted_out")
_SHIFT = np.int64(1) << np.int64(32)
_GOLDEN = 0x9E3779B1
_MASK32 = 0xFFFFFFFF

RandomFor = Callable[[str], np.random.Generator]


@dataclass(frozen=True, slots=True)
class Events:
    """The event files, one frame each, with exactly their columns."""

    entries: pd.DataFrame
    messages: pd.DataFrame
    touches: pd.DataFrame
    conversions: pd.DataFrame


@dataclass(frozen=True, slots=True)
class _Rows:
    """Parallel arrays; each subclass names its columns."""

    def pick(self, index: np.ndarray) -> Self:
        return type(self)(*(getattr(self, f.name)[index] for f in fields(self)))

    @classmethod
    def join(cls, parts: Sequence[Self]) -> Self:
        return cls(
            *(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls))
        )


@dataclass(frozen=True, slots=True)
class _Touches(_Rows):
    unit: np.ndarray
    moment: np.ndarray
    combo: np.ndarray
    flow: np.ndarray
    message: np.ndarray


@dataclass(frozen=True, slots=True)
class _Sends(_Rows):
    flow: np.ndarray
    unit: np.ndarray
    sent: np.ndarray
    delivered: np.ndarray
    click: np.ndarray
    closes: np.ndarray
    status: np.ndarray
    cost: np.ndarray


def build_events(
    random_for: RandomFor,
    population: Population,
    draws: Sequence[FlowDraw],
    *,
    start: datetime,
    horizon: float,
    seed: int,
) -> Events:
    """Every event of the programme up to ``horizon`` seconds after start."""
    keys = [draw.spec.key for draw in draws]
    combos = [*sc.BACKGROUND_TOUCHES, *sc.CLOSING_TOUCHES]
    first_sms = len(combos)
    for key in keys:
        combos += [("sms", "view", key, 0.0), ("sms", "click", key, 0.0)]

    sends = _sends(draws)
    coupons, codes = _coupons(draws, sends, seed=seed)
    status = _opt_outs(random_for("opt_outs"), sends.status)
    message_ids = numbered("msg-", len(sends.unit), width=8)
    messages = pd.DataFrame(
        {
            "message_id": text(message_ids),
            "flow": labels(sends.flow, keys),
            "unit_id": text(take(population.unit_ids, sends.unit)),
            "sent_at": times(start, sends.sent),
            "delivered_at": times(start, sends.delivered),
            "status": labels(status, STATUSES),
            "cost": sends.cost,
            "coupon_code": text(take(codes, coupons)),
        }
    )

    conversions, closing = _conversions(
        random_for("conversions"),
        population,
        draws,
        sends,
        coupons,
        codes,
        channels=[c[0] for c in combos],
        start=start,
        horizon=horizon,
    )

    viewed = np.flatnonzero(np.isfinite(sends.delivered))
    clicked = np.flatnonzero(np.isfinite(sends.click))
    texts = _Touches(
        unit=np.concatenate([sends.unit[viewed], sends.unit[clicked]]),
        moment=np.concatenate([sends.delivered[viewed], sends.click[clicked]]),
        combo=first_sms
        + np.concatenate([2 * sends.flow[viewed], 2 * sends.flow[clicked] + 1]),
        flow=np.concatenate([sends.flow[viewed], sends.flow[clicked]]),
        message=np.concatenate([viewed, clicked]),
    )
    background = _background(random_for("touches"), population, horizon=horizon)
    touches = _Touches.join([background, closing, texts])
    touches = touches.pick(np.lexsort((touches.unit, touches.moment)))
    touch_frame = pd.DataFrame(
        {
            "touch_id": text(numbered("tch-", len(touches.unit), width=9)),
            "unit_id": text(take(population.unit_ids, touches.unit)),
            "channel": labels(touches.combo, [c[0] for c in combos]),
            "kind": labels(touches.combo, [c[1] for c in combos]),
            "occurred_at": times(start, touches.moment),
            "flow": labels(touches.flow, keys),
            "campaign": labels(touches.combo, [c[2] for c in combos]),
            "message_id": text(take(message_ids, touches.message)),
        }
    )
    return Events(
        entries=_entries(population, draws, start=start),
        messages=messages,
        touches=touch_frame,
        conversions=conversions,
    )


def _conversions(
    rng: np.random.Generator,
    population: Population,
    draws: Sequence[FlowDraw],
    sends: _Sends,
    coupons: np.ndarray,
    codes: pa.Array,
    *,
    channels: Sequence[str],
    start: datetime,
    horizon: float,
) -> tuple[pd.DataFrame, _Touches]:
    """The conversions frame, and the touches that closed its purchases."""
    unit, moment, kind = _purchases(rng, population, draws, horizon=horizon)
    order = np.lexsort((unit, moment))
    unit, moment, kind = unit[order], moment[order], kind[order]
    kinds = sorted({BASELINE_TYPE, *(draw.spec.conversion for draw in draws)})
    purchase = kind == kinds.index(BASELINE_TYPE)

    # Purchases vary about the tier's order value; renewals cost the plan.
    tier = population.tier[unit]
    values = np.where(
        purchase,
        np.asarray(sc.ORDER_VALUE)[tier] * _spread(rng, len(unit)),
        np.asarray(sc.PLAN_PRICE)[tier],
    )
    redeemed = _redeemed(rng, sends, coupons, unit, moment, purchase)
    closing, closed = _closing(rng, unit, moment, eligible=purchase)
    channel = np.full(len(unit), -1, dtype=np.int64)
    channel[closed] = closing.combo
    frame = pd.DataFrame(
        {
            "conversion_id": text(numbered("cnv-", len(unit), width=9)),
            "unit_id": text(take(population.unit_ids, unit)),
            "occurred_at": times(start, moment),
            "type": labels(kind, kinds),
            "value": np.round(values, 2),
            "channel": labels(channel, channels),
            "coupon_code": text(take(codes, redeemed)),
        }
    )
    return frame, closing


def _opt_outs(rng: np.random.Generator, status: np.ndarray) -> np.ndarray:
    """Delivered texts answered with STOP: still delivered, status opted_out.

    Drawn from a stream of their own, so no other draw changes.
    """
    marked = status.copy()
    delivered = np.flatnonzero(status == 0)
    stopped = delivered[rng.random(len(delivered)) < sc.OPT_OUT_SHARE]
    marked[stopped] = STATUSES.index("opted_out")
    return marked


def _entries(
    population: Population, draws: Sequence[FlowDraw], *, start: datetime
) -> pd.DataFrame:
    flow = np.concatenate([np.full(len(d.units), n) for n, d in enumerate(draws)])
    unit = np.concatenate([d.units for d in draws])
    moment = np.concatenate([d.entered_at for d in draws])
    arm = np.concatenate([d.arm for d in draws])
    kept = np.flatnonzero(arm != EXCLUDED)
    kept = kept[np.lexsort((flow[kept], unit[kept], moment[kept]))]
    return pd.DataFrame(
        {
            "flow": labels(flow[kept], [d.spec.key for d in draws]),
            "unit_id": text(take(population.unit_ids, unit[kept])),
            "entered_at": times(start, moment[kept]),
            "arm": labels(arm[kept], ARM_NAMES),
        }
    )


def _sends(draws: Sequence[FlowDraw]) -> _Sends:
    """One text per exposed entrant, in order of sending."""
    parts = []
    for code, draw in enumerate(draws):
        rows = np.flatnonzero(draw.arm == EXPOSED)
        entered = draw.entered_at[rows]
        cost = draw.spec.cost_per_message
        delivered = draw.status[rows] == 0
        parts.append(
            _Sends(
                flow=np.full(len(rows), code),
                unit=draw.units[rows],
                sent=entered + draw.sent_after[rows],
                delivered=np.where(
                    delivered, entered + draw.arrive_after[rows], np.inf
                ),
                click=entered + draw.click_after[rows],
                closes=entered + draw.window,
                status=draw.status[rows],
                cost=np.full(len(rows), np.nan if cost is None else cost),
            )
        )
    sends = _Sends.join(parts)
    return sends.pick(np.lexsort((sends.flow, sends.unit, sends.sent)))


def _coupons(
    draws: Sequence[FlowDraw], sends: _Sends, *, seed: int
) -> tuple[np.ndarray, pa.Array]:
    """Index of each text's coupon code (-1 for none), and the codes.

    Codes are an odd multiple of a serial number modulo 2**32, so they are
    unique without looking like a sequence.
    """
    prefixes = [draw.behaviour.coupon_prefix for draw in draws]
    holders = np.flatnonzero([prefixes[code] is not None for code in sends.flow])
    mix = (seed * 0x85EBCA6B) & _MASK32
    codes = [
        f"{prefixes[sends.flow[row]]}-{(serial * _GOLDEN + mix) & _MASK32:08X}"
        for serial, row in enumerate(holders.tolist())
    ]
    coupons = np.full(len(sends.flow), -1, dtype=np.int64)
    coupons[holders] = np.arange(len(holders))
    return coupons, pa.array(codes, type=pa.large_string())


def _purchases(
    rng: np.random.Generator,
    population: Population,
    draws: Sequence[FlowDraw],
    *,
    horizon: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer, time and type index (into sorted types) of every conversion."""
    kinds = sorted({BASELINE_TYPE, *(draw.spec.conversion for draw in draws)})
    span = np.maximum(horizon - population.active_from, 0.0)
    counts = rng.poisson(population.daily_rate * span / DAY)
    unit = np.repeat(np.arange(len(population)), counts)
    moment = population.active_from[unit] + rng.random(len(unit)) * span[unit]
    units, moments = [unit], [np.floor(moment)]
    types = [np.full(len(unit), kinds.index(BASELINE_TYPE))]
    for draw in draws:
        rows = np.flatnonzero(draw.converts)
        units.append(draw.units[rows])
        moments.append(draw.entered_at[rows] + np.floor(draw.delay[rows]))
        types.append(np.full(len(rows), kinds.index(draw.spec.conversion)))
    return (
        np.concatenate(units),
        np.concatenate(moments),
        np.concatenate(types).astype(np.int64),
    )


def _spread(rng: np.random.Generator, count: int) -> np.ndarray:
    """Lognormal multipliers with mean one."""
    sigma = sc.ORDER_VALUE_SPREAD
    return np.exp(sigma * rng.standard_normal(count) - sigma**2 / 2)


def _redeemed(
    rng: np.random.Generator,
    sends: _Sends,
    coupons: np.ndarray,
    unit: np.ndarray,
    moment: np.ndarray,
    purchase: np.ndarray,
) -> np.ndarray:
    """Per conversion, the coupon redeemed (-1 for none).

    A delivered coupon is redeemed, with a fixed chance, on the customer's
    first purchase after delivery within the flow's window.
    """
    redeemed = np.full(len(unit), -1, dtype=np.int64)
    rows = np.flatnonzero(purchase)
    held = np.flatnonzero((coupons >= 0) & np.isfinite(sends.delivered))
    if not len(rows) or not len(held):
        return redeemed
    keys = unit[rows] * _SHIFT + moment[rows].astype(np.int64)
    order = np.argsort(keys, kind="stable")
    keys, rows = keys[order], rows[order]

    delivered = sends.delivered[held].astype(np.int64)
    found = np.searchsorted(keys, sends.unit[held] * _SHIFT + delivered)
    inside = found < len(keys)
    found = np.minimum(found, len(keys) - 1)
    target = rows[found]
    inside &= (unit[target] == sends.unit[held]) & (moment[target] < sends.closes[held])
    inside &= rng.random(len(held)) < sc.COUPON_REDEEM_SHARE
    redeemed[target[inside]] = coupons[held[inside]]
    return redeemed


def _closing(
    rng: np.random.Generator,
    unit: np.ndarray,
    moment: np.ndarray,
    *,
    eligible: np.ndarray,
) -> tuple[_Touches, np.ndarray]:
    """The session that closes most purchases, a few minutes before them,
    and the index of the conversion each one closes."""
    rows = np.flatnonzero(eligible & (rng.random(len(unit)) < sc.CLOSING_SHARE))
    weights = np.array([c[3] for c in sc.CLOSING_TOUCHES])
    combo = len(sc.BACKGROUND_TOUCHES) + rng.choice(
        len(weights), size=len(rows), p=weights / weights.sum()
    )
    lead = rng.integers(60, 1800, len(rows), endpoint=True)
    touches = _Touches(
        unit=unit[rows],
        moment=moment[rows] - lead,
        combo=combo,
        flow=np.full(len(rows), -1),
        message=np.full(len(rows), -1),
    )
    return touches, rows


def _background(
    rng: np.random.Generator, population: Population, *, horizon: float
) -> _Touches:
    """Other channels' touches, more for customers who buy more."""
    per_day = sc.TOUCH_RATE_FLOOR + sc.TOUCH_RATE_SLOPE * population.daily_rate
    counts = rng.poisson(per_day * horizon / DAY)
    unit = np.repeat(np.arange(len(population)), counts)
    weights = np.array([c[3] for c in sc.BACKGROUND_TOUCHES])
    combo = rng.choice(len(weights), size=len(unit), p=weights / weights.sum())
    return _Touches(
        unit=unit,
        moment=np.floor(rng.random(len(unit)) * horizon),
        combo=combo,
        flow=np.full(len(unit), -1),
        message=np.full(len(unit), -1),
    )
