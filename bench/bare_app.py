"""The baseline: a bare FastAPI endpoint doing the same primary-key lookup with the same driver.

No authentication, no problem handlers, no middleware, no response model: the floor that
directive-api's ``GET /v1/directives/{id}`` is compared against.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine(os.environ["BENCH_DATABASE_URL"], pool_size=10, max_overflow=10)
app = FastAPI()


@app.get("/bare/{directive_id}")
async def get_directive(directive_id: uuid.UUID) -> dict[str, Any]:
    async with engine.connect() as connection:
        row = (await connection.execute(text("SELECT * FROM directives WHERE id = :id"), {"id": directive_id})).one()
    return {key: (str(value) if value is not None else None) for key, value in row._mapping.items()}
