"""POST/GET /v1/assign and POST /v1/assign/batch: the hash's answer, logged
once per unit and flow before it is returned."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from liftlab.assignment import FlowRule, GlobalRule, assign, assign_many
from liftlab.experiments import apply_specs, load_specs
from liftlab.ingest import import_frame
from liftlab.store.tables import Entry, Flow
from tests.api.support import PHONE, ApiClient, bearer
from tests.conftest import EXPERIMENTS

WINBACK = FlowRule("winback", "winback", 15.0)
GLOBAL = GlobalRule("liftlab_global_2026", 5.0)


def _entries(engine: Engine) -> dict[str, Entry]:
    with Session(engine) as session:
        return {row.unit_id: row for row in session.exec(select(Entry)).all()}


def _assign(client: ApiClient, key: str, **body: object) -> dict[str, object]:
    response = client.post("/v1/assign", json=body, headers=bearer(key))
    assert response.status_code == 200, response.text
    return response.json()


def test_assign_answers_the_hash_and_logs_the_entry(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    answer = _assign(client, keys["assign"], flow="winback", unit_id="cus_42")

    expected = assign(WINBACK, "cus_42", global_rule=GLOBAL)
    assert answer == {
        "flow": "winback",
        "unit_id": "cus_42",
        "arm": expected.arm.value,
        "send": expected.send,
        "reason": expected.reason.value,
        "bucket": expected.bucket,
        "flow_version": 1,
    }
    entry = _entries(store)["cus_42"]
    assert (entry.flow_key, entry.arm, entry.reason, entry.source) == (
        "winback", expected.arm.value, expected.reason.value, "api",
    )  # fmt: skip
    assert entry.entry_count == 1


def test_assign_repeats_the_answer_and_counts_repeated_entries(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    answers = [
        _assign(client, keys["assign"], flow="abandoned_cart", unit_id=f"cus_{n % 3}")
        for n in range(9)
    ]

    assert answers[0:3] == answers[3:6] == answers[6:9]
    entries = _entries(store)
    assert sorted(entries) == ["cus_0", "cus_1", "cus_2"]
    assert {row.entry_count for row in entries.values()} == {3}
    first = entries["cus_0"]
    assert first.last_entered_at >= first.entered_at


def test_assign_by_phone_answers_the_e164_unit(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    answer = _assign(client, keys["assign"], flow="winback", phone="(415) 555-2671")

    assert answer["unit_id"] == PHONE
    assert answer["arm"] == assign(WINBACK, PHONE, global_rule=GLOBAL).arm.value
    assert list(_entries(store)) == [PHONE]


def test_assign_get_form_matches_post_and_is_not_cached(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    posted = client.post(
        "/v1/assign",
        json={"flow": "winback", "unit_id": "u1"},
        headers=bearer(keys["assign"]),
    )
    got = client.get(
        "/v1/assign",
        params={"flow": "winback", "unit_id": "u1"},
        headers=bearer(keys["assign"]),
    )

    assert got.status_code == 200
    assert got.json() == posted.json()
    assert got.headers["cache-control"] == "no-store"
    assert posted.headers["cache-control"] == "no-store"
    assert _entries(store)["u1"].entry_count == 2


def test_assign_get_needs_exactly_one_unit(
    client: ApiClient, keys: dict[str, str]
) -> None:
    for params in (
        {"flow": "winback"},
        {"flow": "winback", "unit_id": "a", "phone": PHONE},
    ):
        response = client.get(
            "/v1/assign", params=params, headers=bearer(keys["assign"])
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_parameter"


def test_assign_without_consent_is_excluded_and_not_entered(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    customers = pd.DataFrame(
        {"unit_id": ["refuser", "agreer"], "sms_consent": ["false", "true"]}
    )
    import_frame(store, "customers", customers, source="test", actor="test")

    refused = _assign(client, keys["assign"], flow="winback", unit_id="refuser")
    agreed = _assign(client, keys["assign"], flow="winback", unit_id="agreer")

    assert refused == {
        "flow": "winback",
        "unit_id": "refuser",
        "arm": "excluded",
        "send": False,
        "reason": "no_consent",
        "bucket": None,
        "flow_version": 1,
    }
    assert agreed["arm"] != "excluded"
    assert list(_entries(store)) == ["agreer"]


def test_assign_a_raised_holdout_takes_effect(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    unit = next(
        f"cus_{n}"
        for n in range(1000)
        if assign(WINBACK, f"cus_{n}", global_rule=GLOBAL).arm.value == "exposed"
    )
    before = _assign(client, keys["assign"], flow="winback", unit_id=unit)
    with tempfile.TemporaryDirectory() as folder:
        for spec in EXPERIMENTS.glob("*.toml"):
            text = spec.read_text()
            if spec.name == "winback.toml":
                text = text.replace("holdout_percent = 15.0", "holdout_percent = 99.0")
            (Path(folder) / spec.name).write_text(text)
        apply_specs(store, load_specs(Path(folder)), actor="test-suite")

    after = _assign(client, keys["assign"], flow="winback", unit_id=unit)

    assert (before["arm"], before["flow_version"]) == ("exposed", 1)
    bucket = after["bucket"]
    assert isinstance(bucket, float)
    assert after["flow_version"] == 2
    assert after["arm"] == ("holdout" if bucket < 0.99 else "exposed")
    # The log keeps the arm of the first entry.
    assert _entries(store)[unit].arm == "exposed"


def test_assign_errors_name_the_code_and_field(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    key = bearer(keys["assign"])
    cases = [
        ({"flow": "winbak", "unit_id": "a"}, 404, "unknown_flow", "flow"),
        ({"flow": "global", "unit_id": "a"}, 404, "unknown_flow", "flow"),
        ({"flow": "winback", "phone": "123"}, 422, "invalid_unit", "phone"),
        ({"flow": "winback", "unit_id": "a\x01b"}, 422, "invalid_unit", "unit_id"),
        ({"flow": "winback", "unit_id": "a\x00"}, 422, "invalid_body", "unit_id"),
        ({"flow": "winback"}, 422, "invalid_body", "body"),
        ({"flow": "winback", "unit_id": "a", "extra": 1}, 422, "invalid_body", "extra"),
        ({"flow": "winback", "unit_id": 7}, 422, "invalid_body", "unit_id"),
    ]
    for body, status, code, field in cases:
        response = client.post("/v1/assign", json=body, headers=key)
        assert response.status_code == status, body
        error = response.json()["error"]
        assert (error["code"], error["field"]) == (code, field), body
        assert error["message"]
    assert _entries(store) == {}


def test_assign_refuses_a_flow_randomised_elsewhere(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    with Session(store) as session:
        session.execute(
            update(Flow).where(Flow.key == "winback").values(assignment="external")
        )
        session.commit()

    response = client.post(
        "/v1/assign",
        json={"flow": "winback", "unit_id": "a"},
        headers=bearer(keys["assign"]),
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "external_assignment"
    assert _entries(store) == {}


def test_batch_answers_in_order_like_the_vectorised_engine(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    units = [f"cus_{n}" for n in range(500)] + ["cus_7", "cus_7"]

    response = client.post(
        "/v1/assign/batch",
        json={"flow": "abandoned_cart", "unit_ids": units},
        headers=bearer(keys["assign"]),
    )

    assert response.status_code == 200, response.text
    answers = response.json()
    rule = FlowRule("abandoned_cart", "abandoned_cart", 10.0)
    expected = list(assign_many(rule, units, global_rule=GLOBAL))
    assert [a["unit_id"] for a in answers] == units
    assert [a["arm"] for a in answers] == [d.arm.value for d in expected]
    assert [a["bucket"] for a in answers] == [d.bucket for d in expected]
    assert {a["reason"] for a in answers} == {
        "outside_holdout", "flow_holdout", "global_holdout",
    }  # fmt: skip
    entries = _entries(store)
    assert len(entries) == 500
    assert entries["cus_7"].entry_count == 3
    assert entries["cus_8"].entry_count == 1


def test_batch_by_phone_and_without_consent(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    customers = pd.DataFrame({"unit_id": [PHONE], "sms_consent": ["no"]})
    import_frame(store, "customers", customers, source="test", actor="test")

    response = client.post(
        "/v1/assign/batch",
        json={"flow": "winback", "phones": ["(415) 555-2671", "+44 20 7946 0958"]},
        headers=bearer(keys["assign"]),
    )

    assert response.status_code == 200, response.text
    first, second = response.json()
    assert (first["unit_id"], first["reason"], first["bucket"]) == (
        PHONE, "no_consent", None,
    )  # fmt: skip
    assert second["unit_id"] == "+442079460958"
    assert list(_entries(store)) == ["+442079460958"]


def test_batch_with_an_invalid_id_is_refused_whole_or_skipped(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    body = {"flow": "winback", "unit_ids": ["a", "  ", "b", "x" * 200]}

    refused = client.post("/v1/assign/batch", json=body, headers=bearer(keys["assign"]))
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "invalid_unit"
    assert [d["field"] for d in error["details"]] == ["unit_ids[1]", "unit_ids[3]"]
    assert _entries(store) == {}

    skipped = client.post(
        "/v1/assign/batch",
        json={**body, "skip_invalid": True},
        headers=bearer(keys["assign"]),
    )
    assert skipped.status_code == 200
    answers = skipped.json()
    assert [a["unit_id"] for a in answers] == body["unit_ids"]
    assert [a["reason"] for a in answers][1::2] == ["invalid_id", "invalid_id"]
    assert sorted(_entries(store)) == ["a", "b"]


def test_batch_over_ten_thousand_units_is_too_large(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    units = [f"u{n}" for n in range(10_001)]

    response = client.post(
        "/v1/assign/batch",
        json={"flow": "winback", "unit_ids": units},
        headers=bearer(keys["assign"]),
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "batch_too_large"
    assert _entries(store) == {}


def test_batch_needs_exactly_one_list(client: ApiClient, keys: dict[str, str]) -> None:
    for body in (
        {"flow": "winback"},
        {"flow": "winback", "unit_ids": ["a"], "phones": [PHONE]},
    ):
        response = client.post(
            "/v1/assign/batch", json=body, headers=bearer(keys["assign"])
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_body"
