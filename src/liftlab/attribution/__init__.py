"""Path-based assists and attribution models, beside what the holdout says.

Where things live:

- ``settings``: :class:`AttributionSettings` (lookback, windows, models) and
  :class:`AttributionError` for bad options;
- ``paths``: conversion paths built where the data lives (Ibis), read back
  as aggregates only;
- ``metrics``: assisted, click- and view-assisted, last-touch conversions,
  assist ratio, time lag, path length, top paths;
- ``models``: pure models over a path table (heuristics, Markov removal
  effect solved exactly, Shapley);
- ``causation``: a flow's credit beside its incremental conversions;
- ``report``: :func:`build_assists` and flat rows for tables and CSV.

Typical use::

    from liftlab.attribution import AttributionSettings, build_assists
    from liftlab.warehouse import connect

    with connect() as warehouse:
        report = build_assists(warehouse, AttributionSettings(lookback_days=30))
    report.metric("flow", "abandoned_cart").assisted
"""

from __future__ import annotations

from liftlab.attribution.causation import credit_ratio, credit_vs_causation
from liftlab.attribution.models import ModelCredit, Paths
from liftlab.attribution.report import (
    assist_rows,
    build_assists,
    causation_rows,
    model_rows,
)
from liftlab.attribution.settings import MODELS, AttributionError, AttributionSettings
from liftlab.attribution.types import (
    AssistMetrics,
    AssistsReport,
    CreditVsCausation,
    PathCount,
    PathLength,
    TimeLag,
)

__all__ = [
    "MODELS",
    "AssistMetrics",
    "AssistsReport",
    "AttributionError",
    "AttributionSettings",
    "CreditVsCausation",
    "ModelCredit",
    "PathCount",
    "PathLength",
    "Paths",
    "TimeLag",
    "assist_rows",
    "build_assists",
    "causation_rows",
    "credit_ratio",
    "credit_vs_causation",
    "model_rows",
]
