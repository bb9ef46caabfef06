"""The console: the React app built from `console/` into `sadeem/console_dist/` (`make console`),
served by this process so that a browser needs nothing but Sadeem's origin.

- `/assets/<name>`: the build's fingerprinted files, cached for a year (their names change when their
  content does), with an ETag and, when the browser accepts it, gzip.
- Any other GET that no API route answers and that is not under an API prefix is a page of the
  console's own router: it gets `index.html` (never cached, so a new build is picked up at once).
  Under `/api/`, `/iceberg/` and the other server prefixes an unknown path stays a problem+json 404.
- Every page carries a Content-Security-Policy that keeps every request on this origin."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from sadeem.api.problems import register_page_fallback
from sadeem.auth.permissions import Public
from sadeem.core.errors import NotFound
from sadeem.db.session import UnitOfWorkRoute

DIST = Path(__file__).resolve().parent.parent / "console_dist"
# Paths that belong to the server, never to the console's router.
SERVER_PREFIXES = (
    "/api/",
    "/iceberg/",
    "/health",
    "/metrics",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/assets/",
)
_COMPRESSIBLE = (".js", ".css", ".svg", ".json", ".html", ".map", ".txt")
# Scripts and connections only to this origin; styles may be inline because the component library
# sets element styles and the toast library injects one stylesheet at run time.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
_NOT_BUILT = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Sadeem</title>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>The console is not built</h1><p>This Sadeem was installed without its web console. From a source
checkout run <code>make run</code> (it builds the console), or <code>make console</code> and restart.
The API is up: see <a href="/docs">/docs</a>.</p></body></html>"""

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)


@dataclass(frozen=True)
class _File:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


def _load(path: Path) -> _File:
    body = path.read_bytes()
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type in ("application/javascript", "application/json"):
        media_type += "; charset=utf-8"
    gzipped = gzip.compress(body, 9, mtime=0) if path.suffix in _COMPRESSIBLE and len(body) > 512 else None
    return _File(body, gzipped, media_type, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


@dataclass(frozen=True)
class Bundle:
    index: _File
    files: dict[str, _File]  # by path below the build's root: "assets/index-B8Pm95MI.js", "favicon.svg"


_loaded: tuple[int, Bundle] | None = None


def bundle() -> Bundle | None:
    """The build, read into memory (a few hundred kilobytes) and read again when `index.html`
    changes, so a `make console` while the server runs is served at once."""
    global _loaded
    try:
        built_at = (DIST / "index.html").stat().st_mtime_ns
    except OSError:
        return None
    if _loaded is None or _loaded[0] != built_at:
        files = {
            path.relative_to(DIST).as_posix(): _load(path)
            for path in DIST.rglob("*")
            if path.is_file() and path.name != "index.html"
        }
        _loaded = (built_at, Bundle(_load(DIST / "index.html"), files))
    return _loaded[1]


def _send(request: Request, file: _File, cache_control: str, extra: dict[str, str] | None = None) -> Response:
    headers = {"ETag": file.etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding", **(extra or {})}
    if request.headers.get("if-none-match") == file.etag:
        return Response(status_code=304, headers=headers)
    body = file.body
    if file.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        body, headers["Content-Encoding"] = file.gzipped, "gzip"
    return Response(body, media_type=file.media_type, headers=headers)


def _page(request: Request) -> Response:
    built = bundle()
    if built is None:
        return HTMLResponse(
            _NOT_BUILT, status_code=503, headers={**_SECURITY_HEADERS, "Cache-Control": "no-cache"}
        )
    return _send(request, built.index, "no-cache", _SECURITY_HEADERS)


@router.get("/")
def console(request: Request, _: Public) -> Response:
    return _page(request)


@router.get("/assets/{name:path}")
def asset(name: str, request: Request, _: Public) -> Response:
    built = bundle()
    file = built.files.get(f"assets/{name}") if built else None
    if file is None:  # only what the build wrote: no path reaches the file system
        raise NotFound(f"No console asset '{name}'.")
    return _send(request, file, "public, max-age=31536000, immutable")


@router.get("/favicon.svg")
def favicon(request: Request, _: Public) -> Response:
    built = bundle()
    file = built.files.get("favicon.svg") if built else None
    if file is None:
        raise NotFound("No favicon.")
    return _send(request, file, "public, max-age=86400")


def console_page_fallback(request: Request) -> Response | None:
    if request.url.path.startswith(SERVER_PREFIXES):
        return None
    return _page(request)


register_page_fallback(console_page_fallback)
