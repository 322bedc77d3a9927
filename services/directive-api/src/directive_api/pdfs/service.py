"""PDFs of a document: render, sign at approval, fill and seal at issue, store, verify.

The PDF work itself is in :mod:`common.pdf` (pure functions, rendering in worker processes); this
module maps a document onto the Decree 30 view-model, picks the keys, and records what was stored.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utc_now
from common.observability import pdf_render_seconds, pdf_sign_seconds, timed
from common.pdf import pool
from common.pdf import results as deferred
from common.pdf.model import Attachment, DocumentView, SignatureBlock
from common.pdf.results import PdfVerificationError, SigningError, VerificationReport
from common.pdf.text import format_date_line
from common.problems import UnprocessableError
from common.storage import FileStore
from directive_api.directives.models import Directive, addressee_refs, info_recipient_refs
from directive_api.directives.states import DOC_TYPES, PRE_ISSUE_STATUSES, DirectiveStatus, notation_suffix
from directive_api.orgs.models import Unit, UnitGroup
from directive_api.pdfs import jobs, repository
from directive_api.pdfs.context import Keys as Keys
from directive_api.pdfs.context import PdfContext as PdfContext
from directive_api.pdfs.errors import SignerCertificateMissingError as SignerCertificateMissingError
from directive_api.pdfs.errors import SignerRetiredError as SignerRetiredError
from directive_api.pdfs.errors import SigningFailedError as SigningFailedError
from directive_api.pdfs.errors import SigningKeyMissingError as SigningKeyMissingError
from directive_api.pdfs.errors import SigningModeUnavailableError as SigningModeUnavailableError
from directive_api.pdfs.models import DirectiveFile, FileKind
from directive_api.pdfs.schemas import (
    HashLookupResult,
    PdfFile,
    PublicDocument,
    PublicReplacement,
    PublicVerificationResult,
    RegisteredDocument,
    SignatureResult,
    VerificationResult,
)
from directive_api.people.models import Person
from directive_api.settings import Settings


def verification_url(settings: Settings, directive: Directive) -> str:
    """The public page the QR code on the letter leads to."""
    return f"{settings.public_base_url.rstrip('/')}/verify/{directive.public_id}"


def _addressee_lines(directive: Directive, groups: dict[str, UnitGroup], units: dict[str, Unit]) -> list[str]:
    lines = []
    for entry in addressee_refs(directive.addressees):
        if entry.label:
            lines.append(entry.label)
        elif entry.group:
            lines.append(groups[entry.group].name)
        else:
            assert entry.unit is not None
            lines.append(units[entry.unit].name)
    return lines


async def addressee_lines(session: AsyncSession, directive: Directive) -> list[str]:
    """The letter's ``Kính gửi`` lines, as printed (a group's name, a unit's name, or a label)."""
    entries = addressee_refs(directive.addressees)
    groups, units = await repository.groups_and_units(
        session, {a.group for a in entries if a.group}, {a.unit for a in entries if a.unit}
    )
    return _addressee_lines(directive, groups, units)


async def view_of(
    session: AsyncSession, directive: Directive, settings: Settings, *, is_draft: bool, today: date
) -> DocumentView:
    """The Decree 30 view-model of a document (the one place that knows both worlds)."""
    issuer = await repository.unit(session, directive.issuer_code)
    assert issuer is not None
    entries = addressee_refs(directive.addressees)
    copies = info_recipient_refs(directive.info_recipients)
    unit_codes = {a.unit for a in entries if a.unit} | {code for r in copies for code in r.units}
    groups, units = await repository.groups_and_units(session, {a.group for a in entries if a.group}, unit_codes)

    addressees = _addressee_lines(directive, groups, units)
    recipients = []
    for copy in copies:
        if copy.as_above:
            recipients.append("Như trên")
        elif copy.text:
            recipients.append(copy.text)
        else:
            recipients.append(copy.label or "; ".join(units[c].short_name for c in copy.units))
    name, abbreviation = DOC_TYPES[directive.doc_type]
    return DocumentView(
        parent_body=issuer.letterhead_parent,
        issuer_name=issuer.letterhead_name or issuer.name.upper(),
        notation=notation_suffix(directive.doc_type, directive.issuer_notation, directive.drafting_unit),
        number=None,
        place=directive.place_name,
        issued_date=None,
        draft_month=today.month,
        draft_year=today.year,
        doc_type_name=None if abbreviation is None else name.upper(),
        subject=directive.subject,
        addressees=tuple(addressees),
        body=tuple(directive.body),  # type: ignore[arg-type]
        signature=SignatureBlock(
            authority_lines=tuple(directive.signature_title_lines) or (directive.signer_name.upper(),),
            signer_name=directive.signer_name,
        ),
        second_signature=SignatureBlock.model_validate(directive.second_signature)
        if directive.second_signature
        else None,
        recipients=tuple(recipients),
        archive_line=directive.archive_line,
        urgency=directive.urgency,  # type: ignore[arg-type]
        secrecy=directive.secrecy,  # type: ignore[arg-type]
        verification_url=None if is_draft else verification_url(settings, directive),
        is_draft=is_draft,
        doc_type=directive.doc_type,
        annexes=tuple(directive.annexes or ()),  # type: ignore[arg-type]
        attachments=tuple(Attachment.model_validate(item) for item in directive.attachments or ()),
    )


def local_today(now: datetime, timezone: str) -> date:
    """The date in the office's time zone."""
    return now.astimezone(ZoneInfo(timezone)).date()


async def _store(
    session: AsyncSession, store: FileStore, directive: Directive, kind: FileKind, pdf: bytes, pages: int, version: int
) -> DirectiveFile:
    stored = await store.put_async(pdf)
    record = DirectiveFile(
        directive_id=directive.id,
        kind=kind,
        directive_version=version,
        sha256=stored.sha256,
        size=stored.size,
        page_count=pages,
    )
    return await repository.add_file(session, record)


async def latest_file(session: AsyncSession, directive_id: uuid.UUID, kind: FileKind) -> DirectiveFile | None:
    """The newest stored file of one kind."""
    return await repository.latest_file(session, directive_id, kind)


async def sign_on_approval(
    session: AsyncSession, directive: Directive, *, settings: Settings, keys: Keys, store: FileStore, now: datetime
) -> DirectiveFile:
    """Render the final layout (number and date left empty) and apply the signer's signature."""
    person, unit = await _signer_of(session, directive)
    signer, image = await keys.signer(person, unit)
    view = await view_of(session, directive, settings, is_draft=False, today=local_today(now, settings.timezone))
    # The attachments are embedded in the file the signer signs (both signatures cover them).
    files = {item.sha256: await store.get_async(item.sha256) for item in view.attachments}
    with timed(pdf_render_seconds, step="final"):
        rendered = await pool.render_pdf_async(view, for_signing=True, attachment_files=files)
    try:
        with timed(pdf_sign_seconds, step="signer"):
            signed = await jobs.run(
                jobs.sign_job,
                rendered,
                signer,
                str(image),
                keys.timestamper(),
                "Phê duyệt, ký ban hành",
                keys.trust_roots(),
            )
    except SigningError as exc:
        raise SigningFailedError(str(exc)) from None
    return await _store(session, store, directive, "signed", signed, rendered.page_count, directive.version + 1)


async def _signer_of(session: AsyncSession, directive: Directive) -> tuple[Person, Unit]:
    person = await repository.person(session, directive.signer_id)
    unit = await repository.unit(session, directive.issuer_code)
    if person is None or unit is None:
        raise SigningKeyMissingError(f"{directive.signer_id} is no longer in the directory")
    if not person.is_active:
        raise SignerRetiredError(f"{person.id} is retired from the directory: choose another signer for the draft")
    return person, unit


@dataclass(frozen=True)
class PreparedForSigner:
    """The signer's revision waiting for a signature made elsewhere."""

    prepared: deferred.PreparedSignature
    page_count: int
    certificate_sha256: str


async def prepare_for_signer(
    session: AsyncSession, directive: Directive, *, settings: Settings, keys: Keys, store: FileStore, now: datetime
) -> PreparedForSigner:
    """Render the final layout and prepare the signer's signature for their token or remote service.

    The signed attributes name the certificate the directory gives for the signer: a signature made
    with any other key cannot be embedded.
    """
    person, _unit = await _signer_of(session, directive)
    if not person.signing_certificate:
        raise SignerCertificateMissingError(
            f"{person.id} signs in '{person.signing_mode}' mode but the directory names no signing certificate"
        )
    image = keys.signature_image(person)
    view = await view_of(session, directive, settings, is_draft=False, today=local_today(now, settings.timezone))
    files = {item.sha256: await store.get_async(item.sha256) for item in view.attachments}
    with timed(pdf_render_seconds, step="final"):
        rendered = await pool.render_pdf_async(view, for_signing=True, attachment_files=files)
    certificate = person.signing_certificate.encode()
    try:
        prepared: deferred.PreparedSignature = await jobs.run(
            jobs.prepare_job,
            rendered,
            certificate,
            str(image),
            keys.timestamper() is not None,
            "Phê duyệt, ký ban hành",
            keys.timestamper(),
            keys.trust_roots(),
        )
    except SigningError as exc:
        raise SigningFailedError(str(exc)) from None
    return PreparedForSigner(prepared, rendered.page_count, certificate_sha256(certificate))


def certificate_sha256(pem_or_der: bytes) -> str:
    """SHA-256 (hex) of a certificate's DER."""
    return hashlib.sha256(deferred.load_certificate(pem_or_der).dump()).hexdigest()


async def embed_signature(
    session: AsyncSession,
    directive: Directive,
    prepared: deferred.PreparedSignature,
    *,
    certificate: bytes,
    chain: tuple[bytes, ...],
    signature: bytes,
    page_count: int,
    keys: Keys,
    store: FileStore,
    now: datetime,
) -> DirectiveFile:
    """Validate the signer's certificate and signature, embed it into the prepared revision, store it.

    Raises:
        deferred.CertificateError, deferred.SignatureValueError: refused (nothing is stored).
    """
    with timed(pdf_sign_seconds, step="embed"):
        signed, report = await jobs.run(
            jobs.finish_job, prepared, certificate, chain, signature, keys.timestamper(), keys.trust_roots(), now
        )
    if report.altered or len(report.signatures) != 1 or not report.signatures[0].trusted:
        raise SigningFailedError("the signed PDF does not verify; the signature was not accepted")
    return await _store(session, store, directive, "signed", signed, page_count, directive.version + 1)


async def seal_on_issue(
    session: AsyncSession,
    directive: Directive,
    *,
    notation: str,
    issued_on: date,
    keys: Keys,
    store: FileStore,
) -> DirectiveFile:
    """Fill number and date into the signed PDF and apply the organisation's seal."""
    signed = await latest_file(session, directive.id, "signed")
    if signed is None:
        raise SigningFailedError("the document has no signed PDF to issue")
    issuer = await repository.unit(session, directive.issuer_code)
    assert issuer is not None  # units are retired, never deleted, while documents name them
    seal, image = await keys.seal(issuer)
    roots = keys.trust_roots()
    try:
        with timed(pdf_sign_seconds, step="seal"):
            sealed, report = await jobs.run(
                jobs.seal_and_verify_job,
                await store.get_async(signed.sha256),
                seal,
                str(image),
                notation,
                format_date_line(directive.place_name, issued_on),
                keys.timestamper(),
                roots,
            )
    except SigningError as exc:
        raise SigningFailedError(str(exc)) from None
    # What we issue must verify: both signatures intact and valid, nothing changed but the filling.
    # (``altered`` covers a signature that is not intact or not valid.)
    if report.altered or len(report.signatures) != 2:
        raise SigningFailedError("the sealed PDF does not verify; nothing was issued")
    record = await _store(session, store, directive, "issued", sealed, signed.page_count, directive.version + 1)
    await _save_verdict(session, record.sha256, report, keys.trust_fingerprint)
    return record


async def preview(
    session: AsyncSession, directive: Directive, *, settings: Settings, store: FileStore, now: datetime
) -> DirectiveFile:
    """The draft preview ("DỰ THẢO") of the current version, rendered once and stored."""
    existing = await latest_file(session, directive.id, "preview")
    if existing is not None and existing.directive_version == directive.version:
        return existing
    view = await view_of(session, directive, settings, is_draft=True, today=local_today(now, settings.timezone))
    with timed(pdf_render_seconds, step="preview"):
        rendered = await pool.render_pdf_async(view)
    return await _store(session, store, directive, "preview", rendered.pdf, rendered.page_count, directive.version)


class VerificationCache:
    """Verdicts remembered by SHA-256 for a while: the same bytes and roots give the same verdict,
    and verification costs hundreds of milliseconds of CPU (see docs/benchmarks.md)."""

    def __init__(self, *, size: int = 2048, ttl_seconds: float = 600) -> None:
        self.size, self.ttl = size, ttl_seconds
        self._entries: OrderedDict[str, tuple[float, VerificationReport]] = OrderedDict()

    def get(self, digest: str) -> VerificationReport | None:
        entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        self._entries.move_to_end(digest)
        return entry[1]

    def put(self, digest: str, report: VerificationReport) -> None:
        self._entries[digest] = (time.monotonic() + self.ttl, report)
        self._entries.move_to_end(digest)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


_CACHE = VerificationCache()


async def _save_verdict(session: AsyncSession, digest: str, report: VerificationReport, fingerprint: str) -> None:
    values = {
        "sha256": digest,
        "trust_fingerprint": fingerprint,
        "report": report.model_dump(mode="json"),
        "valid_until": report.valid_until,
        "created_at": utc_now(),
    }
    await repository.save_verdict(session, values)


async def _stored_verdict(session: AsyncSession, digest: str, fingerprint: str) -> VerificationReport | None:
    verdict = await repository.verdict(session, digest)
    if verdict is None or verdict.trust_fingerprint != fingerprint:
        return None
    if verdict.valid_until is not None and verdict.valid_until <= utc_now():
        return None
    return VerificationReport.model_validate(verdict.report)


async def verify(
    pdf: bytes,
    *,
    keys: Keys,
    max_bytes: int,
    digest: str | None = None,
    session: AsyncSession | None = None,
    registered: bool = False,
) -> VerificationReport:
    """Check every signature of an uploaded PDF against the trusted roots.

    The verdict on given bytes under given roots does not change until a signing certificate
    expires, so it is looked up before it is computed: this process's memory, then (with a
    ``session``) the verdicts stored for registered files, made when the file was issued. Otherwise
    the PDF is verified in a worker process, and the verdict is stored when the file is
    ``registered``.
    """
    cached = _CACHE.get(digest) if digest is not None else None
    if cached is not None and (cached.valid_until is None or cached.valid_until > utc_now()):
        return cached
    roots = keys.trust_roots()
    fingerprint = keys.trust_fingerprint
    if digest is not None and session is not None and (stored := await _stored_verdict(session, digest, fingerprint)):
        _CACHE.put(digest, stored)
        return stored
    report: VerificationReport = await jobs.run(jobs.verify_job, pdf, roots, max_bytes)
    if digest is not None:
        _CACHE.put(digest, report)
        if session is not None and registered:
            await _save_verdict(session, digest, report, fingerprint)
    return report


# --- downloads ---------------------------------------------------------------------------------


def file_name(directive: Directive, kind: FileKind) -> str:
    """The download name: ``Công văn 01-VPUB-TTĐH.pdf``, or a draft's / a signed file's."""
    type_name = DOC_TYPES[directive.doc_type][0]
    if directive.notation:
        return f"{type_name} {directive.notation.replace('/', '-')}.pdf"
    return f"{type_name} dự thảo {str(directive.id)[:8]}.pdf" if kind == "preview" else f"{type_name} đã ký.pdf"


async def current_pdf(session: AsyncSession, directive: Directive, *, pdf: PdfContext, now: datetime) -> PdfFile:
    """The document's PDF: the issued e-original once issued, the signer-signed file once approved,
    otherwise the draft preview (rendered on first request for each version)."""
    record: DirectiveFile | None = None
    kind: FileKind = "preview"
    if directive.issued_sha256:
        kind = "issued"
    elif directive.signed_sha256:
        kind = "signed"
    if kind != "preview":
        record = await latest_file(session, directive.id, kind)
    if record is None:
        record = await preview(session, directive, settings=pdf.settings, store=pdf.store, now=now)
    data = await pdf.store.get_async(record.sha256)
    return PdfFile(data, file_name(directive, kind), record.sha256, kind)


async def public_pdf(session: AsyncSession, public_id: str, *, pdf: PdfContext) -> PdfFile | None:
    """The issued e-original behind a QR code; None for an unknown code and for recalled documents."""
    directive = await repository.issued_with_public_id(session, public_id)
    if directive is None or directive.status == DirectiveStatus.recalled or directive.issued_sha256 is None:
        return None
    data = await pdf.store.get_async(directive.issued_sha256)
    return PdfFile(data, file_name(directive, "issued"), directive.issued_sha256, "issued")


# --- verification of an uploaded file ----------------------------------------------------------

VERDICTS = ("valid", "altered", "untrusted", "unsigned", "recalled", "replaced")


def _verdict(signatures: list[SignatureResult], altered: bool, registered: RegisteredDocument | None) -> str:
    """One word for the file: the first of unsigned, altered, untrusted, recalled/replaced, valid."""
    if not signatures:
        return "unsigned"
    if altered:
        return "altered"
    if not all(s.trusted for s in signatures):
        return "untrusted"
    if registered is not None and registered.status in (DirectiveStatus.recalled, DirectiveStatus.replaced):
        return registered.status
    return "valid"


async def verification(session: AsyncSession, data: bytes, *, pdf: PdfContext) -> VerificationResult:
    """The verdict on a whole uploaded file (``POST /v1/verify`` and the public page's full check).

    Raises:
        UnprocessableError: The PDF cannot be verified at all.
    """
    digest = hashlib.sha256(data).hexdigest()
    record = await repository.file_with_hash(session, digest)
    try:
        report = await verify(
            data,
            keys=pdf.keys,
            max_bytes=pdf.settings.max_verify_bytes,
            digest=digest,
            session=session,
            registered=record is not None,
        )
    except PdfVerificationError as exc:
        raise UnprocessableError(f"the PDF cannot be verified: {exc}") from None
    registered: RegisteredDocument | None = None
    if record is not None:
        directive = await repository.directive(session, record.directive_id)
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
    return VerificationResult(
        sha256=digest,
        signatures=signatures,
        altered=report.altered,
        trusted=bool(signatures) and all(s.trusted for s in signatures),
        registered_document=registered,
        verdict=_verdict(signatures, report.altered, registered),
    )


# --- the public pages (no login) -------------------------------------------------------------

STATUS_TEXT = {
    "issued": ("Văn bản hợp lệ — đã ban hành", "valid"),
    "dispatched": ("Văn bản hợp lệ — đã ban hành và gửi", "valid"),
    "archived": ("Văn bản hợp lệ — đã lưu trữ", "valid"),
    "recalled": ("Văn bản đã bị THU HỒI", "recalled"),
    "replaced": ("Văn bản đã được THAY THẾ", "replaced"),
}

VERDICT_TEXT = {
    "valid": "Tệp hợp lệ: các chữ ký số còn nguyên vẹn và tin cậy.",
    "altered": "Tệp đã bị thay đổi sau khi ký: không còn giá trị.",
    "untrusted": "Chữ ký số không thuộc cơ quan tin cậy.",
    "unsigned": "Tệp không có chữ ký số.",
    "recalled": "Chữ ký số hợp lệ, nhưng văn bản đã bị THU HỒI.",
    "replaced": "Chữ ký số hợp lệ, nhưng văn bản đã được THAY THẾ.",
}


def verify_url(base_url: str, public_id: str) -> str:
    """The public page of a document (from the configured address, never from a request's Host)."""
    return f"{base_url.rstrip('/')}/verify/{public_id}"


def _public_subject(directive: Directive) -> str:
    return ("V/v " if DOC_TYPES[directive.doc_type][1] is None else "") + directive.subject


async def _replacement(session: AsyncSession, directive: Directive, base_url: str) -> PublicReplacement | None:
    """The document that replaced this one, when it is public (issued); None otherwise."""
    if directive.status != DirectiveStatus.replaced or directive.replaced_by_id is None:
        return None
    successor = await repository.directive(session, directive.replaced_by_id)
    if successor is None or successor.status in PRE_ISSUE_STATUSES or not successor.issued_sha256:
        return None
    return PublicReplacement(
        notation=successor.notation or "",
        public_id=successor.public_id,
        verify_url=verify_url(base_url, successor.public_id),
    )


async def page_context(session: AsyncSession, public_id: str, *, base_url: str) -> dict[str, Any] | None:
    """What the verification page behind a QR code shows; None: no issued document has this code."""
    directive = await repository.issued_with_public_id(session, public_id)
    if directive is None:
        return None
    issuer = await repository.unit(session, directive.issuer_code)
    text, css = STATUS_TEXT.get(directive.status, ("Văn bản hợp lệ", "valid"))
    issued = directive.issued_on
    replacement = await _replacement(session, directive, base_url)
    return {
        "doc": directive,
        "issuer_name": issuer.name if issuer else directive.issuer_code,
        "status_text": text,
        "status_class": css,
        "issued_on": f"{issued.day:02d}/{issued.month:02d}/{issued.year}" if issued else "",
        "doc_type_name": DOC_TYPES[directive.doc_type][0],
        "subject": _public_subject(directive),
        "signer": " / ".join([*directive.signature_title_lines, directive.signer_name]),
        "downloadable": directive.status != DirectiveStatus.recalled,
        "download_url": f"{base_url.rstrip('/')}/verify/{public_id}/pdf",
        "replacement": replacement.model_dump() if replacement else None,
    }


async def _public_document(session: AsyncSession, directive: Directive, base_url: str) -> PublicDocument:
    issuer = await repository.unit(session, directive.issuer_code)
    issued = directive.issued_on
    return PublicDocument(
        public_id=directive.public_id,
        notation=directive.notation,
        doc_type=DOC_TYPES[directive.doc_type][0],
        issued_on=issued.isoformat() if issued else None,
        issuer=issuer.name if issuer else directive.issuer_code,
        subject=_public_subject(directive),
        status=directive.status,
        status_text=STATUS_TEXT.get(directive.status, ("Văn bản hợp lệ", "valid"))[0],
        verify_url=verify_url(base_url, directive.public_id),
        replaced_by=await _replacement(session, directive, base_url),
    )


async def lookup_by_hash(session: AsyncSession, digest: str, *, base_url: str) -> HashLookupResult | None:
    """Whether a SHA-256 is the issued PDF of a document of this office; None when it is not."""
    directive = await repository.issued_with_hash(session, digest)
    if directive is None:
        return None
    document = await _public_document(session, directive, base_url)
    message = f"Tệp trùng khớp với bản điện tử gốc của văn bản số {directive.notation}. {document.status_text}."
    if document.replaced_by is not None:
        message += f" Văn bản thay thế: số {document.replaced_by.notation}."
    return HashLookupResult(sha256=digest, found=True, message=message, document=document)


async def public_verification(
    session: AsyncSession, data: bytes, *, pdf: PdfContext, base_url: str
) -> PublicVerificationResult:
    """The full check of an uploaded file for the public page, answered in Vietnamese."""
    try:
        result = await verification(session, data, pdf=pdf)
    except UnprocessableError:
        raise UnprocessableError("không đọc được tệp PDF để kiểm tra chữ ký số") from None
    directive = await repository.issued_with_hash(session, result.sha256)
    return PublicVerificationResult(
        sha256=result.sha256,
        verdict=result.verdict,
        verdict_text=VERDICT_TEXT[result.verdict],
        altered=result.altered,
        trusted=result.trusted,
        signatures=result.signatures,
        document=await _public_document(session, directive, base_url) if directive else None,
    )
