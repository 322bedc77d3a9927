"""Verification of uploaded PDFs, and the public verification pages behind the QR code."""

from __future__ import annotations

import base64
import hashlib
import math
import re
import time
from importlib import resources
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from common.app import SessionDep
from common.auth import CurrentPrincipal
from common.http import read_capped_body
from common.problems import (
    PayloadTooLargeError,
    UnprocessableError,
    UnsupportedMediaTypeError,
    problem_responses,
)
from common.storage import content_disposition
from directive_api.pdfs import service
from directive_api.pdfs.context import PdfContext
from directive_api.pdfs.errors import DirectiveNotFoundError, InvalidHashError, NotIssuedHereError, TooManyRequestsError
from directive_api.pdfs.schemas import HashLookupResult, PdfFile, PublicVerificationResult, VerificationResult

router = APIRouter(tags=["documents"])

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(resources.files("directive_api.pdfs") / "templates")),
    autoescape=True,
)

PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The PDF file"}
}
PUBLIC_PROBLEMS = {status: spec for status, spec in problem_responses(DirectiveNotFoundError).items() if status != 401}
"""The public pages need no login: no 401; an unknown or malformed code is 404 / 422."""


def pdf_response(file: PdfFile) -> Response:
    """A stored PDF as a download, with its SHA-256 and kind in headers; never cached by proxies."""
    return Response(
        file.data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": content_disposition(file.file_name),
            "X-Content-SHA256": file.sha256,
            "X-Document-File-Kind": file.kind,
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post(
    "/v1/verify",
    response_model=VerificationResult,
    responses=problem_responses(PayloadTooLargeError, UnsupportedMediaTypeError, UnprocessableError),
    openapi_extra={
        "requestBody": {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "required": True,
        }
    },
)
async def verify_pdf(request: Request, session: SessionDep, _actor: CurrentPrincipal) -> VerificationResult:
    """Check an uploaded PDF (body `application/pdf`): each signature's signer, time, integrity,
    validity and trust, what changed after it, and whether it is a registered document and its status."""
    pdf: PdfContext = request.app.state.pdf
    data = await read_capped_body(
        request,
        limit=pdf.settings.max_verify_bytes,
        media_types=("application/pdf", "application/octet-stream"),
        expected="application/pdf",
        what="file",
    )
    if not data.startswith(b"%PDF-"):
        raise UnsupportedMediaTypeError("the body is not a PDF file")
    return await service.verification(session, data, pdf=pdf)


PublicId = Annotated[str, Path(min_length=4, max_length=32, pattern=r"^[a-z2-7]+$")]
_PUBLIC_ID = re.compile(r"[a-z2-7]{4,32}")


def _style_hash(template: str = "verify.html", tag: str = "style") -> str:
    source = (resources.files("directive_api.pdfs") / "templates" / template).read_text(encoding="utf-8")
    match = re.search(rf"<{tag}>(.*?)</{tag}>", source, re.DOTALL)
    assert match is not None, f"{template} keeps its {tag} inline"
    return base64.b64encode(hashlib.sha256(match.group(1).encode()).digest()).decode()


PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Nothing runs and nothing loads: the page's one inline style block, by its hash; links only.
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_style_hash()}'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
}


class _PublicLimiter:
    """A token bucket per client address for the public pages (no login, so no other identity)."""

    def __init__(self, per_minute: int, *, max_clients: int = 50_000) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        self.buckets: dict[str, tuple[float, float]] = {}

    def retry_after(self, client: str) -> int | None:
        """None if the request may go ahead (a token is taken), else seconds until the next token."""
        now = time.monotonic()
        tokens, last = self.buckets.pop(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if len(self.buckets) >= self.max_clients:  # oldest first: dicts keep insertion order
            self.buckets.pop(next(iter(self.buckets)))
        if tokens < 1.0:
            self.buckets[client] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))
        self.buckets[client] = (tokens - 1.0, now)
        return None


def _limit(request: Request) -> int | None:
    limiter: _PublicLimiter | None = getattr(request.app.state, "public_limiter", None)
    if limiter is None:
        limiter = request.app.state.public_limiter = _PublicLimiter(
            request.app.state.settings.public_requests_per_minute
        )
    return limiter.retry_after(request.client.host if request.client else "unknown")


@router.get(
    "/verify/{public_id}",
    response_class=HTMLResponse,
    include_in_schema=True,
    tags=["public"],
    responses=PUBLIC_PROBLEMS
    | {
        404: {"content": {"text/html": {}}, "description": "No issued document with this code (an HTML page)"},
        429: {"content": {"text/html": {}}, "description": "Too many requests from this client (`Retry-After`)"},
    },
)
async def verification_page(
    public_id: Annotated[str, Path(description="The code printed under the QR code.")],
    session: SessionDep,
    request: Request,
) -> HTMLResponse:
    """The public page behind the QR code printed on a letter (no login; nothing of drafts). It
    answers in Vietnamese, also for a malformed code (404) and when a client asks too often (429)."""
    headers = dict(PAGE_HEADERS)
    wait = _limit(request)
    if wait is not None:
        html = _templates.get_template("verify.html").render(doc=None, issuer_name="", too_many=True)
        return HTMLResponse(html, status_code=429, headers={**headers, "Retry-After": str(wait)})
    found = (
        await service.page_context(session, public_id, base_url=_base_url(request))
        if _PUBLIC_ID.fullmatch(public_id)
        else None
    )
    context: dict[str, Any] = found if found is not None else {"doc": None, "issuer_name": ""}
    status_code = 200 if found is not None else 404
    html = _templates.get_template("verify.html").render(**context)
    return HTMLResponse(html, status_code=status_code, headers=headers)


@router.get(
    "/verify/{public_id}/pdf",
    name="public_pdf",
    response_class=Response,
    tags=["public"],
    responses=PDF_RESPONSE | PUBLIC_PROBLEMS | problem_responses(TooManyRequestsError),
)
async def public_pdf(public_id: PublicId, session: SessionDep, request: Request) -> Response:
    """The issued e-original of a document, for whoever holds its QR code (not for recalled ones)."""
    wait = _limit(request)
    if wait is not None:
        raise TooManyRequestsError("quá nhiều yêu cầu; vui lòng thử lại sau", headers={"Retry-After": str(wait)})
    file = await service.public_pdf(session, public_id, pdf=request.app.state.pdf)
    if file is None:
        raise DirectiveNotFoundError("no issued document with this verification code")
    return pdf_response(file)


def _base_url(request: Request) -> str:
    # The configured public address, never the request's Host header.
    base_url: str = request.app.state.settings.public_base_url
    return base_url


FILE_PAGE_HEADERS = {
    **PAGE_HEADERS,
    # The page's inline style and script, by their hashes; the script may only talk to this service.
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_style_hash('verify_file.html')}'; "
        f"script-src 'sha256-{_style_hash('verify_file.html', 'script')}'; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
}


@router.get(
    "/verify",
    response_class=HTMLResponse,
    tags=["public"],
    responses={
        429: {"content": {"text/html": {}}, "description": "Too many requests from this client (`Retry-After`)"}
    },
)
async def verification_file_page(request: Request) -> HTMLResponse:
    """The public page where a citizen drops a PDF: its SHA-256 is computed in the browser and only
    the hash is looked up; the file is uploaded only when the user asks for full verification."""
    wait = _limit(request)
    if wait is not None:
        html = _templates.get_template("verify.html").render(doc=None, issuer_name="", too_many=True)
        return HTMLResponse(html, status_code=429, headers={**PAGE_HEADERS, "Retry-After": str(wait)})
    html = _templates.get_template("verify_file.html").render(max_bytes=request.app.state.pdf.settings.max_verify_bytes)
    return HTMLResponse(html, headers=FILE_PAGE_HEADERS)


def _check_limit(request: Request) -> None:
    wait = _limit(request)
    if wait is not None:
        raise TooManyRequestsError("quá nhiều yêu cầu; vui lòng thử lại sau", headers={"Retry-After": str(wait)})


_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@router.get(
    "/verify/by-hash/{sha256}",
    response_model=HashLookupResult,
    tags=["public"],
    responses=problem_responses(InvalidHashError, NotIssuedHereError, TooManyRequestsError),
)
async def lookup_by_hash(
    sha256: Annotated[str, Path(description="The SHA-256 of the file, 64 hexadecimal digits.")],
    session: SessionDep,
    request: Request,
) -> HashLookupResult:
    """Whether a SHA-256 is the issued, sealed PDF of a document of this office, and which (no login).
    Not found is 404 with the same body shape (`found: false`); a malformed hash is 422."""
    _check_limit(request)
    if not _SHA256.fullmatch(sha256):
        raise InvalidHashError("mã SHA-256 phải gồm đúng 64 chữ số thập lục phân (0-9, a-f)")
    digest = sha256.lower()
    found = await service.lookup_by_hash(session, digest, base_url=_base_url(request))
    if found is None:
        raise NotIssuedHereError(
            "không tìm thấy văn bản nào do cơ quan ban hành có mã SHA-256 này; tệp có thể đã bị thay đổi, "
            "là bản sao chụp hoặc không phải bản điện tử gốc",
            sha256=digest,
            found=False,
        )
    return found


@router.post(
    "/verify/file",
    response_model=PublicVerificationResult,
    tags=["public"],
    responses=problem_responses(
        PayloadTooLargeError, UnsupportedMediaTypeError, UnprocessableError, TooManyRequestsError
    ),
    openapi_extra={
        "requestBody": {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "required": True,
        }
    },
)
async def verify_file_public(request: Request, session: SessionDep) -> PublicVerificationResult:
    """Full verification of an uploaded PDF for the public page (no login): the checks of
    `POST /v1/verify`, at most `MAX_VERIFY_BYTES`, within the per-client public rate limit, and
    answered in Vietnamese."""
    _check_limit(request)
    pdf: PdfContext = request.app.state.pdf
    limit = pdf.settings.max_verify_bytes
    try:
        data = await read_capped_body(
            request,
            limit=limit,
            media_types=("application/pdf", "application/octet-stream"),
            expected="application/pdf",
            what="file",
        )
    except PayloadTooLargeError:
        raise PayloadTooLargeError(f"tệp quá lớn: tối đa {limit // 1_000_000} MB") from None
    except UnsupportedMediaTypeError:
        raise UnsupportedMediaTypeError("chỉ nhận tệp PDF (Content-Type: application/pdf)") from None
    if not data.startswith(b"%PDF-"):
        raise UnsupportedMediaTypeError("tệp gửi lên không phải là tệp PDF")
    return await service.public_verification(session, data, pdf=pdf, base_url=_base_url(request))
