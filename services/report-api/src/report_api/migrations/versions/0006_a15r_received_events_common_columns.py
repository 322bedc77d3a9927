"""received_events takes common.outbox's receiver columns (event_id; type and source nullable, wider)

report-api de-duplicates directive-api's events with ``common.outbox.claim_received`` like
directive-api does, on a table built from ``ReceivedEventMixin`` (plus report-api's ``channel``).
The rows are kept: only the key column is renamed and the text columns widened.

Revision ID: 0006_a15r
Revises: 0005_fb
Create Date: 2026-12-02 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_a15r"
down_revision: str | None = "0005_fb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("received_events", schema=None) as batch_op:
        batch_op.alter_column(
            "id", new_column_name="event_id", existing_type=sa.String(length=200), type_=sa.String(length=255)
        )
        batch_op.alter_column(
            "type",
            existing_type=sa.String(length=80),
            type_=sa.String(length=100),
            existing_nullable=False,
            nullable=True,
        )
        batch_op.alter_column("source", existing_type=sa.String(length=80), type_=sa.String(length=100))


def downgrade() -> None:
    op.execute("UPDATE received_events SET type = '' WHERE type IS NULL")
    with op.batch_alter_table("received_events", schema=None) as batch_op:
        batch_op.alter_column("source", existing_type=sa.String(length=100), type_=sa.String(length=80))
        batch_op.alter_column(
            "type",
            existing_type=sa.String(length=100),
            type_=sa.String(length=80),
            existing_nullable=True,
            nullable=False,
        )
        batch_op.alter_column(
            "event_id", new_column_name="id", existing_type=sa.String(length=255), type_=sa.String(length=200)
        )
