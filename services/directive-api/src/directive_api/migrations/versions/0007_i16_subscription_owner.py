"""webhook subscriptions belong to an owner (unit + client, with the roles it had); configured ones are system

Rows created through the API before this revision get no owner unit: only the Office's admin sees
them until their owner subscribes again.

Revision ID: 0007_i16
Revises: 0006
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_i16"
down_revision: str | None = "0007_i18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_unit", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column(
                "owner_roles",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("system", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f("ix_webhook_subscriptions_owner_unit"), ["owner_unit"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_subscriptions_owner_unit"))
        batch_op.drop_column("system")
        batch_op.drop_column("owner_roles")
        batch_op.drop_column("owner_unit")
