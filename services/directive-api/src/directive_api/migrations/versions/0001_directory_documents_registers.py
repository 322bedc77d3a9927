"""directory, documents, registers

Revision ID: 0001
Revises:
Create Date: 2026-11-27 06:44:16.812135
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("principal", sa.String(length=255), nullable=False),
        sa.Column("endpoint", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column(
            "response_body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("resource_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "principal", "endpoint", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "unit_groups",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("is_addressable", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_unit_groups")),
    )
    op.create_table(
        "units",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("short_name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("group_code", sa.String(length=40), nullable=True),
        sa.Column("parent_code", sa.String(length=40), nullable=True),
        sa.Column("organ_id", sa.String(length=35), nullable=True),
        sa.Column("gso_code", sa.String(length=10), nullable=True),
        sa.Column("notation", sa.String(length=20), nullable=True),
        sa.Column("letterhead_parent", sa.String(length=200), nullable=True),
        sa.Column("letterhead_name", sa.String(length=200), nullable=True),
        sa.Column("place_name", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["group_code"], ["unit_groups.code"], name=op.f("fk_units_group_code_unit_groups")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_units")),
    )
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_units_group_code"), ["group_code"], unique=False)

    op.create_table(
        "people",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=100), nullable=False),
        sa.Column("unit_code", sa.String(length=40), nullable=False),
        sa.Column("position", sa.String(length=200), nullable=False),
        sa.Column("division", sa.String(length=20), nullable=True),
        sa.Column(
            "roles",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "signature_title_lines",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["unit_code"], ["units.code"], name=op.f("fk_people_unit_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_people_unit_code"), ["unit_code"], unique=False)

    op.create_table(
        "registers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("issuer_code", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.CheckConstraint("last_number >= 0", name=op.f("ck_registers_last_number_non_negative")),
        sa.ForeignKeyConstraint(["issuer_code"], ["units.code"], name=op.f("fk_registers_issuer_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registers")),
        sa.UniqueConstraint("issuer_code", "code", "year", name=op.f("uq_registers_issuer_code_code_year")),
    )
    op.create_table(
        "directives",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("doc_type", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("workflow_version", sa.Integer(), nullable=False),
        sa.Column("issuer_code", sa.String(length=40), nullable=False),
        sa.Column("issuer_notation", sa.String(length=20), nullable=False),
        sa.Column("place_name", sa.String(length=100), nullable=False),
        sa.Column("drafting_unit", sa.String(length=20), nullable=False),
        sa.Column("register_code", sa.String(length=20), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column(
            "addressees",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("signer_id", sa.String(length=64), nullable=False),
        sa.Column(
            "signature_title_lines",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("signer_name", sa.String(length=100), nullable=False),
        sa.Column(
            "info_recipients",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("archive_line", sa.String(length=200), nullable=False),
        sa.Column("urgency", sa.String(length=20), nullable=True),
        sa.Column("secrecy", sa.String(length=20), nullable=True),
        sa.Column(
            "compliance",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("drafter_initials", sa.String(length=20), nullable=True),
        sa.Column("copies", sa.Integer(), nullable=True),
        sa.Column("drafted_by", sa.String(length=64), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_by", sa.String(length=64), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("notation", sa.String(length=60), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status IN ('draft', 'submitted', 'reviewed', 'returned', 'approved')) OR number IS NOT NULL",
            name=op.f("ck_directives_issued_has_number"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'submitted', 'reviewed', 'returned', 'approved', 'issued', 'dispatched', 'archived', 'recalled', 'replaced')",
            name=op.f("ck_directives_status_known"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_directives_version_positive")),
        sa.ForeignKeyConstraint(["issuer_code"], ["units.code"], name=op.f("fk_directives_issuer_code_units")),
        sa.ForeignKeyConstraint(["signer_id"], ["people.id"], name=op.f("fk_directives_signer_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directives")),
        sa.UniqueConstraint("public_id", name=op.f("uq_directives_public_id")),
    )
    with op.batch_alter_table("directives", schema=None) as batch_op:
        batch_op.create_index("ix_directives_issuer_status", ["issuer_code", "status"], unique=False)

    op.create_table(
        "directive_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("directive_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column(
            "actor_roles",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("workflow", sa.String(length=60), nullable=False),
        sa.Column("workflow_version", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["directive_id"], ["directives.id"], name=op.f("fk_directive_history_directive_id_directives")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directive_history")),
    )
    with op.batch_alter_table("directive_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directive_history_directive_id"), ["directive_id"], unique=False)

    op.create_table(
        "register_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("directive_id", sa.Uuid(), nullable=False),
        sa.Column("notation", sa.String(length=60), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("doc_type", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("signer_name", sa.String(length=100), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("number >= 1", name=op.f("ck_register_entries_number_positive")),
        sa.ForeignKeyConstraint(
            ["directive_id"], ["directives.id"], name=op.f("fk_register_entries_directive_id_directives")
        ),
        sa.ForeignKeyConstraint(
            ["register_id"], ["registers.id"], name=op.f("fk_register_entries_register_id_registers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_entries")),
        sa.UniqueConstraint("directive_id", name=op.f("uq_register_entries_directive_id")),
        sa.UniqueConstraint("register_id", "number", name=op.f("uq_register_entries_register_id_number")),
    )


def downgrade() -> None:

    op.drop_table("register_entries")
    with op.batch_alter_table("directive_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directive_history_directive_id"))

    op.drop_table("directive_history")
    with op.batch_alter_table("directives", schema=None) as batch_op:
        batch_op.drop_index("ix_directives_issuer_status")

    op.drop_table("directives")
    op.drop_table("registers")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_unit_code"))

    op.drop_table("people")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_units_group_code"))

    op.drop_table("units")
    op.drop_table("unit_groups")
    op.drop_table("idempotency_keys")
