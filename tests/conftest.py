"""Shared fixtures: a fresh store per test on SQLite and, when configured,
on a real PostgreSQL server (``LIFTLAB_TEST_POSTGRES_URL``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from liftlab.config import get_settings
from liftlab.store.engine import get_engine, make_engine
from liftlab.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
HILLSTROM = ROOT.parent / "shared" / "data" / "hillstrom.csv"

BACKENDS = ["sqlite", "postgresql"]


def _postgres_server() -> str | None:
    url = os.environ.get("LIFTLAB_TEST_POSTGRES_URL")
    if not url:
        return None
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            url = "postgresql+psycopg://" + url[len(plain) :]
    return url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database, once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'liftlab.db'}"
        return

    server = _postgres_server()
    if server is None:
        pytest.skip("PostgreSQL: set LIFTLAB_TEST_POSTGRES_URL to run")
    name = f"liftlab_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        get_engine.cache_clear()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def bare_engine(database_url: str) -> Iterator[Engine]:
    """An engine on an empty database, no schema yet."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(bare_engine: Engine) -> Engine:
    """An engine on a fresh store at the newest schema."""
    upgrade(bare_engine)
    return bare_engine


@pytest.fixture
def liftlab_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point liftlab's settings at the test database, as the CLI reads them."""
    monkeypatch.setenv("LIFTLAB_DATABASE_URL", database_url)
    monkeypatch.setenv("LIFTLAB_ACTOR", "test-suite")
    monkeypatch.setenv("LIFTLAB_DEFAULT_REGION", "US")
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield database_url
    for cached in (get_engine(database_url),):
        cached.dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()
