"""Overview: every flow's lift at a glance, with its interval and warnings."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from liftlab.attribution import AssistsReport, CreditVsCausation, credit_vs_causation
from liftlab.results import FlowReport
from liftlab.stats import power_for_sample_size
from liftlab.ui import charts, text
from liftlab.ui.data_access import (
    LoadedReports,
    data_version,
    load_assists,
    load_reports,
    overview_frame,
)

__all__ = ["power_warning", "render", "table"]

ADJUSTMENTS = {"holm": "Holm", "benjamini_hochberg": "Benjamini-Hochberg"}
ADEQUATE_POWER = 0.8


def power_warning(report: FlowReport, *, lift: float) -> str:
    """A warning when the flow's entrants give under 80% power for ``lift``.

    The power is the planning function's, at the holdout's observed rate and
    the flow's configured holdout percent; empty when the power is adequate.
    """
    holdout = report.arms[0]
    units = sum(arm.units for arm in report.arms)
    try:
        power = power_for_sample_size(
            baseline_rate=holdout.rate.value,
            relative_lift=lift,
            holdout_percent=report.holdout_percent,
            units_total=units,
        )
    except ValueError:
        return "power unknown (the holdout's rate is 0 or 1)"
    if power >= ADEQUATE_POWER:
        return ""
    return f"underpowered: {power:.0%} power for a {lift:.0%} lift"


def table(
    loaded: LoadedReports,
    *,
    method: str,
    lift: float,
    assists: AssistsReport | None = None,
) -> pd.DataFrame:
    """The overview frame with the power warning: what the CSV holds.

    With an assists report, the attribution engine's figures join on
    ``flow``: ``assisted`` and ``last_touch`` conversions of the flow's
    conversion type, and the credit-to-causation ratio (assisted over
    incremental conversions) as ``credit_to_causation`` with ``_lower``
    and ``_upper`` (NaN when undefined; see
    :func:`liftlab.attribution.credit_vs_causation`).
    """
    frame = overview_frame(loaded, method=method)
    frame["power_warning"] = [
        power_warning(report, lift=lift) for report in loaded.reports.values()
    ]
    if assists is None:
        return frame
    comparison = credit_vs_causation(assists, list(loaded.reports.values()))
    credit = pd.DataFrame(
        [
            {
                "flow": row.flow,
                "assisted": row.assisted,
                "last_touch": row.last_touch,
                "credit_to_causation": row.assisted_ratio.value,
                "credit_to_causation_lower": row.assisted_ratio.lower,
                "credit_to_causation_upper": row.assisted_ratio.upper,
            }
            for row in comparison
        ]
    )
    return frame.merge(credit, on="flow", how="left", validate="one_to_one")


def _shown(
    frame: pd.DataFrame,
    loaded: LoadedReports,
    credit: dict[str, CreditVsCausation],
) -> pd.DataFrame:
    """The frame as the page shows it: intervals as text, flags as words."""
    reports = loaded.reports
    rows = []
    for row in frame.itertuples(index=False):
        result = reports[row.flow].primary
        rows.append(
            {
                "flow": row.flow,
                "name": row.name,
                "relative lift (95% CI)": text.interval(
                    result.conversion.relative_lift, kind="percent"
                ),
                "incremental conversions (95% CI)": text.interval(
                    result.conversion.incremental_conversions
                ),
                **_credit(credit.get(row.flow)),
                "incremental revenue (95% CI)": text.interval(
                    result.revenue.incremental_total, kind="money"
                ),
                "p": text.p_value(row.p_value),
                "adjusted p": text.p_value(row.adjusted_p_value),
                "significant": "yes" if row.significant else "no",
                "split": "MISMATCH" if row.srm_mismatch else "ok",
                "power": row.power_warning or "ok",
            }
        )
    return pd.DataFrame(rows)


def _credit(row: CreditVsCausation | None) -> dict[str, str]:
    if row is None:
        return {}
    return {
        "assisted": text.count(row.assisted),
        "last touch": text.count(row.last_touch),
        "credit ÷ causation (95% CI)": text.ratio(row.assisted_ratio),
    }


def render() -> None:
    """Draw the page."""
    from liftlab.ui.pages import page

    st.title("Overview")
    loaded = load_reports(data_version())
    if not loaded.reports:
        st.info(
            "No flow has entries in both arms yet. Import entries on the Data "
            "page, or run `liftlab demo` for a simulated programme."
        )
        _unavailable(loaded)
        return

    left, right = st.columns(2)
    method = left.selectbox(
        "Adjust p-values across flows by",
        list(ADJUSTMENTS),
        format_func=ADJUSTMENTS.__getitem__,
        help="Holm controls the chance of any false positive across the flows; "
        "Benjamini-Hochberg the share of false positives among the flagged.",
    )
    lift = right.select_slider(
        "Lift worth detecting (for the power warning)",
        options=[0.02, 0.05, 0.10, 0.15, 0.20, 0.30],
        value=0.10,
        format_func=lambda value: f"{value:.0%}",
    )
    assists = load_assists(data_version())
    frame = table(loaded, method=method, lift=lift, assists=assists)
    credit = {
        row.flow: row
        for row in credit_vs_causation(assists, list(loaded.reports.values()))
    }
    as_of = f"{loaded.as_of:%Y-%m-%d %H:%M} UTC" if loaded.as_of else "now"
    st.caption(
        f"Exposed against holdout in each flow's current epoch; units whose "
        f"conversion window closed by {as_of}. Intervals are 95%; relative lift "
        "by the Koopman score interval, incremental figures scaled to the "
        "exposed arm."
    )

    reports = list(loaded.reports.values())
    figure = charts.forest(
        [report.flow for report in reports],
        [report.primary.conversion.relative_lift for report in reports],
        highlight=list(frame["significant"]),
        title="Relative lift in conversion, exposed vs holdout (95% CI)",
        axis_title="relative lift (%)",
    )
    st.plotly_chart(figure, key="forest")
    significant = int(frame["significant"].sum())
    st.write(
        f"**{significant} of {len(frame)}** flows show a lift that is significant "
        f"after the {ADJUSTMENTS[method]} adjustment (green in the plot)."
    )
    _warnings(frame)

    st.dataframe(_shown(frame, loaded, credit), hide_index=True, key="overview_table")
    st.caption(
        f"Assisted and last touch: conversions of the flow's type with its SMS "
        f"on the path before the final touch, or as the final touch "
        f"({assists.settings.lookback_days}-day lookback; they overlap). Credit "
        "÷ causation: assisted over incremental conversions, with the "
        "incremental interval inverted; undefined when the holdout shows no "
        "positive effect. The Assists page has the models and paths."
    )
    st.download_button(
        "Download the table as CSV",
        frame.to_csv(index=False).encode("utf-8"),
        file_name="liftlab_overview.csv",
        mime="text/csv",
    )
    st.subheader("Open a flow")
    columns = st.columns(min(len(reports), 4))
    for index, report in enumerate(reports):
        columns[index % len(columns)].page_link(
            page("flow"), label=report.flow, query_params={"flow": report.flow}
        )
    _unavailable(loaded)


def _warnings(frame: pd.DataFrame) -> None:
    for row in frame.itertuples(index=False):
        if row.srm_mismatch:
            st.error(
                f"**{row.flow}**: the split of units between exposed and holdout "
                f"differs from the configured holdout (p = "
                f"{text.p_value(row.srm_p_value)}). Check the assignment and the "
                "entry logging before trusting this flow's lift."
            )
        if row.power_warning and not row.significant:
            st.warning(
                f"**{row.flow}**: {row.power_warning}; no lift found is not "
                "evidence of no effect. See the Planner for the entrants needed."
            )


def _unavailable(loaded: LoadedReports) -> None:
    for key, reason in loaded.unavailable.items():
        st.caption(f"{key}: no report yet ({reason})")
