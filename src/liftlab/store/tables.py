"""The store's tables. These are storage, not API schemas.

Constraints keep the data honest where the database can check it: unique
event ids, one entry per unit and flow (the first entry time is kept, later
entries are counted), non-negative values and costs, known arms, scopes and
touch kinds, and times stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from liftlab.store.types import UTCDateTime

__all__ = [
    "ApiKey",
    "Conversion",
    "Covariate",
    "Customer",
    "CustomerSegment",
    "Entry",
    "Flow",
    "FlowChange",
    "ImportRun",
    "Message",
    "SimulationTruth",
    "Touch",
    "User",
]

ID_LENGTH = 128


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def _time(*, nullable: bool = False) -> Any:
    column = Column(UTCDateTime(), nullable=nullable)
    if nullable:
        return Field(default=None, sa_column=column)
    return Field(sa_column=column)


def _stamp() -> Any:
    return Field(
        default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Flow(SQLModel, table=True):
    """A flow, or the global holdout (``kind = "global"``), as last applied."""

    __tablename__ = "flows"
    __table_args__ = (
        CheckConstraint("kind IN ('flow', 'global')", name="flow_kind"),
        CheckConstraint(
            "holdout_percent >= 0 AND holdout_percent < 100",
            name="flow_holdout_percent",
        ),
        CheckConstraint("window_hours IS NULL OR window_hours > 0", name="flow_window"),
        CheckConstraint(
            "cost_per_message IS NULL OR cost_per_message >= 0", name="flow_cost"
        ),
        CheckConstraint(
            "ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at",
            name="flow_period",
        ),
        CheckConstraint("version >= 1", name="flow_version"),
        CheckConstraint("epoch >= 1", name="flow_epoch"),
        CheckConstraint("assignment IN ('hash', 'external')", name="flow_assignment"),
        CheckConstraint("view_window_hours > 0", name="flow_view_window"),
        CheckConstraint("click_window_hours > 0", name="flow_click_window"),
    )

    key: str = Field(primary_key=True, max_length=64)
    kind: str = Field(default="flow", max_length=8)
    name: str = Field(max_length=200)
    stage: str | None = Field(default=None, max_length=32)
    holdout_percent: float
    salt: str = Field(max_length=200)
    conversion_type: str | None = Field(default=None, max_length=64)
    window_hours: float | None = None
    starts_at: datetime | None = _time(nullable=True)
    ends_at: datetime | None = _time(nullable=True)
    cost_per_message: float | None = None
    source: str | None = Field(default=None, max_length=500)
    version: int = 1
    epoch: int = 1
    assignment: str = Field(default="hash", max_length=8)
    view_window_hours: float = 24.0
    click_window_hours: float = 120.0
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()


class FlowChange(SQLModel, table=True):
    """One recorded change to a flow: who, when, what it was, what it became."""

    __tablename__ = "flow_changes"

    id: int | None = Field(default=None, primary_key=True)
    flow_key: str = Field(foreign_key="flows.key", index=True, max_length=64)
    changed_at: datetime = _stamp()
    actor: str = Field(max_length=200)
    action: str = Field(max_length=16)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    note: str | None = Field(default=None, max_length=2000)


class Entry(SQLModel, table=True):
    """A unit's entry into a flow, logged for both arms (intent to treat).

    The arm is decided at the first entry and kept; later entries raise
    ``entry_count`` and move ``last_entered_at`` without re-randomising. A
    reshuffle starts a new epoch of the flow, in which every unit enters
    afresh; earlier epochs stay for the audit trail.
    """

    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("flow_key", "epoch", "unit_id", name="entry_once_per_flow"),
        CheckConstraint("arm IN ('exposed', 'holdout')", name="entry_arm"),
        CheckConstraint(
            "reason IN ('outside_holdout', 'global_holdout', 'flow_holdout', "
            "'external')",
            name="entry_reason",
        ),
        CheckConstraint(
            "bucket IS NULL OR (bucket >= 0 AND bucket < 1)", name="entry_bucket"
        ),
        CheckConstraint("entry_count >= 1", name="entry_count"),
        Index("entry_flow_time", "flow_key", "epoch", "entered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    flow_key: str = Field(foreign_key="flows.key", max_length=64)
    epoch: int = 1
    unit_id: str = Field(max_length=ID_LENGTH)
    arm: str = Field(max_length=16)
    variant: str | None = Field(default=None, max_length=64)
    reason: str = Field(max_length=32)
    bucket: float | None = None
    flow_version: int
    entered_at: datetime = _time()
    last_entered_at: datetime = _time()
    entry_count: int = 1
    source: str = Field(default="api", max_length=16)


class Customer(SQLModel, table=True):
    """What is known of a unit: its phone, its SMS consent."""

    __tablename__ = "customers"

    unit_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    phone: str | None = Field(default=None, max_length=16, index=True)
    sms_consent: bool | None = None
    created_at: datetime = _stamp()
    updated_at: datetime = _stamp()


class CustomerSegment(SQLModel, table=True):
    """One segment value of a customer, e.g. ``ltv_tier = high``."""

    __tablename__ = "customer_segments"

    unit_id: str = Field(
        foreign_key="customers.unit_id", primary_key=True, max_length=ID_LENGTH
    )
    dimension: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=200)


class Message(SQLModel, table=True):
    """A text sent by a flow."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("cost IS NULL OR cost >= 0", name="message_cost"),
        Index("message_unit_time", "unit_id", "sent_at"),
    )

    message_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    flow_key: str = Field(foreign_key="flows.key", max_length=64)
    unit_id: str = Field(max_length=ID_LENGTH)
    sent_at: datetime = _time()
    delivered_at: datetime | None = _time(nullable=True)
    status: str | None = Field(default=None, max_length=32)
    cost: float | None = None
    coupon_code: str | None = Field(default=None, max_length=64, index=True)
    ingested_at: datetime = _stamp()


class Touch(SQLModel, table=True):
    """A marketing interaction: an SMS view or click, an e-mail, a search."""

    __tablename__ = "touches"
    __table_args__ = (
        CheckConstraint("kind IN ('view', 'click', 'session')", name="touch_kind"),
        Index("touch_unit_time", "unit_id", "occurred_at"),
    )

    touch_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    unit_id: str = Field(max_length=ID_LENGTH)
    channel: str = Field(max_length=32)
    kind: str = Field(max_length=8)
    occurred_at: datetime = _time()
    flow_key: str | None = Field(default=None, max_length=64)
    campaign: str | None = Field(default=None, max_length=200)
    message_id: str | None = Field(default=None, max_length=ID_LENGTH)
    ingested_at: datetime = _stamp()


class Conversion(SQLModel, table=True):
    """A purchase, sign-up, renewal or booking."""

    __tablename__ = "conversions"
    __table_args__ = (
        CheckConstraint("value >= 0", name="conversion_value"),
        Index("conversion_unit_time", "unit_id", "occurred_at"),
    )

    conversion_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    unit_id: str = Field(max_length=ID_LENGTH)
    occurred_at: datetime = _time()
    type: str = Field(max_length=64)
    value: float = 0.0
    channel: str | None = Field(default=None, max_length=32)
    coupon_code: str | None = Field(default=None, max_length=64)
    ingested_at: datetime = _stamp()


class ApiKey(SQLModel, table=True):
    """An API key, kept only as a salted hash of its secret."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "scope IN ('assign', 'ingest', 'read', 'admin')", name="api_key_scope"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    key_id: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=200)
    scope: str = Field(max_length=16)
    salt: str = Field(max_length=64)
    secret_hash: str = Field(max_length=128)
    created_at: datetime = _stamp()
    last_used_at: datetime | None = _time(nullable=True)
    revoked_at: datetime | None = _time(nullable=True)


class Covariate(SQLModel, table=True):
    """A numeric fact about a unit measured before it entered any flow, e.g.
    spend in the prior year; used for variance reduction."""

    __tablename__ = "covariates"

    unit_id: str = Field(primary_key=True, max_length=ID_LENGTH)
    name: str = Field(primary_key=True, max_length=64)
    value: float


class ImportRun(SQLModel, table=True):
    """One file import: what was read, inserted, skipped and rejected."""

    __tablename__ = "import_runs"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    source: str = Field(max_length=500)
    sha256: str | None = Field(default=None, max_length=64)
    actor: str = Field(max_length=200)
    rows_read: int
    inserted: int
    duplicates: int
    started_at: datetime = _time()
    finished_at: datetime = _time()


class SimulationTruth(SQLModel, table=True):
    """A known true quantity of a simulated programme, for tests and the app.

    ``dimension`` and ``segment`` are empty strings for the flow as a whole.
    """

    __tablename__ = "simulation_truths"

    flow_key: str = Field(primary_key=True, max_length=64)
    dimension: str = Field(default="", primary_key=True, max_length=64)
    segment: str = Field(default="", primary_key=True, max_length=200)
    quantity: str = Field(primary_key=True, max_length=64)
    value: float


class User(SQLModel, table=True):
    """A person who signs in to the app; the password is kept only as an
    Argon2 hash. Viewers read; editors also change flows and import data."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('viewer', 'editor', 'admin')", name="user_role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    created_at: datetime = _stamp()
    disabled_at: datetime | None = _time(nullable=True)
