"""Wilson, Newcombe and Koopman intervals against published values and
statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats
from statsmodels.stats.proportion import confint_proportions_2indep

from liftlab.stats import koopman_interval, newcombe_interval, wilson_interval

# Newcombe, R. G. (1998). Two-sided confidence intervals for the single
# proportion: comparison of seven methods. Stat. Med. 17:857-872, method 3
# (Wilson score, no continuity correction), worked examples.
WILSON_PUBLISHED = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
]

# Newcombe, R. G. (1998). Interval estimation for the difference between
# independent proportions: comparison of eleven methods. Stat. Med.
# 17:873-890, Table II, method 10 (hybrid score, no continuity correction):
# (x_exposed, n_exposed, x_holdout, n_holdout, lower, upper).
NEWCOMBE_TABLE_II = [
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.0582, 0.8062),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
    (0, 10, 0, 10, -0.2775, 0.2775),
    (10, 10, 0, 20, 0.6791, 1.0000),
    (10, 10, 0, 10, 0.6075, 1.0000),
]

GRID_SIZES = [(5, 7), (20, 13), (40, 80), (200, 30), (900, 100)]


def _grid() -> list[tuple[int, int, int, int]]:
    cells = []
    for n_e, n_h in GRID_SIZES:
        for x_e in np.unique(np.linspace(0, n_e, 9).round().astype(int)):
            for x_h in np.unique(np.linspace(0, n_h, 9).round().astype(int)):
                cells.append((int(x_e), n_e, int(x_h), n_h))
    return cells


@pytest.mark.parametrize(("x", "n", "lower", "upper"), WILSON_PUBLISHED)
def test_wilson_interval_matches_newcombe_1998a(
    x: int, n: int, lower: float, upper: float
) -> None:
    low, high = wilson_interval(n=n, x=x)

    assert low == pytest.approx(lower, abs=1e-4)
    assert high == pytest.approx(upper, abs=1e-4)


def test_wilson_interval_edges_and_empty() -> None:
    low, high = wilson_interval(n=[0, 20, 20], x=[0, 0, 20])

    assert math.isnan(low[0])
    assert math.isnan(high[0])
    assert low[1] == 0.0
    assert high[2] == 1.0
    # Wilson's closed form at x = 0: z^2 / (n + z^2).
    z2 = stats.norm.isf(0.025) ** 2
    assert high[1] == pytest.approx(z2 / (20 + z2), abs=1e-12)


@pytest.mark.parametrize(
    ("x_e", "n_e", "x_h", "n_h", "lower", "upper"), NEWCOMBE_TABLE_II
)
def test_newcombe_interval_matches_table_ii_method_10(
    x_e: int, n_e: int, x_h: int, n_h: int, lower: float, upper: float
) -> None:
    low, high = newcombe_interval(
        n_exposed=n_e, x_exposed=x_e, n_holdout=n_h, x_holdout=x_h
    )

    assert low == pytest.approx(lower, abs=1e-4)
    assert high == pytest.approx(upper, abs=1e-4)


def test_newcombe_interval_matches_statsmodels_over_grid() -> None:
    # statsmodels.stats.proportion.confint_proportions_2indep(compare="diff",
    # method="newcomb") implements the same method 10.
    for x_e, n_e, x_h, n_h in _grid():
        low, high = newcombe_interval(
            n_exposed=n_e, x_exposed=x_e, n_holdout=n_h, x_holdout=x_h, alpha=0.1
        )
        ref_low, ref_high = confint_proportions_2indep(
            x_e, n_e, x_h, n_h, compare="diff", method="newcomb", alpha=0.1
        )

        assert low == pytest.approx(ref_low, abs=1e-4)
        assert high == pytest.approx(ref_high, abs=1e-4)


def test_newcombe_interval_is_vectorised_and_nan_for_empty_arm() -> None:
    low, high = newcombe_interval(
        n_exposed=np.array([[70, 0]]),
        x_exposed=np.array([[56, 0]]),
        n_holdout=80,
        x_holdout=48,
    )

    assert low.shape == (1, 2)
    assert low[0, 0] == pytest.approx(0.0524, abs=1e-4)
    assert math.isnan(low[0, 1])
    assert math.isnan(high[0, 1])


def test_koopman_interval_matches_koopman_1984_example() -> None:
    # Koopman (1984), Biometrics 40:513, example 36/40 vs 16/80: ratio 4.5,
    # 95% limits 2.940 and 7.152 (also reproduced by Nam 1995, Biom. J.
    # 37:375, and in statsmodels' test_score_confint_koopman_nam).
    low, high = koopman_interval(n_exposed=40, x_exposed=36, n_holdout=80, x_holdout=16)

    assert low == pytest.approx(2.940, abs=5e-4)
    assert high == pytest.approx(7.152, abs=5e-4)


def test_koopman_interval_matches_propcis_riskscoreci() -> None:
    # R PropCIs::riskscoreci(7, 34, 1, 34, 0.95) = 1.220853, 42.575718, as
    # pinned in statsmodels' test_confint_2indep_propcis; Fagerland et al.
    # (2015, Table) report 1.21 to 43 for Koopman on these data.
    low, high = koopman_interval(n_exposed=34, x_exposed=7, n_holdout=34, x_holdout=1)

    assert low == pytest.approx(1.220853, abs=1e-4)
    assert high == pytest.approx(42.575718, abs=1e-4)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning:statsmodels")
def test_koopman_interval_matches_statsmodels_over_grid() -> None:
    # statsmodels confint_proportions_2indep(compare="ratio", method="score",
    # correction=False) is Koopman's uncorrected score interval; its default
    # correction=True adds the Miettinen-Nurminen N / (N - 1) factor.
    # statsmodels' root search fails when a rate is exactly 1 (it returns
    # the point estimate as a bound), so those cells are checked separately.
    checked = 0
    for x_e, n_e, x_h, n_h in _grid():
        if x_e + x_h == 0 or x_e == n_e or x_h == n_h:
            continue
        low, high = koopman_interval(
            n_exposed=n_e, x_exposed=x_e, n_holdout=n_h, x_holdout=x_h
        )
        ref_low, ref_high = confint_proportions_2indep(
            x_e, n_e, x_h, n_h, compare="ratio", method="score", correction=False
        )

        assert low == pytest.approx(ref_low, rel=1e-4, abs=1e-6)
        if x_h == 0:
            assert high == math.inf
        else:
            assert high == pytest.approx(ref_high, rel=1e-4)
        checked += 1
    assert checked > 200


def test_koopman_interval_all_converted_matches_propcis_closed_form() -> None:
    # PropCIs::riskscoreci gives, for x1 = n1 and x2 = n2, the closed form
    # n1 / (n1 + z^2) to (n2 + z^2) / n2.
    z2 = stats.norm.isf(0.025) ** 2
    low, high = koopman_interval(n_exposed=5, x_exposed=5, n_holdout=7, x_holdout=7)

    assert low == pytest.approx(5 / (5 + z2), abs=1e-6)
    assert high == pytest.approx((7 + z2) / 7, abs=1e-6)


def _brute_force_koopman(x_e: int, n_e: int, x_h: int, n_h: int, ratio: float) -> float:
    """The score statistic with the constrained MLE found numerically."""

    def negative_log_likelihood(p_h: float) -> float:
        p_e = ratio * p_h
        return -(stats.binom.logpmf(x_e, n_e, p_e) + stats.binom.logpmf(x_h, n_h, p_h))

    top = min(1.0, 1.0 / ratio)
    fit = optimize.minimize_scalar(
        negative_log_likelihood,
        bounds=(1e-12, top - 1e-12),
        method="bounded",
        options={"xatol": 1e-13},
    )
    p_h = float(fit.x)
    p_e = ratio * p_h
    variance = p_e * (1 - p_e) / n_e + ratio**2 * p_h * (1 - p_h) / n_h
    return (x_e / n_e - ratio * x_h / n_h) ** 2 / variance


@pytest.mark.parametrize(
    ("x_e", "n_e", "x_h", "n_h"), [(5, 5, 3, 7), (2, 5, 7, 7), (40, 40, 64, 80)]
)
def test_koopman_interval_with_a_full_arm_solves_the_score_equation(
    x_e: int, n_e: int, x_h: int, n_h: int
) -> None:
    # Independent check: at each bound the score statistic, with the
    # constrained MLE maximised numerically, equals the chi-square quantile.
    low, high = koopman_interval(
        n_exposed=n_e, x_exposed=x_e, n_holdout=n_h, x_holdout=x_h
    )
    critical = stats.chi2.isf(0.05, 1)

    assert _brute_force_koopman(x_e, n_e, x_h, n_h, low) == pytest.approx(
        critical, rel=1e-4
    )
    assert _brute_force_koopman(x_e, n_e, x_h, n_h, high) == pytest.approx(
        critical, rel=1e-4
    )
    assert low < (x_e / n_e) / (x_h / n_h) < high


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning:statsmodels")
def test_koopman_interval_unbounded_sides() -> None:
    no_holdout = koopman_interval(n_exposed=100, x_exposed=7, n_holdout=30, x_holdout=0)
    no_exposed = koopman_interval(n_exposed=100, x_exposed=0, n_holdout=30, x_holdout=4)
    neither = koopman_interval(n_exposed=100, x_exposed=0, n_holdout=30, x_holdout=0)
    empty = koopman_interval(n_exposed=0, x_exposed=0, n_holdout=30, x_holdout=4)

    assert no_holdout[1] == math.inf
    assert 0 < no_holdout[0] < math.inf
    ref_low, _ = confint_proportions_2indep(
        7, 100, 0, 30, compare="ratio", method="score", correction=False
    )
    assert no_holdout[0] == pytest.approx(ref_low, rel=1e-4)
    assert no_exposed[0] == 0.0
    assert 0 < no_exposed[1] < math.inf
    assert all(math.isnan(bound) for bound in (*neither, *empty))


def test_intervals_reject_invalid_counts() -> None:
    with pytest.raises(ValueError, match="x must be at most n"):
        wilson_interval(n=5, x=6)
    with pytest.raises(ValueError, match="n_holdout must be a whole number >= 0"):
        newcombe_interval(n_exposed=5, x_exposed=1, n_holdout=-1, x_holdout=0)
    with pytest.raises(ValueError, match="alpha must be a number in"):
        koopman_interval(n_exposed=5, x_exposed=1, n_holdout=5, x_holdout=1, alpha=1.5)
