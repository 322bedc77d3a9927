"""hash-chained, append-only history

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 07:17:00
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIELDS = (
    "directive_id",
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
    if name == "directive_id":
        text = str(value).replace("-", "")
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    if name == "actor_roles" and isinstance(value, str):
        return json.loads(value)
    return value


def _backfill() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text(f"SELECT id, {', '.join(FIELDS)} FROM directive_history ORDER BY id")).mappings()
    prev = GENESIS
    for seq, row in enumerate(list(rows), start=1):
        fields = {name: _canonical(name, row[name]) for name in FIELDS}
        payload = json.dumps({"prev": prev, "seq": seq, "fields": fields}, sort_keys=True, ensure_ascii=False)
        digest = hashlib.sha256(payload.encode()).hexdigest()
        connection.execute(
            sa.text(
                "UPDATE directive_history SET chain_seq = :seq, prev_hash = :prev, entry_hash = :hash WHERE id = :id"
            ),
            {"seq": seq, "prev": prev, "hash": digest, "id": row["id"]},
        )
        prev = digest


def upgrade() -> None:
    with op.batch_alter_table("directive_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_directive_history_chain_seq"), ["chain_seq"])
    _backfill()
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            """CREATE FUNCTION directive_history_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'directive_history is append-only' USING ERRCODE = 'insufficient_privilege'; END
            $$ LANGUAGE plpgsql"""
        )
        op.execute(
            """CREATE TRIGGER directive_history_append_only BEFORE UPDATE OR DELETE ON directive_history
            FOR EACH ROW EXECUTE FUNCTION directive_history_append_only()"""
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"""CREATE TRIGGER directive_history_append_only_{event.lower()} BEFORE {event} ON directive_history
                BEGIN SELECT RAISE(ABORT, 'directive_history is append-only'); END"""
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER directive_history_append_only ON directive_history")
        op.execute("DROP FUNCTION directive_history_append_only()")
    else:
        op.execute("DROP TRIGGER directive_history_append_only_update")
        op.execute("DROP TRIGGER directive_history_append_only_delete")
    with op.batch_alter_table("directive_history", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_directive_history_chain_seq"), type_="unique")
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("chain_seq")
