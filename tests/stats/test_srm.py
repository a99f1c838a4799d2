"""Sample-ratio-mismatch checks against the configured split."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from liftlab.assignment import FlowRule, GlobalRule, Reason, assign_many
from liftlab.stats import (
    MIN_EXPECTED_UNITS,
    SplitPeriod,
    Undefined,
    sample_ratio_mismatch,
)


def _period_from_hash(
    unit_ids: list[str], holdout_percent: float, global_percent: float
) -> SplitPeriod:
    """Counts of a period as liftlab's own assignment engine would log them."""
    batch = assign_many(
        FlowRule(
            key="abandoned_cart", salt="abandoned_cart", holdout_percent=holdout_percent
        ),
        unit_ids,
        global_rule=GlobalRule(salt="global-2026", holdout_percent=global_percent),
    )
    counts = batch.counts()
    return SplitPeriod(
        n_exposed=counts[Reason.OUTSIDE_HOLDOUT],
        n_holdout=counts[Reason.FLOW_HOLDOUT],
        holdout_percent=holdout_percent,
        n_global_holdout=counts[Reason.GLOBAL_HOLDOUT],
        global_holdout_percent=global_percent,
    )


def test_srm_matches_scipy_chisquare_for_one_period() -> None:
    check = sample_ratio_mismatch(
        [SplitPeriod(n_exposed=9_130, n_holdout=870, holdout_percent=10)]
    )
    # scipy.stats.chisquare with the expected counts of a 90/10 split.
    reference = stats.chisquare([870, 9_130], f_exp=[1_000, 9_000])

    assert check.flow.chi_square == pytest.approx(reference.statistic, rel=1e-12)
    assert check.flow.p_value == pytest.approx(reference.pvalue, rel=1e-12)
    assert check.flow.expected == pytest.approx(1_000)
    assert check.mismatch
    assert check.global_holdout is None


def test_srm_sums_expected_counts_over_percent_changes() -> None:
    periods = [
        SplitPeriod(n_exposed=19_000, n_holdout=1_000, holdout_percent=5),
        SplitPeriod(n_exposed=27_000, n_holdout=3_000, holdout_percent=10),
    ]

    check = sample_ratio_mismatch(periods)
    # Expected holdout 20,000 x 5% + 30,000 x 10% = 4,000 of 50,000.
    reference = stats.chisquare([4_000, 46_000], f_exp=[4_000, 46_000])

    assert check.flow.expected == pytest.approx(4_000)
    assert check.flow.p_value == pytest.approx(reference.pvalue)
    assert not check.mismatch
    # Testing against the latest percent alone would have raised an alarm.
    latest_only = sample_ratio_mismatch(
        [SplitPeriod(n_exposed=46_000, n_holdout=4_000, holdout_percent=10)]
    )
    assert latest_only.mismatch


def test_srm_never_alarms_on_a_correctly_hashed_90_10_split() -> None:
    # 300,000 units through liftlab.assignment with a 3% global holdout and
    # a ramp from a 5% to a 10% flow holdout: the global holdout is left out
    # of the flow test and each period is held to the percent then in force.
    units = [f"customer-{i}" for i in range(300_000)]
    periods = [
        _period_from_hash(units[:100_000], 5.0, 3.0),
        _period_from_hash(units[100_000:], 10.0, 3.0),
    ]

    check = sample_ratio_mismatch(periods)

    assert not check.mismatch
    assert check.flow.p_value > 0.001
    assert check.global_holdout is not None
    assert not check.global_holdout.mismatch
    assert check.flow.observed / check.flow.total == pytest.approx(
        check.flow.expected / check.flow.total, abs=0.003
    )
    # The mistake of two well-known products: testing against 50/50.
    equal = sample_ratio_mismatch(
        [
            SplitPeriod(
                n_exposed=sum(p.n_exposed for p in periods),
                n_holdout=sum(p.n_holdout for p in periods),
                holdout_percent=50,
            )
        ]
    )
    assert equal.mismatch


def test_srm_false_alarm_rate_on_healthy_splits_stays_near_the_threshold() -> None:
    # 10,000 seeded healthy flows of 100 to 50,000 units, ramped from a 5% to
    # a 10% holdout, with a 5% global holdout: at p < 0.001 about 10 alarms
    # are expected by chance in each of the two tests.
    rng = np.random.default_rng(404)
    flow_alarms = alarms = 0
    for _ in range(10_000):
        total = int(rng.integers(100, 50_000))
        entered = rng.multinomial(total, [0.4, 0.6])
        periods = []
        for n, share in zip(entered, (0.05, 0.10), strict=True):
            held_globally = rng.binomial(n, 0.05)
            held = rng.binomial(n - held_globally, share)
            periods.append(
                SplitPeriod(
                    n_exposed=int(n - held_globally - held),
                    n_holdout=int(held),
                    holdout_percent=share * 100,
                    n_global_holdout=int(held_globally),
                    global_holdout_percent=5,
                )
            )
        check = sample_ratio_mismatch(periods)
        flow_alarms += check.flow.mismatch
        alarms += check.mismatch

    assert flow_alarms / 10_000 <= 0.002
    assert alarms / 10_000 <= 0.003


def test_srm_flags_a_lost_share_of_the_holdout() -> None:
    # 12% of holdout entries lost (say, not logged): 880 instead of ~1,000.
    check = sample_ratio_mismatch(
        [SplitPeriod(n_exposed=9_000, n_holdout=880, holdout_percent=10)]
    )

    assert check.mismatch
    assert check.flow.p_value < 0.001


def test_srm_flags_a_broken_global_holdout() -> None:
    check = sample_ratio_mismatch(
        [
            SplitPeriod(
                n_exposed=45_000,
                n_holdout=5_000,
                holdout_percent=10,
                n_global_holdout=1_000,
                global_holdout_percent=5,
            )
        ]
    )

    assert not check.flow.mismatch
    assert check.global_holdout is not None
    assert check.global_holdout.mismatch
    assert check.mismatch


def test_srm_does_not_flag_with_too_few_units() -> None:
    # 16 of 70 in a 10% holdout gives a chi-square p of 0.0003, but only 7
    # are expected there and the exact binomial tail, P(X >= 16) = 0.0013,
    # shows the approximation is overconfident at that size.
    check = sample_ratio_mismatch(
        [SplitPeriod(n_exposed=54, n_holdout=16, holdout_percent=10)]
    )
    assert stats.binom.sf(15, 70, 0.1) > 0.001

    assert check.flow.p_value < 0.001
    assert check.flow.expected < MIN_EXPECTED_UNITS
    assert not check.mismatch
    assert check.flow.reason is Undefined.TOO_FEW_EXPECTED


def test_srm_without_units_is_nan_not_an_error() -> None:
    check = sample_ratio_mismatch(
        [SplitPeriod(n_exposed=0, n_holdout=0, holdout_percent=10)]
    )

    assert math.isnan(check.flow.p_value)
    assert not check.mismatch


def test_srm_rejects_invalid_periods() -> None:
    with pytest.raises(ValueError, match=r"periods\[0\].holdout_percent"):
        sample_ratio_mismatch(
            [SplitPeriod(n_exposed=5, n_holdout=5, holdout_percent=0)]
        )
    with pytest.raises(ValueError, match="periods must be at least one period"):
        sample_ratio_mismatch([])
