"""The assists command: formats, one model, and clear errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from liftlab.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'liftlab.db'}"
    with pytest.MonkeyPatch.context() as patch:
        _point_at(patch, url)
        result = runner.invoke(
            app, ["demo", "--customers", "4000", "--days", "30",
                  "--experiments", str(ROOT / "experiments")],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    return url


def _point_at(patch: pytest.MonkeyPatch, url: str) -> None:
    from liftlab.config import get_settings
    from liftlab.store.engine import get_engine

    patch.setenv("LIFTLAB_DATABASE_URL", url)
    patch.delenv("LIFTLAB_WAREHOUSE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture
def demo(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    _point_at(monkeypatch, demo_url)
    return demo_url


def test_assists_table_shows_metrics_models_and_causation(demo: str) -> None:
    result = runner.invoke(app, ["assists", "--as-of", "2027-01-01"])

    assert result.exit_code == 0, result.output
    for title in ("Assisted and last-touch", "Credited conversions by model",
                  "Top conversion paths", "Credit beside causation"):  # fmt: skip
        assert title in result.stdout
    assert "browse_abandonment" in result.stdout


def test_assists_json_holds_report_and_comparison(demo: str) -> None:
    result = runner.invoke(
        app, ["assists", "--format", "json", "--flow", "winback", "--as-of",
              "2027-01-01"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [row["flow"] for row in payload["credit_vs_causation"]] == ["winback"]
    assert len(payload["assists"]["models"]) == 8
    assert payload["assists"]["settings"]["lookback_days"] == 30


def test_assists_csv_is_long_format(demo: str) -> None:
    result = runner.invoke(app, ["assists", "--format", "csv", "--lookback-days", "7"])

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {row["table"] for row in rows} >= {"assists", "models"}
    assert {row["metric"] for row in rows} >= {"assisted", "last_touch", "conversions"}


def test_assists_one_model(demo: str) -> None:
    result = runner.invoke(app, ["assists", "--model", "markov", "--format", "json"])

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {row["model"] for row in rows} == {"markov"}
    assert all(row["removal_effect"] is not None for row in rows)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--model", "ga4"], "unknown model 'ga4'"),
        (["--lookback-days", "0"], "lookback_days: must be from 1 to 90"),
        (["--lookback-days", "120"], "lookback_days: must be from 1 to 90"),
        (["--flow", "nope"], "nope"),
    ],
)
def test_assists_bad_input_is_a_clear_error(
    demo: str, arguments: list[str], message: str
) -> None:
    result = runner.invoke(app, ["assists", *arguments])

    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
