"""Experiments as code: holdout specs in TOML, validated and applied.

``specs`` parses and validates ``experiments/*.toml``; ``apply`` writes them to
the store with an audited change log.
"""

from __future__ import annotations

from liftlab.experiments.apply import ApplyResult, FieldChange, FlowPlan, apply_specs
from liftlab.experiments.specs import (
    GLOBAL_KEY,
    ExperimentSpec,
    FlowSpec,
    GlobalSpec,
    LoadedSpec,
    SpecError,
    SpecProblem,
    load_specs,
    parse_spec,
)

__all__ = [
    "GLOBAL_KEY",
    "ApplyResult",
    "ExperimentSpec",
    "FieldChange",
    "FlowPlan",
    "FlowSpec",
    "GlobalSpec",
    "LoadedSpec",
    "SpecError",
    "SpecProblem",
    "apply_specs",
    "load_specs",
    "parse_spec",
]
