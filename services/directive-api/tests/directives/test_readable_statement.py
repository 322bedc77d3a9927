"""The document list of a unit officer is one SQL statement, however many documents there are.

Access scoping is a repository statement (``directives.repository.readable_statement``): addressees
are filtered in the database through ``directive_recipients``, never per row in Python (which cost
one query on ``units`` per issued document). The statements are counted on the real engine
(``before_cursor_execute``), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from directive_testing import Actors, Api
from fastapi import FastAPI
from sqlalchemy import event, update

from directive_api.directives.models import Directive
from directive_api.directives.states import DirectiveStatus

OFFICER_UNIT = "X31299"  # a ward: in the group ``commune_level``
OTHER_UNIT = "SNV"  # a department: not a commune


@contextmanager
def counted(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement the application runs inside the block."""
    statements: list[str] = []
    engines = {app.state.engine.sync_engine, getattr(app.state, "read_engine", app.state.engine).sync_engine}

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def _issue_in_place(app: FastAPI, doc: dict[str, Any], number: int) -> None:
    # Issuing through the API signs and seals a PDF (seconds each); the list only reads the row,
    # so the test moves the drafts to ``issued`` directly.
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Directive)
            .where(Directive.id == uuid.UUID(doc["id"]))
            .values(status=DirectiveStatus.issued, number=number, notation=f"{number:02d}/VPUB-TTĐH")
        )


async def test_unit_officer_list_is_one_statement(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    by_group = {**letter, "addressees": [{"group": "commune_level"}], "info_recipients": [{"as_above": True}]}
    by_unit = {**letter, "addressees": [{"unit": OFFICER_UNIT}], "info_recipients": [{"as_above": True}]}
    copied = {**letter, "addressees": [{"unit": OTHER_UNIT}], "info_recipients": [{"units": ["TU", OFFICER_UNIT]}]}
    elsewhere = {**letter, "addressees": [{"unit": OTHER_UNIT}], "info_recipients": [{"as_above": True}]}
    visible = []
    number = 0
    for body in (by_group, by_unit, copied) * 4:
        doc = await api.create(body)
        number += 1
        await _issue_in_place(app, doc, number)
        visible.append(doc["id"])
    for body in (elsewhere,) * 4:
        doc = await api.create(body)
        number += 1
        await _issue_in_place(app, doc, number)
    draft = await api.create(by_unit)  # addressed, but a draft: never listed

    officer = actors.unit_officer(OFFICER_UNIT)
    with counted(app) as statements:
        response = await api.client.get("/v1/directives", params={"limit": 200}, headers=officer)
    assert response.status_code == 200, response.text
    listed = [item["id"] for item in response.json()["items"]]
    assert sorted(listed) == sorted(visible)
    assert draft["id"] not in listed
    queries = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 1, queries
    assert "directive_recipients" in queries[0]

    # Paging keeps it one statement per page, and the pages add up to the same documents.
    seen: list[str] = []
    cursor = None
    while True:
        with counted(app) as statements:
            params: dict[str, Any] = {"limit": 5} | ({"cursor": cursor} if cursor else {})
            page = (await api.client.get("/v1/directives", params=params, headers=officer)).json()
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == listed

    # Another unit's officer sees only what is addressed to it: here, nothing of the ward's.
    other = (await api.client.get("/v1/directives", headers=actors.unit_officer(OTHER_UNIT))).json()
    assert not set(visible[:2]) & {item["id"] for item in other["items"]}


async def test_editing_the_addressees_moves_the_document_between_lists(
    api: Api, actors: Actors, letter: dict[str, Any], app: FastAPI
) -> None:
    doc = await api.create({**letter, "addressees": [{"unit": OTHER_UNIT}], "info_recipients": [{"as_above": True}]})
    response = await api.client.patch(
        f"/v1/directives/{doc['id']}",
        json={"addressees": [{"unit": OFFICER_UNIT}]},
        headers={**actors.drafter, "If-Match": doc["etag"]},
    )
    assert response.status_code == 200, response.text
    await _issue_in_place(app, doc, 1)
    ward = (await api.client.get("/v1/directives", headers=actors.unit_officer(OFFICER_UNIT))).json()
    department = (await api.client.get("/v1/directives", headers=actors.unit_officer(OTHER_UNIT))).json()
    assert doc["id"] in [item["id"] for item in ward["items"]]
    assert doc["id"] not in [item["id"] for item in department["items"]]
    assert (await api.get(doc["id"], actors.unit_officer(OFFICER_UNIT))).status_code == 200
    assert (await api.get(doc["id"], actors.unit_officer(OTHER_UNIT))).status_code == 404
