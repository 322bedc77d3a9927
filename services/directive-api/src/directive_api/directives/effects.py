"""What a document's transitions do to the slices below the directives slice.

Render and sign at approval (or prepare the signature made elsewhere), fill and seal at issue,
deliveries at dispatch, the records file at archive, and the events of every change: the one
module through which the directives slice calls the services of ``pdfs``, ``dispatch``
(deliveries and events), ``signing`` and ``orgs``. Those slices never call back into directives:
they receive the document (an ORM object of :mod:`directive_api.directives.models`) and act on it.
Every effect runs in the caller's transaction.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from directive_api.deliveries import service as dispatching
from directive_api.directives import repository
from directive_api.directives.models import Directive
from directive_api.orgs import service as orgs
from directive_api.pdfs import service as pdfs
from directive_api.pdfs.context import PdfContext
from directive_api.pdfs.errors import SigningModeUnavailableError
from directive_api.pdfs.schemas import PdfFile
from directive_api.signing import repository as signing_requests
from directive_api.signing.models import SigningRequest

# --- the directory ---------------------------------------------------------------------------


async def known_unit_codes(session: AsyncSession, codes: Iterable[str]) -> set[str]:
    return await orgs.existing_unit_codes(session, codes)


async def retired_unit_codes(session: AsyncSession, codes: Iterable[str]) -> set[str]:
    return await orgs.retired_unit_codes(session, codes)


async def known_group_codes(session: AsyncSession, codes: Iterable[str]) -> set[str]:
    """Groups that exist and may be addressed (``information`` may not)."""
    return await orgs.existing_group_codes(session, codes, addressable=True)


# --- approval --------------------------------------------------------------------------------


async def signs_elsewhere(session: AsyncSession, directive: Directive, pdf: PdfContext) -> bool:
    """Whether the designated signer signs on their own token or at a remote service."""
    person = await repository.person(session, directive.signer_id)
    if person is not None and person.signing_mode == "remote" and not pdf.settings.signing.csc_url:
        raise SigningModeUnavailableError(
            f"{person.id} signs in 'remote' mode but no remote signing service is configured (SIGNING__CSC_URL)"
        )
    return person is not None and person.signing_mode in ("client", "remote")


async def sign(session: AsyncSession, directive: Directive, *, pdf: PdfContext, now: datetime) -> str:
    """Render the final layout and apply the signer's signature; the signed file's SHA-256."""
    signed = await pdfs.sign_on_approval(
        session, directive, settings=pdf.settings, keys=pdf.keys, store=pdf.store, now=now
    )
    return signed.sha256


async def signing_request(
    session: AsyncSession, directive: Directive, *, pdf: PdfContext, now: datetime
) -> SigningRequest:
    """The signer's revision prepared and stored, as a pending signing request (not yet added)."""
    person = await repository.person(session, directive.signer_id)
    assert person is not None
    ready = await pdfs.prepare_for_signer(
        session, directive, settings=pdf.settings, keys=pdf.keys, store=pdf.store, now=now
    )
    stored = await pdf.store.put_async(ready.prepared.pdf)
    return SigningRequest(
        id=uuid.uuid4(),
        directive_id=directive.id,
        signer_id=person.id,
        mode=person.signing_mode,
        status="pending",
        certificate_sha256=ready.certificate_sha256,
        prepared_sha256=stored.sha256,
        page_count=ready.page_count,
        document_digest=ready.prepared.document_digest.hex(),
        signed_attributes=base64.b64encode(ready.prepared.signed_attributes).decode(),
        reserved_start=ready.prepared.reserved_start,
        reserved_end=ready.prepared.reserved_end,
        created_at=now,
        expires_at=now + timedelta(seconds=pdf.settings.signing.request_ttl_seconds),
    )


async def open_signing_request(session: AsyncSession, request: SigningRequest) -> None:
    signing_requests.add(session, request)
    await session.flush()


async def abandon_signing(session: AsyncSession, directive: Directive, *, now: datetime) -> None:
    await signing_requests.close_pending(session, directive.id, status="abandoned", now=now)


# --- issue -----------------------------------------------------------------------------------


async def seal(session: AsyncSession, directive: Directive, *, notation: str, issued_on: date, pdf: PdfContext) -> str:
    """Fill number and date into the signed PDF and apply the organisation's seal; its SHA-256."""
    issued = await pdfs.seal_on_issue(
        session, directive, notation=notation, issued_on=issued_on, keys=pdf.keys, store=pdf.store
    )
    return issued.sha256


async def current_pdf(session: AsyncSession, directive: Directive, *, pdf: PdfContext, now: datetime) -> PdfFile:
    """The document's PDF as it stands (preview, signed or issued)."""
    return await pdfs.current_pdf(session, directive, pdf=pdf, now=now)


# --- archive ---------------------------------------------------------------------------------


async def records_file_id(
    session: AsyncSession,
    directive: Directive,
    *,
    year: int,
    file_notation: str,
    title: str,
    retention: str,
    actor_id: str,
) -> int:
    """The records file (hồ sơ) the document is filed into, created on first use."""
    record = await dispatching.records_file(
        session,
        issuer_code=directive.issuer_code,
        year=year,
        file_notation=file_notation,
        title=title,
        retention=retention,
        actor_id=actor_id,
    )
    return record.id


# --- after the state changed -----------------------------------------------------------------


async def dispatch(session: AsyncSession, directive: Directive, *, now: datetime) -> None:
    """One delivery per recipient, and ``directive.dispatched``."""
    await dispatching.dispatch(session, directive, now=now)


async def issued(session: AsyncSession, directive: Directive) -> None:
    """``directive.issued``; for a correction also ``directive.corrected`` on the original."""
    dispatching.emit_event(session, "directive.issued", directive)
    if directive.corrects_id is not None:
        original = await repository.get(session, directive.corrects_id)
        if original is not None:
            dispatching.emit_event(
                session, "directive.corrected", original, correction=dispatching.directive_summary(directive)
            )


def recalled(session: AsyncSession, directive: Directive) -> None:
    dispatching.emit_event(session, "directive.recalled", directive, reason=directive.recall_reason)


def replaced(session: AsyncSession, directive: Directive, replacement: Directive) -> None:
    dispatching.emit_event(
        session, "directive.replaced", directive, replaced_by=dispatching.directive_summary(replacement)
    )
