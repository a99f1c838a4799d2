"""Flows, their change log, entries and customers.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from liftlab.store.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "flows",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("stage", sa.String(32)),
        sa.Column("holdout_percent", sa.Float(), nullable=False),
        sa.Column("salt", sa.String(200), nullable=False),
        sa.Column("conversion_type", sa.String(64)),
        sa.Column("window_hours", sa.Float()),
        _time("starts_at", nullable=True),
        _time("ends_at", nullable=True),
        sa.Column("cost_per_message", sa.Float()),
        sa.Column("source", sa.String(500)),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.CheckConstraint("kind IN ('flow', 'global')", name="flow_kind"),
        sa.CheckConstraint(
            "holdout_percent >= 0 AND holdout_percent < 100",
            name="flow_holdout_percent",
        ),
        sa.CheckConstraint(
            "window_hours IS NULL OR window_hours > 0", name="flow_window"
        ),
        sa.CheckConstraint(
            "cost_per_message IS NULL OR cost_per_message >= 0", name="flow_cost"
        ),
        sa.CheckConstraint(
            "ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at",
            name="flow_period",
        ),
        sa.CheckConstraint("version >= 1", name="flow_version"),
        sa.CheckConstraint("epoch >= 1", name="flow_epoch"),
    )
    op.create_table(
        "flow_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "flow_key", sa.String(64), sa.ForeignKey("flows.key"), nullable=False
        ),
        _time("changed_at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("before", sa.JSON()),
        sa.Column("after", sa.JSON()),
        sa.Column("note", sa.String(2000)),
    )
    op.create_index("ix_flow_changes_flow_key", "flow_changes", ["flow_key"])
    op.create_table(
        "entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "flow_key", sa.String(64), sa.ForeignKey("flows.key"), nullable=False
        ),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.String(128), nullable=False),
        sa.Column("arm", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("bucket", sa.Float(), nullable=False),
        sa.Column("flow_version", sa.Integer(), nullable=False),
        _time("entered_at"),
        _time("last_entered_at"),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.UniqueConstraint("flow_key", "epoch", "unit_id", name="entry_once_per_flow"),
        sa.CheckConstraint("arm IN ('exposed', 'holdout')", name="entry_arm"),
        sa.CheckConstraint(
            "reason IN ('outside_holdout', 'global_holdout', 'flow_holdout')",
            name="entry_reason",
        ),
        sa.CheckConstraint("bucket >= 0 AND bucket < 1", name="entry_bucket"),
        sa.CheckConstraint("entry_count >= 1", name="entry_count"),
    )
    op.create_index("entry_flow_time", "entries", ["flow_key", "epoch", "entered_at"])
    op.create_table(
        "customers",
        sa.Column("unit_id", sa.String(128), primary_key=True),
        sa.Column("phone", sa.String(16)),
        sa.Column("sms_consent", sa.Boolean()),
        _time("created_at"),
        _time("updated_at"),
    )
    op.create_index("ix_customers_phone", "customers", ["phone"])
    op.create_table(
        "customer_segments",
        sa.Column(
            "unit_id",
            sa.String(128),
            sa.ForeignKey("customers.unit_id"),
            primary_key=True,
        ),
        sa.Column("dimension", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("customer_segments")
    op.drop_index("ix_customers_phone", "customers")
    op.drop_table("customers")
    op.drop_index("entry_flow_time", "entries")
    op.drop_table("entries")
    op.drop_index("ix_flow_changes_flow_key", "flow_changes")
    op.drop_table("flow_changes")
    op.drop_table("flows")
