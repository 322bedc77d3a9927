"""stored pdfs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 06:57:23.372594
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "directive_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("directive_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("directive_version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('preview', 'signed', 'issued')", name=op.f("ck_directive_files_kind_known")),
        sa.ForeignKeyConstraint(
            ["directive_id"], ["directives.id"], name=op.f("fk_directive_files_directive_id_directives")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directive_files")),
    )
    with op.batch_alter_table("directive_files", schema=None) as batch_op:
        batch_op.create_index("ix_directive_files_directive_kind", ["directive_id", "kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_directive_files_sha256"), ["sha256"], unique=False)

    with op.batch_alter_table("directives", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signed_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("issued_sha256", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_directives_issued_sha256"), ["issued_sha256"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("directives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directives_issued_sha256"))
        batch_op.drop_column("issued_sha256")
        batch_op.drop_column("signed_sha256")

    with op.batch_alter_table("directive_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directive_files_sha256"))
        batch_op.drop_index("ix_directive_files_directive_kind")

    op.drop_table("directive_files")
