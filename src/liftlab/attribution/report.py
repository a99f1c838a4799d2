"""Build the assists report: paths in the warehouse, metrics and models on
the aggregates, and flat rows for tables and CSV."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from liftlab.attribution import models as m
from liftlab.attribution.metrics import (
    assist_metrics,
    path_lengths,
    time_lags,
    top_paths,
)
from liftlab.attribution.paths import PathFrames, path_frames
from liftlab.attribution.settings import AttributionSettings
from liftlab.attribution.types import AssistsReport, CreditVsCausation
from liftlab.warehouse import Warehouse

__all__ = [
    "assist_rows",
    "build_assists",
    "causation_rows",
    "model_rows",
    "run_model",
]

logger = logging.getLogger(__name__)


def run_model(
    name: str, paths: m.Paths, frames: PathFrames, settings: AttributionSettings
) -> m.ModelCredit:
    """One model's credit. Time decay reads the warehouse's decay sums; the
    others read the path table."""
    if name == "last":
        return m.last_touch(paths)
    if name == "last_non_direct":
        return m.last_non_direct(paths, direct=settings.direct_channels)
    if name == "first":
        return m.first_touch(paths)
    if name == "linear":
        return m.linear(paths)
    if name == "position":
        return m.position_based(paths, weights=settings.position_weights)
    if name == "markov":
        return m.markov(paths, order=settings.markov_order)
    if name == "shapley":
        return m.shapley(paths)
    decay = frames.decay
    return m.ModelCredit.from_totals(
        "time_decay",
        dict(zip(decay["state"], decay["conversions"], strict=True)),
        dict(zip(decay["state"], decay["value"], strict=True)),
    )


def build_assists(
    warehouse: Warehouse,
    settings: AttributionSettings | None = None,
    *,
    flows: list[str] | None = None,
) -> AssistsReport:
    """Paths, assist metrics and every model's credit in one run.

    Args:
        warehouse: Where the touches, conversions, messages and flows are.
        settings: How paths are built and credited; defaults otherwise.
        flows: Only these flows' rows in the flow metrics and only their
            SMS states in the models' credit (paths keep every touch).
    """
    settings = settings or AttributionSettings()
    frames = path_frames(warehouse, settings)
    paths = frames.paths
    credits = tuple(
        run_model(name, paths, frames, settings) for name in settings.models
    )
    if flows is not None:
        credits = tuple(_only_flows(credit, flows) for credit in credits)

    metrics = assist_metrics(frames.keys)
    by_type = assist_metrics(frames.keys, by_type=True)
    segments = assist_metrics(frames.segments, by_segment=True)
    if flows is not None:
        metrics, by_type, segments = (
            tuple(row for row in rows if row.dimension != "flow" or row.key in flows)
            for rows in (metrics, by_type, segments)
        )

    total = round(frames.totals["conversions"])
    with_path = round(frames.totals["with_path"])
    notes = []
    if total > with_path:
        notes.append(
            f"{total - with_path:,} of {total:,} conversions had no eligible touch "
            f"in the {settings.lookback_days}-day lookback: they have no path and "
            "no model credits them"
        )
    if total == 0:
        notes.append("no conversions to attribute")
    logger.info("assists: %d conversions, %d with a path", total, with_path)
    return AssistsReport(
        settings=settings,
        conversions=total,
        conversions_with_path=with_path,
        value=frames.totals["value"],
        distinct_paths=len(paths.lengths),
        non_converting_journeys=round(float(paths.nulls.sum())),
        metrics=metrics,
        by_type=by_type,
        segments=segments,
        top_paths=top_paths(frames.top_paths, settings.top_paths),
        time_lag=time_lags(frames.lags),
        path_length=path_lengths(frames.lengths),
        models=credits,
        notes=tuple(notes),
    )


def _only_flows(credit: m.ModelCredit, flows: list[str]) -> m.ModelCredit:
    wanted = {f"sms:{flow}" for flow in flows}
    keep = [
        i
        for i, state in enumerate(credit.channels)
        if not state.startswith("sms:") or state in wanted
    ]
    effects = credit.removal_effects
    return m.ModelCredit(
        model=credit.model,
        channels=tuple(credit.channels[i] for i in keep),
        conversions=tuple(credit.conversions[i] for i in keep),
        value=tuple(credit.value[i] for i in keep),
        removal_effects=None if effects is None else tuple(effects[i] for i in keep),
        conversion_probability=credit.conversion_probability,
        note=credit.note,
    )


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def assist_rows(report: AssistsReport) -> list[dict[str, Any]]:
    """One row per channel, flow and campaign (all conversion types)."""
    return [
        {
            "dimension": row.dimension,
            "key": row.key,
            "conversions": row.conversions,
            "value": round(row.value, 2),
            "assisted": row.assisted,
            "click_assisted": row.click_assisted,
            "view_assisted": row.view_assisted,
            "assisted_value": round(row.assisted_value, 2),
            "last_touch": row.last_touch,
            "last_touch_value": round(row.last_touch_value, 2),
            "assist_ratio": _number(row.assist_ratio),
            "mean_lag_days": _number(row.mean_lag_days),
            "mean_path_length": _number(row.mean_path_length),
        }
        for row in report.metrics
    ]


def model_rows(report: AssistsReport, model: str | None = None) -> list[dict[str, Any]]:
    """One row per model and state: credited conversions and value (and the
    removal effect for Markov)."""
    rows = []
    for credit in report.models:
        if model is not None and credit.model != model:
            continue
        effects = credit.removal_effects or (None,) * len(credit.channels)
        for state, conversions, value, effect in zip(
            credit.channels, credit.conversions, credit.value, effects, strict=True
        ):
            rows.append(
                {
                    "model": credit.model,
                    "state": state,
                    "conversions": float(np.round(conversions, 6)),
                    "value": float(np.round(value, 2)),
                    "removal_effect": None if effect is None else float(effect),
                }
            )
    return rows


def causation_rows(rows: tuple[CreditVsCausation, ...]) -> list[dict[str, Any]]:
    """One row per flow: credit, incremental conversions and the ratios."""
    flat = []
    for row in rows:
        incremental = row.incremental_conversions
        flat.append(
            {
                "flow": row.flow,
                "conversion_type": row.conversion_type,
                "influenced": row.influenced,
                "assisted": row.assisted,
                "last_touch": row.last_touch,
                "incremental_conversions": _number(incremental.value),
                "incremental_lower": _number(incremental.lower),
                "incremental_upper": _number(incremental.upper),
                "assisted_ratio": _number(row.assisted_ratio.value),
                "assisted_ratio_lower": _number(row.assisted_ratio.lower),
                "assisted_ratio_upper": _number(row.assisted_ratio.upper),
                "last_touch_ratio": _number(row.last_touch_ratio.value),
                "ratio_reason": row.assisted_ratio.reason or "",
                "verdict": row.verdict,
            }
        )
    return flat
