"""Interactive API docs that work on a network without internet (an air-gapped bank or utility):
Swagger UI at `/docs` and ReDoc at `/redoc`, with their scripts, styles and icon served by Sadeem
from the `fastapi-offline` package instead of a CDN.

Each page is rendered once and served with a Content-Security-Policy that keeps every request on
Sadeem's origin: a script may come only from it or be the page's own inline script (by hash), and
nothing else is fetched from elsewhere (ReDoc's bundle still names a logo on Redocly's CDN; the
policy keeps the browser from asking for it)."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from sadeem.auth.permissions import Public
from sadeem.core.errors import NotFound
from sadeem.db.session import UnitOfWorkRoute

OPENAPI_URL = "/openapi.json"
ASSETS = "/docs/assets"
TITLE = "Sadeem API"
_STATIC = files("fastapi_offline") / "static"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
_ASSET_NAMES = frozenset({"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"})

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)


def _same_origin_only(page: HTMLResponse) -> HTMLResponse:
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(bytes(page.body).decode())
    )
    page.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'"
    )
    return page


_SWAGGER_PAGE = _same_origin_only(
    get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=TITLE,
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
    )
)
_REDOC_PAGE = _same_origin_only(
    get_redoc_html(
        openapi_url=OPENAPI_URL,
        title=TITLE,
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    )
)


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(_: Public) -> HTMLResponse:
    return _SWAGGER_PAGE


@router.get("/redoc", response_class=HTMLResponse)
def redoc(_: Public) -> HTMLResponse:
    return _REDOC_PAGE


@router.get(ASSETS + "/{name}")
def docs_asset(name: str, _: Public) -> FileResponse:
    if name not in _ASSET_NAMES:  # the four files the pages name, nothing else of the package
        raise NotFound(f"No documentation asset '{name}'.")
    # The package's version is pinned, so a day's caching is safe.
    return FileResponse(str(_STATIC / name), headers={"Cache-Control": "public, max-age=86400"})
