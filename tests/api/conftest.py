"""API fixtures: a store with the shipped flows, a key per scope, and an
in-process client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from liftlab.experiments import apply_specs, load_specs
from liftlab.store.keys import Scope, create_key
from tests.api.support import ApiClient, api_client
from tests.conftest import EXPERIMENTS


@pytest.fixture
def store(liftlab_env: str, engine: Engine) -> Engine:
    """A fresh store with the shipped flows and global holdout applied."""
    apply_specs(engine, load_specs(EXPERIMENTS), actor="test-suite")
    return engine


@pytest.fixture
def keys(store: Engine) -> dict[str, str]:
    """One key per scope, by scope name."""
    return {
        scope.value: create_key(store, name=f"tests {scope.value}", scope=scope).key
        for scope in Scope
    }


@pytest.fixture
def client(store: Engine) -> Iterator[ApiClient]:
    """A client for the API on the store, caches off so changes show at once."""
    with api_client(api_cache_seconds=0) as opened:
        yield opened
