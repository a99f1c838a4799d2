"""Per-flow SMS view and click windows for attribution, and app users.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from liftlab.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flows") as batch:
        batch.add_column(
            sa.Column(
                "view_window_hours", sa.Float(), nullable=False, server_default="24"
            )
        )
        batch.add_column(
            sa.Column(
                "click_window_hours", sa.Float(), nullable=False, server_default="120"
            )
        )
        batch.create_check_constraint("flow_view_window", "view_window_hours > 0")
        batch.create_check_constraint("flow_click_window", "click_window_hours > 0")
    with op.batch_alter_table("flows") as batch:
        batch.alter_column("view_window_hours", server_default=None)
        batch.alter_column("click_window_hours", server_default=None)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("disabled_at", UTCDateTime()),
        sa.CheckConstraint("role IN ('viewer', 'editor', 'admin')", name="user_role"),
    )


def downgrade() -> None:
    op.drop_table("users")
    with op.batch_alter_table("flows") as batch:
        batch.drop_constraint("flow_click_window", type_="check")
        batch.drop_constraint("flow_view_window", type_="check")
        batch.drop_column("click_window_hours")
        batch.drop_column("view_window_hours")
