"""The outer layer: one access-log line per request that never holds a
phone number or a key, body size limits, CORS off unless configured."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Engine

from tests.api.support import PHONE, ApiClient, api_client, bearer, written


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [
        json.loads(record.getMessage())
        for record in caplog.records
        if record.name == "liftlab.api.access"
    ]


def test_access_log_has_one_line_per_request_without_phones_or_keys(
    client: ApiClient, keys: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    key = keys["assign"]
    secret = key.split("_", 2)[2]

    client.post("/v1/assign", json={"flow": "winback", "phone": "(415) 555-2671"},
                headers=bearer(key))  # fmt: skip
    client.get("/v1/assign", params={"flow": "winback", "phone": PHONE},
               headers=bearer(key))  # fmt: skip
    client.post("/v1/assign/batch", json={"flow": "winback", "phones": [PHONE, "12"]},
                headers=bearer(key))  # fmt: skip
    client.post("/v1/assign", json={"flow": "winback", "phone": PHONE},
                headers=bearer(key[:-2] + "xx"))  # fmt: skip
    client.get(f"/v1/assign/{PHONE}", headers=bearer(key))

    lines = _access_lines(caplog)
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("POST", "/v1/assign", 200),
        ("GET", "/v1/assign", 200),
        ("POST", "/v1/assign/batch", 422),
        ("POST", "/v1/assign", 401),
        ("GET", "unmatched", 404),
    ]
    key_id = key.split("_")[1]
    assert [line["key_id"] for line in lines] == [key_id, key_id, key_id, None, None]
    assert all(isinstance(line["ms"], float) and line["bytes_out"] for line in lines)
    # Everything the server side logged (the test's own HTTP client logs
    # the URLs it calls, and is no part of the server).
    logged = "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith(("httpx", "httpcore"))
    )
    for secret_value in (PHONE, "4155552671", "555-2671", secret, key):
        assert secret_value not in logged


def test_a_declared_body_over_the_limit_is_refused_unread(
    store: Engine, keys: dict[str, str]
) -> None:
    units = [f"unit_{n}" for n in range(200)]
    with api_client(api_max_body_bytes=1_000) as small:
        response = small.post(
            "/v1/assign/batch",
            json={"flow": "winback", "unit_ids": units},
            headers=bearer(keys["assign"]),
        )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert written(store)["entries"] == 0


def test_a_chunked_body_over_the_limit_is_cut_off(
    store: Engine, keys: dict[str, str]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"flow": "winback", "unit_ids": ['
        for n in range(300):
            yield f'"unit_{n}", '.encode()
        yield b'"last"]}'

    with api_client(api_max_body_bytes=1_000) as small:
        response = small.post(
            "/v1/assign/batch",
            content=chunks(),
            headers={**bearer(keys["assign"]), "Content-Type": "application/json"},
        )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert written(store)["entries"] == 0


def _preflight(client: ApiClient, origin: str) -> dict[str, str]:
    response = client.request(
        "OPTIONS",
        "/v1/assign",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    return dict(response.headers)


def test_cors_is_off_unless_configured(store: Engine) -> None:
    with api_client() as plain:
        closed = _preflight(plain, "https://app.example")
    with api_client(api_cors_origins="https://app.example, https://b.example") as open_:
        allowed = _preflight(open_, "https://app.example")
        other = _preflight(open_, "https://evil.example")

    assert "access-control-allow-origin" not in closed
    assert allowed["access-control-allow-origin"] == "https://app.example"
    assert "authorization" in allowed["access-control-allow-headers"].lower()
    assert "access-control-allow-origin" not in other
