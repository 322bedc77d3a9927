"""directory administration: versions (ETags), change history, seed marks, title lines per authority;
UBND-TP issues documents with the notation UBND

Revision ID: 0007_i17
Revises: 0006
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_i17"
down_revision: str | None = "0007_i19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    for table in ("units", "unit_groups", "people"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature_titles", _JSON, nullable=False, server_default=sa.text("'{}'")))
    op.create_table(
        "directory_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("before", _JSON, nullable=True),
        sa.Column("after", _JSON, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_changes")),
    )
    op.create_index("ix_directory_changes_kind_key", "directory_changes", ["kind", "key"], unique=False)
    op.create_table(
        "directory_seed_marks",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_directory_seed_marks")),
    )
    # Databases seeded before: the City People's Committee issues its own documents (a fresh
    # database gets this from the seed).
    op.execute("UPDATE units SET notation = 'UBND' WHERE code = 'UBND-TP' AND notation IS NULL")


def downgrade() -> None:
    op.drop_table("directory_seed_marks")
    op.drop_index("ix_directory_changes_kind_key", table_name="directory_changes")
    op.drop_table("directory_changes")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("signature_titles")
    for table in ("units", "unit_groups", "people"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("version")
