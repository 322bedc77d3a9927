"""Routes of the signing requests (the signer's signing client talks to these)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from common.app import SessionDep
from common.auth import CurrentPrincipal
from common.http import etag
from common.problems import BadRequestError, problem_responses
from directive_api.directives.models import Directive
from directive_api.pdfs.service import SignerRetiredError, SigningFailedError
from directive_api.signing import service
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
from directive_api.signing.schemas import (
    RemoteAuthorization,
    SignatureAccepted,
    SignatureSubmission,
    SigningRequestRead,
)

router = APIRouter(prefix="/v1", tags=["signing"])


@router.get(
    "/signing-requests/{request_id}",
    response_model=SigningRequestRead,
    responses=problem_responses(SigningRequestNotFoundError, NotTheSignerError),
)
async def get_signing_request(
    request_id: uuid.UUID, session: SessionDep, actor: CurrentPrincipal
) -> SigningRequestRead:
    """A signing request: what the signer's token signs. Its signer only."""
    return service.to_read(await service.get_request(session, request_id, actor=actor))


@router.post(
    "/signing-requests/{request_id}/signature",
    response_model=SignatureAccepted,
    responses=problem_responses(
        BadRequestError,
        SigningRequestNotFoundError,
        NotTheSignerError,
        SigningRequestClosedError,
        SigningRequestExpiredError,
        SignerCertificateMismatchError,
        CertificateNotTrustedError,
        SignatureInvalidError,
        SigningFailedError,
        SignerRetiredError,
    ),
)
async def submit_signature(
    request_id: uuid.UUID, body: SignatureSubmission, session: SessionDep, actor: CurrentPrincipal, request: Request
) -> Response:
    """The signer's signature over the request's signed attributes, with the certificate chain.

    Accepted once: the document becomes `approved` (its new ETag is in the response's `ETag`)."""
    signing, directive = await service.submit_signature(
        session,
        request_id,
        body,
        actor=actor,
        pdf=request.app.state.pdf,
        workflow=request.app.state.workflow,
        now=request.app.state.clock(),
    )
    return _accepted(signing, directive)


@router.post(
    "/signing-requests/{request_id}/remote-authorization",
    response_model=SignatureAccepted,
    responses=problem_responses(
        BadRequestError,
        SigningRequestNotFoundError,
        NotTheSignerError,
        NotRemoteRequestError,
        SigningRequestClosedError,
        SigningRequestExpiredError,
        RemoteAuthorizationRefusedError,
        RemoteCredentialNotFoundError,
        RemoteSigningUnavailableError,
        SignerCertificateMismatchError,
        CertificateNotTrustedError,
        SignatureInvalidError,
        SigningFailedError,
        SignerRetiredError,
    ),
)
async def authorize_remote_signature(
    request_id: uuid.UUID, body: RemoteAuthorization, session: SessionDep, actor: CurrentPrincipal, request: Request
) -> Response:
    """`remote` mode: the signer's PIN and one-time password for their credential at the remote
    signing service (CSC API v2); the service signs this request and the document becomes `approved`."""
    signing, directive = await service.sign_remotely(
        session,
        request_id,
        body,
        actor=actor,
        pdf=request.app.state.pdf,
        workflow=request.app.state.workflow,
        now=request.app.state.clock(),
    )
    return _accepted(signing, directive)


def _accepted(signing: SigningRequest, directive: Directive) -> Response:
    assert directive.signed_sha256 is not None
    accepted = SignatureAccepted(
        id=signing.id,
        directive_id=directive.id,
        directive_status=directive.status,
        directive_version=directive.version,
        signed_sha256=directive.signed_sha256,
    )
    return Response(
        accepted.model_dump_json(), media_type="application/json", headers={"ETag": etag(directive.version)}
    )
