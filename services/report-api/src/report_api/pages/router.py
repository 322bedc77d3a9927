"""Routes of the pages: sign-in through OpenID Connect, sign-out, the Office's portfolio.

A browser without a session that opens a page is sent (303) to ``/sign-in?next=<the page>``, which
starts the authorization code flow with PKCE; the callback checks state, nonce and the ID token
and sets the session cookie (HttpOnly, SameSite=Lax, Secure unless configured off). Every form
carries the session's CSRF token. No token ever travels in a URL.
"""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import httpx
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from common.app import SessionDep
from common.auth import Principal
from report_api.followup import service as followup
from report_api.followup.schemas import BulkReminderCreate
from report_api.obligations import compliance
from report_api.obligations.router import context
from report_api.obligations.service import is_office
from report_api.pages import oidc, service
from report_api.pages.errors import CsrfError, SignInFailedError, SignInNotConfiguredError
from report_api.pages.session import FLOW_COOKIE, FLOW_TTL, SESSION_COOKIE, Signer, csrf_ok, new_session, principal_of
from report_api.settings import Settings

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
DIRECTIVE_STATUSES = {"active": "Đang theo dõi", "recalled": "Đã thu hồi", "replaced": "Đã được thay thế"}
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


def session_of(request: Request) -> dict[str, Any] | None:
    return _signer(request).loads(request.cookies.get(SESSION_COOKIE))


def session_principal(request: Request) -> Principal | None:
    """The person signed in to the pages (the dashboard accepts it too)."""
    session = session_of(request)
    return principal_of(session) if session else None


def _to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)


def _render(name: str, http_status: int = 200, **values: Any) -> HTMLResponse:
    return HTMLResponse(_templates.get_template(name).render(**values), status_code=http_status, headers=PAGE_HEADERS)


@router.get("/sign-in")
async def sign_in(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:  # noqa: A002
    """Start the authorization code flow with PKCE at the identity provider."""
    provider = _provider(request)
    verifier, challenge = oidc.pkce_pair()
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    redirect_uri = str(request.url_for("sign_in_callback"))
    async with httpx.AsyncClient(timeout=10) as client:
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
    async with httpx.AsyncClient(timeout=10) as client:
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
async def sign_out(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    """End the session (the form carries the CSRF token)."""
    session = session_of(request)
    if session is not None and not csrf_ok(session, csrf):
        raise CsrfError("the form's token does not match the session")
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
    current = session_of(request)
    if current is None:
        return _to_sign_in(request)
    actor = principal_of(current)
    ctx = context(request)
    try:
        since_day = date.fromisoformat(since) if since else None
    except ValueError:
        since_day = None  # a browser without a date picker may send anything: no filter then
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
    current = session_of(request)
    if current is None:
        return RedirectResponse("/sign-in?next=/pages", status_code=303)
    if not csrf_ok(current, csrf):
        raise CsrfError("the form's token does not match the session")
    body = BulkReminderCreate.model_validate({"filter": "silent", "content": SILENT_REMINDER})
    result = await followup.remind_many(session, directive_id, body, principal_of(current), context(request))
    target = _safe_next(back)
    notice = f"Đã gửi nhắc nhở đến {compliance.format_count(result['count'])} đơn vị chưa báo cáo."
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}{urlencode({'notice': notice})}", status_code=303)
