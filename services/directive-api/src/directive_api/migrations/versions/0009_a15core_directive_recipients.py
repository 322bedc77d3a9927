"""directive_recipients: the units and groups each document is addressed or copied to, indexed

Revision ID: 0009_a15core
Revises: 0008_s17
Create Date: 2026-12-02 14:30:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009_a15core"
down_revision: str | None = "0008_s17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _keys(addressees: list[dict[str, Any]], info_recipients: list[dict[str, Any]]) -> set[tuple[str, str]]:
    # The same derivation as directive_api.directives.models.recipient_keys, frozen here.
    keys = set()
    for entry in addressees:
        if entry.get("group"):
            keys.add(("group", entry["group"]))
        if entry.get("unit"):
            keys.add(("unit", entry["unit"]))
    keys.update(("unit", code) for entry in info_recipients for code in entry.get("units") or [])
    return keys


def _json(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else list(value)


def upgrade() -> None:
    table = op.create_table(
        "directive_recipients",
        sa.Column("directive_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.CheckConstraint("kind IN ('unit', 'group')", name=op.f("ck_directive_recipients_kind_known")),
        sa.ForeignKeyConstraint(
            ["directive_id"], ["directives.id"], name=op.f("fk_directive_recipients_directive_id_directives")
        ),
        sa.PrimaryKeyConstraint("directive_id", "kind", "code", name=op.f("pk_directive_recipients")),
    )
    op.create_index("ix_directive_recipients_kind_code", "directive_recipients", ["kind", "code"])
    bind = op.get_bind()
    directives = sa.table(
        "directives",
        sa.column("id", sa.Uuid()),
        sa.column("addressees", sa.JSON()),
        sa.column("info_recipients", sa.JSON()),
    )
    rows = bind.execute(sa.select(directives.c.id, directives.c.addressees, directives.c.info_recipients)).all()
    values = [
        {"directive_id": row[0], "kind": kind, "code": code}
        for row in rows
        for kind, code in sorted(_keys(_json(row[1]), _json(row[2])))
    ]
    if values:
        op.bulk_insert(table, values)


def downgrade() -> None:
    op.drop_index("ix_directive_recipients_kind_code", table_name="directive_recipients")
    op.drop_table("directive_recipients")
