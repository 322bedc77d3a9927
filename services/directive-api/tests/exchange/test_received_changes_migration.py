"""Migration 0011_h18r moves the one change label a received document carried into received_changes,
and its downgrade puts back the change then shown (the latest waiting one), on both databases."""

from __future__ import annotations

import uuid

from alembic import command
from sqlalchemy import create_engine, inspect, make_url, text

from directive_api.cli import alembic_config

INSERT = text(
    "INSERT INTO received_documents (id, sender_organ_id, unit_code, document_id, business_doc_type, subject,"
    " sha256, size, status, received_at) VALUES (:id, '000.00.01.H13', 'SNV', '000.00.01.H13,2026/12/01,07/VPUB',"
    " :kind, 'V/v báo cáo kết quả', 'ab', 1, '03', '2026-12-01 10:00:00+00:00')"
)
LABEL = text(
    "UPDATE received_documents SET change_kind = 'revoke', change_key = :key, change_reason = 'Sai đối tượng nhận.',"
    " change_package_id = :package, change_at = '2026-12-01 11:00:00+00:00', change_state = 'refused',"
    " change_answer_reason = 'Đã phân công xử lý.', change_answered_by = 'le-minh-tam',"
    " change_answered_at = '2026-12-01 12:00:00+00:00' WHERE id = :id"
)


def test_the_label_moves_to_received_changes_and_back(database_url: str) -> None:
    url = make_url(database_url)
    sync = url.set(drivername="sqlite" if url.get_backend_name() == "sqlite" else "postgresql+psycopg")
    engine = create_engine(sync)
    config = alembic_config(database_url)
    command.downgrade(config, "0010_h18p")

    def stored(value: uuid.UUID) -> str:  # how each database keeps a UUID column
        return value.hex if url.get_backend_name() == "sqlite" else str(value)

    received, package = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(INSERT, {"id": stored(received), "kind": 0})
        connection.execute(INSERT, {"id": stored(package), "kind": 1})
        connection.execute(LABEL, {"key": str(package), "package": stored(package), "id": stored(received)})
    try:
        command.upgrade(config, "0011_h18r")
        with engine.begin() as connection:
            (row,) = connection.execute(text("SELECT * FROM received_changes")).mappings().all()
            assert (row["kind"], row["state"], row["reason"], row["change_key"], row["unit_code"]) == (
                "revoke",
                "refused",
                "Sai đối tượng nhận.",
                str(package),
                "SNV",
            )
            assert (row["answer_reason"], row["answered_by"]) == ("Đã phân công xử lý.", "le-minh-tam")
            assert row["target_document_id"] == "000.00.01.H13,2026/12/01,07/VPUB"
            assert str(row["received_document_id"]).replace("-", "") == received.hex
            assert str(row["package_id"]).replace("-", "") == package.hex
            columns = {column["name"] for column in inspect(connection).get_columns("received_documents")}
            assert "change_kind" not in columns and "recalled_at" in columns
            # A second change, still waiting: the one a single label shows after a downgrade.
            connection.execute(
                text(
                    "INSERT INTO received_changes (sender_organ_id, target_document_id, received_document_id, kind,"
                    " change_key, reason, state, requested_at) VALUES ('000.00.01.H13', 'x', :id, 'recall',"
                    " 'recall:1', 'Lấy lại.', 'pending', '2026-12-01 13:00:00+00:00')"
                ),
                {"id": stored(received)},
            )
        command.downgrade(config, "0010_h18p")
        with engine.begin() as connection:
            shown = connection.execute(
                text("SELECT change_kind, change_state, change_reason FROM received_documents WHERE id = :id"),
                {"id": stored(received)},
            ).one()
            assert tuple(shown) == ("recall", "pending", "Lấy lại.")
    finally:
        command.upgrade(config, "head")
        engine.dispose()
