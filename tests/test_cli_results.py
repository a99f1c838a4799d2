"""The report and plan commands: formats, overview and clear errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from liftlab.cli import app
from liftlab.stats import plan_sample_size

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = str(ROOT / "experiments")
runner = CliRunner()


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One small demo store shared by the module's read-only tests."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'liftlab.db'}"
    with pytest.MonkeyPatch.context() as patch:
        _point_at(patch, url)
        result = runner.invoke(
            app, ["demo", "--customers", "6000", "--days", "30",
                  "--experiments", EXPERIMENTS],
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


def test_report_table_says_what_sms_caused(demo: str) -> None:
    result = runner.invoke(app, ["report", "abandoned_cart", "--as-of", "2027-01-01"])

    assert result.exit_code == 0, result.output
    assert "Lift against the holdout" in result.stdout
    assert "SMS caused about" in result.stdout
    assert "sample ratio: ok" in result.stdout


def test_report_json_holds_the_report(demo: str) -> None:
    result = runner.invoke(
        app, ["report", "winback", "--format", "json", "--as-of", "2027-01-01"]
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["flow"] == "winback"
    assert [arm["arm"] for arm in report["arms"]] == ["holdout", "exposed"]
    lift = report["results"][0]["conversion"]["absolute_lift"]
    assert lift["lower"] <= lift["value"] <= lift["upper"]
    assert report["open_units"] == 0


def test_report_csv_has_one_row_per_figure(demo: str) -> None:
    result = runner.invoke(app, ["report", "winback", "--format", "csv"])

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    metrics = {row["metric"] for row in rows}
    assert {"absolute_lift", "relative_lift", "incremental_conversions",
            "cost_per_incremental_conversion", "srm_p_value"} <= metrics  # fmt: skip


def test_report_all_adjusts_p_values(demo: str) -> None:
    result = runner.invoke(
        app, ["report", "--all", "--format", "json", "--adjust", "benjamini_hochberg"]
    )

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 4
    assert all(row["adjusted_p_value"] >= row["p_value"] for row in rows)


def test_report_unknown_flow_is_a_clear_error(demo: str) -> None:
    result = runner.invoke(app, ["report", "abandoned"])

    assert result.exit_code == 1
    assert "no flow 'abandoned'" in result.stderr
    assert "Traceback" not in result.output


def test_report_needs_a_flow_or_all(demo: str) -> None:
    result = runner.invoke(app, ["report"])

    assert result.exit_code == 2
    assert "give a FLOW or --all" in result.output


def test_report_of_flow_without_entries_is_a_clear_error(liftlab_env: str) -> None:
    assert runner.invoke(app, ["apply", EXPERIMENTS]).exit_code == 0

    result = runner.invoke(app, ["report", "winback"])

    assert result.exit_code == 1
    assert "'winback': no entries in epoch 1" in result.stderr


def test_plan_prints_entrants_and_days() -> None:
    result = runner.invoke(
        app, ["plan", "--baseline", "0.05", "--lift", "0.10", "--daily-entries",
              "2000", "--holdout", "10"],
    )  # fmt: skip

    expected = plan_sample_size(
        baseline_rate=0.05, minimum_relative_lift=0.10, holdout_percent=10,
        daily_entries=2000,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"{expected.units_total:,} entrants" in result.stdout
    assert f"about {expected.days:,} days" in result.stdout


def test_plan_warns_when_power_is_out_of_reach() -> None:
    result = runner.invoke(
        app, ["plan", "--baseline", "0.01", "--lift", "0.02", "--daily-entries",
              "100", "--holdout", "5"],
    )  # fmt: skip

    assert result.exit_code == 0
    assert "warning:" in result.stderr
    assert "365-day horizon" in result.stderr


def test_plan_refuses_a_holdout_of_150() -> None:
    result = runner.invoke(
        app, ["plan", "--baseline", "0.05", "--lift", "0.1", "--holdout", "150"]
    )

    assert result.exit_code == 1
    assert "holdout_percent" in result.stderr
