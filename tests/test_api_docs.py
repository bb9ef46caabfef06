"""The interactive API docs work on a network without internet: `/docs` (Swagger UI) and `/redoc`
load every script, style and icon from Sadeem itself, and render the whole API in a real browser
whose every request to another origin is refused. Database-independent: runs once."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.browser import chromium, needs_chromium
from tests.conftest import live_uvicorn, reference_app

if TYPE_CHECKING:
    from playwright.sync_api import Page

# What a page loads: <script src>, <link href>, and the spec URL (Swagger: `url:`; ReDoc: `spec-url`).
REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url\s*:\s*["']([^"']+)["']""")
ASSET_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.fixture(scope="module")
def docs_app() -> Iterator[FastAPI]:
    with reference_app() as app:
        yield app


def references(html: str) -> list[str]:
    return [a or b for a, b in REFERENCE.findall(html)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page_loads_everything_from_sadeem(docs_app: FastAPI, page: str) -> None:
    client = TestClient(docs_app)
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    urls = references(response.text)
    assert "/openapi.json" in urls
    assert len(urls) >= 3, urls  # the script, the icon, the spec (and Swagger's stylesheet)
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"{page} loads {url} from elsewhere"
        asset = client.get(url)
        assert asset.status_code == 200, url
        suffix = Path(url).suffix
        if suffix in ASSET_TYPES:
            assert ASSET_TYPES[suffix] in asset.headers["content-type"], (url, asset.headers)
            assert len(asset.content) > 1000, url
    assert "fonts.googleapis" not in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "unsafe-eval" not in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


def test_unknown_docs_asset_is_404(docs_app: FastAPI) -> None:
    assert TestClient(docs_app).get("/docs/assets/%2e%2e/%2e%2e/pyproject.toml").status_code == 404
    assert TestClient(docs_app).get("/docs/assets/nothing.js").status_code == 404


@pytest.mark.integration
@needs_chromium
def test_docs_render_offline_in_a_browser(docs_app: FastAPI) -> None:
    from playwright.sync_api import expect

    operations = sum(len(methods) for methods in docs_app.openapi()["paths"].values())
    with live_uvicorn(docs_app, lifespan="off") as base, chromium() as browser:
        elsewhere: list[str] = []
        refused: list[str] = []  # what the Content-Security-Policy blocked (besides ReDoc's CDN logo)

        def offline(page: Page) -> None:
            def route(route, request) -> None:  # type: ignore[no-untyped-def]
                if request.url.startswith(base + "/"):
                    route.continue_()
                else:
                    elsewhere.append(request.url)
                    route.abort("internetdisconnected")

            page.route("**/*", route)
            page.on(
                "console",
                lambda message: (
                    "Content Security Policy" in message.text
                    and "cdn.redoc.ly" not in message.text
                    and refused.append(message.text)
                ),
            )

        page = browser.new_page(viewport={"width": 1200, "height": 800})
        offline(page)
        page.goto(base + "/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Sadeem")
        expect(page.locator(".opblock")).to_have_count(operations, timeout=20_000)
        expect(page.locator("[id^='operations-runs-']").first).to_be_visible()
        save(page, "api-docs-swagger.png")

        page = browser.new_page(viewport={"width": 1200, "height": 800})
        offline(page)
        page.goto(base + "/redoc")
        expect(page.locator("h1")).to_contain_text("Sadeem", timeout=20_000)
        expect(page.locator("[data-section-id^='tag/']").first).to_be_visible()
        assert page.locator("[data-section-id^='operation/']").count() == operations
        save(page, "api-docs-redoc.png")

    assert elsewhere == [], f"the docs asked other origins for {elsewhere}"
    assert refused == [], f"the page broke its own policy: {refused}"


def save(page: Page, name: str) -> None:
    if directory := os.environ.get("SADEEM_SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(directory) / name))
