"""HTTP route of a document's compliance view for the Office (JSON, XLSX or PDF)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from common.app import SessionDep
from common.auth import CurrentPrincipal
from common.problems import problem_responses
from common.storage import content_disposition
from report_api.access import OfficeOnlyError
from report_api.compliance import service
from report_api.compliance.schemas import ComplianceSummary, UnitsMode
from report_api.context import Context
from report_api.obligations.errors import DirectiveNotFoundError
from report_api.submissions import evidence

router = APIRouter(prefix="/v1")

DEFAULT_UNIT_ROWS = 500
MAX_UNIT_ROWS = 5_000


@router.get(
    "/directives/{directive_id}/compliance",
    tags=["office"],
    response_model=ComplianceSummary,
    responses=problem_responses(OfficeOnlyError, DirectiveNotFoundError)
    | {200: {"content": {"application/json": {}, service.XLSX: {}, service.PDF: {}}}},
)
async def directive_compliance(
    directive_id: Annotated[str, Path(max_length=64)],
    request: Request,
    session: SessionDep,
    actor: CurrentPrincipal,
    format: Annotated[Literal["json", "xlsx", "pdf"] | None, Query(description="Or send `Accept`.")] = None,  # noqa: A002
    units: Annotated[
        UnitsMode,
        Query(description="Per-unit rows in `units` (JSON): none (default), the overdue ones, or all (paged)."),
    ] = "none",
    limit: Annotated[int, Query(ge=1, le=MAX_UNIT_ROWS, description="Page size of `units`.")] = DEFAULT_UNIT_ROWS,
    offset: Annotated[
        int, Query(ge=0, le=10_000_000, description="Rows of `units` to skip (`units_page.next_offset`).")
    ] = 0,
) -> Response:
    """Counts per status, on-time rate, groups, totals of the accepted figures, overdue units.

    JSON (per-unit rows only when asked with `units=overdue|all`, paged with `limit`/`offset`),
    XLSX (every unit) or PDF (a Decree 30 BÁO CÁO of the Office, `format=pdf` or `Accept: application/pdf`).
    """
    accept = request.headers.get("accept", "")
    wanted = format or ("xlsx" if service.XLSX in accept else "pdf" if service.PDF in accept else "json")
    rendered = await service.compliance_view(
        session,
        directive_id,
        actor,
        Context.of(request.app.state),
        wanted=wanted,
        units=units,
        limit=limit,
        offset=offset,
    )
    if rendered.data is not None:
        return JSONResponse(rendered.data)
    headers = {"Cache-Control": "private, no-store"}
    if rendered.media_type == service.PDF:
        headers["Content-Disposition"] = content_disposition(rendered.filename)
        headers["X-Content-Type-Options"] = "nosniff"
    else:
        headers["Content-Disposition"] = evidence.content_disposition(rendered.filename)
    return Response(rendered.content, media_type=rendered.media_type, headers=headers)
