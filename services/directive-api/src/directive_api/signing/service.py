"""Signing requests: show one to its signer, accept the signature, expire the forgotten ones.

A ``client`` signer's approval leaves the document ``awaiting_signature`` with one pending request
(made by :func:`directive_api.directives.service.fire`). The document's workflow engine is passed in
by the caller (``app.state.workflow``; the worker passes it too): this slice sits below the
directive slice and does not import it. The signature is accepted only when the
certificate is the one the directory names for the signer, chains to the trust roots and is valid
now, and the signature verifies over the request's signed attributes; then it is embedded, the
result verified, and the document is ``approved`` — all in one transaction, or nothing changes.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Principal
from common.pdf import results as deferred
from common.workflow import WorkflowEngine
from directive_api.directives.lifecycle import SYSTEM_ROLE
from directive_api.directives.models import Directive
from directive_api.directives.states import DirectiveStatus, Role
from directive_api.pdfs import service as documents
from directive_api.pdfs.errors import SignerRetiredError
from directive_api.people.models import Person
from directive_api.signing import repository
from directive_api.signing.errors import (
    CertificateNotTrustedError,
    NotRemoteRequestError,
    NotTheSignerError,
    RemoteAuthorizationRefusedError,
    RemoteCredentialNotFoundError,
    RemoteSigningUnavailableError,
    SignatureInvalidError,
    SignerCertificateMismatchError,
    SigningRequestClosedError,
    SigningRequestExpiredError,
    SigningRequestNotFoundError,
)
from directive_api.signing.models import SigningRequest
from directive_api.signing.schemas import RemoteAuthorization, SignatureSubmission, SigningRequestRead

TIMER = Principal(
    subject="system:signing-timer", name="Signing request timer", roles=frozenset({SYSTEM_ROLE}), unit=None
)
"""Who returns a document whose signing request expired (recorded in its history)."""


def to_read(request: SigningRequest) -> SigningRequestRead:
    attributes = base64.b64decode(request.signed_attributes)
    return SigningRequestRead(
        id=request.id,
        directive_id=request.directive_id,
        signer_id=request.signer_id,
        mode=request.mode,  # type: ignore[arg-type]
        status=request.status,  # type: ignore[arg-type]
        expires_at=request.expires_at,
        document_digest=request.document_digest,
        signed_attributes=request.signed_attributes,
        signed_attributes_digest=hashlib.sha256(attributes).hexdigest(),
        certificate_sha256=request.certificate_sha256,
        signature_url=f"/v1/signing-requests/{request.id}/signature",
    )


async def _own_request(session: AsyncSession, request_id: uuid.UUID, actor: Principal) -> SigningRequest:
    if not actor.has_any(Role.signer):
        raise NotTheSignerError("signing requests are answered by signers (role 'signer')")
    request = await repository.get(session, request_id)
    if request is None:
        raise SigningRequestNotFoundError(f"no signing request {request_id}")
    if request.signer_id != actor.id:
        raise NotTheSignerError("this signing request is for another signer")
    return request


async def get_request(session: AsyncSession, request_id: uuid.UUID, *, actor: Principal) -> SigningRequest:
    """A signing request, to its signer only."""
    return await _own_request(session, request_id, actor)


async def pending_for(session: AsyncSession, directive_id: uuid.UUID) -> SigningRequest | None:
    """The open request of a document."""
    return await repository.pending_for(session, directive_id)


async def submit_signature(
    session: AsyncSession,
    request_id: uuid.UUID,
    body: SignatureSubmission,
    *,
    actor: Principal,
    pdf: documents.PdfContext,
    workflow: WorkflowEngine,
    now: datetime,
) -> tuple[SigningRequest, Directive]:
    """Accept the signer's signature: validate, embed, verify, approve."""
    request = await _pending(session, request_id, actor, now)
    return await _accept(
        session,
        request,
        certificate=body.certificates[0],
        chain=tuple(body.certificates[1:]),
        signature=body.signature,
        actor=actor,
        pdf=pdf,
        workflow=workflow,
        now=now,
    )


async def sign_remotely(
    session: AsyncSession,
    request_id: uuid.UUID,
    body: RemoteAuthorization,
    *,
    actor: Principal,
    pdf: documents.PdfContext,
    workflow: WorkflowEngine,
    now: datetime,
) -> tuple[SigningRequest, Directive]:
    """Have the remote signing service sign the request with the signer's PIN and OTP, then accept it."""
    request = await _pending(session, request_id, actor, now)
    if request.mode != "remote":
        raise NotRemoteRequestError("this request is signed by the signer's own client (POST …/signature)")
    settings = pdf.settings.signing
    if not settings.csc_url:
        raise RemoteSigningUnavailableError("no remote signing service is configured")
    from directive_api.signing import csc  # pyHanko's CSC client: loaded on the first remote signature

    try:
        made = await csc.sign(
            service_url=settings.csc_url,
            token=settings.csc_token.get_secret_value() if settings.csc_token else None,
            certificate_sha256=request.certificate_sha256,
            data=base64.b64decode(request.signed_attributes),
            pin=body.pin,
            otp=body.otp,
        )
    except csc.RemoteAuthorizationError as exc:
        raise RemoteAuthorizationRefusedError(str(exc)) from None
    except csc.RemoteCredentialMissingError as exc:
        raise RemoteCredentialNotFoundError(str(exc)) from None
    except csc.RemoteServiceError as exc:
        raise RemoteSigningUnavailableError(str(exc)) from None
    return await _accept(
        session,
        request,
        certificate=made.certificate,
        chain=made.chain,
        signature=made.signature,
        actor=actor,
        pdf=pdf,
        workflow=workflow,
        now=now,
    )


_CLOSED = {
    "completed": "the signing request is completed: it already has its signature, and a signature is accepted once",
    "abandoned": "the signing request was abandoned; approve the document again for a new request",
    "expired": "the signing request expired unsigned; approve the document again for a new request",
}


async def _pending(session: AsyncSession, request_id: uuid.UUID, actor: Principal, now: datetime) -> SigningRequest:
    request = await _own_request(session, request_id, actor)
    if request.status != "pending":
        raise SigningRequestClosedError(_CLOSED[request.status])
    if request.expires_at <= now:
        raise SigningRequestExpiredError(f"the signing request expired at {request.expires_at.isoformat()}")
    return request


async def _accept(
    session: AsyncSession,
    request: SigningRequest,
    *,
    certificate: bytes,
    chain: tuple[bytes, ...],
    signature: bytes,
    actor: Principal,
    pdf: documents.PdfContext,
    workflow: WorkflowEngine,
    now: datetime,
) -> tuple[SigningRequest, Directive]:
    directive = await session.get(Directive, request.directive_id)
    assert directive is not None  # documents are never deleted
    person = await session.get(Person, request.signer_id)
    if person is None or not person.is_active:
        raise SignerRetiredError(f"{request.signer_id} is retired from the directory")
    # A certificate the administrator has replaced since the request (a lost token) no longer signs.
    current = documents.certificate_sha256(person.signing_certificate.encode()) if person.signing_certificate else None
    if current != request.certificate_sha256:
        raise SignerCertificateMismatchError(
            f"the directory no longer names the certificate of this request for {request.signer_id}; approve again"
        )
    try:
        presented = documents.certificate_sha256(certificate)
    except deferred.CertificateError:
        raise SignerCertificateMismatchError("the first certificate is not a readable X.509 certificate") from None
    if presented != request.certificate_sha256:
        raise SignerCertificateMismatchError(
            f"the certificate presented ({presented[:16]}…) is not the one the directory names for {request.signer_id} "
            f"({request.certificate_sha256[:16]}…)"
        )
    prepared = deferred.PreparedSignature(
        pdf=await pdf.store.get_async(request.prepared_sha256),
        document_digest=bytes.fromhex(request.document_digest),
        reserved_start=request.reserved_start,
        reserved_end=request.reserved_end,
        signed_attributes=base64.b64decode(request.signed_attributes),
    )
    try:
        signed = await documents.embed_signature(
            session,
            directive,
            prepared,
            certificate=certificate,
            chain=chain,
            signature=signature,
            page_count=request.page_count,
            keys=pdf.keys,
            store=pdf.store,
            now=now,
        )
    except deferred.CertificateError as exc:
        raise CertificateNotTrustedError(str(exc)) from None
    except deferred.SignatureValueError as exc:
        raise SignatureInvalidError(str(exc)) from None
    await workflow.fire(
        session,
        directive,
        "complete_signature",
        actor,
        expected_version=directive.version,
        values={"approved_by": actor.id, "approved_at": now, "signed_sha256": signed.sha256},
    )
    request.status = "completed"
    request.closed_at = now
    await session.flush()
    return request, directive


async def expire_due(session: AsyncSession, *, now: datetime, workflow: WorkflowEngine, limit: int = 50) -> int:
    """Return documents whose signing request expired to ``submitted`` (history names the timer)."""
    count = 0
    for request in await repository.expired(session, now=now, limit=limit):
        request.status = "expired"
        request.closed_at = now
        directive = await session.get(Directive, request.directive_id)
        if directive is not None and directive.status == DirectiveStatus.awaiting_signature.value:
            await workflow.fire(
                session,
                directive,
                "expire_signature",
                TIMER,
                comment=f"signing request {request.id} expired at {request.expires_at.isoformat()}",
            )
        count += 1
    await session.flush()
    return count
