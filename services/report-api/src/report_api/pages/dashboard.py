"""The Office's dashboard page of a document: status chart (inline SVG) and a filterable table of units.

Authentication: the usual ``Authorization: Bearer`` header, or — for opening the page in a
browser — ``?token=<the same JWT>``. A token in a URL can end up in browser history and proxy
logs: use short-lived tokens for it. The page sends ``Referrer-Policy: no-referrer`` and
``Cache-Control: no-store`` so the URL is not passed on or cached, and a strict Content Security
Policy (no external resources; the one inline script carries a nonce).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jinja2 import Environment, FileSystemLoader, select_autoescape

from common.app import SessionDep
from common.auth import Principal, TokenVerifier
from common.problems import NotAuthenticatedError, problem_responses
from report_api.access import OfficeOnlyError
from report_api.compliance import service as compliance
from report_api.compliance.schemas import GROUP_LABELS
from report_api.context import Context
from report_api.obligations.errors import DirectiveNotFoundError
from report_api.obligations.states import STATUS_LABELS, WITHDRAWN
from report_api.pages import service
from report_api.pages.router import session_of, session_principal

router = APIRouter(tags=["dashboard"])
_bearer = HTTPBearer(auto_error=False)
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.globals["rate"] = compliance.format_rate
COLORS = {
    # the bars of the status chart: one per state, and the derived "overdue"
    "assigned": "#9e9e9e",
    "acknowledged": "#1e88e5",
    "submitted": "#fb8c00",
    "accepted": "#43a047",
    "returned": "#e53935",
    "recalled": "#6d4c41",
    "superseded": "#8e24aa",
    "overdue": "#b71c1c",
}


async def header_or_query_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: Annotated[str | None, Query(description="The bearer token, for opening the page in a browser.")] = None,
) -> Principal:
    """The caller, from ``Authorization: Bearer``, the pages' session cookie, or ``?token=``."""
    raw = credentials.credentials if credentials and credentials.scheme.lower() == "bearer" else token
    if not raw:
        signed_in = await session_principal(request, session)
        if signed_in is not None:
            return signed_in
        raise NotAuthenticatedError("a bearer token is required (header, or ?token= for the browser)")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(raw)


def _chart(bars: list[dict[str, Any]]) -> dict[str, Any]:
    width, bar_height, gap, label_width = 640, 26, 10, 210
    biggest = max([b["count"] for b in bars] + [1])
    rows = []
    for i, bar in enumerate(bars):
        length = round((width - label_width - 60) * bar["count"] / biggest)
        rows.append({**bar, "y": i * (bar_height + gap), "length": length})
    return {
        "width": width,
        "height": len(bars) * (bar_height + gap),
        "bar_height": bar_height,
        "label_width": label_width,
        "rows": rows,
    }


@router.get(
    "/dashboard/{directive_id}",
    response_class=HTMLResponse,
    responses=problem_responses(OfficeOnlyError, DirectiveNotFoundError),
)
async def dashboard(
    directive_id: str,
    request: Request,
    session: SessionDep,
    actor: Annotated[Principal, Depends(header_or_query_principal)],
) -> HTMLResponse:
    """Bảng theo dõi tình hình thực hiện văn bản (HTML, for the Office)."""
    board = await service.dashboard(session, directive_id, actor, Context.of(request.app.state))
    report = board.report
    bars = [
        {"status": s.status, "label": s.label, "count": s.count, "color": COLORS[s.status]}
        for s in report.by_status
        if s.count or s.status not in WITHDRAWN
    ]
    bars.append({"status": "overdue", "label": "Quá hạn", "count": report.overdue, "color": COLORS["overdue"]})
    nonce = secrets.token_urlsafe(16)
    signed_in = await session_of(request, session)  # forms and export links need the pages' session (CSRF)
    html = _templates.get_template("dashboard.html.j2").render(
        report=report,
        over_time=board.over_time,
        csrf=signed_in["csrf"] if signed_in else None,
        chart=_chart(bars),
        statuses=STATUS_LABELS,
        groups=GROUP_LABELS,
        nonce=nonce,
    )
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": (
                f"default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
                "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
            ),
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
