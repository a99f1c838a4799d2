"""GET /v1/flows and GET /v1/flows/{key}/report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from liftlab.reporting import jsonable
from liftlab.results import build_reports
from liftlab.store.flows import get_flow
from liftlab.warehouse import connect
from tests.api.support import ApiClient, bearer


def test_flows_lists_holdouts_versions_and_entries(
    client: ApiClient, keys: dict[str, str]
) -> None:
    client.post(
        "/v1/assign/batch",
        json={"flow": "winback", "unit_ids": [f"u{n}" for n in range(200)]},
        headers=bearer(keys["assign"]),
    )

    response = client.get("/v1/flows", headers=bearer(keys["read"]))

    assert response.status_code == 200
    body = response.json()
    assert body["global_holdout"] == {
        "holdout_percent": 5.0, "salt": "liftlab_global_2026",
    }  # fmt: skip
    flows = {flow["key"]: flow for flow in body["flows"]}
    assert sorted(flows) == [
        "abandoned_cart", "browse_abandonment", "renewal_reminder", "winback",
    ]  # fmt: skip
    winback = flows["winback"]
    assert (winback["holdout_percent"], winback["version"], winback["epoch"]) == (
        15.0, 1, 1,
    )  # fmt: skip
    assert sum(winback["entries"].values()) == 200
    assert set(winback["entries"]) == {"exposed", "holdout"}
    assert flows["abandoned_cart"]["entries"] == {}


def _programme(client: ApiClient, keys: dict[str, str]) -> list[dict[str, object]]:
    units = [f"u{n}" for n in range(400)]
    answers = client.post(
        "/v1/assign/batch",
        json={"flow": "winback", "unit_ids": units},
        headers=bearer(keys["assign"]),
    ).json()
    now = datetime.now(UTC).isoformat()
    conversions = [
        {"conversion_id": f"c{n}", "unit_id": answer["unit_id"], "occurred_at": now,
         "type": "purchase", "value": 20.0}
        for n, answer in enumerate(answers)
        if n % (3 if answer["send"] else 5) == 0
    ]  # fmt: skip
    response = client.post(
        "/v1/events/conversions",
        json={"events": conversions},
        headers=bearer(keys["ingest"]),
    )
    assert response.status_code == 200, response.text
    return answers


def test_report_is_the_results_engine_json(
    client: ApiClient, keys: dict[str, str], store: Engine
) -> None:
    answers = _programme(client, keys)
    as_of = datetime.now(UTC) + timedelta(days=8)

    response = client.get(
        "/v1/flows/winback/report",
        params={"as_of": as_of.isoformat()},
        headers=bearer(keys["read"]),
    )

    assert response.status_code == 200, response.text
    with Session(store) as session, connect() as warehouse:
        flow = get_flow(session, "winback")
        expected = build_reports(warehouse, session, [flow], as_of=as_of)[0]
    assert response.json() == json.loads(json.dumps(jsonable(expected)))
    arms = {arm["arm"]: arm for arm in response.json()["arms"]}
    # The report compares units outside the global holdout.
    flow_units = [a for a in answers if a["reason"] != "global_holdout"]
    assert arms["exposed"]["units"] == sum(bool(a["send"]) for a in flow_units)
    assert arms["exposed"]["units"] + arms["holdout"]["units"] == len(flow_units)


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/v1/flows/nope/report", {}, 404, "unknown_flow"),
        ("/v1/flows/winback/report", {}, 409, "report_unavailable"),
        ("/v1/flows/winback/report", {"as_of": "2026-11-02T09:00:00"}, 422,
         "invalid_parameter"),
    ],
)  # fmt: skip
def test_report_errors(
    client: ApiClient,
    keys: dict[str, str],
    path: str,
    params: dict[str, str],
    status: int,
    code: str,
) -> None:
    response = client.get(path, params=params, headers=bearer(keys["read"]))

    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_report_names_an_unreachable_warehouse(
    client: ApiClient,
    keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: object,
) -> None:
    monkeypatch.setenv("LIFTLAB_WAREHOUSE_URL", "parquet:///no/such/folder")

    response = client.get("/v1/flows/winback/report", headers=bearer(keys["read"]))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "warehouse_unavailable"
