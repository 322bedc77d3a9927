"""a document's annexes (phụ lục, attached quy chế/quy định), a second signer's block (biên bản,
giấy ủy quyền) and its attachments (tài liệu kèm theo: name, SHA-256, size of each uploaded PDF)

Revision ID: 0007_i19
Revises: 0006
Create Date: 2026-12-02 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_i19"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("directives", schema=None) as batch_op:
        batch_op.add_column(sa.Column("annexes", _JSON, nullable=True))
        batch_op.add_column(sa.Column("second_signature", _JSON, nullable=True))
        batch_op.add_column(sa.Column("attachments", _JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("directives", schema=None) as batch_op:
        batch_op.drop_column("attachments")
        batch_op.drop_column("second_signature")
        batch_op.drop_column("annexes")
