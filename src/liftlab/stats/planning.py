"""How many flow entrants, and how many days, a holdout test needs.

Marketers rarely know that a 10% holdout on a 5% conversion rate needs
well over a hundred thousand entrants to see a 10% relative lift. These
functions say so before launch: the entrants needed for a minimum
detectable relative lift at a given power, the days that takes at the
flow's entry rate, and the power a given number of entrants buys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats

from liftlab.stats import _validate

__all__ = ["SampleSizePlan", "plan_sample_size", "power_for_sample_size"]

Method = Literal["score", "unpooled"]


@dataclass(frozen=True, slots=True)
class SampleSizePlan:
    """Entrants and days needed to detect a relative lift.

    Attributes:
        units_total: Flow entrants needed, both arms together.
        units_exposed: Of which exposed.
        units_holdout: Of which held out.
        days: Days to reach ``units_total`` at ``daily_entries``; None when
            no entry rate was given.
        reachable: False when ``days`` exceeds ``horizon_days``.
        power_at_horizon: Power reached with the entrants of
            ``horizon_days`` days; None when no entry rate was given.
        warning: Set when the plan is not reachable within the horizon,
            in words fit for the planning page.
        rate_exposed: The exposed conversion rate the plan assumes,
            ``baseline_rate * (1 + minimum_relative_lift)``.
        method: The variance model, ``"score"`` or ``"unpooled"``.
    """

    units_total: int
    units_exposed: int
    units_holdout: int
    days: int | None
    reachable: bool
    power_at_horizon: float | None
    warning: str | None
    rate_exposed: float
    method: Method


def plan_sample_size(
    *,
    baseline_rate: float,
    minimum_relative_lift: float,
    holdout_percent: float,
    alpha: float = 0.05,
    power: float = 0.8,
    daily_entries: float | None = None,
    horizon_days: int = 365,
    method: Method = "score",
) -> SampleSizePlan:
    """Entrants needed to detect a relative lift in conversion rate.

    Args:
        baseline_rate: Expected holdout conversion rate, in (0, 1).
        minimum_relative_lift: Smallest relative lift worth detecting,
            e.g. 0.10 for +10%; non-zero and keeping the exposed rate in
            (0, 1).
        holdout_percent: Share of entrants held out, ``0 < x < 100``.
        alpha: Two-sided significance level.
        power: Wanted probability of a significant result at that lift.
        daily_entries: Entrants per day reaching the flow's split (after the
            global holdout); gives ``days`` when set.
        horizon_days: Longest acceptable test; plans that need more are
            flagged as not reachable.
        method: ``"score"`` (default) plans for the score test that
            :func:`liftlab.stats.compare_rates` reports: null variance from
            the pooled rate, alternative variance from each arm's own.
            ``"unpooled"`` uses each arm's own variance under both, which is
            how the Newcombe interval's width behaves in large samples.

    Returns:
        The plan, with days and a reachability flag when ``daily_entries``
        is given.

    Note:
        With holdout share ``h``, exposed share ``1 - h``, rates ``p_h`` and
        ``p_e = p_h (1 + lift)``, the total is ``N = (z_{1-alpha/2} s_0 +
        z_{power} s_1)^2 / (p_e - p_h)^2`` with per-unit standard deviations
        ``s_1 = sqrt(p_e q_e / (1 - h) + p_h q_h / h)`` and, for the score
        test, ``s_0 = sqrt(p q (1 / (1 - h) + 1 / h))`` at the pooled rate
        ``p = (1 - h) p_e + h p_h``. It counts one tail, as is usual; the
        other tail adds under ``alpha / 2`` to the power. For a positive
        lift with a small holdout the score plan is the larger and so also
        covers the interval; at a 5% baseline and +10% it asks for about
        176,000 entrants with a 10% holdout, where the common shortcut
        using the baseline variance for both arms says 166,000.

    References:
        Fleiss, J. L., Levin, B., & Paik, M. C. (2003). Statistical Methods
        for Rates and Proportions (3rd ed.), Chapter 4. Wiley.

        Miettinen, O., & Nurminen, M. (1985). Comparative analysis of two
        rates. Statistics in Medicine, 4(2), 213-226.
    """
    share, p_h, p_e = _design(
        baseline_rate, minimum_relative_lift, holdout_percent, "minimum_relative_lift"
    )
    alpha = _validate.alpha(alpha)
    power = _validate.probability("power", power)
    horizon_days = int(_validate.positive("horizon_days", horizon_days))
    method = _method(method)

    s_null, s_alt = _standard_deviations(p_h, p_e, share, method)
    z_alpha = stats.norm.isf(alpha / 2)
    z_power = stats.norm.ppf(power)
    needed = ((z_alpha * s_null + z_power * s_alt) / (p_e - p_h)) ** 2
    total = math.ceil(needed)
    holdout = round(total * share)
    if daily_entries is None:
        return SampleSizePlan(
            total, total - holdout, holdout, None, True, None, None, p_e, method
        )

    daily = _validate.positive("daily_entries", daily_entries)
    days = math.ceil(total / daily)
    at_horizon = power_for_sample_size(
        baseline_rate=baseline_rate,
        relative_lift=minimum_relative_lift,
        holdout_percent=holdout_percent,
        units_total=daily * horizon_days,
        alpha=alpha,
        method=method,
    )
    reachable = days <= horizon_days
    warning = None
    if not reachable:
        warning = (
            f"needs {days:,} days at {daily:,.0f} entries a day, longer than the "
            f"{horizon_days}-day horizon; {horizon_days} days give "
            f"{at_horizon:.0%} power"
        )
    return SampleSizePlan(
        units_total=total,
        units_exposed=total - holdout,
        units_holdout=holdout,
        days=days,
        reachable=reachable,
        power_at_horizon=at_horizon,
        warning=warning,
        rate_exposed=p_e,
        method=method,
    )


def power_for_sample_size(
    *,
    baseline_rate: float,
    relative_lift: float,
    holdout_percent: float,
    units_total: float,
    alpha: float = 0.05,
    method: Method = "score",
) -> float:
    """Power of the two-sided test of equal rates for a given number of
    entrants.

    Args:
        baseline_rate: Expected holdout conversion rate, in (0, 1).
        relative_lift: The true relative lift assumed; non-zero.
        holdout_percent: Share of entrants held out, ``0 < x < 100``.
        units_total: Flow entrants, both arms together.
        alpha: Two-sided significance level.
        method: ``"score"`` or ``"unpooled"``, as in
            :func:`plan_sample_size`.

    Returns:
        The probability of a significant result, counting both tails.

    References:
        Fleiss, J. L., Levin, B., & Paik, M. C. (2003). Statistical Methods
        for Rates and Proportions (3rd ed.), Chapter 4. Wiley.
    """
    share, p_h, p_e = _design(
        baseline_rate, relative_lift, holdout_percent, "relative_lift"
    )
    alpha = _validate.alpha(alpha)
    units = _validate.positive("units_total", units_total)
    s_null, s_alt = _standard_deviations(p_h, p_e, share, _method(method))

    z_alpha = stats.norm.isf(alpha / 2)
    shift = abs(p_e - p_h) * math.sqrt(units) / s_alt
    ratio = s_null / s_alt
    near = stats.norm.sf(z_alpha * ratio - shift)
    far = stats.norm.cdf(-z_alpha * ratio - shift)
    return float(near + far)


def _design(
    baseline_rate: float, lift: float, holdout_percent: float, lift_field: str
) -> tuple[float, float, float]:
    """Validate the design; return holdout share, holdout and exposed rate."""
    p_h = _validate.probability("baseline_rate", baseline_rate)
    share = _validate.probability("holdout_percent", holdout_percent, high=100) / 100
    if not isinstance(lift, int | float) or lift == 0:
        raise _validate.fail(lift_field, "a non-zero number", lift)
    p_e = p_h * (1 + lift)
    if not 0 < p_e < 1:
        allowed = "a lift keeping the exposed rate in (0, 1)"
        raise _validate.fail(lift_field, allowed, lift)
    return share, p_h, p_e


def _standard_deviations(
    p_h: float, p_e: float, share: float, method: Method
) -> tuple[float, float]:
    """Per-unit standard deviations of the difference, null and alternative."""
    s_alt = math.sqrt(p_e * (1 - p_e) / (1 - share) + p_h * (1 - p_h) / share)
    if method == "unpooled":
        return s_alt, s_alt
    pooled = (1 - share) * p_e + share * p_h
    s_null = math.sqrt(pooled * (1 - pooled) * (1 / (1 - share) + 1 / share))
    return s_null, s_alt


def _method(method: str) -> Method:
    if method == "score":
        return "score"
    if method == "unpooled":
        return "unpooled"
    raise _validate.fail("method", "'score' or 'unpooled'", method)
