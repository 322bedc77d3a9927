"""The remote signing service's client: Cloud Signature Consortium API v2 through pyHanko's CSC signer.

The credential is the one whose certificate is the one the directory names for the signer; the
signer's PIN and one-time password authorise exactly the hash of this request's signed attributes
(``credentials/authorize``), and ``signatures/signHash`` signs it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

import aiohttp
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.csc_signer import (
    CSCAuthorizationInfo,
    CSCAuthorizationManager,
    CSCCredentialInfo,
    CSCServiceSessionInfo,
    CSCSigner,
    fetch_certs_in_csc_credential,
)

from common.http_tracing import aiohttp_trace_configs

_TIMEOUT = aiohttp.ClientTimeout(total=30)


class RemoteServiceError(Exception):
    """The remote signing service cannot be reached or answers nonsense."""


class RemoteCredentialMissingError(Exception):
    """No credential of the service holds the directory's certificate for the signer."""


class RemoteAuthorizationError(Exception):
    """The service refused the PIN or the one-time password."""


@dataclass(frozen=True)
class RemoteSignature:
    signature: bytes
    certificate: bytes
    chain: tuple[bytes, ...]


class _PinOtpAuthorization(CSCAuthorizationManager):
    def __init__(
        self,
        session: aiohttp.ClientSession,
        info: CSCServiceSessionInfo,
        credential: CSCCredentialInfo,
        *,
        pin: str,
        otp: str,
    ) -> None:
        super().__init__(info, credential)
        self._session, self._pin, self._otp = session, pin, otp

    async def authorize_signature(self, hash_b64s: list[str]) -> CSCAuthorizationInfo:
        request = self.format_csc_auth_request(pin=self._pin, otp=self._otp, hash_b64s=hash_b64s)
        url = self.csc_session_info.endpoint_url("credentials/authorize")  # type: ignore[no-untyped-call]
        async with self._session.post(url, json=request, headers=self.auth_headers, timeout=_TIMEOUT) as response:
            data: Any = await response.json(content_type=None)
            if (
                response.status == 400
                and isinstance(data, dict)
                and data.get("error") in ("invalid_pin", "invalid_otp")
            ):
                raise RemoteAuthorizationError(str(data.get("error_description") or data["error"]))
            if response.status != 200:
                raise RemoteServiceError(f"credentials/authorize answered {response.status}")
        return self.parse_csc_auth_response(data)


async def sign(
    *, service_url: str, token: str | None, certificate_sha256: str, data: bytes, pin: str, otp: str
) -> RemoteSignature:
    """Sign ``data`` (the CMS signed attributes) with the signer's credential at the CSC service."""
    try:
        async with aiohttp.ClientSession(trace_configs=aiohttp_trace_configs()) as session:
            base = CSCServiceSessionInfo(service_url.rstrip("/"), "", oauth_token=token, api_ver="v2")
            async with session.post(
                base.endpoint_url("credentials/list"),  # type: ignore[no-untyped-call]
                json={},
                headers=base.auth_headers,
                timeout=_TIMEOUT,
            ) as response:
                if response.status != 200:
                    raise RemoteServiceError(f"credentials/list answered {response.status}")
                listed: Any = await response.json(content_type=None)
            for credential_id in listed.get("credentialIDs") or []:
                info = CSCServiceSessionInfo(base.service_url, str(credential_id), oauth_token=token, api_ver="v2")
                credential = await fetch_certs_in_csc_credential(session, info)
                if hashlib.sha256(credential.signing_cert.dump()).hexdigest() != certificate_sha256:
                    continue
                manager = _PinOtpAuthorization(session, info, credential, pin=pin, otp=otp)
                signer = CSCSigner(session, manager)
                signature = await signer.async_sign_raw(data, "sha256")
                chain = tuple(c.dump() for c in credential.chain)
                return RemoteSignature(signature, credential.signing_cert.dump(), chain)
    except RemoteAuthorizationError:
        raise
    except (aiohttp.ClientError, SigningError, TimeoutError, ValueError, KeyError) as exc:
        raise RemoteServiceError(f"the remote signing service failed: {exc}") from exc
    raise RemoteCredentialMissingError(
        "the remote signing service holds no credential with the directory's certificate"
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
