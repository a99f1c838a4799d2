"""Plotly figures for the pages. They draw report figures; they compute none.

Intervals are drawn as error bars or bands. A bound the data cannot fix (an
infinite upper bound of a relative lift over a holdout without conversions)
is drawn to the edge of the axis with an arrow, and the hover text says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from liftlab.results import ArmSummary, DailyLift
from liftlab.stats import Estimate

__all__ = [
    "arm_rates",
    "assist_split",
    "counts",
    "daily_band",
    "days_by_holdout",
    "forest",
    "model_credit",
]

SIGNIFICANT = "#1b7f5b"
NOT_SIGNIFICANT = "#6b7280"
BAND_FIXED = "rgba(37, 99, 235, 0.28)"
BAND_ALWAYS_VALID = "rgba(37, 99, 235, 0.12)"
LINE = "#1d4ed8"
PALETTE = (
    "#1d4ed8", "#0891b2", "#1b7f5b", "#65a30d", "#ca8a04",
    "#ea580c", "#db2777", "#7c3aed",
)  # fmt: skip
HEIGHT_PER_ROW = 44
LAYOUT = {
    "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
    "template": "plotly_white",
    "font": {"size": 13},
}


def forest(
    labels: Sequence[str],
    estimates: Sequence[Estimate],
    *,
    highlight: Sequence[bool],
    title: str,
    axis_title: str,
    scale: float = 100.0,
) -> go.Figure:
    """A forest plot: one row per label, point and interval, a line at zero.

    Args:
        labels: Row labels, top to bottom.
        estimates: Each row's estimate (a fraction; ``scale`` makes percent).
        highlight: Rows drawn in the significant colour.
        title: The figure's title.
        axis_title: The x axis's title.
        scale: Multiplier from the estimate to the axis unit.
    """
    finite = [
        bound * scale
        for estimate in estimates
        for bound in (estimate.lower, estimate.upper, estimate.value)
        if math.isfinite(bound)
    ]
    edge = max([abs(bound) for bound in finite] + [1.0]) * 1.1
    figure = go.Figure()
    for label, estimate, strong in zip(labels, estimates, highlight, strict=True):
        colour = SIGNIFICANT if strong else NOT_SIGNIFICANT
        if not estimate.defined:
            figure.add_trace(
                go.Scatter(
                    x=[0],
                    y=[label],
                    mode="markers",
                    marker={"symbol": "x-open", "size": 10, "color": NOT_SIGNIFICANT},
                    hovertext=f"{label}: undefined ({estimate.reason})",
                    hoverinfo="text",
                    showlegend=False,
                )
            )
            continue
        value = estimate.value * scale
        lower = estimate.lower * scale if math.isfinite(estimate.lower) else -edge
        upper = estimate.upper * scale if math.isfinite(estimate.upper) else edge
        hover = (
            f"{label}: {value:+.1f} [{_bound(estimate.lower, scale)}, "
            f"{_bound(estimate.upper, scale)}]"
        )
        figure.add_trace(
            go.Scatter(
                x=[value],
                y=[label],
                mode="markers",
                marker={"size": 11, "color": colour},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [upper - value],
                    "arrayminus": [value - lower],
                    "color": colour,
                    "thickness": 2.5,
                    "width": 6,
                },
                hovertext=hover,
                hoverinfo="text",
                showlegend=False,
            )
        )
    figure.add_vline(x=0, line={"color": "#111827", "width": 1, "dash": "dot"})
    figure.update_layout(
        title=title,
        height=110 + HEIGHT_PER_ROW * len(labels),
        xaxis={"title": axis_title, "zeroline": False},
        yaxis={"autorange": "reversed", "type": "category"},
        **LAYOUT,
    )
    return figure


def _bound(bound: float, scale: float) -> str:
    if math.isfinite(bound):
        return f"{bound * scale:+.1f}"
    return "unbounded"


def arm_rates(arms: Sequence[ArmSummary], *, title: str) -> go.Figure:
    """Conversion rate per arm with its Wilson interval, as percent bars."""
    names = [arm.arm for arm in arms]
    values = [arm.rate.value * 100 for arm in arms]
    figure = go.Figure(
        go.Bar(
            x=names,
            y=values,
            marker={
                "color": [
                    NOT_SIGNIFICANT if arm.arm == "holdout" else LINE for arm in arms
                ]
            },
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [(arm.rate.upper - arm.rate.value) * 100 for arm in arms],
                "arrayminus": [(arm.rate.value - arm.rate.lower) * 100 for arm in arms],
                "color": "#111827",
            },
            text=[f"{value:.2f}%" for value in values],
            textposition="inside",
            insidetextanchor="start",
            hovertext=[
                f"{arm.arm}: {arm.rate.value:.2%} [{arm.rate.lower:.2%}, "
                f"{arm.rate.upper:.2%}] of {arm.units:,} units"
                for arm in arms
            ],
            hoverinfo="text",
        )
    )
    figure.update_layout(
        title=title, height=320, yaxis={"title": "conversion rate (%)"}, **LAYOUT
    )
    return figure


def daily_band(days: Sequence[DailyLift], *, title: str) -> go.Figure:
    """Cumulative absolute lift by day with the fixed and always-valid bands."""
    x = [day.day for day in days]

    def points(values: Sequence[float]) -> list[float | None]:
        return [value * 100 if math.isfinite(value) else None for value in values]

    figure = go.Figure()
    bands = (
        (
            "always-valid 95% band (safe to look daily)",
            BAND_ALWAYS_VALID,
            [d.always_valid_lower for d in days],
            [d.always_valid_upper for d in days],
        ),
        (
            "fixed 95% interval (valid for one look)",
            BAND_FIXED,
            [d.fixed_lower for d in days],
            [d.fixed_upper for d in days],
        ),
    )
    for name, colour, lower, upper in bands:
        figure.add_trace(
            go.Scatter(
                x=x,
                y=points(upper),
                mode="lines",
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=x,
                y=points(lower),
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=colour,
                name=name,
                hoverinfo="skip",
            )
        )
    figure.add_trace(
        go.Scatter(
            x=x,
            y=points([day.absolute_lift for day in days]),
            mode="lines",
            line={"color": LINE, "width": 2},
            name="cumulative lift",
            hovertemplate="%{x}: %{y:+.2f} points<extra></extra>",
        )
    )
    figure.add_hline(y=0, line={"color": "#111827", "width": 1, "dash": "dot"})
    figure.update_layout(
        title=title,
        height=360,
        yaxis={"title": "absolute lift (percentage points)"},
        xaxis={"title": "day of first entry"},
        legend={"orientation": "h", "y": -0.25},
        **LAYOUT,
    )
    return figure


def days_by_holdout(
    percents: Sequence[float], days: Sequence[int | None], *, chosen: float, title: str
) -> go.Figure:
    """Days a test needs at each holdout percent, the chosen one marked."""
    figure = go.Figure(
        go.Scatter(
            x=list(percents),
            y=list(days),
            mode="lines+markers",
            line={"color": LINE},
            hovertemplate="%{x:g}% holdout: about %{y:,} days<extra></extra>",
            showlegend=False,
        )
    )
    figure.add_vline(x=chosen, line={"color": SIGNIFICANT, "dash": "dot"})
    figure.update_layout(
        title=title,
        height=320,
        xaxis={"title": "holdout (%)"},
        yaxis={"title": "days to detect", "rangemode": "tozero"},
        **LAYOUT,
    )
    return figure


def model_credit(
    states: Sequence[str], credit: dict[str, dict[str, float]], *, title: str
) -> go.Figure:
    """Credited conversions per state, one bar per model, grouped by state.

    Args:
        states: The states (channels, ``sms:<flow>``), in axis order.
        credit: Per model, its credited conversions per state.
        title: The figure's title.
    """
    figure = go.Figure()
    for index, (model, shares) in enumerate(credit.items()):
        figure.add_trace(
            go.Bar(
                name=model,
                x=list(states),
                y=[shares.get(state, 0.0) for state in states],
                marker={"color": PALETTE[index % len(PALETTE)]},
                hovertemplate=f"{model}, %{{x}}: %{{y:,.0f}}<extra></extra>",
            )
        )
    figure.update_layout(
        title=title,
        barmode="group",
        height=420,
        yaxis={"title": "credited conversions"},
        legend={"orientation": "h", "y": -0.3},
        **LAYOUT,
    )
    return figure


def assist_split(
    keys: Sequence[str],
    click: Sequence[int],
    view: Sequence[int],
    last_touch: Sequence[int],
    *,
    title: str,
) -> go.Figure:
    """Click- and view-assisted conversions stacked, last-touch beside them
    (the two overlap, so they are never stacked together)."""
    figure = go.Figure()
    for name, values, colour, group in (
        ("click-assisted", click, LINE, "assisted"),
        ("view-assisted", view, "#93c5fd", "assisted"),
        ("last touch", last_touch, NOT_SIGNIFICANT, "last"),
    ):
        figure.add_trace(
            go.Bar(
                name=name,
                y=list(keys),
                x=list(values),
                orientation="h",
                offsetgroup=group,
                marker={"color": colour},
                hovertemplate=f"%{{y}}: %{{x:,}} {name}<extra></extra>",
            )
        )
    figure.update_layout(
        title=title,
        barmode="relative",
        height=140 + 2 * HEIGHT_PER_ROW * len(keys),
        xaxis={"title": "conversions"},
        yaxis={"autorange": "reversed", "type": "category"},
        legend={"orientation": "h", "y": -0.25},
        **LAYOUT,
    )
    return figure


def counts(
    labels: Sequence[str], values: Sequence[int], *, title: str, axis_title: str
) -> go.Figure:
    """A histogram already counted: conversions per bucket, in label order."""
    figure = go.Figure(
        go.Bar(
            x=list(labels),
            y=list(values),
            marker={"color": LINE},
            hovertemplate="%{x}: %{y:,} conversions<extra></extra>",
        )
    )
    figure.update_layout(
        title=title,
        height=320,
        xaxis={"title": axis_title, "type": "category"},
        yaxis={"title": "conversions"},
        **LAYOUT,
    )
    return figure
