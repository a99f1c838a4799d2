"""Every error code is answered with its status and the one JSON shape."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text, update
from sqlmodel import Session

from liftlab.api.errors import CODES
from liftlab.api.schemas import ErrorResponse
from liftlab.store.keys import revoke_key
from liftlab.store.tables import Flow
from tests.api.support import ApiClient, api_client, bearer

T = "2026-11-02T09:30:00Z"


def test_every_error_code_is_answered_with_its_status(
    client: ApiClient,
    keys: dict[str, str],
    store: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    admin, assign = bearer(keys["admin"]), bearer(keys["assign"])
    revoked = keys["ingest"]
    revoke_key(store, revoked.split("_")[1])

    def assign_body(body: object, headers: dict[str, str] = admin) -> httpx.Response:
        return client.post("/v1/assign", json=body, headers=headers)

    def external() -> httpx.Response:
        with Session(store) as session:
            session.execute(
                update(Flow).where(Flow.key == "winback").values(assignment="external")
            )
            session.commit()
        return assign_body({"flow": "winback", "unit_id": "a"})

    def warehouse() -> httpx.Response:
        monkeypatch.setenv("LIFTLAB_WAREHOUSE_URL", f"parquet://{tmp_path}/none")
        answer = client.get("/v1/flows/abandoned_cart/report", headers=admin)
        monkeypatch.delenv("LIFTLAB_WAREHOUSE_URL")
        return answer

    def not_ready() -> httpx.Response:
        empty = f"sqlite:///{tmp_path}/empty.db"
        with api_client(database_url=empty) as elsewhere:
            return elsewhere.get("/v1/ready")

    def crash() -> httpx.Response:
        with store.begin() as connection:
            connection.execute(text("DROP TABLE customer_segments"))
            connection.execute(text("DROP TABLE customers"))
        return assign_body({"flow": "abandoned_cart", "unit_id": "secret_unit_77"})

    big = [f"u{n}" for n in range(10_001)]
    steps: list[tuple[str, Callable[[], httpx.Response]]] = [
        ("missing_key", lambda: client.get("/v1/flows")),
        ("invalid_key", lambda: client.get("/v1/flows", headers=bearer("ll_x_y"))),
        ("revoked_key", lambda: client.get("/v1/flows", headers=bearer(revoked))),
        ("forbidden_scope", lambda: client.get("/v1/flows", headers=assign)),
        ("not_found", lambda: client.get("/v2/assign")),
        ("unknown_flow", lambda: assign_body({"flow": "nope", "unit_id": "a"})),
        ("method_not_allowed", lambda: client.request("DELETE", "/v1/assign")),
        ("report_unavailable",
         lambda: client.get("/v1/flows/abandoned_cart/report", headers=admin)),
        ("body_too_large", lambda: client.post(
            "/v1/assign", content=b" " * (5 << 20), headers=admin)),
        ("batch_too_large", lambda: client.post(
            "/v1/assign/batch", json={"flow": "winback", "unit_ids": big},
            headers=admin)),
        ("invalid_body", lambda: assign_body({"flow": "winback"})),
        ("invalid_parameter", lambda: client.get(
            "/v1/assign", params={"flow": "winback"}, headers=admin)),
        ("invalid_unit", lambda: assign_body({"flow": "winback", "phone": "1"})),
        ("invalid_events", lambda: client.post(
            "/v1/events/touches", headers=admin, json={"events": [
                {"touch_id": "t", "unit_id": "a", "channel": "email",
                 "kind": "poke", "occurred_at": T}]})),
        ("warehouse_unavailable", warehouse),
        ("not_ready", not_ready),
        ("external_assignment", external),
        ("internal_error", crash),
    ]  # fmt: skip

    seen = {}
    for expected, step in steps:
        response = step()
        body = ErrorResponse.model_validate(response.json())
        seen[body.error.code] = response.status_code
        assert body.error.code == expected, response.text
        assert body.error.message

    assert seen == CODES
    crash_log = [r for r in caplog.records if r.name == "liftlab.api.errors"]
    assert len(crash_log) == 1
    assert "secret_unit_77" not in caplog.text
