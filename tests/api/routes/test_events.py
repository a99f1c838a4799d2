"""POST /v1/events/{messages,touches,conversions}: the importer's checks and
idempotency over HTTP."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from liftlab.store.tables import Conversion, Message, Touch
from tests.api.support import PHONE, ApiClient, bearer, written

T = "2026-11-02T09:30:00+01:00"


def _post(client: ApiClient, key: str, kind: str, events: list[dict[str, Any]]) -> Any:
    return client.post(
        f"/v1/events/{kind}", json={"events": events}, headers=bearer(key)
    )


def test_events_of_each_kind_are_stored_in_utc(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    message = {"message_id": "m1", "flow": "winback", "unit_id": "a", "sent_at": T,
               "delivered_at": T, "status": "delivered", "cost": 0.0079}  # fmt: skip
    touch = {"touch_id": "t1", "phone": "(415) 555-2671", "channel": "sms",
             "kind": "click", "occurred_at": T, "flow": "winback",
             "message_id": "m1"}  # fmt: skip
    conversion = {"conversion_id": "c1", "unit_id": "a", "occurred_at": T,
                  "type": "purchase", "value": 25.5}  # fmt: skip

    answers = [
        _post(client, keys["ingest"], kind, [event])
        for kind, event in (
            ("messages", message), ("touches", touch), ("conversions", conversion),
        )
    ]  # fmt: skip

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json() for a in answers] == [
        {"kind": kind, "received": 1, "inserted": 1, "duplicates": 0}
        for kind in ("messages", "touches", "conversions")
    ]
    with Session(store) as session:
        stored_message = session.exec(select(Message)).one()
        stored_touch = session.exec(select(Touch)).one()
        stored_conversion = session.exec(select(Conversion)).one()
    assert stored_message.sent_at.isoformat() == "2026-11-02T08:30:00+00:00"
    assert stored_message.cost == 0.0079
    assert stored_touch.unit_id == PHONE
    assert (stored_conversion.value, stored_conversion.type) == (25.5, "purchase")


def test_events_repeated_ids_are_skipped_so_retries_are_safe(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    events = [
        {"conversion_id": f"c{n}", "unit_id": "a", "occurred_at": T,
         "type": "purchase", "value": n}
        for n in range(3)
    ]  # fmt: skip

    first = _post(client, keys["ingest"], "conversions", events)
    retried = _post(client, keys["ingest"], "conversions", [*events, events[0]])

    assert first.json()["inserted"] == 3
    assert retried.json() == {
        "kind": "conversions", "received": 4, "inserted": 0, "duplicates": 4,
    }  # fmt: skip
    assert written(store)["conversions"] == 3


def test_events_with_a_bad_value_are_refused_whole_naming_each(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    events = [
        {"touch_id": "t1", "unit_id": "a", "channel": "email", "kind": "view",
         "occurred_at": T},
        {"touch_id": "t2", "unit_id": "a", "channel": "email", "kind": "poke",
         "occurred_at": "2026-11-02T09:30:00"},
        {"touch_id": "t3", "phone": "555", "channel": "sms", "kind": "view",
         "occurred_at": T, "flow": "nope"},
    ]  # fmt: skip

    response = _post(client, keys["ingest"], "touches", events)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_events"
    assert error["message"] == "2 of 3 events rejected; nothing was written"
    fields = [detail["field"] for detail in error["details"]]
    assert fields == [
        "events[1].kind", "events[1].occurred_at", "events[2].phone", "events[2].flow",
    ]  # fmt: skip
    assert "555" not in response.text
    assert written(store)["touches"] == 0


def test_events_shape_errors_are_invalid_body(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    cases = [
        ({"events": []}, "events"),
        ({"events": [{"conversion_id": "c", "occurred_at": T, "type": "p",
                      "value": 1}]}, "events[0]"),
        ({"events": [{"conversion_id": "c", "unit_id": "a", "occurred_at": T,
                      "type": "p", "value": "lots"}]}, "events[0].value"),
        ({"events": [{"conversion_id": "c", "unit_id": "a", "occurred_at": T,
                      "type": "p", "value": 1, "colour": "red"}]}, "events[0].colour"),
    ]  # fmt: skip
    for body, field in cases:
        response = client.post(
            "/v1/events/conversions", json=body, headers=bearer(keys["ingest"])
        )
        assert response.status_code == 422, body
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("invalid_body", field)
    assert written(store)["conversions"] == 0


def test_events_over_ten_thousand_are_too_large(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    events = [
        {"conversion_id": f"c{n}", "unit_id": "a", "occurred_at": T,
         "type": "purchase", "value": 1}
        for n in range(10_001)
    ]  # fmt: skip

    response = _post(client, keys["ingest"], "conversions", events)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "batch_too_large"
    assert written(store)["conversions"] == 0
