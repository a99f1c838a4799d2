"""Assist metrics from the warehouse's aggregates.

The counts are computed in the warehouse (:mod:`liftlab.attribution.paths`);
this module turns their frames into :class:`AssistMetrics`, top paths and
histograms, and derives the ratios and means.
"""

from __future__ import annotations

import math

import pandas as pd

from liftlab.attribution.types import AssistMetrics, PathCount, PathLength, TimeLag

__all__ = ["assist_metrics", "path_lengths", "time_lags", "top_paths"]

_DAY = 86_400.0


def _ratio(top: float, bottom: float) -> float:
    return top / bottom if bottom else math.nan


def assist_metrics(
    frame: pd.DataFrame, *, by_type: bool = False, by_segment: bool = False
) -> tuple[AssistMetrics, ...]:
    """One :class:`AssistMetrics` per row of summed figures.

    Rows are summed over conversion types unless ``by_type``.
    """
    if frame.empty:
        return ()
    groups = ["dimension", "key"]
    if by_type:
        groups.append("conversion_type")
    if by_segment:
        groups = ["segment_dimension", "segment", *groups]
    numbers = [
        "conversions", "value", "assisted", "assisted_value", "click_assisted",
        "view_assisted", "last_touch", "last_touch_value", "lag_seconds",
        "path_touches",
    ]  # fmt: skip
    summed = frame.groupby(groups, dropna=False)[numbers].sum().reset_index()
    summed = summed.sort_values(
        [*groups[:-1], "conversions"], ascending=[True] * (len(groups) - 1) + [False]
    )
    rows = []
    for row in summed.itertuples(index=False):
        count = float(row.conversions)
        rows.append(
            AssistMetrics(
                dimension=str(row.dimension),
                key=str(row.key),
                conversion_type=str(row.conversion_type) if by_type else None,
                segment_dimension=str(row.segment_dimension) if by_segment else None,
                segment=str(row.segment) if by_segment else None,
                conversions=round(count),
                value=float(row.value),
                assisted=round(row.assisted),
                assisted_value=float(row.assisted_value),
                click_assisted=round(row.click_assisted),
                view_assisted=round(row.view_assisted),
                last_touch=round(row.last_touch),
                last_touch_value=float(row.last_touch_value),
                assist_ratio=_ratio(row.assisted, row.last_touch),
                mean_lag_days=_ratio(row.lag_seconds / _DAY, count),
                mean_path_length=_ratio(row.path_touches, count),
            )
        )
    return tuple(rows)


def top_paths(paths: pd.DataFrame, count: int) -> tuple[PathCount, ...]:
    """The ``count`` paths with most conversions (ties by path)."""
    converting = paths[paths["conversions"] > 0]
    ranked = converting.sort_values(["conversions", "path"], ascending=[False, True])
    return tuple(
        PathCount(
            path=str(row.path),
            conversions=round(row.conversions),
            value=float(row.value),
            nulls=round(row.nulls),
        )
        for row in ranked.head(count).itertuples(index=False)
    )


def time_lags(frame: pd.DataFrame) -> tuple[TimeLag, ...]:
    """Time-lag histogram rows, ordered by dimension, key and day."""
    if frame.empty:
        return ()
    ordered = frame.sort_values(["dimension", "key", "days"])
    return tuple(
        TimeLag(str(row.dimension), str(row.key), int(row.days), round(row.conversions))
        for row in ordered.itertuples(index=False)
    )


def path_lengths(frame: pd.DataFrame) -> tuple[PathLength, ...]:
    """Path-length histogram rows, shortest first."""
    if frame.empty:
        return ()
    ordered = frame.sort_values("touches")
    return tuple(
        PathLength(int(row.touches), round(row.conversions))
        for row in ordered.itertuples(index=False)
    )
