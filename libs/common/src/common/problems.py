"""RFC 9457 problem details for every error the services return.

Services raise subclasses of :class:`ProblemError`; one exception handler renders them as
``application/problem+json``. Validation errors, HTTP errors and unexpected exceptions are rendered
the same way, so a client never has to parse two error shapes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    # Imported where a response is built: the errors themselves are raised by services and command
    # lines that do not import FastAPI.
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"

_type_base = {"value": "https://problems.invalid/"}
"""Where the ``type`` URIs of this process's problems start; each service sets its own at start-up
(:func:`common.app.create_service_app`'s ``problem_type_base``): ``common`` has no deployment's."""


def use_problem_type_base(base: str) -> None:
    """Start every problem ``type`` URI of this process with ``base`` (e.g. ``https://problems.example.org/``)."""
    if not base.endswith("/"):
        raise ValueError("the problem type base must end with '/'")
    _type_base["value"] = base


def problem_type(slug: str) -> str:
    """The ``type`` URI of the problem ``slug`` (``validation`` → ``<base>validation``)."""
    return _type_base["value"] + slug


logger = logging.getLogger(__name__)


def _slug(name: str) -> str:
    name = name.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class Problem(BaseModel):
    """The JSON body of a problem response (RFC 9457)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


class ProblemError(Exception):
    """Base of every error a service turns into a problem response.

    Subclasses set ``status`` and ``title``; the ``type`` URI is derived from the class name
    (``DirectiveNotFoundError`` → ``…/directive-not-found``). Extra keyword arguments become
    extension members of the body.
    """

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    default_headers: ClassVar[Mapping[str, str] | None] = None

    def __init__(self, detail: str | None = None, *, headers: Mapping[str, str] | None = None, **extra: Any):
        super().__init__(detail or self.title)
        self.detail = detail
        self.extra = extra
        self.headers: Mapping[str, str] | None = headers if headers is not None else self.default_headers

    @classmethod
    def type_uri(cls) -> str:
        """The stable ``type`` URI of this problem."""
        return problem_type(_slug(cls.__name__))

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """The problem body as a JSON-ready dict."""
        body: dict[str, Any] = {"type": self.type_uri(), "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class BadRequestError(ProblemError):
    status = 400
    title = "Bad request"


class NotAuthenticatedError(ProblemError):
    status = 401
    title = "Authentication required"
    default_headers: ClassVar[Mapping[str, str] | None] = {"WWW-Authenticate": "Bearer"}


class ForbiddenError(ProblemError):
    status = 403
    title = "Forbidden"


class NotFoundError(ProblemError):
    status = 404
    title = "Not found"


class ConflictError(ProblemError):
    status = 409
    title = "Conflict"


class PreconditionFailedError(ProblemError):
    status = 412
    title = "Precondition failed"


class PayloadTooLargeError(ProblemError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaTypeError(ProblemError):
    status = 415
    title = "Unsupported media type"


class UnprocessableError(ProblemError):
    status = 422
    title = "Unprocessable content"


class PreconditionRequiredError(ProblemError):
    status = 428
    title = "Precondition required"


class ServiceUnavailableError(ProblemError):
    status = 503
    title = "Service unavailable"
    default_headers: ClassVar[Mapping[str, str] | None] = {"Retry-After": "5"}


def problem_response(body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> JSONResponse:
    """A JSONResponse with the problem media type."""
    from fastapi.responses import JSONResponse

    return JSONResponse(dict(body), status_code=int(body["status"]), headers=headers, media_type=PROBLEM_MEDIA_TYPE)


_HTTP_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
}


def _validation_errors(errors: Iterable[Any]) -> list[dict[str, Any]]:
    out = []
    for error in errors:
        out.append(
            {
                "location": [str(part) for part in error.get("loc", ())],
                "message": str(error.get("msg", "")),
                "code": str(error.get("type", "")),
            }
        )
    return out


def internal_error_response(instance: str) -> JSONResponse:
    """The 500 problem of an unexpected error: nothing of the error itself reaches the client
    (log it before answering)."""
    body = {
        "type": problem_type("internal"),
        "title": "Internal server error",
        "status": 500,
        "instance": instance,
    }
    return problem_response(body)


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error raised in ``app`` as ``application/problem+json``."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(exc.to_problem(request.url.path), exc.headers)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        body = {
            "type": problem_type("validation"),
            "title": "Unprocessable content",
            "status": 422,
            "detail": "The request does not match the schema.",
            "instance": request.url.path,
            "errors": _validation_errors(exc.errors()),
        }
        return problem_response(body)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        title = _HTTP_TITLES.get(exc.status_code, "Error")
        body: dict[str, Any] = {
            "type": problem_type(_slug(title.title().replace(" ", ""))),
            "title": title,
            "status": exc.status_code,
            "instance": request.url.path,
        }
        if exc.detail and str(exc.detail) != title:
            body["detail"] = str(exc.detail)
        return problem_response(body, getattr(exc, "headers", None))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return internal_error_response(request.url.path)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def problem_responses(*errors: type[ProblemError], validation: bool = True) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given problems (plus 401 and, by default, 422)."""
    by_status: dict[int, list[type[ProblemError]]] = {}
    all_errors: list[type[ProblemError]] = [NotAuthenticatedError, *errors]
    for error in all_errors:
        by_status.setdefault(error.status, []).append(error)
    if validation:
        by_status.setdefault(422, []).append(UnprocessableError)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, classes in sorted(by_status.items()):
        titles = sorted({c.title for c in classes})
        responses[status] = {
            "description": " / ".join(titles),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": Problem.model_json_schema()}},
        }
    return responses
