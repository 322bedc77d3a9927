"""carry-over links between a document's obligations and its successor's; idempotency keys

Revision ID: 0004_i20
Revises: 0003
Create Date: 2026-12-02 10:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_i20"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("directives", sa.Column("carries_from", sa.String(length=64), nullable=True))
    op.add_column("directives", sa.Column("carry_kind", sa.String(length=20), nullable=True))
    op.create_index(op.f("ix_directives_carries_from"), "directives", ["carries_from"], unique=False)
    op.add_column("obligations", sa.Column("carried_from_id", sa.Uuid(), nullable=True))
    op.create_index("ux_obligations_carried_from", "obligations", ["carried_from_id"], unique=True)
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("principal", sa.String(length=255), nullable=False),
        sa.Column("endpoint", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column(
            "response_body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("resource_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "principal", "endpoint", name=op.f("pk_idempotency_keys")),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_index("ux_obligations_carried_from", table_name="obligations")
    with op.batch_alter_table("obligations") as batch_op:
        batch_op.drop_column("carried_from_id")
    op.drop_index(op.f("ix_directives_carries_from"), table_name="directives")
    with op.batch_alter_table("directives") as batch_op:
        batch_op.drop_column("carry_kind")
        batch_op.drop_column("carries_from")
