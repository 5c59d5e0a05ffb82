"""billing outbox: a lease per message, so replicas never send one twice

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("billing_outbox") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_status_code", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("billing_outbox") as batch:
        batch.drop_column("last_status_code")
        batch.drop_column("lease_until")
