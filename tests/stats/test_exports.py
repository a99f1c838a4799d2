"""The curated public API of liftlab.stats and its shared result type."""

from __future__ import annotations

import dataclasses
import importlib
import math
import pkgutil

import pytest

import liftlab.stats
from liftlab.stats import Estimate, Undefined


def test_all_re_exports_every_public_name_of_every_module() -> None:
    exported = set(liftlab.stats.__all__)
    for module_info in pkgutil.iter_modules(liftlab.stats.__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"liftlab.stats.{module_info.name}")
        missing = set(module.__all__) - exported
        assert not missing, f"{module_info.name} names not re-exported: {missing}"

    assert len(liftlab.stats.__all__) == len(exported)
    for name in liftlab.stats.__all__:
        assert getattr(liftlab.stats, name) is not None


def test_results_are_frozen() -> None:
    result = liftlab.stats.compare_rates(
        n_exposed=100, x_exposed=10, n_holdout=100, x_holdout=5
    )

    with pytest.raises(dataclasses.FrozenInstanceError):
        result.p_value = 0.5  # type: ignore[misc]


def test_estimate_helpers() -> None:
    missing = Estimate.undefined(Undefined.NO_HOLDOUT_CONVERSIONS)
    positive = Estimate(0.02, 0.005, 0.035)
    unbounded = Estimate(math.nan, 0.4, math.inf, Undefined.NO_HOLDOUT_CONVERSIONS)

    assert not missing.defined
    assert missing.reason == "no holdout conversions"
    assert not missing.excludes(0.0)
    assert positive.defined
    assert positive.excludes(0.0)
    assert not positive.excludes(0.01)
    assert unbounded.excludes(0.0)
