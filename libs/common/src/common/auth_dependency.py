"""The FastAPI dependency that authenticates a request (also importable from :mod:`common.auth`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from common.auth import Principal, TokenVerifier
from common.problems import NotAuthenticatedError

__all__ = ["CurrentPrincipal", "current_principal"]

_bearer = HTTPBearer(auto_error=False, description="A JWT issued by the identity provider (or `mint-token`).")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the caller, from the ``Authorization: Bearer`` header."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise NotAuthenticatedError("a bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
