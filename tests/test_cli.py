"""The command line: apply, flows, assign, and audience splits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from liftlab.assignment import FlowRule, GlobalRule, assign, assign_many
from liftlab.cli import app
from liftlab.store.engine import get_engine
from liftlab.store.tables import Customer, Entry, FlowChange

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = str(ROOT / "experiments")
CART = FlowRule("abandoned_cart", "abandoned_cart", 10.0)
GLOBAL = GlobalRule("liftlab_global_2026", 5.0)

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def applied(liftlab_env: str) -> str:
    code, stdout, _ = _invoke("apply", EXPERIMENTS)
    assert code == 0, stdout
    return liftlab_env


def _entries(url: str) -> list[Entry]:
    with Session(get_engine(url)) as session:
        return list(session.exec(select(Entry)).all())


def test_apply_then_flows_lists_every_flow(applied: str) -> None:
    code, stdout, _ = _invoke("flows", "--format", "json")

    assert code == 0
    rows = {row["key"]: row for row in json.loads(stdout)}
    assert set(rows) == {
        "global",
        "abandoned_cart",
        "browse_abandonment",
        "renewal_reminder",
        "winback",
    }
    assert rows["winback"]["holdout_percent"] == 15.0
    assert rows["global"]["kind"] == "global"


def test_apply_twice_says_nothing_changed(applied: str) -> None:
    code, stdout, _ = _invoke("apply", EXPERIMENTS)

    assert code == 0
    assert "nothing to change" in stdout


def test_history_lists_changes(applied: str) -> None:
    code, stdout, _ = _invoke("flows", "--history", "--format", "json")

    assert code == 0
    changes = json.loads(stdout)
    assert len(changes) == 5
    assert {change["actor"] for change in changes} == {"test-suite"}


def test_assign_one_unit_prints_the_engine_decision(applied: str) -> None:
    code, stdout, _ = _invoke("assign", "--flow", "abandoned_cart", "--unit", "c42")

    assert code == 0
    expected = assign(CART, "c42", global_rule=GLOBAL)
    assert json.loads(stdout) == {
        "flow": "abandoned_cart",
        "unit_id": "c42",
        "arm": expected.arm.value,
        "send": expected.send,
        "reason": expected.reason.value,
        "bucket": expected.bucket,
        "flow_version": 1,
    }
    assert _entries(applied) == []


def test_assign_by_phone_uses_e164_and_records_on_request(applied: str) -> None:
    code, stdout, _ = _invoke(
        "assign", "--flow", "winback", "--phone", "(415) 555-2671", "--record"
    )

    assert code == 0
    assert json.loads(stdout)["unit_id"] == "+14155552671"
    (entry,) = _entries(applied)
    assert entry.unit_id == "+14155552671"


def test_assign_without_consent_is_excluded(applied: str) -> None:
    code, stdout, _ = _invoke(
        "assign", "--flow", "winback", "--unit", "c1", "--no-consent"
    )

    assert code == 0
    answer = json.loads(stdout)
    assert (answer["arm"], answer["reason"], answer["send"]) == (
        "excluded",
        "no_consent",
        False,
    )


def test_assign_unknown_flow_names_the_known_ones(applied: str) -> None:
    code, _, stderr = _invoke("assign", "--flow", "abandoned_carts", "--unit", "c1")

    assert code == 1
    assert "no flow 'abandoned_carts'" in stderr
    assert "did you mean 'abandoned_cart'" in stderr


def test_split_audience_writes_send_and_holdout(applied: str, tmp_path: Path) -> None:
    units = [f"cus_{n}" for n in range(5_000)]
    source = tmp_path / "audience.csv"
    pd.DataFrame({"unit_id": units}).to_csv(source, index=False)

    code, stdout, _ = _invoke(
        "assign", "--flow", "abandoned_cart", "--units-file", str(source),
        "--out", str(tmp_path / "out"),
    )  # fmt: skip

    assert code == 0, stdout
    send = pd.read_csv(tmp_path / "out" / "send.csv", dtype={"unit_id": str})
    holdout = pd.read_csv(tmp_path / "out" / "holdout.csv", dtype={"unit_id": str})
    assert list(send.columns) == ["unit_id", "arm", "reason", "bucket"]
    assert list(holdout.columns) == ["unit_id", "arm", "reason", "bucket"]
    batch = assign_many(CART, units, global_rule=GLOBAL)
    assert sorted(send["unit_id"]) == sorted(np.asarray(units)[batch.send])
    assert set(send["arm"]) == {"exposed"}
    assert set(holdout["reason"]) == {"flow_holdout", "global_holdout"}
    assert len(_entries(applied)) == 5_000
    assert "entries logged: 5,000 new" in stdout
    assert "flow holdout" in stdout


def test_split_audience_refuses_bad_phones_and_writes_nothing(
    applied: str, tmp_path: Path
) -> None:
    source = tmp_path / "audience.csv"
    source.write_text("phone\n4155552671\nnot a phone\n+1 415 555 2672\n12\n")
    out = tmp_path / "out"

    code, _, stderr = _invoke(
        "assign", "--flow", "winback", "--units-file", str(source), "--out", str(out)
    )

    assert code == 1
    assert f"{source}: row 2 (line 3): phone: is not a phone number" in stderr
    assert f"{source}: row 4 (line 5): phone:" in stderr
    assert "nothing was written" in stderr
    assert not out.exists() or list(out.iterdir()) == []
    assert _entries(applied) == []


def test_split_audience_skip_invalid_excludes_bad_rows(
    applied: str, tmp_path: Path
) -> None:
    source = tmp_path / "audience.csv"
    source.write_text(
        "phone,sms_consent\n4155552671,yes\nnot a phone,\n4155552672,no\n"
    )

    code, _, _ = _invoke(
        "assign", "--flow", "winback", "--units-file", str(source),
        "--out", str(tmp_path / "out"), "--skip-invalid",
    )  # fmt: skip

    assert code == 0
    holdout = pd.read_csv(tmp_path / "out" / "holdout.csv", dtype=str)
    excluded = holdout[holdout["arm"] == "excluded"]
    assert set(excluded["reason"]) == {"invalid_id", "no_consent"}
    assert excluded["bucket"].isna().all()
    assert [entry.unit_id for entry in _entries(applied)] == ["+14155552671"]


def test_split_audience_respects_stored_consent(applied: str, tmp_path: Path) -> None:
    with Session(get_engine(applied)) as session:
        session.add(Customer(unit_id="c2", sms_consent=False))
        session.commit()
    source = tmp_path / "audience.csv"
    source.write_text("unit_id\nc1\nc2\n")

    code, _, _ = _invoke(
        "assign", "--flow", "winback", "--units-file", str(source),
        "--out", str(tmp_path / "out"),
    )  # fmt: skip

    assert code == 0
    holdout = pd.read_csv(tmp_path / "out" / "holdout.csv", dtype=str)
    assert "c2" in set(holdout.loc[holdout["reason"] == "no_consent", "unit_id"])
    assert "c2" not in {entry.unit_id for entry in _entries(applied)}


def test_split_audience_without_id_column_names_what_it_found(
    applied: str, tmp_path: Path
) -> None:
    source = tmp_path / "audience.csv"
    source.write_text("email,name\na@example.com,A\n")

    code, _, stderr = _invoke(
        "assign", "--flow", "winback", "--units-file", str(source),
        "--out", str(tmp_path / "out"),
    )  # fmt: skip

    assert code == 1
    assert f"{source}: no id column" in stderr
    assert "found: email, name" in stderr
    assert not (tmp_path / "out").exists()


def test_apply_malformed_spec_exits_nonzero_and_writes_nothing(
    liftlab_env: str, engine: Engine, tmp_path: Path
) -> None:
    (tmp_path / "cart.toml").write_text('key = "cart"\nname = \n')

    code, _, stderr = _invoke("apply", str(tmp_path))

    assert code == 1
    assert f"{tmp_path / 'cart.toml'}: malformed TOML" in stderr
    with Session(engine) as session:
        assert session.exec(select(FlowChange)).all() == []


def test_console_script_runs_in_a_fresh_process(applied: str) -> None:
    environment = os.environ | {"LIFTLAB_DATABASE_URL": applied}
    completed = subprocess.run(
        [sys.executable, "-m", "liftlab", "assign", "--flow", "winback",
         "--unit", "c42"],
        capture_output=True, text=True, env=environment, check=False,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    expected = assign(FlowRule("winback", "winback", 15.0), "c42", global_rule=GLOBAL)
    assert answer["arm"] == expected.arm.value


def test_import_command_prints_the_summary(applied: str, tmp_path: Path) -> None:
    source = tmp_path / "conversions.csv"
    source.write_text(
        "conversion_id,unit_id,occurred_at,type,value\n"
        "o1,c1,2026-11-03T10:00:00Z,purchase,25.5\n"
        "o1,c1,2026-11-03T10:00:00Z,purchase,25.5\n"
    )

    code, stdout, _ = _invoke("import", "conversions", str(source))

    assert code == 0
    assert "rows read" in stdout
    assert "│         2 │" in stdout.replace("rows read", "") or "2 " in stdout


def test_import_command_rejects_bad_rows_with_exit_1(
    applied: str, tmp_path: Path
) -> None:
    source = tmp_path / "touches.csv"
    source.write_text(
        "touch_id,unit_id,channel,kind,occurred_at\nt1,c1,sms,tap,2026-11-03\n"
    )

    code, _, stderr = _invoke("import", "touches", str(source))

    assert code == 1
    assert "row 1 (line 2): kind: must be view, click or session" in stderr
    assert "row 1 (line 2): occurred_at: is not an ISO 8601 time with a zone" in stderr
    assert "nothing was written" in stderr


def test_import_command_names_allowed_kinds(applied: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", "clicks", str(tmp_path / "x.csv")])

    assert result.exit_code == 2
    assert "hillstrom" in result.output


def test_demo_fills_an_empty_store_once(liftlab_env: str) -> None:
    args = ["demo", "--customers", "3000", "--days", "14", "--experiments", EXPERIMENTS]

    code, stdout, _ = _invoke(*args)
    assert code == 0, stdout
    assert "simulated 3,000 customers over 14 days" in stdout
    assert "browse_abandonment" in stdout
    entries = len(_entries(liftlab_env))
    assert entries > 0

    code, stdout, _ = _invoke(*args, "--if-empty")
    assert code == 0
    assert "already has entries" in stdout
    assert len(_entries(liftlab_env)) == entries
