"""Assists: what conversion paths credit SMS with, beside what it caused.

Every figure is the attribution engine's (``liftlab.attribution``): the
assists report for the chosen lookback and options, and each flow's credit
set beside its holdout's incremental conversions.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from liftlab.attribution import (
    MODELS,
    AssistsReport,
    AttributionError,
    AttributionSettings,
    CreditVsCausation,
    credit_vs_causation,
)
from liftlab.ui import charts, text
from liftlab.ui.data_access import (
    DataVersion,
    data_version,
    flows,
    load_assists,
    load_reports,
)
from liftlab.ui.export import assists_csv

__all__ = ["render", "settings_from_controls"]

DEFAULTS = AttributionSettings()
VERDICTS = {
    "credit_exceeds_causation": "credit exceeds causation",
    "credit_below_causation": "credit below causation",
    "consistent": "consistent",
    "undetermined": "undetermined",
}


def settings_from_controls(
    *, lookback_days: int, collapse_repeats: bool, markov_order: int
) -> AttributionSettings:
    """The settings the controls ask for, every other option at its default.

    Raises:
        AttributionError: A value out of range, with the option named.
    """
    return AttributionSettings(
        lookback_days=lookback_days,
        collapse_repeats=collapse_repeats,
        markov_order=markov_order,
    )


def render() -> None:
    """Draw the page."""
    st.title("Assists")
    st.caption(
        "Was SMS on the path? Each conversion's touches within the lookback "
        "are its path; SMS *assists* when it is on the path before the final "
        "touch and gets *last-touch* credit when it is the final touch. The "
        "two overlap, so they are never added. Beside them, what each flow's "
        "holdout says the texts caused."
    )
    version = data_version()
    settings, shown_models = _controls()
    if settings is None:
        return
    report = load_assists(version, None if settings == DEFAULTS else settings)
    _windows(version, report)
    if report.conversions == 0:
        st.info("No conversions yet: import conversions and touches on the Data page.")
        return

    _scope(report)
    loaded = load_reports(version)
    comparison = credit_vs_causation(report, list(loaded.reports.values()))
    _causation(comparison)
    _split(report)
    _models(report, shown_models)
    _paths(report)
    _distributions(report)
    for note in report.notes:
        st.caption(f"Note: {note}")
    st.download_button(
        "Download assists, models and credit beside causation as CSV",
        assists_csv(report, comparison),
        file_name="liftlab_assists.csv",
        mime="text/csv",
    )


def _controls() -> tuple[AttributionSettings | None, list[str]]:
    columns = st.columns([1, 1, 2])
    lookback = columns[0].number_input(
        "Lookback (days)",
        min_value=1,
        max_value=90,
        value=DEFAULTS.lookback_days,
        step=1,
        key="assists_lookback",
        help="Touches this many days before a conversion are on its path.",
    )
    order = columns[1].selectbox(
        "Markov order",
        [1, 2, 3, 4],
        index=DEFAULTS.markov_order - 1,
        key="assists_markov_order",
        help="How many past states the Markov chain remembers.",
    )
    models = columns[2].multiselect(
        "Models to compare",
        list(MODELS),
        default=list(DEFAULTS.models),
        key="assists_models",
    )
    collapse = st.toggle(
        "Collapse repeated touches of one channel in the models' paths",
        value=DEFAULTS.collapse_repeats,
        key="assists_collapse",
        help="Assisted and last-touch figures always read every touch.",
    )
    try:
        settings = settings_from_controls(
            lookback_days=int(lookback),
            collapse_repeats=bool(collapse),
            markov_order=int(order),
        )
    except AttributionError as error:
        st.error(str(error))
        return None, models
    return settings, models


def _windows(version: DataVersion, report: AssistsReport) -> None:
    used = report.settings
    types = ", ".join(used.conversion_types) if used.conversion_types else "all"
    left, right = st.columns([3, 2])
    left.markdown(
        f"**Settings used.** Lookback **{used.lookback_days} days**; conversion "
        f"types: {types}; repeats {'collapsed' if used.collapse_repeats else 'kept'}"
        f" in the models' paths; Markov order {used.markov_order}; time decay "
        f"half-life {used.half_life_days:g} days; position weights "
        f"{'/'.join(f'{share:.0%}' for share in used.position_weights)}. An SMS "
        f"delivery (view) stays eligible for its flow's view window and a click "
        f"for its click window; touches without a flow take "
        f"{used.view_window_hours:g} h and {used.click_window_hours:g} h."
    )
    windows = pd.DataFrame(
        [
            {
                "flow": flow.key,
                "view window (h)": f"{flow.view_window_hours:g}",
                "click window (h)": f"{flow.click_window_hours:g}",
            }
            for flow in flows(version)
            if flow.kind == "flow"
        ]
    )
    if not windows.empty:
        right.dataframe(windows, hide_index=True, key="assists_windows")


def _scope(report: AssistsReport) -> None:
    columns = st.columns(4)
    columns[0].metric("Conversions", text.count(report.conversions))
    columns[1].metric(
        "On a path",
        text.count(report.conversions_with_path),
        help="Conversions with at least one eligible touch; no model credits "
        "the others.",
    )
    columns[2].metric("Distinct paths", text.count(report.distinct_paths))
    columns[3].metric(
        "Non-converting journeys",
        text.count(report.non_converting_journeys),
        help="Touches after a unit's last conversion; Markov and Shapley read them.",
    )


def _causation(comparison: tuple[CreditVsCausation, ...]) -> None:
    st.subheader("Credit beside causation")
    if not comparison:
        st.caption("No flow has a lift report to compare with yet.")
        return
    rows = [
        {
            "flow": row.flow,
            "type": row.conversion_type,
            "SMS-influenced": text.count(row.influenced),
            "assisted": text.count(row.assisted),
            "last touch": text.count(row.last_touch),
            "incremental (95% CI)": text.interval(row.incremental_conversions),
            "assisted ÷ incr. (95% CI)": text.ratio(row.assisted_ratio),
            "last touch ÷ incr. (95% CI)": text.ratio(row.last_touch_ratio),
            "verdict": VERDICTS.get(row.verdict, row.verdict),
        }
        for row in comparison
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="causation_table")
    for row in comparison:
        box = st.warning if row.verdict == "credit_exceeds_causation" else st.info
        box(row.summary, icon=":material/compare_arrows:")
    st.caption(
        "Credit counts conversions of the flow's type with its SMS on the path; "
        "the incremental conversions are the holdout's, within each entrant's "
        "conversion window. A ratio of 5 means five credited conversions per "
        "caused one; its interval is the incremental interval inverted, with "
        "no upper bound when that interval includes zero."
    )


def _split(report: AssistsReport) -> None:
    st.subheader("Assisted and last-touch conversions by flow")
    rows = [row for row in report.metrics if row.dimension == "flow"]
    if not rows:
        st.caption("No SMS touch of a flow is on any path.")
        return
    st.plotly_chart(
        charts.assist_split(
            [row.key for row in rows],
            [row.click_assisted for row in rows],
            [row.view_assisted for row in rows],
            [row.last_touch for row in rows],
            title="Click- and view-assisted conversions, and last-touch ones",
        ),
        key="assist_split",
    )
    table = pd.DataFrame(
        [
            {
                "dimension": row.dimension,
                "key": row.key,
                "on path": text.count(row.conversions),
                "assisted": text.count(row.assisted),
                "click-assisted": text.count(row.click_assisted),
                "view-assisted": text.count(row.view_assisted),
                "last touch": text.count(row.last_touch),
                "assist ratio": text.number(row.assist_ratio, kind="ratio"),
                "mean lag (days)": _tenths(row.mean_lag_days),
                "mean path length": _tenths(row.mean_path_length),
                "value on path": text.money(row.value),
            }
            for row in report.metrics
            if row.dimension in ("flow", "channel")
        ]
    )
    st.dataframe(table, hide_index=True, key="assists_table")
    st.caption(
        "All conversion types. Assist ratio: assisted over last-touch "
        "conversions, near 0 for a closer and above 1 for an assister."
    )


def _tenths(value: float) -> str:
    return "undefined" if math.isnan(value) else f"{value:,.1f}"


def _models(report: AssistsReport, shown: list[str]) -> None:
    st.subheader("Model comparison")
    models = [credit for credit in report.models if credit.model in shown]
    if not models:
        st.caption("Choose at least one model above.")
        return
    states = sorted({state for credit in models for state in credit.channels})
    credit = {item.model: item.credit() for item in models}
    st.plotly_chart(
        charts.model_credit(
            states, credit, title="Credited conversions by channel, per model"
        ),
        key="model_credit",
    )
    table = pd.DataFrame(
        [
            {"state": state}
            | {
                model: text.count(shares.get(state, 0.0))
                for model, shares in credit.items()
            }
            for state in states
        ]
    )
    st.dataframe(table, hide_index=True, key="models_table")
    for item in models:
        if item.note:
            st.caption(f"{item.model}: {item.note}")
    st.caption(
        "Every model shares out the same conversions on a path. Markov: "
        "removal effect (Anderl et al. 2016), solved exactly; Shapley: Zhao "
        "et al. 2018. Value is credited in the same shares."
    )


def _paths(report: AssistsReport) -> None:
    st.subheader("Top conversion paths")
    if not report.top_paths:
        st.caption("No converting path.")
        return
    table = pd.DataFrame(
        [
            {
                "path": item.path,
                "conversions": text.count(item.conversions),
                "value": text.money(item.value),
                "non-converting": text.count(item.nulls),
            }
            for item in report.top_paths
        ]
    )
    st.dataframe(table, hide_index=True, key="paths_table")


def _distributions(report: AssistsReport) -> None:
    left, right = st.columns(2)
    lengths = report.path_length
    last = max((item.touches for item in lengths), default=0)
    left.plotly_chart(
        charts.counts(
            [
                f"{item.touches}+"
                if item.touches == last and last >= 12
                else str(item.touches)
                for item in lengths
            ],
            [item.conversions for item in lengths],
            title="Path length",
            axis_title="touches on the path",
        ),
        key="path_length",
    )
    keys = sorted(
        {(lag.dimension, lag.key) for lag in report.time_lag},
        key=lambda pair: (pair[0] != "channel" or pair[1] != "sms", pair),
    )
    if not keys:
        right.caption("No time lag: no conversion has a path.")
        return
    dimension, key = right.selectbox(
        "Time lag of",
        keys,
        format_func=lambda pair: f"{pair[0]}: {pair[1]}",
        key="assists_lag_key",
    )
    lags = [
        lag for lag in report.time_lag if (lag.dimension, lag.key) == (dimension, key)
    ]
    right.plotly_chart(
        charts.counts(
            [f"{lag.days}+" if lag.days >= 30 else str(lag.days) for lag in lags],
            [lag.conversions for lag in lags],
            title=f"Time lag, {dimension} {key}",
            axis_title="days from the first touch to the conversion",
        ),
        key="time_lag",
    )
