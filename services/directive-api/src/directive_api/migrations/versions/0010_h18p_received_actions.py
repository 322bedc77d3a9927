"""a received document's clerk actions: the reason of our last answer, the change (update, replacement,
recall) its sender asked for and the clerk's answer; a Description for our queued status packages

Revision ID: 0010_h18p
Revises: 0009_i18
Create Date: 2026-12-02 17:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_h18p"
down_revision: str | None = "0009_i18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("received_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("status_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("status_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("change_kind", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("change_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("change_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("change_package_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("change_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("change_state", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("change_answer_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("change_answered_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("change_answered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("recalled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_received_documents_change_package_id_received_documents"),
            "received_documents",
            ["change_package_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            op.f("ck_received_documents_change_kind_known"),
            "change_kind IS NULL OR change_kind IN ('update', 'replace', 'revoke', 'recall')",
        )
        batch_op.create_check_constraint(
            op.f("ck_received_documents_change_state_known"),
            "change_state IS NULL OR change_state IN ('pending', 'agreed', 'refused')",
        )
    with op.batch_alter_table("exchange_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exchange_outbox", schema=None) as batch_op:
        batch_op.drop_column("description")
    with op.batch_alter_table("received_documents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_received_documents_change_state_known"), type_="check")
        batch_op.drop_constraint(op.f("ck_received_documents_change_kind_known"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_received_documents_change_package_id_received_documents"), type_="foreignkey"
        )
        for column in (
            "recalled_at",
            "change_answered_at",
            "change_answered_by",
            "change_answer_reason",
            "change_state",
            "change_at",
            "change_package_id",
            "change_reason",
            "change_key",
            "change_kind",
            "status_at",
            "status_by",
            "status_reason",
        ):
            batch_op.drop_column(column)
