"""Applying specs: idempotent, audited, and careful with running flows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from liftlab.experiments import SpecError, apply_specs, load_specs
from liftlab.store.entries import EntryRecord, record_entries
from liftlab.store.tables import Flow, FlowChange

ROOT = Path(__file__).resolve().parents[2]
BEFORE_START = datetime(2026, 8, 1, tzinfo=UTC)
RUNNING = datetime(2026, 11, 15, tzinfo=UTC)


def _copy_specs(tmp_path: Path) -> Path:
    for spec in (ROOT / "experiments").glob("*.toml"):
        (tmp_path / spec.name).write_text(spec.read_text())
    return tmp_path


def _edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / f"{name}.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _changes(engine: Engine) -> list[FlowChange]:
    with Session(engine) as session:
        return list(session.exec(select(FlowChange).order_by(FlowChange.id)).all())


def _flow(engine: Engine, key: str) -> Flow:
    with Session(engine) as session:
        flow = session.get(Flow, key)
        assert flow is not None
        return flow


def test_apply_creates_flows_then_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    specs = load_specs(_copy_specs(tmp_path))

    first = apply_specs(engine, specs, actor="ana", now=BEFORE_START)
    second = apply_specs(engine, specs, actor="ana", now=BEFORE_START)

    assert {plan.action for plan in first.plans} == {"create"}
    assert len(first.changed) == 5
    assert second.changed == ()
    changes = _changes(engine)
    assert len(changes) == 5
    assert {change.actor for change in changes} == {"ana"}
    assert all(change.before is None for change in changes)


def test_apply_records_who_when_before_and_after(
    engine: Engine, tmp_path: Path
) -> None:
    folder = _copy_specs(tmp_path)
    apply_specs(engine, load_specs(folder), actor="ana", now=BEFORE_START)
    _edit(folder, "winback", "holdout_percent = 15.0", "holdout_percent = 20.0")
    moment = datetime(2026, 8, 2, 12, tzinfo=UTC)

    result = apply_specs(engine, load_specs(folder), actor="ben", now=moment)

    (plan,) = result.changed
    assert plan.key == "winback"
    assert plan.action == "update"
    assert [(c.field, c.before, c.after) for c in plan.changes] == [
        ("holdout_percent", 15.0, 20.0)
    ]
    assert any("only exposed units move into the holdout" in n for n in plan.notes)
    change = _changes(engine)[-1]
    assert (change.flow_key, change.actor, change.action) == (
        "winback",
        "ben",
        "update",
    )
    assert change.changed_at == moment
    assert change.before is not None
    assert change.after is not None
    assert change.before["holdout_percent"] == 15.0
    assert change.after["holdout_percent"] == 20.0
    assert change.after["version"] == 2
    assert _flow(engine, "winback").version == 2


def test_salt_change_of_running_flow_needs_reshuffle(
    engine: Engine, tmp_path: Path
) -> None:
    folder = _copy_specs(tmp_path)
    apply_specs(engine, load_specs(folder), actor="ana", now=BEFORE_START)
    _edit(folder, "abandoned_cart", 'key = "abandoned_cart"\n',
          'key = "abandoned_cart"\nsalt = "cart_2027"\n')  # fmt: skip

    with pytest.raises(SpecError) as caught:
        apply_specs(engine, load_specs(folder), actor="ana", now=RUNNING)
    message = str(caught.value)
    assert "abandoned_cart.toml: salt:" in message
    assert "re-randomises every unit" in message
    assert "--reshuffle" in message
    assert _flow(engine, "abandoned_cart").salt == "abandoned_cart"
    assert len(_changes(engine)) == 5

    result = apply_specs(
        engine, load_specs(folder), actor="ana", reshuffle=True, now=RUNNING
    )
    (plan,) = result.changed
    assert plan.action == "reshuffle"
    flow = _flow(engine, "abandoned_cart")
    assert (flow.salt, flow.epoch, flow.version) == ("cart_2027", 2, 2)
    assert _changes(engine)[-1].action == "reshuffle"


def test_lowering_holdout_of_flow_with_entries_needs_reshuffle(
    engine: Engine, tmp_path: Path
) -> None:
    folder = _copy_specs(tmp_path)
    _edit(folder, "winback", "2026-09-01T00:00:00Z", "2027-09-01T00:00:00Z")
    apply_specs(engine, load_specs(folder), actor="ana", now=BEFORE_START)
    with Session(engine) as session:
        flow = session.get(Flow, "winback")
        assert flow is not None
        entry = EntryRecord("c1", "holdout", "flow_holdout", 0.01, BEFORE_START)
        record_entries(session, flow, [entry], source="api")
        session.commit()
    _edit(folder, "winback", "holdout_percent = 15.0", "holdout_percent = 5.0")

    with pytest.raises(SpecError, match="would start texting units that were held"):
        apply_specs(engine, load_specs(folder), actor="ana", now=BEFORE_START)


def test_changes_before_start_need_no_reshuffle(engine: Engine, tmp_path: Path) -> None:
    folder = _copy_specs(tmp_path)
    apply_specs(engine, load_specs(folder), actor="ana", now=BEFORE_START)
    _edit(folder, "winback", "holdout_percent = 15.0", "holdout_percent = 5.0")

    result = apply_specs(engine, load_specs(folder), actor="ana", now=BEFORE_START)

    assert [plan.action for plan in result.changed] == ["update"]
    assert _flow(engine, "winback").epoch == 1


def test_global_salt_change_reshuffles_every_flow(
    engine: Engine, tmp_path: Path
) -> None:
    folder = _copy_specs(tmp_path)
    apply_specs(engine, load_specs(folder), actor="ana", now=BEFORE_START)
    _edit(folder, "global", 'salt = "liftlab_global_2026"', 'salt = "g2027"')

    with pytest.raises(SpecError, match=r"global\.toml: salt"):
        apply_specs(engine, load_specs(folder), actor="ana", now=RUNNING)
    apply_specs(engine, load_specs(folder), actor="ana", reshuffle=True, now=RUNNING)

    assert _flow(engine, "global").epoch == 2
    assert _flow(engine, "winback").epoch == 2


def test_dry_run_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    result = apply_specs(
        engine, load_specs(_copy_specs(tmp_path)), actor="ana", dry_run=True
    )

    assert not result.written
    assert len(result.changed) == 5
    assert _changes(engine) == []
