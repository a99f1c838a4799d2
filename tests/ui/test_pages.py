"""The reading pages: Overview, Flow, Planner, Data, Sign in, and the entry."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from liftlab import cache
from liftlab.attribution import AssistsReport, credit_vs_causation
from liftlab.results import FlowReport, overview
from liftlab.stats import plan_sample_size
from liftlab.ui import data_access, text
from liftlab.ui.data_access import LoadedReports
from liftlab.ui.overview import table
from tests.ui.support import PASSWORD, TIMEOUT, page_test, texts

ROOT = Path(__file__).resolve().parents[2]


def test_overview_shows_every_flow_as_the_engine_reports_it(
    demo: str, demo_reports: dict[str, FlowReport]
) -> None:
    app = page_test("overview").run()

    assert not app.exception
    shown = app.dataframe[0].value
    assert list(shown["flow"]) == sorted(demo_reports)
    for row in shown.itertuples(index=False):
        conversion = demo_reports[row.flow].primary.conversion
        assert row[2] == text.interval(conversion.relative_lift, kind="percent")
        assert row[3] == text.interval(conversion.incremental_conversions)
    rows = overview(list(demo_reports.values()))
    significant = sum(row.significant for row in rows)
    assert f"**{significant} of {len(rows)}**" in texts(app, "markdown")[0]
    assert app.get("plotly_chart")


def test_overview_shows_credit_beside_causation_as_the_engine_reports_it(
    demo: str, demo_reports: dict[str, FlowReport], demo_assists: AssistsReport
) -> None:
    app = page_test("overview").run()

    shown = app.dataframe[0].value.set_index("flow")
    comparison = credit_vs_causation(demo_assists, list(demo_reports.values()))
    assert len(comparison) == len(shown)
    for row in comparison:
        assert shown.loc[row.flow, "assisted"] == text.count(row.assisted)
        assert shown.loc[row.flow, "last touch"] == text.count(row.last_touch)
        ratio = shown.loc[row.flow, "credit ÷ causation (95% CI)"]
        assert ratio == text.ratio(row.assisted_ratio)


def test_overview_reads_a_warmed_cache(
    demo: str,
    demo_reports: dict[str, FlowReport],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache.warm()
    data_access.load_reports.clear()
    data_access.load_assists.clear()

    def refuse(*args: object) -> None:
        raise AssertionError("built although the cache is warm")

    monkeypatch.setattr(cache, "build_flow_reports", refuse)
    monkeypatch.setattr(cache, "_build_assists", refuse)
    app = page_test("overview").run()

    assert not app.exception
    shown = app.dataframe[0].value
    assert list(shown["flow"]) == sorted(demo_reports)
    for row in shown.itertuples(index=False):
        conversion = demo_reports[row.flow].primary.conversion
        assert row[3] == text.interval(conversion.incremental_conversions)


def test_overview_table_joins_the_attribution_columns_for_the_csv(
    demo_reports: dict[str, FlowReport], demo_assists: AssistsReport
) -> None:
    loaded = LoadedReports(demo_reports, {}, None)

    frame = table(loaded, method="holm", lift=0.10, assists=demo_assists)

    comparison = credit_vs_causation(demo_assists, list(demo_reports.values()))
    rows = frame.set_index("flow")
    for row in comparison:
        assert rows.loc[row.flow, "assisted"] == row.assisted
        assert rows.loc[row.flow, "last_touch"] == row.last_touch
        expected = row.assisted_ratio
        for column, value in (
            ("credit_to_causation", expected.value),
            ("credit_to_causation_lower", expected.lower),
            ("credit_to_causation_upper", expected.upper),
        ):
            assert rows.loc[row.flow, column] == pytest.approx(value, nan_ok=True)


def test_overview_table_holds_adjusted_p_values_for_the_csv(
    demo_reports: dict[str, FlowReport],
) -> None:
    loaded = LoadedReports(demo_reports, {}, None)

    holm = table(loaded, method="holm", lift=0.10)
    bh = table(loaded, method="benjamini_hochberg", lift=0.10)

    expected = overview(list(demo_reports.values()), method="holm")
    assert list(holm["adjusted_p_value"]) == [row.adjusted_p_value for row in expected]
    assert (bh["adjusted_p_value"] <= holm["adjusted_p_value"]).all()
    assert {"flow", "relative_lift_lower", "power_warning"} <= set(holm.columns)
    assert holm.to_csv(index=False).startswith("flow,name,relative_lift,")


def test_overview_warns_about_underpowered_flows(demo: str) -> None:
    app = page_test("overview").run()

    warnings = texts(app, "warning")
    assert any("underpowered" in warning for warning in warnings)


@pytest.mark.parametrize("key", ["winback", "abandoned_cart"])
def test_flow_page_verdict_and_figures_match_the_report(
    demo: str,
    demo_reports: dict[str, FlowReport],
    demo_assists: AssistsReport,
    key: str,
) -> None:
    app = page_test("flow")
    app.query_params["flow"] = key

    app.run()

    assert not app.exception
    report = demo_reports[key]
    (credit,) = credit_vs_causation(demo_assists, [report])
    boxes = texts(app, "success") + texts(app, "info")
    expected = text.verdict(report, report.primary, assisted=credit.assisted)
    assert expected in boxes
    assert f"; assists credited it with {text.count(credit.assisted)}." in expected
    metrics = {metric.label: metric.value for metric in app.metric}
    incremental = report.primary.conversion.incremental_conversions
    assert metrics["Incremental conversions"] == text.count(incremental.value)
    arms = app.dataframe[0].value
    assert list(arms["units"]) == [text.count(arm.units) for arm in report.arms]
    assert metrics["Assisted"] == text.count(credit.assisted)
    assert metrics["Last touch"] == text.count(credit.last_touch)
    assert credit.summary in texts(app, "markdown")
    lags = [
        lag.conversions
        for lag in demo_assists.time_lag
        if (lag.dimension, lag.key) == ("flow", key)
    ]
    specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    (lag_chart,) = [
        spec for spec in specs if "Time lag" in spec["layout"]["title"]["text"]
    ]
    assert lag_chart["data"][0]["y"] == lags


def test_flow_page_switches_flow_from_the_select_box(
    demo: str, demo_reports: dict[str, FlowReport]
) -> None:
    app = page_test("flow").run()

    app.selectbox(key="flow_key").select("renewal_reminder").run()

    report = demo_reports["renewal_reminder"]
    assert app.header[0].value == report.name
    assert app.query_params["flow"] == "renewal_reminder"


def test_planner_states_the_planning_functions_answer(demo: str) -> None:
    app = page_test("planner").run()

    app.number_input(key="plan_baseline").set_value(5.0)
    app.number_input(key="plan_lift").set_value(10.0)
    app.number_input(key="plan_holdout").set_value(5.0)
    app.number_input(key="plan_daily").set_value(3000.0).run()

    plan = plan_sample_size(
        baseline_rate=0.05,
        minimum_relative_lift=0.10,
        holdout_percent=5.0,
        daily_entries=3000,
    )
    (success,) = texts(app, "success")
    assert f"**{plan.units_total:,} entrants**" in success
    assert f"**about {plan.days:,} days**" in success


def test_planner_refuses_an_exposed_rate_above_one(demo: str) -> None:
    app = page_test("planner").run()

    app.number_input(key="plan_baseline").set_value(60.0)
    app.number_input(key="plan_lift").set_value(100.0).run()

    assert any("minimum_relative_lift" in error for error in texts(app, "error"))
    assert not texts(app, "success")


def test_data_page_lists_tables_and_refuses_imports_to_viewers(demo: str) -> None:
    app = page_test("data").run()

    tables = app.dataframe[0].value
    assert set(tables["table"]) >= {"entries", "conversions", "touches"}
    assert (tables.set_index("table").loc["entries", "rows"]) != "0"
    assert any("editor's sign-in" in info for info in texts(app, "info"))


def test_data_page_offers_imports_to_editors(
    store: object, signed_in: Callable[[AppTest, str], AppTest]
) -> None:
    app = signed_in(page_test("data"), "ed").run()

    assert not app.exception
    assert app.button(key="FormSubmitter:import_form-Import") is not None
    assert not texts(app, "info")


def test_sign_in_accepts_a_password_and_refuses_a_wrong_one(demo: str) -> None:
    app = page_test("signin").run()

    app.text_input[0].input("viv")
    app.text_input[1].input("wrong horse")
    app.button[0].click().run()
    refused = texts(app, "error")
    app.text_input[1].input(PASSWORD)
    app.button[0].click().run()

    assert refused == ["Unknown username or wrong password, or the user is disabled."]
    assert app.session_state["liftlab_user"] == "viv"
    assert "Signed in as **viv** (viewer)." in texts(app, "success")


def test_app_entry_opens_the_overview(demo: str) -> None:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()

    assert not app.exception
    assert app.title[0].value == "Overview"
    assert "guest" in app.sidebar.caption[0].value
