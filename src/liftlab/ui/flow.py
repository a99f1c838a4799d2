"""Flow: one flow's lift in full, and a verdict in plain words."""

from __future__ import annotations

import csv
import io
import math

import pandas as pd
import streamlit as st

from liftlab.attribution import AssistsReport, CreditVsCausation, credit_vs_causation
from liftlab.reporting import CSV_COLUMNS, report_rows
from liftlab.results import FlowReport, VariantResult
from liftlab.stats import Estimate
from liftlab.ui import charts, text
from liftlab.ui.data_access import data_version, load_assists, load_reports

__all__ = ["render", "verdict"]


def verdict(
    report: FlowReport,
    result: VariantResult,
    credit: CreditVsCausation | None = None,
) -> str:
    """The verdict sentence for one exposed arm or variant.

    Args:
        report: The flow's report.
        result: The arm or variant against the holdout.
        credit: The flow's credit beside causation; its assisted
            conversions join the sentence of the flow's first exposed arm,
            the one it is compared with.
    """
    assisted = (
        credit.assisted
        if credit is not None and result.variant == report.primary.variant
        else None
    )
    return text.verdict(report, result, assisted=assisted)


def render() -> None:
    """Draw the page."""
    st.title("Flow")
    loaded = load_reports(data_version())
    keys = list(loaded.reports) + list(loaded.unavailable)
    if not keys:
        st.info("No flows yet: create one on the Holdouts page.")
        return
    asked = st.query_params.get("flow")
    key = st.selectbox(
        "Flow", keys, index=keys.index(asked) if asked in keys else 0, key="flow_key"
    )
    st.query_params["flow"] = key
    if key not in loaded.reports:
        st.info(f"{key}: no report yet ({loaded.unavailable[key]}).")
        return
    report = loaded.reports[key]

    st.header(f"{report.name}")
    st.caption(
        f"{report.flow}: {report.conversion_type} within {report.window_hours:g} h "
        f"of first entry; holdout {report.holdout_percent:g}%, epoch "
        f"{report.epoch}; windows closed by {report.as_of:%Y-%m-%d %H:%M} UTC"
    )
    assists = load_assists(data_version())
    (credit,) = credit_vs_causation(assists, [report])
    for result in report.results:
        box = (
            st.success
            if result.conversion.incremental_conversions.excludes(0)
            else (st.info)
        )
        box(verdict(report, result, credit), icon=":material/campaign:")
    _headline(report.primary)
    _arms(report)
    _daily(report)
    _assists(report, assists, credit)
    _revenue_and_cost(report)
    _segments(report)
    _checks(report)
    for note in report.notes:
        st.caption(f"Note: {note}")
    st.download_button(
        "Download this report as CSV",
        _csv(report),
        file_name=f"liftlab_{report.flow}.csv",
        mime="text/csv",
    )


def _metric(
    column: st.delta_generator.DeltaGenerator,
    label: str,
    estimate: Estimate,
    kind: str,
    help: str,
) -> None:
    value = text.number(estimate.value, kind=kind) if estimate.defined else "undefined"
    column.metric(label, value, help=help)
    if estimate.defined:
        lower = text.number(estimate.lower, kind=kind)
        upper = text.number(estimate.upper, kind=kind)
        column.caption(f"95% CI {lower} to {upper}")
    else:
        column.caption(estimate.reason or "")


def _headline(result: VariantResult) -> None:
    columns = st.columns(4)
    _metric(
        columns[0],
        "Relative lift",
        result.conversion.relative_lift,
        "percent",
        "Exposed rate over holdout rate, minus one (Koopman score interval).",
    )
    _metric(
        columns[1],
        "Incremental conversions",
        result.conversion.incremental_conversions,
        "count",
        "Absolute lift times the exposed units (Newcombe interval, scaled).",
    )
    _metric(
        columns[2],
        "Incremental revenue",
        result.revenue.incremental_total,
        "money",
        "Revenue per recipient lift (Welch) times the exposed units.",
    )
    _metric(
        columns[3],
        "Cost per incremental conversion",
        result.cost_per_incremental_conversion,
        "money",
        "Cost of the texts over incremental conversions; the interval "
        "comes from the incremental conversions' bounds.",
    )


def _arms(report: FlowReport) -> None:
    st.subheader("Conversion by arm")
    left, right = st.columns([2, 3])
    left.plotly_chart(
        charts.arm_rates(report.arms, title="Conversion rate (95% Wilson CI)"),
        key="arm_rates",
    )
    arms = pd.DataFrame(
        [
            {
                "arm": arm.arm,
                "units": text.count(arm.units),
                "conversions": text.count(arm.conversions),
                "rate (95% CI)": text.interval(arm.rate, kind="percent"),
                "revenue / recipient": text.money(arm.revenue_per_recipient),
            }
            for arm in report.arms
        ]
    )
    right.dataframe(arms, hide_index=True, key="arms_table")
    lifts = pd.DataFrame(
        [
            {
                "variant": result.variant,
                "absolute": text.interval(
                    result.conversion.absolute_lift, kind="points"
                ),
                "relative": text.interval(
                    result.conversion.relative_lift, kind="percent"
                ),
                "incremental conv.": text.interval(
                    result.conversion.incremental_conversions
                ),
                "p": f"{text.p_value(result.conversion.p_value)} "
                f"({result.conversion.test})",
                f"CUPED absolute ({report.covariate})": text.interval(
                    result.conversion_cuped.absolute_lift, kind="points"
                ),
            }
            for result in report.results
        ]
    )
    st.dataframe(lifts, hide_index=True, key="lift_table")
    for result in report.results:
        reduction = result.conversion_cuped.variance_reduction
        if math.isfinite(reduction):
            st.caption(
                f"{result.variant}: CUPED on {report.covariate} lowers the "
                f"variance by {reduction:.1%}."
            )


def _daily(report: FlowReport) -> None:
    st.subheader("Cumulative lift by day")
    if not report.daily:
        st.caption("No day has units in both arms yet.")
        return
    st.plotly_chart(
        charts.daily_band(report.daily, title="Absolute lift as entrants accumulate"),
        key="daily_band",
    )
    last = report.daily[-1]
    st.caption(
        f"Always-valid 95% band on the absolute lift after {len(report.daily)} "
        f"days: {last.always_valid_lower * 100:+.2f} to "
        f"{last.always_valid_upper * 100:+.2f} points (safe to look daily; "
        "asymptotic confidence sequence, Waudby-Smith et al. 2024, tuning size "
        "5,000). The narrower fixed interval holds for a single look only."
    )


def _assists(
    report: FlowReport, assists: AssistsReport, credit: CreditVsCausation
) -> None:
    from liftlab.ui.pages import page

    st.subheader("Assists and time lag")
    columns = st.columns(4)
    columns[0].metric(
        "SMS-influenced",
        text.count(credit.influenced),
        help=f"{report.conversion_type} conversions with this flow's SMS on the path.",
    )
    columns[1].metric("Assisted", text.count(credit.assisted))
    columns[2].metric("Last touch", text.count(credit.last_touch))
    columns[3].metric(
        "Credit ÷ causation",
        text.number(credit.assisted_ratio.value, kind="ratio"),
        help="Assisted over incremental conversions.",
    )
    ratio = credit.assisted_ratio
    columns[3].caption(
        f"95% CI {text.number(ratio.lower, kind='ratio')} to "
        f"{text.number(ratio.upper, kind='ratio')}"
        if ratio.defined
        else ratio.reason or ""
    )
    st.write(credit.summary)

    lags = [
        lag
        for lag in assists.time_lag
        if lag.dimension == "flow" and lag.key == report.flow
    ]
    left, right = st.columns([3, 2])
    if lags:
        left.plotly_chart(
            charts.counts(
                [f"{lag.days}+" if lag.days >= 30 else str(lag.days) for lag in lags],
                [lag.conversions for lag in lags],
                title="Time lag: first text on the path to conversion",
                axis_title="days",
            ),
            key="time_lag",
        )
    metric = assists.metric("flow", report.flow)
    mean = (
        f" Mean lag {metric.mean_lag_days:.1f} days over "
        f"{text.count(metric.conversions)} conversions of every type."
        if metric is not None and metric.conversions
        else ""
    )
    right.caption(
        "Days from the flow's first text on a conversion's path to the "
        f"conversion, with a {assists.settings.lookback_days}-day lookback; a delivery "
        "counts within the flow's view window, a click within its click "
        f"window.{mean}"
    )
    st.page_link(page("assists"), label="Every flow's assists and models")


def _revenue_and_cost(report: FlowReport) -> None:
    st.subheader("Revenue and cost")
    rows = []
    for result in report.results:
        revenue = result.revenue
        rows.append(
            {
                "variant": result.variant,
                "revenue / recipient, exposed": text.money(revenue.mean_exposed),
                "revenue / recipient, holdout": text.money(revenue.mean_holdout),
                "lift per recipient": text.interval(
                    revenue.absolute_lift, kind="money"
                ),
                "relative": text.interval(revenue.relative_lift, kind="percent"),
                "incremental revenue": text.interval(
                    revenue.incremental_total, kind="money"
                ),
                "cost of texts": "unknown"
                if result.cost is None
                else text.money(result.cost),
                "cost / incr. conv.": text.interval(
                    result.cost_per_incremental_conversion, kind="money"
                ),
                "incremental return on spend": text.interval(
                    result.incremental_return_on_spend, kind="money"
                ),
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="revenue_table")
    st.caption(
        "Revenue per recipient by Welch's t; relative lift by the delta method "
        "(Deng, Knoblich, Lu 2018). Incremental figures are per-recipient lifts "
        "times the exposed units, so unequal arm sizes do not inflate them."
    )


def _segments(report: FlowReport) -> None:
    st.subheader("Segments")
    if not report.segments:
        st.caption("No customer segments are loaded for this flow.")
        return
    for dimension in dict.fromkeys(segment.dimension for segment in report.segments):
        part = [s for s in report.segments if s.dimension == dimension]
        labels = [f"{segment.segment}" for segment in part]
        lifts = [segment.conversion.absolute_lift for segment in part]
        st.plotly_chart(
            charts.forest(
                labels,
                lifts,
                highlight=[lift.excludes(0) for lift in lifts],
                title=f"Absolute lift by {dimension} (95% CI)",
                axis_title="absolute lift (percentage points)",
            ),
            key=f"segments_{dimension}",
        )
        test = report.heterogeneity.get(dimension)
        if test is not None:
            reason = f" ({test.reason})" if test.reason else ""
            st.caption(
                f"Does the lift differ by {dimension}? Cochran's Q p = "
                f"{text.p_value(test.p_value)}{reason}. Segment intervals are "
                "not adjusted for the number of segments."
            )


def _checks(report: FlowReport) -> None:
    st.subheader("Checks")
    srm = report.srm.flow
    reason = f"; {srm.reason}" if srm.reason else ""
    message = (
        f"Sample ratio: p = {text.p_value(srm.p_value)} against the "
        f"{report.holdout_percent:g}% holdout in force at each entry{reason}."
    )
    if report.srm.mismatch:
        st.error(f"{message} The split is off: check assignment and logging.")
    else:
        st.write(f"{message} No mismatch (flagged below p = {report.srm.threshold:g}).")
    for guardrail in report.guardrails:
        st.write(
            f"Guardrail, {guardrail.name.replace('_', ' ')}: "
            f"{text.interval(guardrail.rate, kind='percent')} of "
            f"{text.count(guardrail.units)} texted units. {guardrail.note}"
        )
    if report.global_holdout_units:
        st.caption(
            f"{text.count(report.global_holdout_units)} entrants were in the "
            "global holdout and are not compared here."
        )


def _csv(report: FlowReport) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(report_rows(report))
    return buffer.getvalue().encode("utf-8")
