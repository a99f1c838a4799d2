"""Schemathesis against the OpenAPI schema: no 5xx, and every answer, error
or not, conforms to the schema the API publishes.

The schema is loaded at import, as Schemathesis's pytest plugin expects, from
an app whose store (a SQLite file in a folder of its own) is created by a
fixture. Its lazy ``from_fixture`` loader does not run on pytest 9.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from liftlab.api import create_app
from liftlab.config import Settings
from liftlab.experiments import apply_specs, load_specs
from liftlab.store.engine import make_engine
from liftlab.store.keys import Scope, create_key
from liftlab.store.migrate import upgrade
from tests.api.support import bearer
from tests.conftest import EXPERIMENTS

_FOLDER = Path(tempfile.gettempdir()) / f"liftlab-schema-{uuid.uuid4().hex[:12]}"
_URL = f"sqlite:///{_FOLDER / 'liftlab.db'}"
app = create_app(Settings(database_url=_URL, api_cache_seconds=0))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def admin_key() -> Iterator[str]:
    """An admin key on a fresh store with the shipped flows."""
    _FOLDER.mkdir()
    engine = make_engine(_URL)
    try:
        upgrade(engine)
        apply_specs(engine, load_specs(EXPERIMENTS), actor="test-suite")
        yield create_key(engine, name="schemathesis", scope=Scope.ADMIN).key
    finally:
        engine.dispose()
        app.state.entries.close()
        app.state.engine.dispose()
        shutil.rmtree(_FOLDER)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: schemathesis.Case, admin_key: str) -> None:
    case.call_and_validate(
        headers=bearer(admin_key),
        checks=[not_a_server_error, response_schema_conformance],
    )
