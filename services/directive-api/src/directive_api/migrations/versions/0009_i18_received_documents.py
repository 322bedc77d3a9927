"""documents received over the exchange (văn bản đến), our status packages about them, reply links

Revision ID: 0009_i18
Revises: 0009_a15core
Create Date: 2026-12-02 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_i18"
down_revision: str | None = "0009_a15core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "received_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sender_organ_id", sa.String(length=35), nullable=False),
        sa.Column("sender_name", sa.String(length=300), nullable=True),
        sa.Column("sender_unit_code", sa.String(length=40), nullable=True),
        sa.Column("unit_code", sa.String(length=40), nullable=False),
        sa.Column("document_id", sa.String(length=200), nullable=False),
        sa.Column("business_doc_type", sa.Integer(), nullable=False),
        sa.Column("notation", sa.String(length=60), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("type_name", sa.String(length=100), nullable=True),
        sa.Column("promulgation_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("steering_type", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("hub_doc_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=3), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('01', '02', '03', '04', '05', '06')", name=op.f("ck_received_documents_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["sender_unit_code"], ["units.code"], name=op.f("fk_received_documents_sender_unit_code_units")
        ),
        sa.ForeignKeyConstraint(["unit_code"], ["units.code"], name=op.f("fk_received_documents_unit_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_received_documents")),
        sa.UniqueConstraint(
            "sender_organ_id",
            "document_id",
            "business_doc_type",
            name=op.f("uq_received_documents_sender_document"),
        ),
    )
    with op.batch_alter_table("received_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_received_documents_sender_organ_id"), ["sender_organ_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_received_documents_unit_code"), ["unit_code"], unique=False)

    op.create_table(
        "exchange_reply_links",
        sa.Column("directive_id", sa.Uuid(), nullable=False),
        sa.Column("received_document_id", sa.Uuid(), nullable=False),
        sa.Column("linked_by", sa.String(length=64), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directive_id"], ["directives.id"], name=op.f("fk_exchange_reply_links_directive_id_directives")
        ),
        sa.ForeignKeyConstraint(
            ["received_document_id"],
            ["received_documents.id"],
            name=op.f("fk_exchange_reply_links_received_document_id_received_documents"),
        ),
        sa.PrimaryKeyConstraint("directive_id", name=op.f("pk_exchange_reply_links")),
    )
    with op.batch_alter_table("exchange_reply_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exchange_reply_links_received_document_id"), ["received_document_id"], unique=False
        )

    with op.batch_alter_table("exchange_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_document_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_exchange_outbox_received_document_id_received_documents"),
            "received_documents",
            ["received_document_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("exchange_outbox", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_exchange_outbox_received_document_id_received_documents"), type_="foreignkey"
        )
        batch_op.drop_column("received_document_id")
    with op.batch_alter_table("exchange_reply_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_reply_links_received_document_id"))
    op.drop_table("exchange_reply_links")
    with op.batch_alter_table("received_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_received_documents_unit_code"))
        batch_op.drop_index(batch_op.f("ix_received_documents_sender_organ_id"))
    op.drop_table("received_documents")
