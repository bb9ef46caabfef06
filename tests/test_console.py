"""The console placeholder in a real browser (Debian's Chromium driven by Playwright): log in,
see your workspaces, log out — over a real uvicorn server on loopback."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from sadeem.config import Settings
from sadeem.db.engine import Database
from tests.conftest import PASSWORD, World, live_uvicorn
from tests.iceberg_tables import make_table

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs it)"),
]


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    with live_uvicorn(app) as base:
        yield base


def test_console_login_lists_workspaces_and_logs_out(
    live_server: str, world: World, tmp_path: Path, db: Database, settings: Settings
) -> None:
    from playwright.sync_api import expect, sync_playwright

    make_table(db, settings, ("alpha", "readings"), {"id": [1, 2, 3], "name": ["north", "south", "east"]})

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 700})
        page.goto(live_server + "/")
        expect(page.locator("#login-view")).to_be_visible()

        page.fill("#username", "ws_editor")
        page.fill("#password", "wrong password!")
        page.click("button[type=submit]")
        expect(page.locator("#login-error")).to_have_text("Invalid username or password.")

        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("#home-view")).to_be_visible()
        expect(page.locator("#who")).to_have_text("ws_editor (user)")
        rows = page.locator("#workspaces tr")
        expect(rows).to_have_count(1)  # alpha only: beta is not theirs
        expect(rows.first).to_contain_text("alpha")
        expect(rows.first).to_contain_text("editor")
        expect(page.locator("#ready")).to_have_text("ready")

        # Browse the workspace's tables and preview one.
        rows.first.click()
        tables = page.locator("#tables tr")
        expect(tables).to_have_count(1)
        expect(tables.first).to_contain_text("alpha.readings")
        tables.first.click()
        expect(page.locator("#table-name")).to_have_text("alpha.readings")
        expect(page.locator("#table-facts")).to_contain_text("3rows")
        expect(page.locator("#preview-head th")).to_have_text(["id", "name"])
        expect(page.locator("#preview-rows tr")).to_have_count(3)
        expect(page.locator("#preview-rows")).to_contain_text("south")
        if os.environ.get("SADEEM_SCREENSHOT_DIR"):
            page.screenshot(
                path=str(Path(os.environ["SADEEM_SCREENSHOT_DIR"]) / "console.png"), full_page=True
            )

        # The session cookie is HttpOnly: page scripts cannot read it, only the CSRF cookie.
        assert "sadeem_session" not in page.evaluate("document.cookie")
        page.click("#logout")  # a cookie-authenticated POST: succeeds only with the CSRF header
        expect(page.locator("#login-view")).to_be_visible()
        page.reload()
        expect(page.locator("#login-view")).to_be_visible()
        browser.close()
