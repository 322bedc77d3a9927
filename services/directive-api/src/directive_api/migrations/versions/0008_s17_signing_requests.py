"""signing modes per signer (server, client, remote) and signing requests

Revision ID: 0008_s17
Revises: 0007_i17
Create Date: 2026-12-02 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_s17"
down_revision: str | None = "0007_i16"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_BEFORE = "'returned', 'approved'"
_AFTER = "'returned', 'awaiting_signature', 'approved'"
_STATUSES = "'draft', 'submitted', 'reviewed', 'returned', {}'approved', 'issued', 'dispatched', 'archived', 'recalled', 'replaced'"


def _directive_statuses(*, awaiting: bool) -> None:
    """Widen (or narrow) the two CHECK constraints of ``directives`` that list statuses."""
    before, after = (_BEFORE, _AFTER) if awaiting else (_AFTER, _BEFORE)
    if op.get_bind().dialect.name == "postgresql":
        extra = "'awaiting_signature', " if awaiting else ""
        pre_issue = f"'draft', 'submitted', 'reviewed', 'returned', {extra}'approved'"
        op.drop_constraint(op.f("ck_directives_status_known"), "directives", type_="check")
        op.drop_constraint(op.f("ck_directives_issued_has_number"), "directives", type_="check")
        op.create_check_constraint(
            op.f("ck_directives_status_known"), "directives", f"status IN ({_STATUSES.format(extra)})"
        )
        op.create_check_constraint(
            op.f("ck_directives_issued_has_number"), "directives", f"(status IN ({pre_issue})) OR number IS NOT NULL"
        )
        return
    # SQLite cannot alter a constraint, and rebuilding ``directives`` (batch mode) would lose its
    # freeze triggers and trip the foreign keys that point at it. Widening a CHECK constraint does
    # not change what is stored, which SQLite documents as safe to do by editing the schema text
    # ("Making Other Kinds Of Table Schema Changes", https://sqlite.org/lang_altertable.html).
    bind = op.get_bind()
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'directives'",
        (before, after),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")


def upgrade() -> None:
    _directive_statuses(awaiting=True)
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signing_mode", sa.String(length=10), nullable=False, server_default="server"))
        batch_op.add_column(sa.Column("signing_certificate", sa.Text(), nullable=True))
    op.create_table(
        "signing_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("directive_id", sa.Uuid(), nullable=False),
        sa.Column("signer_id", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("certificate_sha256", sa.String(length=64), nullable=False),
        sa.Column("prepared_sha256", sa.String(length=64), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("document_digest", sa.String(length=64), nullable=False),
        sa.Column("signed_attributes", sa.Text(), nullable=False),
        sa.Column("reserved_start", sa.Integer(), nullable=False),
        sa.Column("reserved_end", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'completed', 'abandoned', 'expired')", name=op.f("ck_signing_requests_status_known")
        ),
        sa.CheckConstraint("mode IN ('client', 'remote')", name=op.f("ck_signing_requests_mode_known")),
        sa.ForeignKeyConstraint(
            ["directive_id"], ["directives.id"], name=op.f("fk_signing_requests_directive_id_directives")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_requests")),
    )
    op.create_index(op.f("ix_signing_requests_directive_id"), "signing_requests", ["directive_id"], unique=False)
    op.create_index(op.f("ix_signing_requests_expires_at"), "signing_requests", ["expires_at"], unique=False)


def downgrade() -> None:
    op.execute("UPDATE directives SET status = 'submitted' WHERE status = 'awaiting_signature'")
    _directive_statuses(awaiting=False)
    op.drop_index(op.f("ix_signing_requests_expires_at"), table_name="signing_requests")
    op.drop_index(op.f("ix_signing_requests_directive_id"), table_name="signing_requests")
    op.drop_table("signing_requests")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("signing_certificate")
        batch_op.drop_column("signing_mode")
