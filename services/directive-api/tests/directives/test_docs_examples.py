"""The request bodies docs/api.md shows for creating documents are accepted as they stand: an
integrator who copies one gets 201, not a 422 for a field the example left out."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from directive_testing import Actors

API_DOC = Path(__file__).resolve().parents[4] / "docs" / "api.md"


def _examples() -> list[dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)```", API_DOC.read_text(encoding="utf-8"), flags=re.S)
    documents = [json.loads(block) for block in blocks if '"doc_type"' in block]
    return [d for d in documents if isinstance(d, dict) and "body" in d]


def test_the_guide_shows_both_create_examples() -> None:
    assert sorted(d["doc_type"] for d in _examples()) == ["CV", "QĐ"]


@pytest.mark.parametrize("doc_type", ["CV", "QĐ"])
async def test_a_documented_create_body_is_accepted(client: httpx.AsyncClient, actors: Actors, doc_type: str) -> None:
    [example] = [d for d in _examples() if d["doc_type"] == doc_type]
    created = await client.post("/v1/directives", json=example, headers=actors.drafter)
    assert created.status_code == 201, created.text
    assert created.json()["doc_type"] == doc_type and created.json()["drafting_unit"] == example["drafting_unit"]
