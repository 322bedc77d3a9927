"""PDFs of a document: render, sign at approval, fill and seal at issue, store, verify.

The PDF work itself is in :mod:`common.pdf` (pure functions, rendering in worker processes); this
module maps a document onto the Decree 30 view-model, picks the keys, and records what was stored.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import utc_now
from common.observability import pdf_render_seconds, pdf_sign_seconds, timed
from common.pdf import pool
from common.pdf import results as deferred
from common.pdf.dev_pki import DevPki, ensure_dev_pki
from common.pdf.model import Attachment, DocumentView, SignatureBlock
from common.pdf.results import SigningError, VerificationReport, trust_fingerprint
from common.pdf.text import format_date_line
from common.problems import ConflictError
from common.storage import FileStore
from directive_api.directives.lifecycle import DOC_TYPES, notation_suffix
from directive_api.directives.models import Directive
from directive_api.documents import jobs
from directive_api.documents.models import DirectiveFile, PdfVerdict
from directive_api.orgs.models import Unit, UnitGroup
from directive_api.people.models import Person
from directive_api.settings import KeySource, Settings, SigningSettings


class SigningKeyMissingError(ConflictError):
    title = "No signing key is configured for this signer or issuer"


class SignerRetiredError(ConflictError):
    title = "The designated signer is retired from the directory"


class SigningFailedError(ConflictError):
    title = "The document could not be signed"


class SigningModeUnavailableError(ConflictError):
    title = "The signer's signing mode is not available"


class SignerCertificateMissingError(ConflictError):
    title = "The directory names no signing certificate for this signer"


@dataclass
class Keys:
    """Signing keys, images and trust roots of this process, built once from the settings.

    Keys are handed to the worker processes as descriptions (:class:`jobs.KeySpec`) and loaded there.
    """

    settings: SigningSettings
    pki: DevPki | None

    @classmethod
    def from_settings(cls, settings: SigningSettings) -> Keys:
        dev_dir = settings.dev_pki_dir if settings.use_dev_pki else None
        pki = ensure_dev_pki(dev_dir) if dev_dir is not None else None
        return cls(settings=settings, pki=pki)

    def _spec(self, source: KeySource) -> jobs.KeySpec:
        if source.pkcs12 is not None:
            passphrase = source.passphrase_file.read_bytes().strip() if source.passphrase_file else None
            return jobs.KeySpec(pkcs12=str(source.pkcs12), passphrase=passphrase)
        if source.pkcs11_library and source.pkcs11_token_label and source.pkcs11_key_label:
            pin = source.pkcs11_pin_file.read_text().strip() if source.pkcs11_pin_file else ""
            return jobs.KeySpec(
                pkcs11_library=source.pkcs11_library,
                pkcs11_token_label=source.pkcs11_token_label,
                pkcs11_key_label=source.pkcs11_key_label,
                pkcs11_pin=pin,
            )
        raise SigningKeyMissingError("the key source names neither a PKCS#12 file nor a PKCS#11 key")

    async def signer(self, person: Person, unit: Unit) -> tuple[jobs.KeySpec, Path]:
        """The signer's key and signature image.

        A key configured for the person (``SIGNING__SIGNERS``) comes first; otherwise, with the
        development PKI and the person among ``SIGNING__DEV_SIGNERS`` (``*``: everyone), a
        development certificate naming the person and their unit, issued on first use.
        """
        source = self.settings.signers.get(person.id)
        if source is not None:
            image = source.image or (self.pki.signature_png if self.pki else None)
            if image is None:
                raise SigningKeyMissingError(f"no signature image configured for {person.id}")
            return self._spec(source), image
        dev = self.settings.dev_signers
        if self.pki is not None and ("*" in dev or person.id in dev):
            p12 = await asyncio.to_thread(self.pki.signer_for, person.id, person.full_name, unit.name)
            return jobs.KeySpec(pkcs12=str(p12), passphrase=self.pki.passphrase), self.pki.signature_png
        raise SigningKeyMissingError(f"no signing key is configured for {person.id}")

    def signature_image(self, person: Person) -> Path:
        """The signature image drawn for a signer whose key is elsewhere (their token, a remote service)."""
        source = self.settings.signers.get(person.id)
        image = (source.image if source else None) or (self.pki.signature_png if self.pki else None)
        if image is None:
            raise SigningKeyMissingError(f"no signature image configured for {person.id}")
        return image

    async def seal(self, unit: Unit) -> tuple[jobs.KeySpec, Path]:
        """The organisation's seal key and seal image (a development seal naming the unit when the
        development PKI is in use and no seal is configured for it)."""
        source = self.settings.seals.get(unit.code)
        if source is not None:
            image = source.image or (self.pki.seal_png if self.pki else None)
            if image is None:
                raise SigningKeyMissingError(f"no seal image configured for {unit.code}")
            return self._spec(source), image
        if self.pki is not None:
            p12, seal_png = await asyncio.to_thread(self.pki.seal_for, unit.code, unit.name)
            return jobs.KeySpec(pkcs12=str(p12), passphrase=self.pki.passphrase), seal_png
        raise SigningKeyMissingError(f"no seal key is configured for {unit.code}")

    def timestamper(self) -> str | None:
        """The RFC 3161 timestamper as a description: a URL, or ``dev:<pki folder>``."""
        if self.settings.tsa_url:
            return self.settings.tsa_url
        if self.settings.dev_timestamps and self.pki is not None:
            return f"dev:{self.pki.directory}"
        return None

    def trust_roots(self) -> tuple[bytes, ...]:
        """Root certificates (PEM) the verifier trusts."""
        return self._trust_roots

    @functools.cached_property
    def _trust_roots(self) -> tuple[bytes, ...]:
        # Read once per process, like the signing keys: not on every verification.
        roots = [path.read_bytes() for path in self.settings.trust_roots]
        if self.pki is not None:
            roots.append(self.pki.root_cert_pem.read_bytes())
        return tuple(roots)

    @functools.cached_property
    def trust_fingerprint(self) -> str:
        """Fingerprint of the trust roots, under which verdicts are stored."""
        return trust_fingerprint(self._trust_roots)

    def warm_up(self) -> functools.partial[None]:
        """What each PDF worker runs at its start (:func:`jobs.warm_up_job`): the first configured
        signer and seal (else the development PKI's), so that the first approval finds them loaded."""
        signer, signer_image = self._warm_key(self.settings.signers, "signer_p12", "signature_png")
        seal, seal_image = self._warm_key(self.settings.seals, "seal_p12", "seal_png")
        return functools.partial(
            jobs.warm_up_job, signer, signer_image, seal, seal_image, self.timestamper(), self.trust_roots()
        )

    def _warm_key(
        self, sources: dict[str, KeySource], dev_key: str, dev_image: str
    ) -> tuple[jobs.KeySpec | None, str | None]:
        source = next(iter(sources.values()), None)
        if source is not None:
            image = source.image or (getattr(self.pki, dev_image) if self.pki else None)
            try:
                return (self._spec(source), str(image)) if image is not None else (None, None)
            except (OSError, SigningKeyMissingError):
                return None, None  # the approval that needs it reports it
        if self.pki is not None:
            key = jobs.KeySpec(pkcs12=str(getattr(self.pki, dev_key)), passphrase=self.pki.passphrase)
            return key, str(getattr(self.pki, dev_image))
        return None, None


@dataclass
class PdfContext:
    """What the PDF steps need, built once per application."""

    settings: Settings
    keys: Keys
    store: FileStore

    @classmethod
    def from_settings(cls, settings: Settings) -> PdfContext:
        return cls(settings=settings, keys=Keys.from_settings(settings.signing), store=FileStore(settings.files_dir))


def verification_url(settings: Settings, directive: Directive) -> str:
    """The public page the QR code on the letter leads to."""
    return f"{settings.public_base_url.rstrip('/')}/verify/{directive.public_id}"


def _addressee_lines(directive: Directive, groups: dict[str, UnitGroup], units: dict[str, Unit]) -> list[str]:
    lines = []
    for entry in directive.addressees:
        if entry.get("label"):
            lines.append(entry["label"])
        elif entry.get("group"):
            lines.append(groups[entry["group"]].name)
        else:
            lines.append(units[entry["unit"]].name)
    return lines


async def addressee_lines(session: AsyncSession, directive: Directive) -> list[str]:
    """The letter's ``Kính gửi`` lines, as printed (a group's name, a unit's name, or a label)."""
    group_codes = {a["group"] for a in directive.addressees if a.get("group")}
    unit_codes = {a["unit"] for a in directive.addressees if a.get("unit")}
    groups = {g.code: g for g in (await session.scalars(select(UnitGroup).where(UnitGroup.code.in_(group_codes))))}
    units = {u.code: u for u in (await session.scalars(select(Unit).where(Unit.code.in_(unit_codes))))}
    return _addressee_lines(directive, groups, units)


async def view_of(
    session: AsyncSession, directive: Directive, settings: Settings, *, is_draft: bool, today: date
) -> DocumentView:
    """The Decree 30 view-model of a document (the one place that knows both worlds)."""
    issuer = await session.get(Unit, directive.issuer_code)
    assert issuer is not None
    group_codes = {a["group"] for a in directive.addressees if a.get("group")}
    unit_codes = {a["unit"] for a in directive.addressees if a.get("unit")}
    unit_codes |= {code for r in directive.info_recipients for code in r.get("units") or []}
    groups = {g.code: g for g in (await session.scalars(select(UnitGroup).where(UnitGroup.code.in_(group_codes))))}
    units = {u.code: u for u in (await session.scalars(select(Unit).where(Unit.code.in_(unit_codes))))}

    addressees = _addressee_lines(directive, groups, units)
    recipients = []
    for entry in directive.info_recipients:
        if entry.get("as_above"):
            recipients.append("Như trên")
        elif entry.get("text"):
            recipients.append(entry["text"])
        else:
            recipients.append(entry.get("label") or "; ".join(units[c].short_name for c in entry["units"]))
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
    session: AsyncSession, store: FileStore, directive: Directive, kind: str, pdf: bytes, pages: int, version: int
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
    session.add(record)
    await session.flush()
    return record


async def latest_file(session: AsyncSession, directive_id: uuid.UUID, kind: str) -> DirectiveFile | None:
    """The newest stored file of one kind."""
    statement = (
        select(DirectiveFile)
        .where(DirectiveFile.directive_id == directive_id, DirectiveFile.kind == kind)
        .order_by(DirectiveFile.id.desc())
        .limit(1)
    )
    return (await session.scalars(statement)).first()


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
                jobs.sign_job, rendered, signer, str(image), keys.timestamper(), "Phê duyệt, ký ban hành"
            )
    except SigningError as exc:
        raise SigningFailedError(str(exc)) from None
    return await _store(session, store, directive, "signed", signed, rendered.page_count, directive.version + 1)


async def _signer_of(session: AsyncSession, directive: Directive) -> tuple[Person, Unit]:
    person = await session.get(Person, directive.signer_id)
    unit = await session.get(Unit, directive.issuer_code)
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
    issuer = await session.get(Unit, directive.issuer_code)
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
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {
        "sha256": digest,
        "trust_fingerprint": fingerprint,
        "report": report.model_dump(mode="json"),
        "valid_until": report.valid_until,
        "created_at": utc_now(),
    }
    statement = insert(PdfVerdict).values(**values)
    await session.execute(statement.on_conflict_do_update(index_elements=[PdfVerdict.sha256], set_=values))


async def _stored_verdict(session: AsyncSession, digest: str, fingerprint: str) -> VerificationReport | None:
    verdict = await session.get(PdfVerdict, digest)
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
