"""Alembic environment: runs liftlab's migrations on the connection it is given."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import liftlab.store.tables  # noqa: F401  (registers the tables)
from liftlab.store.engine import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    """Run on the caller's connection, or on one made from the URL option."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("liftlab migrations run online only: use `liftlab db upgrade`")
run_migrations_online()
