"""initial planner schema: known access, billing event receipts, saved plans, compile leases

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "planner_known_access",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=True),
        sa.Column("plan_id", sa.String(length=64), nullable=True),
        sa.Column("subscription_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("learned_from", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_planner_known_access")),
    )
    op.create_table(
        "planner_billing_events",
        sa.Column("webhook_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id", name=op.f("pk_planner_billing_events")),
    )
    op.create_table(
        "planner_saved_plans",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("task_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planner_saved_plans")),
    )
    with op.batch_alter_table("planner_saved_plans", schema=None) as batch_op:
        batch_op.create_index(
            "ix_planner_saved_plans_account", ["account_id", "updated_at"], unique=False
        )
    op.create_table(
        "planner_compile_leases",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=40), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "slot", name=op.f("pk_planner_compile_leases")),
    )


def downgrade() -> None:
    op.drop_table("planner_compile_leases")
    with op.batch_alter_table("planner_saved_plans", schema=None) as batch_op:
        batch_op.drop_index("ix_planner_saved_plans_account")
    op.drop_table("planner_saved_plans")
    op.drop_table("planner_billing_events")
    op.drop_table("planner_known_access")
