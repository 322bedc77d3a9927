"""shared outbox, hash-chained history

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 07:18:44.719733
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FIELDS = (
    "obligation_id",
    "action",
    "from_status",
    "to_status",
    "actor_id",
    "actor_name",
    "actor_roles",
    "comment",
    "version",
    "workflow",
    "workflow_version",
    "at",
)
GENESIS = "0" * 64


def _canonical(name: str, value: object) -> object:
    # Same canonical form as common.audit (copied: migrations are static).
    if name == "at" and value is not None:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        return moment.isoformat(timespec="microseconds")
    if name == "obligation_id":
        text = str(value).replace("-", "")
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    if name == "actor_roles" and isinstance(value, str):
        return json.loads(value)
    return value


def _backfill_chain() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text(f"SELECT id, {', '.join(FIELDS)} FROM obligation_history ORDER BY id")).mappings()
    prev = GENESIS
    for seq, row in enumerate(list(rows), start=1):
        fields = {name: _canonical(name, row[name]) for name in FIELDS}
        payload = json.dumps({"prev": prev, "seq": seq, "fields": fields}, sort_keys=True, ensure_ascii=False)
        digest = hashlib.sha256(payload.encode()).hexdigest()
        connection.execute(
            sa.text(
                "UPDATE obligation_history SET chain_seq = :seq, prev_hash = :prev, entry_hash = :hash WHERE id = :id"
            ),
            {"seq": seq, "prev": prev, "hash": digest, "id": row["id"]},
        )
        prev = digest


def _append_only(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            """CREATE FUNCTION obligation_history_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'obligation_history is append-only' USING ERRCODE = 'insufficient_privilege'; END
            $$ LANGUAGE plpgsql"""
        )
        op.execute(
            """CREATE TRIGGER obligation_history_append_only BEFORE UPDATE OR DELETE ON obligation_history
            FOR EACH ROW EXECUTE FUNCTION obligation_history_append_only()"""
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"""CREATE TRIGGER obligation_history_append_only_{event.lower()} BEFORE {event} ON obligation_history
            BEGIN SELECT RAISE(ABORT, 'obligation_history is append-only'); END"""
        )


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("subscription_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=40), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("event_id", "subscription_id", name=op.f("uq_webhook_deliveries_event_id_subscription_id")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_subscription_id"), ["subscription_id"], unique=False)

    op.create_table(
        "webhook_delivery_attempts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("delivery_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("subscription_id", sa.String(length=40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery_attempts")),
    )
    with op.batch_alter_table("webhook_delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_delivery_attempts_delivery_id"), ["delivery_id"], unique=False)

    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column(
            "event_types", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "secrets", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_subscriptions_owner"), ["owner"], unique=False)

    with op.batch_alter_table("obligation_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_obligation_history_chain_seq"), ["chain_seq"])

    op.drop_table("outbox_events")
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column(
            "data", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("sequence", name=op.f("uq_outbox_events_sequence")),
    )
    op.create_index(op.f("ix_outbox_events_occurred_at"), "outbox_events", ["occurred_at"], unique=False)
    _backfill_chain()
    _append_only(op.get_bind().dialect.name)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER obligation_history_append_only ON obligation_history")
        op.execute("DROP FUNCTION obligation_history_append_only()")
    else:
        op.execute("DROP TRIGGER obligation_history_append_only_update")
        op.execute("DROP TRIGGER obligation_history_append_only_delete")
    op.drop_index(op.f("ix_outbox_events_occurred_at"), table_name="outbox_events")
    op.drop_table("outbox_events")
    op.create_table(
        "outbox_events",
        sa.Column("sequence", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column(
            "data", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_events_id")),
    )
    with op.batch_alter_table("obligation_history", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_obligation_history_chain_seq"), type_="unique")
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("chain_seq")
    op.drop_table("webhook_subscriptions")
    op.drop_table("webhook_delivery_attempts")
    op.drop_table("webhook_deliveries")
