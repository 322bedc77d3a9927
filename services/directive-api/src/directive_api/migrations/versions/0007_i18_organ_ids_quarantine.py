"""organ ids are unique and marked when made up for development; status packages recorded once;
packages from unknown organ ids are quarantined; the exchange transport's outbox

Revision ID: 0007_i18
Revises: 0006
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_i18"
down_revision: str | None = "0007_i17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organ_id_development", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_unique_constraint(batch_op.f("uq_units_organ_id"), ["organ_id"])

    with op.batch_alter_table("exchange_packages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_exchange_packages_dedupe_key"), ["dedupe_key"])

    op.create_table(
        "quarantined_packages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("sender_organ_id", sa.String(length=35), nullable=False),
        sa.Column("sender_name", sa.String(length=300), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("unit_code", sa.String(length=40), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('status', 'reply')", name=op.f("ck_quarantined_packages_kind_known")),
        sa.CheckConstraint(
            "state IN ('pending', 'mapped', 'rejected')", name=op.f("ck_quarantined_packages_state_known")
        ),
        sa.ForeignKeyConstraint(["unit_code"], ["units.code"], name=op.f("fk_quarantined_packages_unit_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_packages")),
        sa.UniqueConstraint("sha256", name=op.f("uq_quarantined_packages_sha256")),
    )
    with op.batch_alter_table("quarantined_packages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantined_packages_sender_organ_id"), ["sender_organ_id"], unique=False)

    op.create_table(
        "exchange_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("package_key", sa.String(length=200), nullable=False),
        sa.Column("directive_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("message_type", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("status_code", sa.String(length=3), nullable=True),
        sa.Column("hub_doc_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'sent', 'dead')", name=op.f("ck_exchange_outbox_state_known")),
        sa.ForeignKeyConstraint(
            ["directive_id"], ["directives.id"], name=op.f("fk_exchange_outbox_directive_id_directives")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_outbox")),
        sa.UniqueConstraint("package_key", name=op.f("uq_exchange_outbox_package_key")),
    )
    with op.batch_alter_table("exchange_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_exchange_outbox_due", ["state", "next_attempt_at"], unique=False)


def downgrade() -> None:
    op.drop_table("exchange_outbox")
    op.drop_table("quarantined_packages")
    with op.batch_alter_table("exchange_packages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_exchange_packages_dedupe_key"), type_="unique")
        batch_op.drop_column("dedupe_key")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_units_organ_id"), type_="unique")
        batch_op.drop_column("organ_id_development")
