"""Schema migrations on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlmodel import SQLModel
from typer.testing import CliRunner

import liftlab.store.tables  # noqa: F401
from liftlab.cli import app
from liftlab.store.migrate import (
    SchemaOutdatedError,
    downgrade,
    ensure_schema,
    head_revision,
    schema_state,
)


def test_ensure_schema_creates_an_empty_database(bare_engine: Engine) -> None:
    engine = bare_engine
    state = ensure_schema(engine)
    assert state.current == head_revision()
    assert state.up_to_date


def test_migrations_match_the_table_models(bare_engine: Engine) -> None:
    engine = bare_engine
    ensure_schema(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_ensure_schema_refuses_an_older_database_with_the_command(
    bare_engine: Engine,
) -> None:
    engine = bare_engine
    ensure_schema(engine)
    assert downgrade(engine, "0001").current == "0001"

    with pytest.raises(SchemaOutdatedError) as caught:
        ensure_schema(engine)
    assert "at schema 0001" in str(caught.value)
    assert "liftlab db upgrade" in str(caught.value)


def test_cli_upgrades_an_older_database(liftlab_env: str, bare_engine: Engine) -> None:
    engine = bare_engine
    ensure_schema(engine)
    downgrade(engine, "0001")
    runner = CliRunner()

    refused = runner.invoke(app, ["flows"])
    assert refused.exit_code == 1
    assert "liftlab db upgrade" in refused.output

    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert schema_state(engine).up_to_date
    assert runner.invoke(app, ["flows"]).exit_code == 0


def test_ensure_schema_refuses_foreign_tables(bare_engine: Engine) -> None:
    engine = bare_engine
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE someone_elses (id INTEGER)"))
    with pytest.raises(SchemaOutdatedError, match="did not create"):
        ensure_schema(engine)
