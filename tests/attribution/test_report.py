"""The assists report on the demo simulator, whose true effects are known.

The browse-abandonment flow causes nothing (its true lift is zero), yet its
texts land on the paths of purchases that would have happened anyway: paths
must credit it with more conversions than the holdout says it caused, and
the comparison must say so.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from liftlab.attribution import (
    MODELS,
    AttributionSettings,
    assist_rows,
    build_assists,
    causation_rows,
    credit_vs_causation,
    model_rows,
)
from liftlab.attribution.models import Paths, time_decay
from liftlab.attribution.paths import _eligible, path_frames
from liftlab.results import build_reports
from liftlab.simulate import run_demo
from liftlab.store.engine import make_engine
from liftlab.store.migrate import upgrade
from liftlab.store.tables import Flow
from liftlab.warehouse import Warehouse, connect

ROOT = Path(__file__).resolve().parents[2]
AS_OF = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('assists') / 'liftlab.db'}"
    engine = make_engine(url)
    upgrade(engine)
    run_demo(
        engine, seed=7, days=60, customers=20_000, actor="test",
        experiments_dir=ROOT / "experiments",
    )  # fmt: skip
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def warehouse(demo_url: str) -> Iterator[Warehouse]:
    with connect(demo_url) as store:
        yield store


@pytest.fixture(scope="module")
def report(warehouse: Warehouse):  # type: ignore[no-untyped-def]
    return build_assists(warehouse)


def test_assists_exceed_incremental_for_the_flow_that_causes_nothing(
    report, warehouse: Warehouse, demo_url: str
) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(demo_url)
    with Session(engine) as session:
        flows = list(session.exec(select(Flow).where(Flow.key == "browse_abandonment")))
        reports = build_reports(warehouse, session, flows, as_of=AS_OF)
    engine.dispose()

    (row,) = credit_vs_causation(report, reports)

    assert row.assisted > row.incremental_conversions.upper
    assert row.assisted > row.incremental_conversions.value
    assert row.verdict == "credit_exceeds_causation"
    assert "assisted credit exceeds what the texts caused" in row.summary
    assert row.assisted_ratio.value > 1
    flat = causation_rows((row,))[0]
    assert flat["verdict"] == "credit_exceeds_causation"


def test_assisted_and_last_touch_overlap_and_are_never_summed(report) -> None:  # type: ignore[no-untyped-def]
    sms = report.metric("channel", "sms")

    assert sms.assisted > 0
    assert sms.last_touch > 0
    assert max(sms.assisted, sms.last_touch) <= sms.conversions
    assert sms.conversions <= sms.assisted + sms.last_touch
    assert sms.click_assisted + sms.view_assisted >= sms.assisted
    assert sms.assist_ratio == pytest.approx(sms.assisted / sms.last_touch)
    assert "influenced" not in {key for row in assist_rows(report) for key in row}


def test_every_model_credits_the_conversions_on_paths(report) -> None:  # type: ignore[no-untyped-def]
    assert tuple(credit.model for credit in report.models) == MODELS
    for credit in report.models:
        assert sum(credit.conversions) == pytest.approx(
            report.conversions_with_path, rel=1e-9
        ), credit.model
        assert min(credit.conversions) >= 0
    assert {row["model"] for row in model_rows(report)} == set(MODELS)
    assert report.conversions_with_path < report.conversions
    assert report.notes
    assert "no eligible touch" in report.notes[0]


def test_warehouse_time_decay_matches_the_pure_model(
    warehouse: Warehouse, report
) -> None:  # type: ignore[no-untyped-def]
    rows = (
        _eligible(warehouse, AttributionSettings())
        .select("conversion_id", "state", "lag_s")
        .to_pandas()
    )
    grouped = rows.groupby("conversion_id")
    touches = [list(zip(g["state"], g["lag_s"], strict=True)) for _, g in grouped]

    reference = time_decay(touches, [1.0] * len(touches), half_life_days=7.0)

    assert report.model("time_decay").credit() == pytest.approx(
        reference.credit(), rel=1e-9
    )


def test_path_table_holds_converting_and_non_converting_paths(
    warehouse: Warehouse,
) -> None:
    paths = path_frames(warehouse, AttributionSettings(), segments=False).paths

    assert isinstance(paths, Paths)
    assert paths.nulls.sum() > 0
    assert paths.conversions.sum() > 0
    assert len(set(paths.paths)) == len(paths.paths)


def test_flow_filter_keeps_only_that_flow(warehouse: Warehouse) -> None:
    only = build_assists(
        warehouse, AttributionSettings(models=("last",)), flows=["winback"]
    )

    flows = {row.key for row in only.metrics if row.dimension == "flow"}
    states = set(only.models[0].channels)
    assert flows == {"winback"}
    assert "sms:winback" in states
    assert "sms:abandoned_cart" not in states
