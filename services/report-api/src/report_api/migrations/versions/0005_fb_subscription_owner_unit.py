"""webhook subscriptions are owned by client and unit together, as in directive-api

Rows created before this revision get no owner unit: they stay with their client when it has no
unit (integration systems), and otherwise with the Office's admin until their owner subscribes again.

Revision ID: 0005_fb
Revises: 0004_i20
Create Date: 2026-12-02 12:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_fb"
down_revision: str | None = "0004_i20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_unit", sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f("ix_webhook_subscriptions_owner_unit"), ["owner_unit"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_subscriptions_owner_unit"))
        batch_op.drop_column("owner_unit")
