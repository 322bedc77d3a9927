"""``/docs`` without a CDN: Swagger UI's files come from the ``swagger-ui-bundle`` package.

FastAPI's own ``/docs`` page loads Swagger UI from a public CDN, so on an offline government network
it stays blank. :func:`install_offline_docs` keeps the page at the same URL but points it at
``/docs/assets/…``, served from the installed package.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import swagger_ui_bundle  # type: ignore[import-untyped]
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

ASSETS = Path(swagger_ui_bundle.swagger_ui_path)
SERVED = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
ASSETS_PATH = "/docs/assets"


def install_offline_docs(app: FastAPI) -> None:
    """Replace the CDN-based ``/docs`` page with one whose scripts and styles this app serves."""
    if app.docs_url is None or app.openapi_url is None:
        return
    docs_url, openapi_url, title = app.docs_url, app.openapi_url, app.title
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
            oauth2_redirect_url=root + oauth2_redirect_url if oauth2_redirect_url else None,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    def asset(name: str) -> Callable[[Request], Awaitable[Response]]:
        async def serve(_: Request) -> Response:
            return FileResponse(
                ASSETS / name, media_type=SERVED[name], headers={"Cache-Control": "public, max-age=86400"}
            )

        return serve

    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) != docs_url]
    app.router.routes.append(Route(docs_url, swagger_ui, methods=["GET"], include_in_schema=False))
    for name in SERVED:  # one route per file: nothing else of the package is reachable
        app.router.routes.append(Route(f"{ASSETS_PATH}/{name}", asset(name), methods=["GET"], include_in_schema=False))
