"""outbox_events.unit_code (the feed and webhooks are scoped by it), webhook_subscriptions.system,
and page_session_revocations (signing out of the pages ends the session server-side)

Each ``obligation.*`` event names its unit in ``data.unit_code``; the column copies it so that the
feed and the relay select what a reader of a unit may see in SQL (index on unit_code, sequence).
Existing events are backfilled from the payload. ``system`` marks the configured subscriber
(directive-api's inbox), which receives every unit's events: the existing row of that subscriber
(owner ``directive-api``, no unit) is marked here, and every worker start marks it again.

Revision ID: 0007_hsec
Revises: 0006_a15r
Create Date: 2026-12-02 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_hsec"
down_revision: str | None = "0006_a15r"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "page_session_revocations",
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_page_session_revocations")),
    )
    op.create_index(
        op.f("ix_page_session_revocations_expires_at"), "page_session_revocations", ["expires_at"], unique=False
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_code", sa.String(length=40), nullable=True))
        batch_op.create_index("ix_outbox_events_unit_code_sequence", ["unit_code", "sequence"], unique=False)
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("system", sa.Boolean(), server_default=sa.false(), nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE outbox_events SET unit_code = LEFT(CAST(data AS json) ->> 'unit_code', 40)")
    else:
        op.execute("UPDATE outbox_events SET unit_code = substr(json_extract(data, '$.unit_code'), 1, 40)")
    op.execute(
        sa.text(
            "UPDATE webhook_subscriptions SET system = :yes WHERE owner = 'directive-api' AND owner_unit IS NULL"
        ).bindparams(yes=True)
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_page_session_revocations_expires_at"), table_name="page_session_revocations")
    op.drop_table("page_session_revocations")
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.drop_column("system")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_unit_code_sequence")
        batch_op.drop_column("unit_code")
