"""The Assists page: paths, models and credit beside causation, as the
attribution engine reports them."""

from __future__ import annotations

import json

import pandas as pd
from streamlit.testing.v1 import AppTest

from liftlab.attribution import (
    AssistsReport,
    AttributionSettings,
    assist_rows,
    build_assists,
    credit_vs_causation,
)
from liftlab.results import FlowReport
from liftlab.ui import text
from liftlab.ui.export import csv_rows
from liftlab.warehouse import connect
from tests.ui.support import page_test, texts


def _table(app: AppTest, column: str) -> pd.DataFrame:
    """The table with a column of this name."""
    (frame,) = [frame.value for frame in app.dataframe if column in frame.value.columns]
    return frame


def test_assists_page_shows_credit_beside_causation(
    demo: str, demo_reports: dict[str, FlowReport], demo_assists: AssistsReport
) -> None:
    app = page_test("assists").run()

    assert not app.exception
    comparison = credit_vs_causation(demo_assists, list(demo_reports.values()))
    shown = _table(app, "SMS-influenced").set_index("flow")
    assert list(shown.index) == [row.flow for row in comparison]
    for row in comparison:
        assert shown.loc[row.flow, "assisted"] == text.count(row.assisted)
        assert shown.loc[row.flow, "last touch"] == text.count(row.last_touch)
        assert shown.loc[row.flow, "assisted ÷ incr. (95% CI)"] == (
            text.ratio(row.assisted_ratio)
        )
    boxes = texts(app, "warning") + texts(app, "info")
    assert all(row.summary in boxes for row in comparison)


def test_assists_page_figures_equal_the_engines(
    demo: str, demo_assists: AssistsReport
) -> None:
    app = page_test("assists").run()

    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Conversions"] == text.count(demo_assists.conversions)
    assert metrics["On a path"] == text.count(demo_assists.conversions_with_path)
    split = _table(app, "click-assisted").set_index(["dimension", "key"])
    for row in demo_assists.metrics:
        if row.dimension == "flow":
            shown = split.loc[("flow", row.key)]
            assert shown["click-assisted"] == text.count(row.click_assisted)
            assert shown["view-assisted"] == text.count(row.view_assisted)
    models = _table(app, "state").set_index("state")
    markov = demo_assists.model("markov")
    assert markov is not None
    for state, credit in markov.credit().items():
        assert models.loc[state, "markov"] == text.count(credit)
    paths = _table(app, "path")
    assert list(paths["path"]) == [item.path for item in demo_assists.top_paths]
    specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    titles = [spec["layout"]["title"]["text"] for spec in specs]
    (lengths,) = [
        spec for spec in specs if spec["layout"]["title"]["text"] == "Path length"
    ]
    assert lengths["data"][0]["y"] == [
        item.conversions for item in demo_assists.path_length
    ]
    assert "Credited conversions by channel, per model" in titles
    assert any(title.startswith("Time lag") for title in titles)


def test_assists_page_states_the_windows_used(
    demo: str, demo_assists: AssistsReport
) -> None:
    app = page_test("assists").run()

    (settings,) = [line for line in texts(app, "markdown") if "Settings used" in line]
    assert "Lookback **30 days**" in settings
    assert "24 h and 120 h" in settings
    windows = _table(app, "view window (h)")
    flows = {row.key for row in demo_assists.metrics if row.dimension == "flow"}
    assert flows <= set(windows["flow"])
    assert set(windows["view window (h)"]) == {"24"}


def test_assists_page_rebuilds_for_a_shorter_lookback(demo: str, demo_url: str) -> None:
    app = page_test("assists").run()

    app.number_input(key="assists_lookback").set_value(7).run()

    assert not app.exception
    with connect(demo_url) as warehouse:
        expected = build_assists(warehouse, AttributionSettings(lookback_days=7))
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["On a path"] == text.count(expected.conversions_with_path)
    assert any("Lookback **7 days**" in line for line in texts(app, "markdown"))


def test_assists_page_compares_only_the_chosen_models(demo: str) -> None:
    app = page_test("assists").run()

    app.multiselect(key="assists_models").set_value(["last", "markov"]).run()

    models = _table(app, "state")
    assert list(models.columns) == ["state", "last", "markov"]


def test_assists_csv_holds_every_figure_in_long_form(
    demo_reports: dict[str, FlowReport], demo_assists: AssistsReport
) -> None:
    comparison = credit_vs_causation(demo_assists, list(demo_reports.values()))

    rows = csv_rows(demo_assists, comparison)

    tables = {row["table"] for row in rows}
    assert tables == {"assists", "models", "credit_vs_causation"}
    first = assist_rows(demo_assists)[0]
    (assisted,) = [
        row
        for row in rows
        if row["table"] == "assists"
        and (row["dimension"], row["key"], row["metric"])
        == (first["dimension"], first["key"], "assisted")
    ]
    assert assisted["value"] == first["assisted"]
