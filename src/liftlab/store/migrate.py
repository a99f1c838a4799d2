"""Schema migrations: create, inspect and upgrade the store with Alembic."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

__all__ = [
    "SchemaOutdatedError",
    "SchemaState",
    "ensure_schema",
    "head_revision",
    "schema_state",
    "upgrade",
]

logger = logging.getLogger(__name__)

_SCRIPTS = Path(__file__).with_name("migrations")
UPGRADE_COMMAND = "liftlab db upgrade"


class SchemaOutdatedError(RuntimeError):
    """The store's schema is older than this liftlab, or of unknown origin."""


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a store's schema stands.

    Attributes:
        current: The applied revision, None for an empty database.
        head: The newest revision this liftlab knows.
        has_tables: Whether the database holds any table at all.
    """

    current: str | None
    head: str
    has_tables: bool

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def head_revision() -> str:
    """The newest migration shipped with this liftlab."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def schema_state(engine: Engine) -> SchemaState:
    """Read the applied revision of a store."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        has_tables = bool(inspect(connection).get_table_names())
    return SchemaState(current=current, head=head_revision(), has_tables=has_tables)


def upgrade(engine: Engine, revision: str = "head") -> SchemaState:
    """Apply every migration up to ``revision`` in one transaction per step."""
    before = schema_state(engine)
    with engine.begin() as connection:
        config = _config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    after = schema_state(engine)
    if before.current != after.current:
        logger.info("schema upgraded from %s to %s", before.current, after.current)
    return after


def downgrade(engine: Engine, revision: str) -> SchemaState:
    """Step the schema back to ``revision``; for tests of upgrade paths."""
    with engine.begin() as connection:
        config = _config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
    return schema_state(engine)


def ensure_schema(engine: Engine, *, url_hint: str = "") -> SchemaState:
    """Make an empty store current; refuse an older one with the exact fix.

    An empty database is created at the newest schema. A database at an older
    revision is left alone, since upgrading shared data is the operator's
    decision, and the error names the command that upgrades it.

    Raises:
        SchemaOutdatedError: The schema is behind, ahead, or not liftlab's.
    """
    state = schema_state(engine)
    if state.up_to_date:
        return state
    if state.current is None and not state.has_tables:
        return upgrade(engine)

    where = f" ({url_hint})" if url_hint else ""
    if state.current is None:
        raise SchemaOutdatedError(
            f"the database{where} holds tables that liftlab did not create; "
            "point LIFTLAB_DATABASE_URL at an empty database or a liftlab store"
        )
    scripts = ScriptDirectory.from_config(_config())
    known = {script.revision for script in scripts.walk_revisions()}
    if state.current not in known:
        raise SchemaOutdatedError(
            f"the database{where} is at schema {state.current}, newer than this "
            f"liftlab knows (newest {state.head}); upgrade liftlab"
        )
    raise SchemaOutdatedError(
        f"the database{where} is at schema {state.current}; this liftlab needs "
        f"{state.head}. Upgrade it with: {UPGRADE_COMMAND}"
    )
