"""Holm and Benjamini-Hochberg adjusted p-values against statsmodels and
their definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from liftlab.stats import adjust_p_values, benjamini_hochberg, holm

P_VALUES = np.array([0.01, 0.04, 0.03, 0.005, 0.20, 0.04, 0.65])


@pytest.mark.parametrize("seed", range(5))
def test_holm_matches_statsmodels(seed: int) -> None:
    raw = np.random.default_rng(seed).beta(0.4, 1.0, 25)

    _, reference, _, _ = multipletests(raw, method="holm")

    np.testing.assert_allclose(holm(raw), reference, rtol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_benjamini_hochberg_matches_statsmodels(seed: int) -> None:
    raw = np.random.default_rng(seed).beta(0.4, 1.0, 25)

    _, reference, _, _ = multipletests(raw, method="fdr_bh")

    np.testing.assert_allclose(benjamini_hochberg(raw), reference, rtol=1e-12)


def test_holm_changes_p_values_as_defined() -> None:
    adjusted = holm(P_VALUES)

    # Smallest of m = 7 is multiplied by 7, the next by 6, and so on, with
    # a running maximum (the second 0.04 keeps 0.16, not 0.04 * 3).
    assert adjusted[3] == pytest.approx(0.005 * 7)
    assert adjusted[0] == pytest.approx(0.01 * 6)
    assert adjusted[2] == pytest.approx(0.03 * 5)
    assert adjusted[1] == pytest.approx(0.04 * 4)
    assert adjusted[5] == pytest.approx(0.04 * 4)
    assert adjusted[4] == pytest.approx(0.20 * 2)
    assert adjusted[6] == pytest.approx(0.65)
    assert np.all(adjusted >= P_VALUES)
    assert np.any(adjusted > P_VALUES)
    # 1 caps the adjusted values.
    np.testing.assert_array_equal(holm([0.6, 0.7]), [1.0, 1.0])


def test_benjamini_hochberg_changes_p_values_as_defined() -> None:
    adjusted = benjamini_hochberg(P_VALUES)

    # m / rank * p, then the running minimum from the largest p down.
    assert adjusted[3] == pytest.approx(min(0.005 * 7, 0.01 * 7 / 2))
    assert adjusted[0] == pytest.approx(0.01 * 7 / 2)
    assert adjusted[2] == pytest.approx(0.04 * 7 / 5)
    assert adjusted[1] == pytest.approx(0.04 * 7 / 5)
    assert adjusted[4] == pytest.approx(0.20 * 7 / 6)
    assert adjusted[6] == pytest.approx(0.65)
    assert np.all(adjusted >= P_VALUES)
    assert np.all(adjusted <= holm(P_VALUES) + 1e-15)
    assert np.any(adjusted < holm(P_VALUES))


def test_adjustment_leaves_nan_out_of_the_family() -> None:
    with_nan = adjust_p_values([0.01, math.nan, 0.02], method="holm")

    assert math.isnan(with_nan[1])
    assert with_nan[0] == pytest.approx(0.02)
    assert with_nan[2] == pytest.approx(0.02)
    np.testing.assert_allclose(
        adjust_p_values([0.01, math.nan, 0.02], method="benjamini_hochberg")[[0, 2]],
        [0.02, 0.02],
    )


def test_adjustment_of_a_single_or_no_p_value() -> None:
    assert holm([0.03])[0] == pytest.approx(0.03)
    assert benjamini_hochberg([]).size == 0


def test_adjustment_rejects_invalid_input() -> None:
    with pytest.raises(ValueError, match=r"p_values must be numbers in \[0, 1\]"):
        holm([0.5, 1.5])
    with pytest.raises(ValueError, match="method must be 'holm' or"):
        adjust_p_values([0.5], method="bonferroni")  # type: ignore[arg-type]
