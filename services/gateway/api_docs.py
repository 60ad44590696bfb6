"""The API reference pages: Swagger UI at /docs, ReDoc at /redoc, both working with no internet.

A government intranet reaches no CDN, so the pages' scripts, styles and icon are vendored under
static/docs (its README.txt says from where and how to update them) and served from
/docs/assets/. Each file's path carries its package's version, so browsers may keep it a year.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse

from shared.errors import NotFound

ASSETS_DIR = Path(__file__).parent / "static" / "docs"
ASSETS_URL = "/docs/assets"
SWAGGER_UI = "swagger-ui-5.36.0"
REDOC = "redoc-2.5.4"
TITLE = "SciPlan API"
OPENAPI_URL = "/openapi.json"

SWAGGER_JS = f"{SWAGGER_UI}/swagger-ui-bundle.js"
SWAGGER_CSS = f"{SWAGGER_UI}/swagger-ui.css"
FAVICON = f"{SWAGGER_UI}/favicon-32x32.png"
REDOC_JS = f"{REDOC}/redoc.standalone.js"

# Only the files the pages load are served, each with its type stated: every answer of the
# gateway says nosniff, and a browser runs no script served under a guessed type.
MEDIA_TYPES = {
    SWAGGER_JS: "text/javascript",
    SWAGGER_CSS: "text/css",
    FAVICON: "image/png",
    REDOC_JS: "text/javascript",
}
CACHE_CONTROL = "public, max-age=31536000, immutable"


def asset_url(name: str) -> str:
    return f"{ASSETS_URL}/{name}"


async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=TITLE,
        swagger_js_url=asset_url(SWAGGER_JS),
        swagger_css_url=asset_url(SWAGGER_CSS),
        swagger_favicon_url=asset_url(FAVICON),
        # No badge that sends the document to validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )


async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(
        openapi_url=OPENAPI_URL,
        title=TITLE,
        redoc_js_url=asset_url(REDOC_JS),
        redoc_favicon_url=asset_url(FAVICON),
        with_google_fonts=False,
    )


async def asset(request: Request) -> FileResponse:
    name: str = request.path_params["name"]
    media_type = MEDIA_TYPES.get(name)
    if media_type is None:
        raise NotFound()
    return FileResponse(
        ASSETS_DIR / name, media_type=media_type, headers={"Cache-Control": CACHE_CONTROL}
    )
