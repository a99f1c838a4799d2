"""Scratch stores for the import benchmark: fresh, migrated, then removed."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from liftlab.experiments import apply_specs, load_specs
from liftlab.store.engine import make_engine
from liftlab.store.migrate import upgrade

__all__ = ["Store", "fresh_store", "postgres_server", "unreachable"]

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


@dataclass(frozen=True, slots=True)
class Store:
    """A fresh store: its SQLAlchemy URL and the plain load's target."""

    url: str
    plain_target: str


def postgres_server(url: str) -> URL:
    """The server URL with the psycopg 3 driver SQLAlchemy should use."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


@contextmanager
def fresh_store(backend: str, server: URL | None, *, folder: Path) -> Iterator[Store]:
    """An empty store, migrated, flows applied; removed afterwards.

    A SQLite store is a new file in a new directory under ``folder``; a
    PostgreSQL store is a new database on ``server``, dropped at the end.
    """
    if backend == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="store-", dir=folder))
        try:
            file = directory / "liftlab.db"
            store = Store(f"sqlite:///{file}", str(file))
            _prepare(store.url)
            yield store
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return

    if server is None:
        raise ValueError("a PostgreSQL store needs a server URL")
    name = f"liftlab_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = server.set(database=name)
        libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
        store = Store(url.render_as_string(hide_password=False), libpq)
        _prepare(store.url)
        yield store
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _prepare(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    apply_specs(engine, load_specs(EXPERIMENTS), actor="bench")
    engine.dispose()


def unreachable(server: URL) -> str | None:
    """None when the server answers, else why not."""
    engine = create_engine(server)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        return f"{server.render_as_string(hide_password=True)}: {error}".strip()
    finally:
        engine.dispose()
    return None
