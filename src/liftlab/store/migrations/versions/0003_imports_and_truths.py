"""Externally randomised flows and variants, covariates, import runs and
simulation truths.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from liftlab.store.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_REASONS_BEFORE = "reason IN ('outside_holdout', 'global_holdout', 'flow_holdout')"
_REASONS_AFTER = (
    "reason IN ('outside_holdout', 'global_holdout', 'flow_holdout', 'external')"
)


def upgrade() -> None:
    with op.batch_alter_table("flows") as batch:
        batch.add_column(
            sa.Column("assignment", sa.String(8), nullable=False, server_default="hash")
        )
        batch.create_check_constraint(
            "flow_assignment", "assignment IN ('hash', 'external')"
        )
    with op.batch_alter_table("flows") as batch:
        batch.alter_column("assignment", server_default=None)

    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("variant", sa.String(64)))
        batch.alter_column("bucket", existing_type=sa.Float(), nullable=True)
        batch.drop_constraint("entry_bucket", type_="check")
        batch.create_check_constraint(
            "entry_bucket", "bucket IS NULL OR (bucket >= 0 AND bucket < 1)"
        )
        batch.drop_constraint("entry_reason", type_="check")
        batch.create_check_constraint("entry_reason", _REASONS_AFTER)

    op.create_table(
        "covariates",
        sa.Column("unit_id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Float(), nullable=False),
    )
    op.create_table(
        "import_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "simulation_truths",
        sa.Column("flow_key", sa.String(64), primary_key=True),
        sa.Column("dimension", sa.String(64), primary_key=True),
        sa.Column("segment", sa.String(200), primary_key=True),
        sa.Column("quantity", sa.String(64), primary_key=True),
        sa.Column("value", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("simulation_truths")
    op.drop_table("import_runs")
    op.drop_table("covariates")
    op.execute("DELETE FROM entries WHERE bucket IS NULL OR reason = 'external'")
    with op.batch_alter_table("entries") as batch:
        batch.drop_constraint("entry_reason", type_="check")
        batch.create_check_constraint("entry_reason", _REASONS_BEFORE)
        batch.drop_constraint("entry_bucket", type_="check")
        batch.create_check_constraint("entry_bucket", "bucket >= 0 AND bucket < 1")
        batch.alter_column("bucket", existing_type=sa.Float(), nullable=False)
        batch.drop_column("variant")
    with op.batch_alter_table("flows") as batch:
        batch.drop_constraint("flow_assignment", type_="check")
        batch.drop_column("assignment")
