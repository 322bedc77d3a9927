"""dispatch, events, exchange, archive

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 07:02:20.083261
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FROZEN = "('archived', 'recalled')"


def _create_freeze_triggers() -> None:
    """Archived and recalled documents, and their stored files, cannot change (Decree 30, Phụ lục VI)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION directives_frozen() RETURNS trigger AS $$
            BEGIN
              IF OLD.status IN {FROZEN} THEN
                RAISE EXCEPTION 'archived or recalled documents cannot change' USING ERRCODE = 'check_violation';
              END IF;
              RETURN COALESCE(NEW, OLD);
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER directives_frozen BEFORE UPDATE OR DELETE ON directives
              FOR EACH ROW EXECUTE FUNCTION directives_frozen();
            CREATE FUNCTION directive_files_frozen() RETURNS trigger AS $$
            BEGIN
              IF EXISTS (SELECT 1 FROM directives WHERE id = OLD.directive_id AND status IN {FROZEN}) THEN
                RAISE EXCEPTION 'files of archived or recalled documents cannot change' USING ERRCODE = 'check_violation';
              END IF;
              RETURN COALESCE(NEW, OLD);
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER directive_files_frozen BEFORE UPDATE OR DELETE ON directive_files
              FOR EACH ROW EXECUTE FUNCTION directive_files_frozen();
            """
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"""CREATE TRIGGER directives_frozen_{event.lower()} BEFORE {event} ON directives
            WHEN OLD.status IN {FROZEN}
            BEGIN SELECT RAISE(ABORT, 'archived or recalled documents cannot change'); END"""
        )
        op.execute(
            f"""CREATE TRIGGER directive_files_frozen_{event.lower()} BEFORE {event} ON directive_files
            WHEN EXISTS (SELECT 1 FROM directives WHERE id = OLD.directive_id AND status IN {FROZEN})
            BEGIN SELECT RAISE(ABORT, 'files of archived or recalled documents cannot change'); END"""
        )


def _drop_freeze_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER directives_frozen ON directives; DROP FUNCTION directives_frozen();")
        op.execute("DROP TRIGGER directive_files_frozen ON directive_files; DROP FUNCTION directive_files_frozen();")
        return
    for event in ("update", "delete"):
        op.execute(f"DROP TRIGGER directives_frozen_{event}")
        op.execute(f"DROP TRIGGER directive_files_frozen_{event}")


def upgrade() -> None:

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
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_events_occurred_at"), ["occurred_at"], unique=False)

    op.create_table(
        "received_events",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("type", sa.String(length=100), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_received_events")),
    )
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

    op.create_table(
        "records_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("issuer_code", sa.String(length=40), nullable=False),
        sa.Column("organ_id", sa.String(length=35), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("file_notation", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("retention", sa.String(length=30), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["issuer_code"], ["units.code"], name=op.f("fk_records_files_issuer_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_records_files")),
        sa.UniqueConstraint(
            "issuer_code", "year", "file_notation", name=op.f("uq_records_files_issuer_code_year_file_notation")
        ),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("directive_id", sa.Uuid(), nullable=False),
        sa.Column("unit_code", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("compliance_status", sa.String(length=20), nullable=True),
        sa.Column("reply_package_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('report_api', 'edxml', 'webhook')", name=op.f("ck_deliveries_channel_known")),
        sa.CheckConstraint("role IN ('addressee', 'information')", name=op.f("ck_deliveries_role_known")),
        sa.CheckConstraint(
            "status IN ('sent', '01', '02', '03', '04', '05', '06', '13', '15', '16')",
            name=op.f("ck_deliveries_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["directive_id"], ["directives.id"], name=op.f("fk_deliveries_directive_id_directives")
        ),
        sa.ForeignKeyConstraint(["unit_code"], ["units.code"], name=op.f("fk_deliveries_unit_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("directive_id", "unit_code", name=op.f("uq_deliveries_directive_id_unit_code")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_directive_id"), ["directive_id"], unique=False)
        batch_op.create_index("ix_deliveries_unit_status", ["unit_code", "status"], unique=False)

    op.create_table(
        "exchange_packages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("directive_id", sa.Uuid(), nullable=True),
        sa.Column("sender_organ_id", sa.String(length=35), nullable=True),
        sa.Column("status_code", sa.String(length=2), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("direction IN ('in', 'out')", name=op.f("ck_exchange_packages_direction_known")),
        sa.ForeignKeyConstraint(
            ["directive_id"], ["directives.id"], name=op.f("fk_exchange_packages_directive_id_directives")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_packages")),
    )
    with op.batch_alter_table("exchange_packages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exchange_packages_directive_id"), ["directive_id"], unique=False)

    op.create_table(
        "delivery_status_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["deliveries.id"], name=op.f("fk_delivery_status_log_delivery_id_deliveries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_status_log")),
    )
    with op.batch_alter_table("delivery_status_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_status_log_delivery_id"), ["delivery_id"], unique=False)

    with op.batch_alter_table("directives", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dispatch_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("records_file_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("recalled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("recall_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("replaced_by_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("replaces_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("corrects_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_directives_dispatch_due_at"), ["dispatch_due_at"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_directives_replaced_by_id_directives"), "directives", ["replaced_by_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_directives_replaces_id_directives"), "directives", ["replaces_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_directives_corrects_id_directives"), "directives", ["corrects_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_directives_records_file_id_records_files"), "records_files", ["records_file_id"], ["id"]
        )
    _create_freeze_triggers()


def downgrade() -> None:
    _drop_freeze_triggers()

    with op.batch_alter_table("directives", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_directives_records_file_id_records_files"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_directives_corrects_id_directives"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_directives_replaces_id_directives"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_directives_replaced_by_id_directives"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_directives_dispatch_due_at"))
        batch_op.drop_column("corrects_id")
        batch_op.drop_column("replaces_id")
        batch_op.drop_column("replaced_by_id")
        batch_op.drop_column("recall_reason")
        batch_op.drop_column("recalled_at")
        batch_op.drop_column("archived_at")
        batch_op.drop_column("records_file_id")
        batch_op.drop_column("dispatched_at")
        batch_op.drop_column("dispatch_due_at")

    with op.batch_alter_table("delivery_status_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_status_log_delivery_id"))

    op.drop_table("delivery_status_log")
    with op.batch_alter_table("exchange_packages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exchange_packages_directive_id"))

    op.drop_table("exchange_packages")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_unit_status")
        batch_op.drop_index(batch_op.f("ix_deliveries_directive_id"))

    op.drop_table("deliveries")
    op.drop_table("records_files")
    with op.batch_alter_table("webhook_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_subscriptions_owner"))

    op.drop_table("webhook_subscriptions")
    with op.batch_alter_table("webhook_delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_delivery_attempts_delivery_id"))

    op.drop_table("webhook_delivery_attempts")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_event_id"))
        batch_op.drop_index("ix_webhook_deliveries_due")

    op.drop_table("webhook_deliveries")
    op.drop_table("received_events")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_events_occurred_at"))

    op.drop_table("outbox_events")
