"""A flow's lift report: spec, warehouse statistics and the maths in one place.

The report compares the exposed arm (or each exposed variant) with the
flow's holdout, among units outside the global holdout, in the flow's
current randomisation epoch, counting only units whose conversion window
has closed. Every figure carries its interval; a figure that cannot be
computed is NaN with the reason, never a number that looks real.

``types`` holds the result objects, ``build`` makes them, ``sections`` the
split check, daily band, segments and guardrails.
"""

from __future__ import annotations

from liftlab.results.build import build_reports, overview
from liftlab.results.types import (
    ArmSummary,
    DailyLift,
    FlowReport,
    Guardrail,
    OverviewRow,
    ReportError,
    SegmentLift,
    VariantResult,
)

__all__ = [
    "ArmSummary",
    "DailyLift",
    "FlowReport",
    "Guardrail",
    "OverviewRow",
    "ReportError",
    "SegmentLift",
    "VariantResult",
    "build_reports",
    "overview",
]
