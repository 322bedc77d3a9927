"""Routes of the pages: sign-in through OpenID Connect, sign-out, the Office's portfolio.

A browser without a session that opens a page is sent (303) to ``/sign-in?next=<the page>``, which
starts the authorization code flow with PKCE; the callback checks state, nonce and the ID token
and sets the session cookie (HttpOnly, SameSite=Lax, Secure unless configured off). Every form
carries the session's CSRF token. No token ever travels in a URL.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import UploadFile

from common.app import SessionDep
from common.auth import Principal
from common.http_tracing import traced_async_client
from common.problems import UnprocessableError
from report_api.access import is_office, is_unit_officer
from report_api.compliance import service as compliance
from report_api.context import Context
from report_api.followup import service as followup
from report_api.followup.schemas import BulkReminderCreate
from report_api.obligations import service as obligation_service
from report_api.obligations.states import (
    AWAITING_UNIT,
    STATUS_LABELS,
    DirectiveStatus,
    ExtensionStatus,
    ObligationStatus,
)
from report_api.pages import forms, oidc, service
from report_api.pages.errors import CsrfError, SignInFailedError, SignInNotConfiguredError
from report_api.pages.session import FLOW_COOKIE, FLOW_TTL, SESSION_COOKIE, Signer, csrf_ok, new_session, principal_of
from report_api.reminders.states import REMINDER_LABELS
from report_api.settings import Settings
from report_api.submissions import evidence
from report_api.submissions import service as submissions
from report_api.submissions.errors import ReportInvalidError
from report_api.submissions.evidence import Upload
from report_api.submissions.models import REVIEW_LABELS

router = APIRouter(tags=["pages"], include_in_schema=False)
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.globals.update(
    rate=compliance.format_rate,
    count=compliance.format_count,
    day=lambda d: f"{d:%d/%m/%Y}" if d else "",
)
DIRECTIVE_STATUSES = {
    DirectiveStatus.active: "Đang theo dõi",
    DirectiveStatus.recalled: "Đã thu hồi",
    DirectiveStatus.replaced: "Đã được thay thế",
}
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
}
SILENT_REMINDER = "Đề nghị đơn vị khẩn trương tiếp nhận và báo cáo kết quả thực hiện văn bản đúng thời hạn."


def context(request: Request) -> Context:
    return Context.of(request.app.state)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _signer(request: Request) -> Signer:
    signer: Signer | None = getattr(request.app.state, "page_signer", None)
    if signer is None:
        configured = _settings(request).pages.session_secret
        secret = configured.get_secret_value().encode() if configured else secrets.token_bytes(32)
        signer = Signer(secret)
        request.app.state.page_signer = signer
    return signer


def _provider(request: Request) -> oidc.Provider:
    provider: oidc.Provider | None = getattr(request.app.state, "oidc_provider", None)
    if provider is None:
        pages = _settings(request).pages
        if not pages.oidc_issuer:
            raise SignInNotConfiguredError("set REPORT_API_PAGES__OIDC_ISSUER (the identity provider)")
        secret = pages.oidc_client_secret.get_secret_value() if pages.oidc_client_secret else None
        provider = oidc.Provider(pages.oidc_issuer, pages.oidc_client_id, secret)
        request.app.state.oidc_provider = provider
    return provider


def _safe_next(value: str | None) -> str:
    """Only a path of this site (never ``//host`` or a full URL) may be the way back."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/pages"


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int, path: str = "/") -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="lax",
        secure=_settings(request).pages.cookie_secure,
    )


def _cookie_session(request: Request) -> dict[str, Any] | None:
    """The session the cookie carries, if it verifies, has not expired and has an id."""
    session = _signer(request).loads(request.cookies.get(SESSION_COOKIE))
    if session is None or not isinstance(session.get("sid"), str):
        return None  # a cookie without an id (issued before sign-out was revoked) cannot be signed out
    return session


async def session_of(request: Request, db: SessionDep) -> dict[str, Any] | None:
    """The session of the request: its cookie, unless that session was signed out (checked in the
    request's own transaction ``db``: a second connection would wait on SQLite's write lock)."""
    session = _cookie_session(request)
    if session is None or await service.is_signed_out(db, session["sid"]):
        return None
    return session


async def session_principal(request: Request, db: SessionDep) -> Principal | None:
    """The person signed in to the pages (the dashboard accepts it too)."""
    session = await session_of(request, db)
    return principal_of(session) if session else None


def _to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)


def _render(name: str, http_status: int = 200, **values: Any) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    headers = dict(PAGE_HEADERS)
    # one small inline script (the upload progress), allowed by its nonce; XHR to this site only
    headers["Content-Security-Policy"] += f"; script-src 'nonce-{nonce}'; connect-src 'self'"
    html = _templates.get_template(name).render(nonce=nonce, **values)
    return HTMLResponse(html, status_code=http_status, headers=headers)


@router.get("/sign-in")
async def sign_in(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:  # noqa: A002
    """Start the authorization code flow with PKCE at the identity provider."""
    provider = _provider(request)
    verifier, challenge = oidc.pkce_pair()
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    redirect_uri = str(request.url_for("sign_in_callback"))
    async with traced_async_client(timeout=10) as client:
        url = await provider.authorize_url(
            client, redirect_uri=redirect_uri, state=state, nonce=nonce, challenge=challenge
        )
    response = RedirectResponse(url, status_code=303)
    flow = {"state": state, "nonce": nonce, "verifier": verifier, "next": _safe_next(next)}
    _set_cookie(request, response, FLOW_COOKIE, _signer(request).dumps(flow, FLOW_TTL), FLOW_TTL, "/auth")
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/auth/callback", name="sign_in_callback")
async def sign_in_callback(
    request: Request,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=500)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The identity provider sends the browser back here with a code; the session starts."""
    flow = _signer(request).loads(request.cookies.get(FLOW_COOKIE))
    if error or not code or flow is None or not state or not secrets.compare_digest(state, str(flow["state"])):
        raise SignInFailedError("the sign-in was refused, expired or not started here; start again")
    async with traced_async_client(timeout=10) as client:
        claims = await _provider(request).exchange(
            client,
            code=code,
            verifier=str(flow["verifier"]),
            redirect_uri=str(request.url_for("sign_in_callback")),
            nonce=str(flow["nonce"]),
        )
    ttl = _settings(request).pages.session_ttl_seconds
    response = RedirectResponse(_safe_next(str(flow.get("next"))), status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, _signer(request).dumps(new_session(claims), ttl), ttl)
    response.delete_cookie(FLOW_COOKIE, path="/auth")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, db: SessionDep, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """End the session (the form carries the CSRF token): revoked server-side, so a copy of the
    cookie is no session any more either."""
    session = await session_of(request, db)
    if session is not None and not csrf_ok(session, csrf):
        raise CsrfError("the form's token does not match the session")
    if session is not None:
        expires_at = datetime.fromtimestamp(int(session["exp"]), UTC)
        # the cookie's own clock (the signer's ``exp`` is wall-clock time), not the app's clock
        await service.sign_out(db, session["sid"], expires_at=expires_at, now=datetime.now(UTC))
    response = _render("message.html.j2", title="Đã đăng xuất", message="Bạn đã đăng xuất.", person=None)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/pages", response_class=HTMLResponse)
async def portfolio_page(
    request: Request,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    issuer: Annotated[str | None, Query(max_length=40)] = None,
    type: Annotated[str | None, Query(max_length=8)] = None,  # noqa: A002
    status: Annotated[str | None, Query(max_length=20)] = None,
    since: Annotated[str | None, Query(max_length=10, description="yyyy-mm-dd; empty from the form")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    notice: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    """The Office's portfolio: every followed document with its deadline, on-time rate and overdue units."""
    current = await session_of(request, session)
    if current is None:
        return _to_sign_in(request)
    actor = principal_of(current)
    ctx = context(request)
    try:
        since_day = date.fromisoformat(since) if since else None
    except ValueError:
        since_day = None  # a browser without a date picker may send anything: no filter then
    if is_unit_officer(actor) and not is_office(actor, ctx.settings):
        return RedirectResponse("/pages/inbox", status_code=303)
    if not is_office(actor, ctx.settings):
        return _render(
            "message.html.j2",
            http_status=403,
            title="Không có quyền truy cập",
            message="Trang này dành cho cán bộ theo dõi của Văn phòng.",
            person=actor,
            csrf=current["csrf"],
        )
    result = await service.portfolio(
        session,
        actor,
        ctx,
        q=q,
        issuer=issuer or None,
        doc_type=type or None,
        status=status or None,
        since=since_day,
        page=page,
    )
    filters = {
        k: v for k, v in {"q": q, "issuer": issuer, "type": type, "status": status, "since": since_day}.items() if v
    }

    def page_url(n: int) -> str:
        return "/pages?" + urlencode({**filters, "page": n})

    return _render(
        "portfolio.html.j2",
        title="Danh mục văn bản",
        person=actor,
        csrf=current["csrf"],
        portfolio=result,
        q=q,
        issuer=issuer,
        doc_type=type,
        status=status,
        since=since_day,
        statuses=DIRECTIVE_STATUSES,
        today=ctx.today(),
        notice=notice,
        back=page_url(result.page),
        page_url=page_url,
    )


@router.post("/pages/documents/{directive_id}/remind-silent")
async def remind_silent(
    directive_id: str,
    request: Request,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
    back: Annotated[str, Form(max_length=2000)] = "/pages",
) -> Response:
    """One click: a Nhắc nhở to every unit of the document that has not reported yet."""
    current = await session_of(request, session)
    if current is None:
        return RedirectResponse("/sign-in?next=/pages", status_code=303)
    if not csrf_ok(current, csrf):
        raise CsrfError("the form's token does not match the session")
    body = BulkReminderCreate.model_validate({"filter": "silent", "content": SILENT_REMINDER})
    result = await followup.remind_many(session, directive_id, body, principal_of(current), context(request))
    target = _safe_next(back)
    notice = f"Đã gửi nhắc nhở đến {compliance.format_count(result.count)} đơn vị chưa báo cáo."
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}{urlencode({'notice': notice})}", status_code=303)


# --- the unit officer's inbox and an obligation's page ----------------------------------------

ACTION_LABELS = {
    "assign": "Giao",
    "acknowledge": "Xác nhận đã nhận",
    "submit": "Gửi báo cáo",
    "accept": "Duyệt báo cáo",
    "return": "Trả lại báo cáo",
    "extend": "Gia hạn",
    "supersede": "Văn bản được thay thế",
    "recall": "Văn bản bị thu hồi",
    "carry_over": "Chuyển tiếp từ văn bản trước",
    "carried_over": "Chuyển sang văn bản thay thế",
    "corrected": "Đính chính",
    "reply_received": "Nhận văn bản trả lời",
}


def _moment(value: datetime | None, timezone: str) -> str:
    return f"{value.astimezone(ZoneInfo(timezone)):%H:%M %d/%m/%Y}" if value else ""


@router.get("/pages/inbox", response_class=HTMLResponse)
async def inbox_page(request: Request, session: SessionDep) -> Response:
    """What is addressed to the officer's unit, earliest deadline first."""
    current = await session_of(request, session)
    if current is None:
        return _to_sign_in(request)
    actor = principal_of(current)
    ctx = context(request)
    if not is_unit_officer(actor):
        return RedirectResponse("/pages", status_code=303)
    rows, _ = await obligation_service.my_obligations(
        session, actor, ctx, status=None, overdue=None, due_before=None, limit=200, cursor=None
    )
    today = ctx.today()
    return _render(
        "inbox.html.j2",
        title="Văn bản gửi đơn vị",
        person=actor,
        csrf=current["csrf"],
        rows=rows,
        today=today,
        statuses=STATUS_LABELS,
        overdue=lambda o: o.status in AWAITING_UNIT and today > o.due_on,
    )


async def _obligation_page(
    request: Request,
    session: SessionDep,
    current: dict[str, Any],
    obligation_id: uuid.UUID,
    *,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    http_status: int = 200,
) -> HTMLResponse:
    actor = principal_of(current)
    ctx = context(request)
    d = await obligation_service.detail(session, obligation_id, actor, ctx)
    settings = ctx.settings
    unit = is_unit_officer(actor) and actor.unit == d.obligation.unit_code
    status = d.obligation.status
    return _render(
        "obligation.html.j2",
        http_status=http_status,
        title=d.directive.notation or "Văn bản",
        person=actor,
        csrf=current["csrf"],
        d=d,
        office=is_office(actor, settings),
        overdue=status in AWAITING_UNIT and ctx.today() > d.obligation.due_on,
        instructions=(d.directive.compliance or {}).get("instructions"),
        pdf_url=f"{settings.directive_api_url.rstrip('/')}/verify/{d.directive.public_id}/pdf",
        can_acknowledge=unit and status == ObligationStatus.assigned,
        can_submit=unit and status in (ObligationStatus.acknowledged, ObligationStatus.returned),
        can_review=is_office(actor, settings) and status == ObligationStatus.submitted,
        can_extend=unit
        and status in AWAITING_UNIT
        and not any(x.status == ExtensionStatus.pending for x in d.extensions),
        fields=forms.fields_of(d.directive.report_schema),
        evidence_types=forms.EVIDENCE_TYPES,
        evidence_names={str(e.id): e.filename for e in d.evidence},
        max_mb=max(1, settings.evidence_max_bytes // (1024 * 1024)),
        errors=errors or {},
        values=values or {},
        notice=notice,
        statuses=STATUS_LABELS,
        reviews=REVIEW_LABELS,
        kinds=REMINDER_LABELS,
        actions=ACTION_LABELS,
        moment=lambda v: _moment(v, settings.timezone),
    )


@router.get("/pages/obligations/{obligation_id}", response_class=HTMLResponse)
async def obligation_page(
    obligation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    notice: Annotated[str | None, Query(max_length=300)] = None,
) -> Response:
    """One document for one unit: deadline, the report form, the reports, reminders and history."""
    current = await session_of(request, session)
    if current is None:
        return _to_sign_in(request)
    return await _obligation_page(request, session, current, obligation_id, notice=notice)


async def _checked(request: Request, db: SessionDep, csrf: str) -> dict[str, Any] | None:
    current = await session_of(request, db)
    if current is not None and not csrf_ok(current, csrf):
        raise CsrfError("the form's token does not match the session")
    return current


def _back(obligation_id: uuid.UUID, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/pages/obligations/{obligation_id}?{urlencode({'notice': notice})}", status_code=303)


@router.post("/pages/obligations/{obligation_id}/acknowledge")
async def acknowledge_form(
    obligation_id: uuid.UUID, request: Request, session: SessionDep, csrf: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    current = await _checked(request, session, csrf)
    if current is None:
        return _to_sign_in(request)
    await obligation_service.acknowledge(session, obligation_id, principal_of(current), context(request), None)
    return _back(obligation_id, "Đã xác nhận nhận văn bản.")


@router.post("/pages/obligations/{obligation_id}/report")
async def report_form(obligation_id: uuid.UUID, request: Request, session: SessionDep) -> Response:
    """The generated form posted back (multipart): files stored as evidence, then the report submitted."""
    form = await request.form()
    current = await _checked(request, session, str(form.get("csrf") or ""))
    if current is None:
        return _to_sign_in(request)
    actor = principal_of(current)
    ctx = context(request)
    directive = await submissions.report_form(session, obligation_id, actor, ctx)
    fields = forms.fields_of(directive.report_schema)
    uploads: dict[str, list[Upload]] = {
        f.key: [u for u in form.getlist(f.key) if isinstance(u, UploadFile) and u.filename]
        for f in fields
        if f.widget == "files"
    }
    data = forms.read(fields, form, {k: len(v) for k, v in uploads.items()})
    values = {f.key: str(form.get(f.key) or "") for f in fields if f.widget != "files"}
    try:
        await submissions.submit_form(session, obligation_id, data, uploads, actor, ctx)
    except ReportInvalidError as exc:
        errors = forms.messages(list(exc.extra.get("errors") or []))
        return await _obligation_page(
            request, session, current, obligation_id, errors=errors, values=values, http_status=422
        )
    return _back(obligation_id, "Đã gửi báo cáo. Văn phòng sẽ xem xét và phản hồi.")


@router.post("/pages/obligations/{obligation_id}/review")
async def review_form(
    obligation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
    decision: Annotated[str, Form(pattern="^(accept|return)$")] = "accept",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    current = await _checked(request, session, csrf)
    if current is None:
        return _to_sign_in(request)
    await submissions.review(
        session, obligation_id, decision, comment.strip() or None, principal_of(current), context(request), None
    )
    return _back(obligation_id, "Đã duyệt báo cáo." if decision == "accept" else "Đã trả lại báo cáo.")


@router.get("/pages/obligations/{obligation_id}/evidence/{evidence_id}")
async def evidence_file(
    obligation_id: uuid.UUID, evidence_id: uuid.UUID, request: Request, session: SessionDep
) -> Response:
    current = await session_of(request, session)
    if current is None:
        return _to_sign_in(request)
    path, item = await submissions.evidence_file(
        session, obligation_id, evidence_id, principal_of(current), context(request)
    )
    return FileResponse(
        path,
        media_type=item.media_type,
        headers={
            "Content-Disposition": evidence.content_disposition(item.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/pages/documents/{directive_id}/export.{kind}")
async def export_file(directive_id: str, kind: str, request: Request, session: SessionDep) -> Response:
    """The compliance workbook (``xlsx``) or the Office's PDF report (``pdf``), for a signed-in Office member."""
    current = await session_of(request, session)
    if current is None:
        return _to_sign_in(request)
    rendered = await compliance.export_file(session, directive_id, kind, principal_of(current), context(request))
    headers = {
        "Content-Disposition": evidence.content_disposition(rendered.filename),
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(rendered.content, media_type=rendered.media_type, headers=headers)


@router.post("/pages/obligations/{obligation_id}/extension")
async def extension_form(
    obligation_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
    requested_due_on: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The unit asks for a later deadline; a refused request says why on the page, nothing stored."""
    current = await _checked(request, session, csrf)
    if current is None:
        return _to_sign_in(request)
    try:
        day = date.fromisoformat(requested_due_on)
    except ValueError:
        return _back(obligation_id, "Không gửi được đề nghị: hãy chọn ngày đề nghị gia hạn.")
    if not reason.strip():
        return _back(obligation_id, "Không gửi được đề nghị: hãy ghi lý do.")
    try:
        await obligation_service.request_extension(
            session, obligation_id, day, reason.strip(), principal_of(current), context(request)
        )
    except UnprocessableError:
        return _back(obligation_id, "Không gửi được đề nghị: hạn đề nghị phải sau hạn hiện tại.")
    return _back(obligation_id, "Đã gửi đề nghị gia hạn. Văn phòng sẽ xem xét.")


@router.post("/pages/obligations/{obligation_id}/extension/{request_id}/decision")
async def extension_decision_form(
    obligation_id: uuid.UUID,
    request_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
    decision: Annotated[str, Form(pattern="^(approve|deny)$")] = "approve",
) -> Response:
    current = await _checked(request, session, csrf)
    if current is None:
        return _to_sign_in(request)
    item = await obligation_service.decide_extension(
        session, obligation_id, request_id, decision, None, None, principal_of(current), context(request)
    )
    if item.status == ExtensionStatus.approved and item.approved_due_on is not None:
        return _back(obligation_id, f"Đã gia hạn đến {item.approved_due_on:%d/%m/%Y}.")
    return _back(obligation_id, "Đã không đồng ý gia hạn.")
