"""PDF download, verification of uploaded PDFs, and the public verification page behind the QR code."""

from __future__ import annotations

import base64
import hashlib
import math
import re
import time
import uuid
from importlib import resources
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy import select

from common.app import SessionDep
from common.auth import CurrentPrincipal
from common.http import read_capped_body
from common.pdf.results import PdfVerificationError
from common.problems import (
    PayloadTooLargeError,
    ProblemError,
    UnprocessableError,
    UnsupportedMediaTypeError,
    problem_responses,
)
from common.storage import content_disposition
from directive_api.directives import service as directives
from directive_api.directives.errors import DirectiveNotFoundError, DirectiveNotVisibleError
from directive_api.directives.lifecycle import DOC_TYPES, PRE_ISSUE_STATUSES
from directive_api.directives.models import Directive
from directive_api.documents import service
from directive_api.documents.models import DirectiveFile
from directive_api.documents.service import PdfContext
from directive_api.orgs.models import Unit

router = APIRouter(tags=["documents"])

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(resources.files("directive_api.documents") / "templates")),
    autoescape=True,
)

STATUS_TEXT = {
    "issued": ("Văn bản hợp lệ — đã ban hành", "valid"),
    "dispatched": ("Văn bản hợp lệ — đã ban hành và gửi", "valid"),
    "archived": ("Văn bản hợp lệ — đã lưu trữ", "valid"),
    "recalled": ("Văn bản đã bị THU HỒI", "recalled"),
    "replaced": ("Văn bản đã được THAY THẾ", "replaced"),
}

PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The PDF file"}
}
PUBLIC_PROBLEMS = {status: spec for status, spec in problem_responses(DirectiveNotFoundError).items() if status != 401}
"""The public pages need no login: no 401; an unknown or malformed code is 404 / 422."""


def _file_name(directive: Directive, kind: str) -> str:
    type_name = DOC_TYPES[directive.doc_type][0]
    if directive.notation:
        return f"{type_name} {directive.notation.replace('/', '-')}.pdf"
    return f"{type_name} dự thảo {str(directive.id)[:8]}.pdf" if kind == "preview" else f"{type_name} đã ký.pdf"


def _pdf_response(data: bytes, *, filename: str, sha256: str, kind: str) -> Response:
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": content_disposition(filename),
            "X-Content-SHA256": sha256,
            "X-Document-File-Kind": kind,
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/v1/directives/{directive_id}/pdf",
    responses=PDF_RESPONSE | problem_responses(DirectiveNotFoundError, DirectiveNotVisibleError),
    response_class=Response,
)
async def get_directive_pdf(
    directive_id: uuid.UUID, session: SessionDep, actor: CurrentPrincipal, request: Request
) -> Response:
    """The document's PDF: the issued e-original once issued, the signer-signed file once approved,
    otherwise a draft preview marked "DỰ THẢO". The SHA-256 is in `X-Content-SHA256`."""
    directive = await directives.get_directive(session, directive_id, actor=actor)
    pdf: PdfContext = request.app.state.pdf
    record: DirectiveFile | None = None
    kind = "preview"
    if directive.issued_sha256:
        kind = "issued"
    elif directive.signed_sha256:
        kind = "signed"
    if kind != "preview":
        record = await service.latest_file(session, directive.id, kind)
    if record is None:
        record = await service.preview(
            session, directive, settings=pdf.settings, store=pdf.store, now=request.app.state.clock()
        )
    return _pdf_response(
        await pdf.store.get_async(record.sha256), filename=_file_name(directive, kind), sha256=record.sha256, kind=kind
    )


class SignatureResult(BaseModel):
    """One signature of the file; see docs/api.md "Verifying a PDF" for how the fields combine."""

    field_name: str
    """The PDF signature field."""
    kind: str
    """`signature` (the signer's, or the organisation's seal) or `document_timestamp`."""
    signer: str | None
    """The common name of the signing certificate."""
    signing_time: str | None
    """The time the signature claims (from the timestamp when `timestamped`)."""
    timestamped: bool
    """An RFC 3161 timestamp token is embedded."""
    intact: bool
    """The bytes this signature covers are unchanged (their digest matches the signed one)."""
    signature_verifies: bool
    """The signature value checks out with the certificate over the signed attributes; it says
    nothing about the file's bytes on its own (a byte-flipped file keeps this true)."""
    valid: bool
    """The signature holds for this file: `intact` and `signature_verifies`. A signature whose
    bytes changed is never valid."""
    trusted: bool
    """The signing certificate chains to one of the configured trust roots."""
    changes_after: str
    """What was added after this signature: `none`, `lta_updates`, `form_filling` (number and date
    filled in, the seal), `annotations`, `other`, `unknown`."""
    covers_entire_file: bool
    """The signature covers the whole file as received (nothing appended after it)."""


class RegisteredDocument(BaseModel):
    id: uuid.UUID
    public_id: str
    notation: str | None
    status: str
    issued_on: str | None
    is_current_e_original: bool
    """True when the uploaded file is byte for byte the issued PDF on record."""


class VerificationResult(BaseModel):
    sha256: str
    signatures: list[SignatureResult]
    altered: bool
    """True when any signature is broken or the file changed after a signature beyond filling the number and date."""
    trusted: bool
    registered_document: RegisteredDocument | None
    verdict: str
    """`valid`, `altered`, `untrusted`, `unsigned`, `recalled` or `replaced`."""


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
    limit = pdf.settings.max_verify_bytes
    data = await read_capped_body(
        request,
        limit=limit,
        media_types=("application/pdf", "application/octet-stream"),
        expected="application/pdf",
        what="file",
    )
    if not data.startswith(b"%PDF-"):
        raise UnsupportedMediaTypeError("the body is not a PDF file")
    return await _verify(data, session, pdf)


async def _verify(data: bytes, session: SessionDep, pdf: PdfContext) -> VerificationResult:
    """The verdict on a whole file; shared by the authenticated and the public endpoint."""
    limit = pdf.settings.max_verify_bytes
    digest = hashlib.sha256(data).hexdigest()
    record = await session.scalar(select(DirectiveFile).where(DirectiveFile.sha256 == digest).limit(1))
    try:
        report = await service.verify(
            data, keys=pdf.keys, max_bytes=limit, digest=digest, session=session, registered=record is not None
        )
    except PdfVerificationError as exc:
        raise UnprocessableError(f"the PDF cannot be verified: {exc}") from None
    registered: RegisteredDocument | None = None
    if record is not None:
        directive = await session.get(Directive, record.directive_id)
        assert directive is not None
        if directive.status not in PRE_ISSUE_STATUSES:
            registered = RegisteredDocument(
                id=directive.id,
                public_id=directive.public_id,
                notation=directive.notation,
                status=directive.status,
                issued_on=directive.issued_on.isoformat() if directive.issued_on else None,
                is_current_e_original=directive.issued_sha256 == digest,
            )
    signatures = [
        SignatureResult(
            field_name=s.field_name,
            kind=s.kind,
            signer=s.signer_common_name,
            signing_time=s.signing_time.isoformat() if s.signing_time else None,
            timestamped=s.timestamp_present,
            intact=s.intact,
            signature_verifies=s.valid,
            valid=s.intact and s.valid,
            trusted=s.trusted,
            changes_after=str(s.modification),
            covers_entire_file=s.covers_entire_file,
        )
        for s in report.signatures
    ]
    trusted = bool(signatures) and all(s.trusted for s in signatures)
    if not signatures:
        verdict = "unsigned"
    elif report.altered:
        verdict = "altered"
    elif not trusted:
        verdict = "untrusted"
    elif registered is not None and registered.status in ("recalled", "replaced"):
        verdict = registered.status
    else:
        verdict = "valid"
    return VerificationResult(
        sha256=digest,
        signatures=signatures,
        altered=report.altered,
        trusted=trusted,
        registered_document=registered,
        verdict=verdict,
    )


async def _public_directive(session: SessionDep, public_id: str) -> Directive | None:
    directive = await session.scalar(select(Directive).where(Directive.public_id == public_id))
    if directive is None or directive.status in PRE_ISSUE_STATUSES or not directive.issued_sha256:
        return None
    return directive


PublicId = Annotated[str, Path(min_length=4, max_length=32, pattern=r"^[a-z2-7]+$")]
_PUBLIC_ID = re.compile(r"[a-z2-7]{4,32}")


def _style_hash(template: str = "verify.html", tag: str = "style") -> str:
    source = (resources.files("directive_api.documents") / "templates" / template).read_text(encoding="utf-8")
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


class TooManyRequestsError(ProblemError):
    status = 429
    title = "Too many requests"


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
    directive = await _public_directive(session, public_id) if _PUBLIC_ID.fullmatch(public_id) else None
    context: dict[str, Any] = {"doc": directive}
    status_code = 200
    if directive is None:
        status_code = 404
        context["issuer_name"] = ""
    else:
        issuer = await session.get(Unit, directive.issuer_code)
        text, css = STATUS_TEXT.get(directive.status, ("Văn bản hợp lệ", "valid"))
        issued = directive.issued_on
        context.update(
            issuer_name=issuer.name if issuer else directive.issuer_code,
            status_text=text,
            status_class=css,
            issued_on=f"{issued.day:02d}/{issued.month:02d}/{issued.year}" if issued else "",
            doc_type_name=DOC_TYPES[directive.doc_type][0],
            subject=("V/v " if DOC_TYPES[directive.doc_type][1] is None else "") + directive.subject,
            signer=" / ".join([*directive.signature_title_lines, directive.signer_name]),
            downloadable=directive.status not in ("recalled",),
            # From the configured address, never from the request's Host header.
            download_url=f"{request.app.state.settings.public_base_url.rstrip('/')}/verify/{public_id}/pdf",
            replacement=await _replacement(session, directive, request),
        )
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
    directive = await _public_directive(session, public_id)
    if directive is None or directive.status == "recalled" or directive.issued_sha256 is None:
        raise DirectiveNotFoundError("no issued document with this verification code")
    pdf: PdfContext = request.app.state.pdf
    return _pdf_response(
        await pdf.store.get_async(directive.issued_sha256),
        filename=_file_name(directive, "issued"),
        sha256=directive.issued_sha256,
        kind="issued",
    )


def _verify_url(request: Request, public_id: str) -> str:
    return f"{request.app.state.settings.public_base_url.rstrip('/')}/verify/{public_id}"


async def _replacement(session: SessionDep, directive: Directive, request: Request) -> dict[str, str] | None:
    """The document that replaced this one, when it is public (issued); None otherwise."""
    if directive.status != "replaced" or directive.replaced_by_id is None:
        return None
    successor = await session.get(Directive, directive.replaced_by_id)
    if successor is None or successor.status in PRE_ISSUE_STATUSES or not successor.issued_sha256:
        return None
    return {
        "notation": successor.notation or "",
        "public_id": successor.public_id,
        "verify_url": _verify_url(request, successor.public_id),
    }


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


class PublicReplacement(BaseModel):
    notation: str
    public_id: str
    verify_url: str
    """The replacement's public verification page."""


class PublicDocument(BaseModel):
    """What the public may know of an issued document (nothing of drafts, no internal ids)."""

    public_id: str
    notation: str | None
    doc_type: str
    """The type's Vietnamese name, e.g. `Công văn`."""
    issued_on: str | None
    issuer: str
    subject: str
    status: str
    """`issued`, `dispatched`, `archived`, `recalled` or `replaced`."""
    status_text: str
    """The status in Vietnamese, as the verification page shows it."""
    verify_url: str
    replaced_by: PublicReplacement | None
    """For a replaced document: the document that replaced it (when issued)."""


class HashLookupResult(BaseModel):
    sha256: str
    found: bool
    """True when this hash is the issued (sealed) PDF of a document of this office."""
    message: str
    """The answer in Vietnamese."""
    document: PublicDocument | None


class PublicVerificationResult(BaseModel):
    sha256: str
    verdict: str
    """As for `POST /v1/verify`: `valid`, `altered`, `untrusted`, `unsigned`, `recalled` or `replaced`."""
    verdict_text: str
    """The verdict in Vietnamese."""
    altered: bool
    trusted: bool
    signatures: list[SignatureResult]
    document: PublicDocument | None
    """The registered document whose issued PDF has this hash, if any."""


VERDICT_TEXT = {
    "valid": "Tệp hợp lệ: các chữ ký số còn nguyên vẹn và tin cậy.",
    "altered": "Tệp đã bị thay đổi sau khi ký: không còn giá trị.",
    "untrusted": "Chữ ký số không thuộc cơ quan tin cậy.",
    "unsigned": "Tệp không có chữ ký số.",
    "recalled": "Chữ ký số hợp lệ, nhưng văn bản đã bị THU HỒI.",
    "replaced": "Chữ ký số hợp lệ, nhưng văn bản đã được THAY THẾ.",
}


class InvalidHashError(ProblemError):
    status = 422
    title = "Invalid SHA-256"


class NotIssuedHereError(ProblemError):
    status = 404
    title = "Not an issued document"


def _check_limit(request: Request) -> None:
    wait = _limit(request)
    if wait is not None:
        raise TooManyRequestsError("quá nhiều yêu cầu; vui lòng thử lại sau", headers={"Retry-After": str(wait)})


async def _public_document(session: SessionDep, directive: Directive, request: Request) -> PublicDocument:
    issuer = await session.get(Unit, directive.issuer_code)
    issued = directive.issued_on
    replacement = await _replacement(session, directive, request)
    return PublicDocument(
        public_id=directive.public_id,
        notation=directive.notation,
        doc_type=DOC_TYPES[directive.doc_type][0],
        issued_on=issued.isoformat() if issued else None,
        issuer=issuer.name if issuer else directive.issuer_code,
        subject=("V/v " if DOC_TYPES[directive.doc_type][1] is None else "") + directive.subject,
        status=directive.status,
        status_text=STATUS_TEXT.get(directive.status, ("Văn bản hợp lệ", "valid"))[0],
        verify_url=_verify_url(request, directive.public_id),
        replaced_by=PublicReplacement(**replacement) if replacement else None,
    )


async def _issued_with_hash(session: SessionDep, digest: str) -> Directive | None:
    directive = await session.scalar(select(Directive).where(Directive.issued_sha256 == digest).limit(1))
    if directive is None or directive.status in PRE_ISSUE_STATUSES:
        return None
    return directive


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
    directive = await _issued_with_hash(session, digest)
    if directive is None:
        raise NotIssuedHereError(
            "không tìm thấy văn bản nào do cơ quan ban hành có mã SHA-256 này; tệp có thể đã bị thay đổi, "
            "là bản sao chụp hoặc không phải bản điện tử gốc",
            sha256=digest,
            found=False,
        )
    document = await _public_document(session, directive, request)
    message = f"Tệp trùng khớp với bản điện tử gốc của văn bản số {directive.notation}. {document.status_text}."
    if document.replaced_by is not None:
        message += f" Văn bản thay thế: số {document.replaced_by.notation}."
    return HashLookupResult(sha256=digest, found=True, message=message, document=document)


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
    try:
        result = await _verify(data, session, pdf)
    except UnprocessableError:
        raise UnprocessableError("không đọc được tệp PDF để kiểm tra chữ ký số") from None
    directive = await _issued_with_hash(session, result.sha256)
    return PublicVerificationResult(
        sha256=result.sha256,
        verdict=result.verdict,
        verdict_text=VERDICT_TEXT[result.verdict],
        altered=result.altered,
        trusted=result.trusted,
        signatures=result.signatures,
        document=await _public_document(session, directive, request) if directive else None,
    )
