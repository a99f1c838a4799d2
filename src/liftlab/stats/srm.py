"""Sample ratio mismatch: are the arms the sizes the configured split says?

A flow's holdout is a share of the units that passed the global holdout,
and that share may change over the life of a flow. The expected holdout
count is therefore summed period by period, each period's units times the
holdout share in force then. Testing against an equal split, or against the
latest percent only, raises false alarms on every healthy 90/10 holdout,
which two well-known products did.

A mismatch means the assignment or the logging is broken (units lost from
one arm, duplicates, a bot filter that sees the text), and every lift
computed from the flow is suspect until it is explained.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from liftlab.stats import _validate
from liftlab.stats.estimate import Undefined

__all__ = [
    "MIN_EXPECTED_UNITS",
    "SRM_THRESHOLD",
    "SampleRatioCheck",
    "SplitPeriod",
    "SplitTest",
    "sample_ratio_mismatch",
]

SRM_THRESHOLD = 0.001
"""p-value below which a split is flagged (Fabijan et al. 2019)."""

MIN_EXPECTED_UNITS = 10.0
"""Least expected units in each cell before a split can be flagged."""


@dataclass(frozen=True, slots=True)
class SplitPeriod:
    """Entries during one period, with the percents in force then.

    Attributes:
        n_exposed: Units that entered the flow and were exposed.
        n_holdout: Units in the flow's own holdout. Units held out by the
            global holdout are *not* counted here.
        holdout_percent: The flow's holdout percent in force, ``0 < x < 100``.
        n_global_holdout: Units that entered the flow but were held out by
            the global holdout; 0 when they are not logged.
        global_holdout_percent: The global holdout percent in force,
            ``0 <= x < 100``.
    """

    n_exposed: int
    n_holdout: int
    holdout_percent: float
    n_global_holdout: int = 0
    global_holdout_percent: float = 0.0


@dataclass(frozen=True, slots=True)
class SplitTest:
    """One chi-square goodness-of-fit test of a two-way split.

    Attributes:
        observed: Units observed in the smaller side (the holdout).
        expected: Units expected there under the configured split.
        total: Units in the test.
        chi_square: Pearson's statistic on one degree of freedom.
        p_value: Its upper-tail probability; NaN without units.
        mismatch: Whether ``p_value`` is below the threshold and every
            expected count reaches the minimum.
        reason: Why the test could not flag, else None.
    """

    observed: float
    expected: float
    total: float
    chi_square: float
    p_value: float
    mismatch: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SampleRatioCheck:
    """The sample-ratio checks of a flow.

    Attributes:
        flow: Exposed against the flow holdout, among units that passed the
            global holdout.
        global_holdout: Globally held-out units against all flow entrants;
            None when no period has a global holdout.
        threshold: The p-value below which a split is flagged.
    """

    flow: SplitTest
    global_holdout: SplitTest | None
    threshold: float

    @property
    def mismatch(self) -> bool:
        """Whether either split is flagged.

        With a global holdout this is two tests, each at ``threshold``, so a
        healthy flow is flagged by chance up to twice as often as by one.
        """
        flagged = self.global_holdout is not None and self.global_holdout.mismatch
        return self.flow.mismatch or flagged


def sample_ratio_mismatch(
    periods: Sequence[SplitPeriod],
    *,
    threshold: float = SRM_THRESHOLD,
    min_expected: float = MIN_EXPECTED_UNITS,
) -> SampleRatioCheck:
    """Test a flow's arm sizes against its configured split.

    Args:
        periods: Entry counts per period in which the percents were
            constant (one period for a flow that never changed).
        threshold: Flag when the p-value is below this; default 0.001, as
            recommended by Fabijan et al. and used by GrowthBook and Eppo.
        min_expected: Do not flag unless each cell's expected count reaches
            this; default 10, so a 10% holdout needs about 100 units and a
            5% holdout about 200 before it can be flagged.

    Returns:
        The flow split test and, when a global holdout is configured, the
        global split test.

    Note:
        Expected holdout units are ``sum(n_k * share_k)`` over periods ``k``,
        with ``n_k`` the units that passed the global holdout in period
        ``k``. The statistic is Pearson's chi-square on the two pooled
        cells, compared with one degree of freedom. When the share changed,
        the true variance of the pooled count is below the chi-square's
        assumption, so the test errs towards not flagging. The strict
        threshold keeps false alarms rare when the check runs every day.

    References:
        Fabijan, A., Gupchup, J., Gupta, S., Omhover, J., Qin, W., Vermeer,
        L., & Dmitriev, P. (2019). Diagnosing sample ratio mismatch in online
        controlled experiments: a taxonomy and rules of thumb for
        practitioners. Proceedings of the 25th ACM SIGKDD International
        Conference on Knowledge Discovery and Data Mining (KDD '19),
        2156-2164.

        Pearson, K. (1900). On the criterion that a given system of
        deviations from the probable in the case of a correlated system of
        variables is such that it can be reasonably supposed to have arisen
        from random sampling. The London, Edinburgh, and Dublin
        Philosophical Magazine and Journal of Science, 50(302), 157-175.
    """
    threshold = _validate.probability("threshold", threshold)
    min_expected = _validate.positive("min_expected", min_expected)
    if not periods:
        raise _validate.fail("periods", "at least one period", periods)

    held = expected_held = passed = 0.0
    global_held = expected_global = entered = 0.0
    for index, period in enumerate(periods):
        n_e, n_h, n_g, share, global_share = _period(index, period)
        held += n_h
        expected_held += (n_e + n_h) * share
        passed += n_e + n_h
        global_held += n_g
        expected_global += (n_e + n_h + n_g) * global_share
        entered += n_e + n_h + n_g

    flow = _split_test(held, expected_held, passed, threshold, min_expected)
    has_global = any(period.global_holdout_percent > 0 for period in periods)
    global_test = (
        _split_test(global_held, expected_global, entered, threshold, min_expected)
        if has_global
        else None
    )
    return SampleRatioCheck(flow=flow, global_holdout=global_test, threshold=threshold)


def _period(
    index: int, period: SplitPeriod
) -> tuple[float, float, float, float, float]:
    """A period's counts and its flow and global holdout shares, checked."""
    field = f"periods[{index}]"
    n_e = float(_validate.counts(f"{field}.n_exposed", period.n_exposed))
    n_h = float(_validate.counts(f"{field}.n_holdout", period.n_holdout))
    n_g = float(_validate.counts(f"{field}.n_global_holdout", period.n_global_holdout))
    percent = _validate.probability(
        f"{field}.holdout_percent", period.holdout_percent, high=100
    )
    global_percent = period.global_holdout_percent
    if global_percent != 0:
        global_percent = _validate.probability(
            f"{field}.global_holdout_percent", global_percent, high=100
        )
    return n_e, n_h, n_g, percent / 100, global_percent / 100


def _split_test(
    observed: float,
    expected: float,
    total: float,
    threshold: float,
    min_expected: float,
) -> SplitTest:
    expected_rest = total - expected
    if min(expected, expected_rest) <= 0:
        return SplitTest(
            observed=observed,
            expected=expected,
            total=total,
            chi_square=math.nan,
            p_value=math.nan,
            mismatch=False,
            reason=Undefined.TOO_FEW_EXPECTED,
        )

    chi_square = (observed - expected) ** 2 * (1 / expected + 1 / expected_rest)
    p_value = float(stats.chi2.sf(chi_square, 1))
    enough = min(expected, expected_rest) >= min_expected
    return SplitTest(
        observed=observed,
        expected=expected,
        total=total,
        chi_square=chi_square,
        p_value=p_value,
        mismatch=enough and p_value < threshold,
        reason=None if enough else Undefined.TOO_FEW_EXPECTED,
    )
