"""Constraints that keep the store honest, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, select

from liftlab.store.tables import Conversion, Entry, Flow, Message, Touch

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _flow(key: str = "abandoned_cart") -> Flow:
    return Flow(
        key=key,
        name="Abandoned cart",
        stage="retention",
        holdout_percent=10.0,
        salt=key,
        conversion_type="purchase",
        window_hours=72,
        starts_at=T0,
    )


def _conversion(conversion_id: str = "o1", value: float = 25.0) -> Conversion:
    return Conversion(
        conversion_id=conversion_id,
        unit_id="c1",
        occurred_at=T0,
        type="purchase",
        value=value,
    )


def _entry(unit_id: str = "c1", epoch: int = 1) -> Entry:
    return Entry(
        flow_key="abandoned_cart",
        epoch=epoch,
        unit_id=unit_id,
        arm="exposed",
        reason="outside_holdout",
        bucket=0.5,
        flow_version=1,
        entered_at=T0,
        last_entered_at=T0,
    )


def _commit(engine: Engine, *rows: object) -> None:
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()


def test_event_ids_are_unique(engine: Engine) -> None:
    _commit(engine, _conversion("o1"))
    with pytest.raises(IntegrityError):
        _commit(engine, _conversion("o1", value=30.0))


def test_values_and_costs_are_not_negative(engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        _commit(engine, _conversion("o2", value=-1.0))
    _commit(engine, _flow())
    message = Message(
        message_id="m1", flow_key="abandoned_cart", unit_id="c1", sent_at=T0, cost=-0.01
    )
    with pytest.raises(IntegrityError):
        _commit(engine, message)


def test_one_entry_per_unit_flow_and_epoch(engine: Engine) -> None:
    _commit(engine, _flow())
    _commit(engine, _entry("c1"))
    with pytest.raises(IntegrityError):
        _commit(engine, _entry("c1"))
    _commit(engine, _entry("c1", epoch=2))


def test_entries_need_a_known_flow(engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        _commit(engine, _entry("c1"))


@pytest.mark.parametrize(
    ("field", "value"),
    [("holdout_percent", 100.0), ("holdout_percent", -1.0), ("window_hours", 0.0)],
)
def test_flow_rows_are_checked(engine: Engine, field: str, value: float) -> None:
    flow = _flow()
    setattr(flow, field, value)
    with pytest.raises(IntegrityError):
        _commit(engine, flow)


def test_touch_kind_is_one_of_view_click_session(engine: Engine) -> None:
    touch = Touch(
        touch_id="t1", unit_id="c1", channel="sms", kind="hover", occurred_at=T0
    )
    with pytest.raises(IntegrityError):
        _commit(engine, touch)


def test_times_are_stored_in_utc_and_read_back_aware(engine: Engine) -> None:
    paris = timezone(timedelta(hours=1))
    local = datetime(2026, 11, 2, 10, 30, tzinfo=paris)
    conversion = _conversion("o3")
    conversion.occurred_at = local
    _commit(engine, conversion)

    with Session(engine) as session:
        stored = session.exec(
            select(Conversion).where(Conversion.conversion_id == "o3")
        ).one()
    assert stored.occurred_at == T0
    assert stored.occurred_at.utcoffset() == timedelta(0)


def test_naive_times_are_refused(engine: Engine) -> None:
    conversion = _conversion("o4")
    conversion.occurred_at = datetime(2026, 11, 2, 9, 30)
    with pytest.raises(StatementError, match="without a zone"):
        _commit(engine, conversion)
