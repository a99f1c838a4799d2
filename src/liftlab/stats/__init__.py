"""Pure statistics on sufficient statistics: no database, no I/O.

The results engine computes counts, sums, sums of squares and
cross-products per arm (and per segment or day) where the data lives, and
passes them here. Where things live:

* ``estimate``: :class:`Estimate` (value, interval, reason) and the
  :class:`Undefined` reasons shared by every result;
* ``proportions``: Wilson, Newcombe and Koopman score intervals;
* ``rates``: :func:`compare_rates`, the conversion lift from four counts;
* ``means``: :func:`compare_means`, Welch and the delta method for revenue;
* ``cuped``: :func:`compare_means_cuped`, adjusted for pre-entry behaviour;
* ``sequential``: always-valid confidence sequences for daily looks;
* ``srm``: :func:`sample_ratio_mismatch` against the configured split;
* ``multiple``: Holm and Benjamini-Hochberg adjusted p-values;
* ``planning``: entrants, days and power for a minimum detectable lift;
* ``heterogeneity``: Cochran's Q for lifts that differ by segment.

Arms are ``exposed`` (texted) and ``holdout`` (not texted); in formulas
``n_*`` are units, ``x_*`` conversions and ``sum_*`` metric totals, with the
arm as suffix. Intervals are two-sided at ``alpha`` (default 0.05). An
undefined statistic is NaN with a reason, never an exception.
"""

from __future__ import annotations

from liftlab.stats.cuped import CupedComparison, compare_means_cuped
from liftlab.stats.estimate import Estimate, Undefined
from liftlab.stats.heterogeneity import (
    Heterogeneity,
    lift_heterogeneity,
    rate_lift_heterogeneity,
)
from liftlab.stats.means import (
    MeanComparison,
    compare_means,
    delta_method_relative_lift,
)
from liftlab.stats.multiple import adjust_p_values, benjamini_hochberg, holm
from liftlab.stats.planning import (
    SampleSizePlan,
    plan_sample_size,
    power_for_sample_size,
)
from liftlab.stats.proportions import (
    koopman_interval,
    newcombe_interval,
    wilson_interval,
)
from liftlab.stats.rates import (
    RateComparison,
    RateTest,
    compare_rates,
    rate_p_value,
    score_test,
)
from liftlab.stats.sequential import (
    DEFAULT_TUNING_SIZE,
    ConfidenceSequence,
    confidence_sequence,
    mixture_rho,
    rate_confidence_sequence,
)
from liftlab.stats.srm import (
    MIN_EXPECTED_UNITS,
    SRM_THRESHOLD,
    SampleRatioCheck,
    SplitPeriod,
    SplitTest,
    sample_ratio_mismatch,
)

__all__ = [
    "DEFAULT_TUNING_SIZE",
    "MIN_EXPECTED_UNITS",
    "SRM_THRESHOLD",
    "ConfidenceSequence",
    "CupedComparison",
    "Estimate",
    "Heterogeneity",
    "MeanComparison",
    "RateComparison",
    "RateTest",
    "SampleRatioCheck",
    "SampleSizePlan",
    "SplitPeriod",
    "SplitTest",
    "Undefined",
    "adjust_p_values",
    "benjamini_hochberg",
    "compare_means",
    "compare_means_cuped",
    "compare_rates",
    "confidence_sequence",
    "delta_method_relative_lift",
    "holm",
    "koopman_interval",
    "lift_heterogeneity",
    "mixture_rho",
    "newcombe_interval",
    "plan_sample_size",
    "power_for_sample_size",
    "rate_confidence_sequence",
    "rate_lift_heterogeneity",
    "rate_p_value",
    "sample_ratio_mismatch",
    "score_test",
    "wilson_interval",
]
