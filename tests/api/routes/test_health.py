"""GET /v1/health and GET /v1/ready: open, and honest about the store."""

from __future__ import annotations

from sqlalchemy import Engine

from liftlab import __version__
from liftlab.store.migrate import downgrade, head_revision
from tests.api.support import ApiClient, api_client


def test_health_answers_without_a_key(client: ApiClient) -> None:
    response = client.get("/v1/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


def test_ready_checks_the_store_and_its_schema(
    liftlab_env: str, engine: Engine
) -> None:
    with api_client() as client:
        ready = client.get("/v1/ready")
        downgrade(engine, "0003")
        stale = client.get("/v1/ready")

    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "schema_revision": head_revision()}
    assert stale.status_code == 503
    error = stale.json()["error"]
    assert error["code"] == "not_ready"
    assert "liftlab db upgrade" in error["message"]
