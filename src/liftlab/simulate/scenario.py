"""The simulated store's parameters: its customers, channels and flows.

Every number that shapes the simulation lives here, so that the docs, the
tests and the code read the same values. Rates are per day; propensities
are probabilities within one conversion window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from liftlab.assignment import GlobalRule
from liftlab.experiments import FlowSpec

__all__ = [
    "BEHAVIOURS",
    "DEFAULT_FLOWS",
    "DEFAULT_GLOBAL_RULE",
    "LIFECYCLES",
    "TIERS",
    "FlowBehaviour",
]

LIFECYCLES: Final = ("new", "returning")
TIERS: Final = ("low", "mid", "high")

NEW_SHARE: Final = 0.30
TIER_SHARES: Final = {"new": (0.70, 0.25, 0.05), "returning": (0.40, 0.40, 0.20)}
CONSENT_SHARE: Final = 0.85
PHONE_SHARE: Final = 0.20

# Baseline purchases per day by tier; new customers buy more often while the
# first order is fresh. Each customer's rate is spread lognormally about it.
PURCHASE_RATE: Final = (0.004, 0.009, 0.020)
NEW_RATE_FACTOR: Final = 1.4
RATE_SPREAD: Final = 0.7
# Propensity s = rate / (rate + HALF_RATE) in [0, 1) scales flow intent.
HALF_RATE: Final = 0.010

# Returning customers who go quiet: no purchase until they cross 90 days of
# inactivity inside the period, then a low reactivation rate.
LAPSING_SHARE: Final = 0.15
LAPSED_RATE_FACTOR: Final = 0.35
INACTIVE_DAYS: Final = 90.0

# Subscribers by tier; each has one quarterly renewal due in the period.
SUBSCRIBER_SHARE: Final = (0.08, 0.15, 0.30)
REMINDER_LEAD_DAYS: Final = 7.0

ORDER_VALUE: Final = (45.0, 80.0, 150.0)
ORDER_VALUE_SPREAD: Final = 0.5
PLAN_PRICE: Final = (19.0, 39.0, 79.0)

# Other channels: background touches per day, as a floor plus a multiple of
# the purchase rate (engaged customers see more marketing).
TOUCH_RATE_FLOOR: Final = 0.012
TOUCH_RATE_SLOPE: Final = 1.0
# (channel, kind, campaign, weight) of background touches.
BACKGROUND_TOUCHES: Final = (
    ("email", "view", "newsletter", 0.25),
    ("email", "click", "newsletter", 0.08),
    ("organic_search", "session", None, 0.22),
    ("paid_search", "click", "brand", 0.10),
    ("paid_search", "click", "shopping", 0.07),
    ("direct", "session", None, 0.20),
    ("push", "click", "app_push", 0.05),
    ("push", "session", "app_push", 0.03),
)
# The session that closes most purchases, a few minutes before them.
CLOSING_SHARE: Final = 0.80
CLOSING_TOUCHES: Final = (
    ("direct", "session", None, 0.35),
    ("organic_search", "session", None, 0.25),
    ("paid_search", "click", "brand", 0.20),
    ("email", "click", "newsletter", 0.12),
    ("push", "click", "app_push", 0.08),
)

# Texts: outcome of a send, and seconds from send to delivery.
DELIVERED_SHARE: Final = 0.955
UNDELIVERED_SHARE: Final = 0.030
DELIVERY_LAG_SECONDS: Final = (2, 30)
# Share of delivered texts answered with STOP (an SMS opt-out).
OPT_OUT_SHARE: Final = 0.006
CLICK_LAG_MINUTES: Final = 25.0
COUPON_REDEEM_SHARE: Final = 0.60


@dataclass(frozen=True, slots=True)
class FlowBehaviour:
    """How one flow's customers behave in the simulation.

    Attributes:
        trigger: What enters a customer: ``cart`` (a cart left), ``browse``
            (product views without a cart), ``lapse`` (90 days without a
            purchase) or ``renewal`` (a renewal coming due).
        conversion: The conversion type the flow's intent produces.
        trigger_floor: Trigger events per day for every active customer
            (``cart`` and ``browse``).
        trigger_slope: Extra trigger events per day per purchase per day:
            frequent buyers leave more carts, so entrants are likely buyers.
        intent_floor: Chance of converting in the window without a text
            (beyond the baseline purchase process) at propensity zero.
        intent_slope: Increase of that chance from propensity zero to one.
        uplift_new: Share of new customers' would-be non-converters that a
            delivered text converts.
        uplift_returning: The same for returning customers.
        timing: ``early`` (a truncated exponential delay after delivery with
            mean ``delay_days``) or ``late`` (bunched at the window's end).
        delay_days: Mean delay of an ``early`` conversion.
        send_delay_minutes: Range of minutes from entry to the send.
        click_rate: Share of delivered texts clicked.
        coupon_prefix: Coupon code prefix, or None for texts without one.
    """

    trigger: Literal["cart", "browse", "lapse", "renewal"]
    conversion: str
    intent_floor: float
    intent_slope: float
    uplift_new: float
    uplift_returning: float
    timing: Literal["early", "late"] = "early"
    delay_days: float = 1.0
    trigger_floor: float = 0.0
    trigger_slope: float = 0.0
    send_delay_minutes: tuple[float, float] = (15.0, 60.0)
    click_rate: float = 0.08
    coupon_prefix: str | None = None


BEHAVIOURS: Final = {
    # Texts recover carts, far more often for new customers.
    "abandoned_cart": FlowBehaviour(
        trigger="cart",
        conversion="purchase",
        trigger_floor=0.0005,
        trigger_slope=0.5,
        intent_floor=0.08,
        intent_slope=0.25,
        uplift_new=0.10,
        uplift_returning=0.02,
        delay_days=0.75,
        send_delay_minutes=(15.0, 60.0),
        click_rate=0.12,
    ),
    # No effect at all: browsers who buy would have bought anyway.
    "browse_abandonment": FlowBehaviour(
        trigger="browse",
        conversion="purchase",
        trigger_floor=0.0005,
        trigger_slope=0.8,
        intent_floor=0.02,
        intent_slope=0.12,
        uplift_new=0.0,
        uplift_returning=0.0,
        delay_days=1.0,
        send_delay_minutes=(60.0, 180.0),
        click_rate=0.06,
    ),
    # Most subscribers renew anyway; a reminder saves a fifth of the rest.
    "renewal_reminder": FlowBehaviour(
        trigger="renewal",
        conversion="renewal",
        intent_floor=0.70,
        intent_slope=0.20,
        uplift_new=0.20,
        uplift_returning=0.20,
        timing="late",
        send_delay_minutes=(1.0, 10.0),
        click_rate=0.10,
    ),
    # A coupon brings back a few lapsed customers who would not have returned.
    "winback": FlowBehaviour(
        trigger="lapse",
        conversion="purchase",
        intent_floor=0.02,
        intent_slope=0.06,
        uplift_new=0.04,
        uplift_returning=0.04,
        delay_days=2.5,
        send_delay_minutes=(60.0, 240.0),
        click_rate=0.07,
        coupon_prefix="WIN",
    ),
}

_STARTS = datetime(2026, 9, 1, tzinfo=UTC)
_COST = 0.0079

DEFAULT_FLOWS: Final = (
    FlowSpec(
        key="abandoned_cart",
        name="Abandoned cart reminder",
        stage="retention",
        holdout_percent=10.0,
        conversion="purchase",
        window_hours=72,
        starts=_STARTS,
        cost_per_message=_COST,
    ),
    FlowSpec(
        key="browse_abandonment",
        name="Browse abandonment nudge",
        stage="retention",
        holdout_percent=10.0,
        conversion="purchase",
        window_hours=72,
        starts=_STARTS,
        cost_per_message=_COST,
    ),
    FlowSpec(
        key="renewal_reminder",
        name="Subscription renewal reminder",
        stage="retention",
        holdout_percent=5.0,
        conversion="renewal",
        window_hours=168,
        starts=_STARTS,
        cost_per_message=_COST,
    ),
    FlowSpec(
        key="winback",
        name="90-day win-back offer",
        stage="reactivation",
        holdout_percent=15.0,
        conversion="purchase",
        window_hours=168,
        starts=_STARTS,
        cost_per_message=_COST,
    ),
)
"""The flows of the repository's ``experiments/`` folder."""

DEFAULT_GLOBAL_RULE: Final = GlobalRule(salt="liftlab_global_2026", holdout_percent=5.0)
"""The global holdout of ``experiments/global.toml``."""
