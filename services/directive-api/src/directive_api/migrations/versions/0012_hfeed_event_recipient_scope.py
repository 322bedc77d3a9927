"""outbox_events.directive_id and outbox_events.unit_code: the feed and webhooks select in SQL what a
reader may see

An event about one recipient unit (``delivery.status_changed``, ``delivery.reply_received``) is for
the issuing office and that unit only; an event about the whole document for every reader of the
document; an event about a document received from a partner for the receiving unit's office roles.
``directive_id`` names our document (NULL for a received one), ``unit_code`` the recipient unit
(NULL: the whole document) or the unit a received document was sent to. Existing events are
backfilled: the document from the subject, the unit from ``data.unit_code`` (ours) or from the
received document. Index (unit_code, sequence) as in report-api.

Revision ID: 0012_hfeed
Revises: 0011_h18r
Create Date: 2026-12-02 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_hfeed"
down_revision: str | None = "0011_h18r"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("directive_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("unit_code", sa.String(length=40), nullable=True))
        batch_op.create_index("ix_outbox_events_unit_code_sequence", ["unit_code", "sequence"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE outbox_events SET directive_id = d.id FROM directives d WHERE CAST(d.id AS text) = outbox_events.subject"
        )
        op.execute(
            "UPDATE outbox_events SET unit_code = LEFT(CAST(data AS json) ->> 'unit_code', 40) "
            "WHERE directive_id IS NOT NULL"
        )
        op.execute(
            "UPDATE outbox_events SET unit_code = r.unit_code FROM received_documents r "
            "WHERE outbox_events.directive_id IS NULL AND CAST(r.id AS text) = outbox_events.subject"
        )
    else:
        # SQLite keeps a UUID as its 32 hexadecimal digits (SQLAlchemy's Uuid without a native type).
        op.execute(
            "UPDATE outbox_events SET directive_id = (SELECT d.id FROM directives d "
            "WHERE d.id = replace(outbox_events.subject, '-', ''))"
        )
        op.execute(
            "UPDATE outbox_events SET unit_code = substr(json_extract(data, '$.unit_code'), 1, 40) "
            "WHERE directive_id IS NOT NULL"
        )
        op.execute(
            "UPDATE outbox_events SET unit_code = (SELECT r.unit_code FROM received_documents r "
            "WHERE r.id = replace(outbox_events.subject, '-', '')) WHERE directive_id IS NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_unit_code_sequence")
        batch_op.drop_column("unit_code")
        batch_op.drop_column("directive_id")
