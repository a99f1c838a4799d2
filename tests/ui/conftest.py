"""Fixtures for the app's page tests: a small simulated store, shared by the
tests that only read, and fresh stores for the tests that write."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from liftlab.attribution import AssistsReport, AttributionSettings, build_assists
from liftlab.config import get_settings
from liftlab.experiments import apply_specs, load_specs
from liftlab.results import FlowReport, build_reports
from liftlab.simulate import run_demo
from liftlab.store.engine import get_engine, make_engine
from liftlab.store.migrate import upgrade
from liftlab.store.tables import Flow
from liftlab.store.users import create_user
from liftlab.warehouse import connect
from tests.ui.support import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"


def _use(url: str, monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    monkeypatch.setenv("LIFTLAB_DATABASE_URL", url)
    monkeypatch.setenv("LIFTLAB_CACHE_DIR", str(cache))
    monkeypatch.delenv("LIFTLAB_WAREHOUSE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store holding a small simulated programme (30 days, 10,000 customers)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'liftlab.db'}"
    engine = make_engine(url)
    upgrade(engine)
    run_demo(
        engine, days=30, customers=10_000, actor="demo", experiments_dir=EXPERIMENTS
    )
    create_user(engine, "viv", PASSWORD, role="viewer")
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The result cache folder of the small simulated store."""
    return tmp_path_factory.mktemp("demo_cache")


@pytest.fixture
def demo(
    demo_url: str, demo_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The app reads the small simulated store."""
    _use(demo_url, monkeypatch, demo_cache)
    yield demo_url
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A fresh store with the shipped specs applied and an editor, ``ed``."""
    url = f"sqlite:///{tmp_path / 'liftlab.db'}"
    engine = make_engine(url)
    upgrade(engine)
    apply_specs(engine, load_specs(EXPERIMENTS), actor="setup")
    create_user(engine, "ed", PASSWORD, role="editor")
    create_user(engine, "viv", PASSWORD, role="viewer")
    _use(url, monkeypatch, tmp_path / "cache")
    yield engine
    engine.dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture(scope="session")
def demo_reports(demo_url: str) -> dict[str, FlowReport]:
    """The results engine's reports on the small simulated store."""
    engine = make_engine(demo_url)
    with Session(engine) as session, connect(demo_url) as warehouse:
        flows = list(session.exec(select(Flow).where(Flow.kind == "flow")).all())
        reports = build_reports(warehouse, session, flows)
    engine.dispose()
    return {report.flow: report for report in reports}


@pytest.fixture(scope="session")
def demo_assists(demo_url: str) -> AssistsReport:
    """The attribution engine's assists report on the small simulated store,
    with the default settings."""
    with connect(demo_url) as warehouse:
        return build_assists(warehouse, AttributionSettings())


@pytest.fixture
def signed_in() -> Callable[[AppTest, str], AppTest]:
    """Mark an AppTest's session as signed in by a local user."""

    def sign(app: AppTest, username: str) -> AppTest:
        app.session_state["liftlab_user"] = username
        return app

    return sign
