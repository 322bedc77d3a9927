"""every change a sender asks about a received document, one row per request and changed DocumentId
(received_changes), kept also when it arrives before the document; the single label on
received_documents (change_*) moves there

Revision ID: 0011_h18r
Revises: 0010_h18p
Create Date: 2026-12-02 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_h18r"
down_revision: str | None = "0010_h18p"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LABEL = (
    "change_kind",
    "change_key",
    "change_reason",
    "change_package_id",
    "change_at",
    "change_state",
    "change_answer_reason",
    "change_answered_by",
    "change_answered_at",
)
"""received_documents' columns of the one change it showed, in the order of :data:`ROW`."""
ROW = (
    "kind",
    "change_key",
    "reason",
    "package_id",
    "requested_at",
    "state",
    "answer_reason",
    "answered_by",
    "answered_at",
)


def upgrade() -> None:
    op.create_table(
        "received_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sender_organ_id", sa.String(length=35), nullable=False),
        sa.Column("target_document_id", sa.String(length=200), nullable=False),
        sa.Column("unit_code", sa.String(length=40), nullable=True),
        sa.Column("received_document_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("change_key", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("package_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer_reason", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('update', 'replace', 'revoke', 'recall')", name=op.f("ck_received_changes_kind_known")
        ),
        sa.CheckConstraint("state IN ('pending', 'agreed', 'refused')", name=op.f("ck_received_changes_state_known")),
        sa.ForeignKeyConstraint(
            ["package_id"], ["received_documents.id"], name=op.f("fk_received_changes_package_id_received_documents")
        ),
        sa.ForeignKeyConstraint(
            ["received_document_id"],
            ["received_documents.id"],
            name=op.f("fk_received_changes_received_document_id_received_documents"),
        ),
        sa.ForeignKeyConstraint(["unit_code"], ["units.code"], name=op.f("fk_received_changes_unit_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_changes")),
        sa.UniqueConstraint(
            "target_document_id", "sender_organ_id", "change_key", name=op.f("uq_received_changes_request")
        ),
    )
    with op.batch_alter_table("received_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_received_changes_received_document_id"), ["received_document_id"], unique=False
        )
    # The change each document showed becomes its first row (a package's change was addressed to the
    # document's unit; a recall request names no unit).
    op.execute(
        "INSERT INTO received_changes (sender_organ_id, target_document_id, unit_code, received_document_id, "
        + ", ".join(ROW)
        + ") SELECT sender_organ_id, document_id, CASE WHEN change_kind = 'recall' THEN NULL ELSE unit_code END, "
        "id, change_kind, COALESCE(change_key, 'label'), change_reason, change_package_id, "
        "COALESCE(change_at, received_at), COALESCE(change_state, 'pending'), change_answer_reason, "
        "change_answered_by, change_answered_at FROM received_documents WHERE change_kind IS NOT NULL"
    )
    with op.batch_alter_table("received_documents", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_received_documents_change_state_known"), type_="check")
        batch_op.drop_constraint(op.f("ck_received_documents_change_kind_known"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_received_documents_change_package_id_received_documents"), type_="foreignkey"
        )
        for column in LABEL:
            batch_op.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("received_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change_kind", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("change_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("change_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("change_package_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("change_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("change_state", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("change_answer_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("change_answered_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("change_answered_at", sa.DateTime(timezone=True), nullable=True))
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
    # One label per document again: the latest change waiting for an answer, else the latest one;
    # changes still waiting for their document are lost.
    shown = (
        "(SELECT c.id FROM received_changes c WHERE c.received_document_id = received_documents.id "
        "ORDER BY CASE WHEN c.state = 'pending' THEN 1 ELSE 0 END DESC, c.id DESC LIMIT 1)"
    )
    assignments = ", ".join(
        f"{label} = (SELECT c.{row} FROM received_changes c WHERE c.id = {shown})"
        for label, row in zip(LABEL, ROW, strict=True)
    )
    op.execute(f"UPDATE received_documents SET {assignments}")
    with op.batch_alter_table("received_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_received_changes_received_document_id"))
    op.drop_table("received_changes")
