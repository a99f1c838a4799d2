"""Planner: entrants and days a holdout needs to detect a lift."""

from __future__ import annotations

import streamlit as st

from liftlab.stats import plan_sample_size
from liftlab.ui import charts, power
from liftlab.ui.data_access import data_version, load_reports

__all__ = ["render"]

CURVE_PERCENTS = (2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0)
DEFAULTS = {
    "plan_baseline": 5.0,
    "plan_lift": 10.0,
    "plan_holdout": 10.0,
    "plan_daily": 2000.0,
    "plan_power": 80,
    "plan_alpha": 0.05,
}


def render() -> None:
    """Draw the page."""
    st.title("Planner")
    st.write(
        "How many flow entrants, and how many days, a holdout needs before a "
        "lift of a given size shows as significant. Small holdouts on low "
        "conversion rates need far more entrants than most expect."
    )
    for name, value in DEFAULTS.items():
        st.session_state.setdefault(name, value)
    _fill_from_flow()

    left, middle, right = st.columns(3)
    baseline = left.number_input(
        "Conversion rate without texts (%)",
        min_value=0.01,
        max_value=99.0,
        step=0.5,
        key="plan_baseline",
    )
    lift = middle.number_input(
        "Relative lift to detect (%)",
        min_value=0.5,
        max_value=500.0,
        step=1.0,
        key="plan_lift",
    )
    holdout = right.number_input(
        "Holdout (%)", min_value=0.5, max_value=99.0, step=1.0, key="plan_holdout"
    )
    daily = left.number_input(
        "Entries a day (after the global holdout)",
        min_value=1.0,
        step=100.0,
        key="plan_daily",
    )
    wanted = middle.select_slider(
        "Power",
        options=[70, 75, 80, 85, 90, 95],
        key="plan_power",
        format_func=lambda value: f"{value}%",
    )
    alpha = right.select_slider(
        "Significance level (two-sided)", options=[0.01, 0.05, 0.10], key="plan_alpha"
    )

    try:
        plan = plan_sample_size(
            baseline_rate=baseline / 100,
            minimum_relative_lift=lift / 100,
            holdout_percent=holdout,
            alpha=alpha,
            power=wanted / 100,
            daily_entries=daily,
        )
    except ValueError as error:
        st.error(str(error))
        return
    st.success(
        f"To detect a {lift:g}% relative lift on a {baseline:g}% baseline with "
        f"{wanted}% power at a {holdout:g}% holdout: **{plan.units_total:,} "
        f"entrants** ({plan.units_holdout:,} held out). At {daily:,.0f} entries a "
        f"day: **about {plan.days:,} days**."
    )
    if plan.warning:
        st.warning(plan.warning)

    days = []
    for percent in CURVE_PERCENTS:
        days.append(
            plan_sample_size(
                baseline_rate=baseline / 100,
                minimum_relative_lift=lift / 100,
                holdout_percent=percent,
                alpha=alpha,
                power=wanted / 100,
                daily_entries=daily,
            ).days
        )
    st.plotly_chart(
        charts.days_by_holdout(
            CURVE_PERCENTS,
            days,
            chosen=holdout,
            title="Days to detect the lift, by holdout size",
        ),
        key="days_by_holdout",
    )
    st.caption(
        "Sizes are for the score test the reports use (Fleiss, Levin and Paik "
        "2003, ch. 4); the common shortcut that uses the baseline variance in "
        "both arms asks for about 6% fewer entrants and falls short of the "
        "power wanted. A larger holdout shortens the test but texts fewer "
        "customers."
    )


def _fill_from_flow() -> None:
    """Offer a flow's observed entries a day and holdout rate as inputs."""
    loaded = load_reports(data_version())
    usable = {
        key: seen
        for key, report in loaded.reports.items()
        if (seen := power.observed(report)) is not None
    }
    if not usable:
        return
    with st.expander("Start from a flow's observed figures"):
        key = st.selectbox("Flow", list(usable), key="plan_flow")
        seen = usable[key]
        report = loaded.reports[key]
        st.caption(
            f"{key}: {seen.daily_entries:,.0f} entries a day over {seen.days} days; "
            f"holdout conversion rate {seen.baseline_rate:.2%}; holdout "
            f"{report.holdout_percent:g}%."
        )
        if st.button("Use these figures", key="plan_use"):
            st.session_state["plan_baseline"] = round(seen.baseline_rate * 100, 2)
            st.session_state["plan_daily"] = float(round(seen.daily_entries))
            st.session_state["plan_holdout"] = float(report.holdout_percent)
            st.rerun()
