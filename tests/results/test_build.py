"""Flow reports: checked against statsmodels and scipy on raw rows, against
the simulator's truth, and on bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as scipy_stats
from sqlalchemy import Engine
from sqlmodel import Session, select
from statsmodels.stats import proportion as sm_proportion

from liftlab.experiments import apply_specs, load_specs
from liftlab.hillstrom import load_hillstrom
from liftlab.results import FlowReport, ReportError, build_reports, overview
from liftlab.simulate import run_demo, stored_truths
from liftlab.store.entries import EntryRecord, record_entries
from liftlab.store.tables import Flow
from liftlab.warehouse import connect

ROOT = Path(__file__).resolve().parents[2]
HILLSTROM = ROOT.parent / "shared" / "data" / "hillstrom.csv"
AFTER = datetime(2027, 6, 1, tzinfo=UTC)


def _reports(
    engine: Engine, url: str, keys: list[str], **options: object
) -> list[FlowReport]:
    with Session(engine) as session, connect(url) as warehouse:
        flows = [session.get(Flow, key) for key in keys]
        return build_reports(warehouse, session, flows, as_of=AFTER, **options)


@pytest.fixture
def hillstrom(engine: Engine, database_url: str) -> tuple[Engine, str]:
    if not HILLSTROM.is_file():
        pytest.skip(f"the Hillstrom file is not at {HILLSTROM}")
    load_hillstrom(engine, HILLSTROM, actor="test")
    return engine, database_url


def _raw() -> pd.DataFrame:
    frame = pd.read_csv(HILLSTROM)
    return frame[frame["segment"].isin(["Mens E-Mail", "No E-Mail"])]


def test_hillstrom_conversion_matches_statsmodels(
    hillstrom: tuple[Engine, str],
) -> None:
    (report,) = _reports(*hillstrom, ["hillstrom"])
    mens = next(r for r in report.results if r.variant == "mens_email")
    raw = _raw()
    exposed = raw[raw["segment"] == "Mens E-Mail"]["conversion"]
    holdout = raw[raw["segment"] == "No E-Mail"]["conversion"]

    # Newcombe's hybrid score interval as statsmodels computes it.
    low, high = sm_proportion.confint_proportions_2indep(
        exposed.sum(), len(exposed), holdout.sum(), len(holdout),
        method="newcomb", compare="diff",
    )  # fmt: skip
    # The score test without continuity correction (statsmodels).
    score = sm_proportion.test_proportions_2indep(
        exposed.sum(), len(exposed), holdout.sum(), len(holdout),
        method="score", compare="diff", correction=False,
    )  # fmt: skip
    lift = mens.conversion.absolute_lift
    assert lift.value == pytest.approx(exposed.mean() - holdout.mean(), abs=1e-12)
    assert lift.lower == pytest.approx(low, abs=1e-4)
    assert lift.upper == pytest.approx(high, abs=1e-4)
    assert mens.conversion.p_value == pytest.approx(score.pvalue, abs=1e-4)
    assert report.arms[0].units == 21_306
    assert mens.conversion.incremental_conversions.value == pytest.approx(
        lift.value * 21_307
    )


def test_hillstrom_spend_matches_scipy_and_ols(hillstrom: tuple[Engine, str]) -> None:
    (report,) = _reports(*hillstrom, ["hillstrom"], covariate="history")
    mens = next(r for r in report.results if r.variant == "mens_email")
    raw = _raw()
    exposed = raw[raw["segment"] == "Mens E-Mail"]
    holdout = raw[raw["segment"] == "No E-Mail"]

    # Welch's t-test on the raw spend rows (scipy).
    welch = scipy_stats.ttest_ind(exposed["spend"], holdout["spend"], equal_var=False)
    interval = welch.confidence_interval(0.95)
    revenue = mens.revenue.absolute_lift
    assert revenue.value == pytest.approx(
        exposed["spend"].mean() - holdout["spend"].mean(), abs=1e-9
    )
    assert revenue.lower == pytest.approx(interval.low, abs=1e-4)
    assert revenue.upper == pytest.approx(interval.high, abs=1e-4)
    assert mens.revenue.p_value == pytest.approx(welch.pvalue, abs=1e-6)

    # CUPED on prior-year spend equals OLS of spend on arm and history.
    design = sm.add_constant(
        np.column_stack(
            [(raw["segment"] == "Mens E-Mail").astype(float), raw["history"]]
        )
    )
    fitted = sm.OLS(raw["spend"].to_numpy(), design).fit()
    assert mens.revenue_cuped.absolute_lift.value == pytest.approx(
        fitted.params[1], abs=1e-9
    )
    assert mens.revenue_cuped.variance_reduction > 0


def test_hillstrom_split_and_variants(hillstrom: tuple[Engine, str]) -> None:
    (report,) = _reports(*hillstrom, ["hillstrom"])

    assert [arm.arm for arm in report.arms] == ["holdout", "mens_email", "womens_email"]
    assert [arm.conversions for arm in report.arms] == [122, 267, 189]
    assert not report.srm.mismatch


def test_demo_reports_find_the_true_effects(engine: Engine, database_url: str) -> None:
    run_demo(
        engine, seed=3, days=60, customers=20_000, actor="test",
        experiments_dir=ROOT / "experiments",
    )  # fmt: skip
    keys = ["abandoned_cart", "browse_abandonment", "renewal_reminder", "winback"]
    reports = _reports(engine, database_url, keys)
    truths = {
        truth.flow: truth for truth in stored_truths(engine) if truth.dimension == ""
    }

    for report in reports:
        lift = report.primary.conversion.absolute_lift
        standard_error = (lift.upper - lift.lower) / (2 * 1.959964)
        truth = truths[report.flow].absolute_lift
        assert abs(lift.value - truth) < 4 * standard_error, report.flow
        assert not report.srm.mismatch
        assert report.daily
        assert report.primary.cost is not None
    rows = overview(reports)
    assert all(row.adjusted_p_value >= row.p_value for row in rows)
    assert max(row.adjusted_p_value for row in rows) <= 1.0


def test_flow_without_entries_is_reported_clearly(
    engine: Engine, database_url: str
) -> None:
    apply_specs(engine, load_specs(ROOT / "experiments"), actor="test")

    with pytest.raises(ReportError, match="'winback': no entries in epoch 1"):
        _reports(engine, database_url, ["winback"])


def test_holdout_without_units_is_reported_clearly(
    engine: Engine, database_url: str
) -> None:
    apply_specs(engine, load_specs(ROOT / "experiments"), actor="test")
    with Session(engine) as session:
        flow = session.exec(select(Flow).where(Flow.key == "winback")).one()
        moment = datetime(2026, 10, 1, tzinfo=UTC)
        records = [
            EntryRecord(f"c{n}", "exposed", "outside_holdout", 0.5, moment)
            for n in range(10)
        ]
        record_entries(session, flow, records, source="test")
        session.commit()

    with pytest.raises(ReportError, match="the holdout has 0 units"):
        _reports(engine, database_url, ["winback"])
