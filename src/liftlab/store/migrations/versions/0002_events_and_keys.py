"""Event tables (messages, touches, conversions) and API keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from liftlab.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _time(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column(
            "flow_key", sa.String(64), sa.ForeignKey("flows.key"), nullable=False
        ),
        sa.Column("unit_id", sa.String(128), nullable=False),
        _time("sent_at"),
        _time("delivered_at", nullable=True),
        sa.Column("status", sa.String(32)),
        sa.Column("cost", sa.Float()),
        sa.Column("coupon_code", sa.String(64)),
        _time("ingested_at"),
        sa.CheckConstraint("cost IS NULL OR cost >= 0", name="message_cost"),
    )
    op.create_index("message_unit_time", "messages", ["unit_id", "sent_at"])
    op.create_index("ix_messages_coupon_code", "messages", ["coupon_code"])
    op.create_table(
        "touches",
        sa.Column("touch_id", sa.String(128), primary_key=True),
        sa.Column("unit_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        _time("occurred_at"),
        sa.Column("flow_key", sa.String(64)),
        sa.Column("campaign", sa.String(200)),
        sa.Column("message_id", sa.String(128)),
        _time("ingested_at"),
        sa.CheckConstraint("kind IN ('view', 'click', 'session')", name="touch_kind"),
    )
    op.create_index("touch_unit_time", "touches", ["unit_id", "occurred_at"])
    op.create_table(
        "conversions",
        sa.Column("conversion_id", sa.String(128), primary_key=True),
        sa.Column("unit_id", sa.String(128), nullable=False),
        _time("occurred_at"),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("channel", sa.String(32)),
        sa.Column("coupon_code", sa.String(64)),
        _time("ingested_at"),
        sa.CheckConstraint("value >= 0", name="conversion_value"),
    )
    op.create_index("conversion_unit_time", "conversions", ["unit_id", "occurred_at"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        _time("created_at"),
        _time("last_used_at", nullable=True),
        _time("revoked_at", nullable=True),
        sa.CheckConstraint(
            "scope IN ('assign', 'ingest', 'read', 'admin')", name="api_key_scope"
        ),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_index("conversion_unit_time", "conversions")
    op.drop_table("conversions")
    op.drop_index("touch_unit_time", "touches")
    op.drop_table("touches")
    op.drop_index("ix_messages_coupon_code", "messages")
    op.drop_index("message_unit_time", "messages")
    op.drop_table("messages")
