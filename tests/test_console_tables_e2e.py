# ruff: noqa: F811 (the fixtures come from test_console_e2e.py and are named as parameters)
"""The catalog explorer end to end: a real `sadeem up` with the demo workspace (its table
`demo.meter_readings`) driven by Debian's Chromium. What the classic page's table browser did (the
table list, a table's facts and preview rows) and more: search in the URL, the table page's schema,
snapshots with ids exactly as the API gives them, files, the preview, the dataset edited in place,
"Query this table"; axe in light and dark with a screenshot of each view."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.browser import needs_chromium
from tests.test_console_e2e import (  # noqa: F401 (fixtures)
    BLOCKING_IMPACTS,
    DIST,
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
    sadeem_up,
    screenshots,
    settle,
    sign_in,
    viewer,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = [pytest.mark.integration, needs_chromium]

WS, NS, TABLE = "demo", "demo", "meter_readings"
TABLE_URL = f"/workspaces/{WS}/tables/{NS}/{TABLE}"
API = f"/api/v1/workspaces/{WS}/catalog/tables/{NS}/{TABLE}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`sadeem up` with the demo workspace and its data (the shared stack runs without the demo)."""
    if not (DIST / "index.html").is_file():
        pytest.fail("the console is not built: run `make console` (`make test` builds it first)")
    root = tmp_path_factory.mktemp("console-tables-e2e")
    extra = {"SADEEM_DEMO": "true", "SADEEM_SPARK_LOCAL_ENABLED": "false"}
    with sadeem_up(root / "home", extra) as (base, log):
        yield Stack(base, root / "home", log, None, None)


def test_list_search_and_open_a_table(
    stack: Stack, admin_api: httpx.Client, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(context)
    page.goto(f"/workspaces/{WS}")
    page.get_by_role("navigation").get_by_role("link", name="Tables").click()
    expect(heading(page, "Tables")).to_be_visible()
    # The namespace tree with its counts, the tables in it.
    tree = page.get_by_role("navigation", name="Namespaces")
    listed = admin_api.get(f"/api/v1/workspaces/{WS}/catalog/tables").json()["items"]
    expect(tree.get_by_role("button", name=re.compile("All namespaces"))).to_contain_text(str(len(listed)))
    expect(page.get_by_role("link", name=TABLE)).to_be_visible()
    expect(page.get_by_role("link", name="daily_usage")).to_be_visible()

    # Search: in the URL, kept on reload.
    page.get_by_role("searchbox", name="Search tables by name").fill("meter")
    expect(page.get_by_role("link", name="daily_usage")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"\?q=meter"))
    page.reload()
    expect(page.get_by_role("searchbox", name="Search tables by name")).to_have_value("meter")
    expect(page.get_by_role("link", name="daily_usage")).to_have_count(0)

    page.get_by_role("link", name=TABLE).click()
    expect(heading(page, f"{NS}.{TABLE}")).to_be_visible()
    detail = admin_api.get(API).json()
    rows = f"{detail['totals']['row_count']:,}"
    expect(page.get_by_text(rows, exact=True)).to_be_visible()
    expect(page.get_by_text(detail["location"])).to_be_visible()
    query = page.get_by_role("link", name="Query this table")
    href = urlparse(query.get_attribute("href") or "")
    assert href.path == f"/workspaces/{WS}/sql"
    assert parse_qs(href.query)["sql"] == [f"SELECT * FROM {NS}.{TABLE} LIMIT 100"]  # noqa: S608

    # Schema: each column with its field id and type.
    tabs = page.get_by_role("navigation", name="Table sections")
    tabs.get_by_role("link", name="Schema").click()
    expect(page).to_have_url(re.compile(r"tab=schema"))
    schema = page.get_by_role("table", name="Schema")
    for field in detail["schema"]["fields"]:
        row = schema.get_by_role("row").filter(has_text=re.compile(rf"^{field['id']}\s*{field['name']}"))
        expect(row).to_contain_text(field["type"])

    # Snapshots: the ids exactly as the API gives them (64-bit; no rounding).
    tabs.get_by_role("link", name="Snapshots").click()
    expected = [s["snapshot_id"] for s in reversed(detail["snapshots"])]
    expect(page.get_by_test_id("snapshot-id")).to_have_text(expected)

    # Preview: the API's columns and rows, read at the snapshot picked.
    page.get_by_role("link", name=f"Preview the rows of snapshot {expected[0]}").click()
    # The id is in the address as its digits (a deep link to this snapshot's rows).
    expect(page).to_have_url(re.compile(rf"[?&]snapshot={expected[0]}(&|$)"))
    preview = admin_api.get(f"{API}/preview", params={"limit": 100}).json()
    grid = page.get_by_role("table", name="Preview")
    expect(grid.get_by_test_id("preview-column")).to_have_text([c["name"] for c in preview["columns"]])
    expect(grid.locator("tbody tr")).to_have_count(len(preview["rows"]))
    expect(grid.locator("tbody tr").first).to_contain_text(str(preview["rows"][0][0]))
    expect(page.get_by_test_id("preview-snapshot-id")).to_have_text(expected[0])

    # Files: the current snapshot's data files.
    tabs.get_by_role("link", name="Files").click()
    files = admin_api.get(f"{API}/files").json()
    table = page.get_by_role("table", name="Files")
    expect(table.locator("tbody tr")).to_have_count(len(files["items"]))
    expect(table).to_contain_text(files["items"][0]["path"])


def test_an_editor_registers_and_edits_the_dataset_in_place(
    stack: Stack, admin_api: httpx.Client, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    dataset_url = f"/api/v1/workspaces/{WS}/datasets/{NS}/{TABLE}"
    if admin_api.get(dataset_url).status_code == 200:  # a rerun on the same stack
        assert admin_api.delete(dataset_url).status_code in (200, 204)
    sign_in(context)
    page.goto(TABLE_URL)
    expect(page.get_by_text("This table is not registered as a dataset")).to_be_visible()
    page.get_by_role("button", name="Register as a dataset").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Owner")).to_have_value("admin")  # the one who registers owns it
    dialog.get_by_label("Description").fill("Smart meter readings, every 15 minutes.")
    dialog.get_by_label("Tags").fill("iot, energy")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Smart meter readings, every 15 minutes.").first).to_be_visible()
    dataset = admin_api.get(dataset_url).json()
    assert dataset["description"] == "Smart meter readings, every 15 minutes."
    assert sorted(dataset["tags"]) == ["energy", "iot"]
    # The list shows the tags, and finds the table by its tag (in the URL).
    page.goto(f"/workspaces/{WS}/tables")
    expect(page.get_by_role("link", name=TABLE).locator("xpath=ancestor::tr")).to_contain_text("energy")
    page.get_by_role("searchbox", name="Tag").fill("energy")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"tag=energy"))
    expect(page.get_by_role("link", name="daily_usage")).to_have_count(0)
    expect(page.get_by_role("link", name=TABLE)).to_be_visible()


def run_sql(api: httpx.Client, sql: str) -> None:
    ran = api.post(f"/api/v1/workspaces/{WS}/statements", json={"sql": sql, "wait_timeout": 50})
    assert ran.status_code in (200, 201) and ran.json()["state"] == "SUCCEEDED", ran.text


def test_time_travel_shows_the_old_rows(
    stack: Stack, admin_api: httpx.Client, context: BrowserContext, page: Page
) -> None:
    """A table written twice: its first snapshot's rows are there to read, by the snapshot's
    exact id (picked from the list, or from a deep link)."""
    from playwright.sync_api import expect

    run_sql(admin_api, "CREATE TABLE travel AS SELECT 1 AS v, 'old' AS label")
    run_sql(admin_api, "INSERT INTO travel VALUES (2, 'new')")
    snapshots = admin_api.get(f"/api/v1/workspaces/{WS}/catalog/tables/{NS}/travel").json()["snapshots"]
    first, second = (s["snapshot_id"] for s in snapshots)
    sign_in(context)
    page.goto(f"/workspaces/{WS}/tables/{NS}/travel?tab=snapshots")
    expect(page.get_by_test_id("snapshot-id")).to_have_text([second, first])
    page.get_by_role("link", name=f"Preview the rows of snapshot {first}").click()
    grid = page.get_by_role("table", name="Preview")
    expect(grid.locator("tbody tr")).to_have_count(1)
    expect(grid.locator("tbody tr")).to_contain_text("old")
    expect(page.get_by_test_id("preview-snapshot-id")).to_have_text(first)
    # Back to the current snapshot: both rows.
    page.get_by_label("Snapshot").select_option("")
    expect(grid.locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("preview-snapshot-id")).to_have_text(second)
    # A deep link with the bare id reads exactly that snapshot, after a reload too.
    page.goto(f"/workspaces/{WS}/tables/{NS}/travel?tab=preview&snapshot={first}")
    expect(page.get_by_test_id("preview-snapshot-id")).to_have_text(first)
    expect(page.get_by_role("table", name="Preview").locator("tbody tr")).to_have_count(1)


def test_a_viewer_reads_tables_without_write_buttons(
    stack: Stack, admin_api: httpx.Client, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    viewer(admin_api)
    members = admin_api.get(f"/api/v1/workspaces/{WS}/members").json()["items"]
    if not any(m["username"] == VIEWER for m in members):
        added = admin_api.post(
            f"/api/v1/workspaces/{WS}/members", json={"username": VIEWER, "role": "viewer"}
        )
        assert added.status_code in (200, 201), added.text
    sign_in(context, VIEWER, VIEWER_PASSWORD)
    page.goto(f"/workspaces/{WS}/tables/{NS}/daily_usage")
    expect(heading(page, f"{NS}.daily_usage")).to_be_visible()
    expect(page.get_by_text("This table is not registered as a dataset")).to_be_visible()
    expect(page.get_by_role("button", name="Register as a dataset")).to_have_count(0)
    if admin_api.get(f"/api/v1/workspaces/{WS}/datasets/{NS}/{TABLE}").status_code == 404:
        registered = admin_api.post(
            f"/api/v1/workspaces/{WS}/datasets", json={"namespace": NS, "table": TABLE}
        )
        assert registered.status_code in (200, 201), registered.text
    page.goto(TABLE_URL)
    expect(page.get_by_test_id("dataset-owner")).to_have_text("admin")
    expect(page.get_by_role("button", name="Edit dataset")).to_have_count(0)
    expect(page.get_by_role("link", name="Query this table")).to_be_visible()


VIEWS = {
    "list": f"/workspaces/{WS}/tables",
    "overview": TABLE_URL,
    "schema": f"{TABLE_URL}?tab=schema",
    "snapshots": f"{TABLE_URL}?tab=snapshots",
    "layout": f"{TABLE_URL}?tab=layout",
    "files": f"{TABLE_URL}?tab=files",
    "preview": f"{TABLE_URL}?tab=preview",
}


@pytest.mark.parametrize("view", list(VIEWS))
def test_table_pages_are_accessible(stack: Stack, browser: Browser, screenshots: Path, view: str) -> None:
    context = new_context(stack, browser, bypass_csp=True)
    try:
        page = context.new_page()
        sign_in(context)
        page.goto(VIEWS[view])
        settle(page)
        found = []
        for theme in ("light", "dark"):
            page.evaluate(
                "(dark) => document.documentElement.classList.toggle('dark', dark)", theme == "dark"
            )
            page.wait_for_timeout(400)  # colour transitions (150 ms) end
            suffix = "" if theme == "light" else "-dark"
            page.screenshot(path=str(screenshots / f"console-tables-{view}{suffix}.png"))
            blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
            if blocking:
                found.append(f"axe on {view} ({theme}):\n{describe_violations(blocking)}")
        assert not found, "\n".join(found)
    finally:
        context.close()


def axe_light_and_dark(page: Page, screenshots: Path, name: str) -> list[str]:
    """Blocking axe violations in both themes (with a screenshot of each), as text."""
    found = []
    for theme in ("light", "dark"):
        page.evaluate("(dark) => document.documentElement.classList.toggle('dark', dark)", theme == "dark")
        page.wait_for_timeout(400)  # colour transitions (150 ms) end
        page.screenshot(path=str(screenshots / f"console-{name}{'' if theme == 'light' else '-dark'}.png"))
        blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
        if blocking:
            found.append(f"axe on {name} ({theme}):\n{describe_violations(blocking)}")
    page.evaluate("() => document.documentElement.classList.remove('dark')")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        found.append(f"{name} is {overflow} px wider than a 1280 px window")
    return found


def csv_file(name: str, text: str) -> dict[str, object]:
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}


def test_upload_a_csv_into_a_new_table_then_append(
    stack: Stack, admin_api: httpx.Client, browser: Browser, screenshots: Path
) -> None:
    """By clicking: a CSV into a new table (schema and rows checked first), its snapshot and rows
    on the table page; then a larger file appended with the upload's progress seen on the way (the
    browser's upload throttled), and a file whose columns do not fit, refused by name."""
    from playwright.sync_api import expect

    table_api = f"/api/v1/workspaces/{WS}/catalog/tables/{NS}/city_readings"
    context = new_context(stack, browser, bypass_csp=True)
    found: list[str] = []
    try:
        page = context.new_page()
        sign_in(context)
        page.goto(f"/workspaces/{WS}/tables")
        page.get_by_role("link", name="Upload data").click()
        expect(heading(page, "Upload data")).to_be_visible()
        found += axe_light_and_dark(page, screenshots, "upload")
        first = (
            "city,reading_at,kwh\n"
            "Riyadh,2026-12-01 10:00:00,1.5\nJeddah,2026-12-01 11:00:00,2.25\nDammam,,3\n"
        )
        page.get_by_label("File").set_input_files(csv_file("City Readings.csv", first))
        expect(page.get_by_label("Table name")).to_have_value("city_readings")
        expect(page.get_by_label("Namespace")).to_have_value(NS)
        page.get_by_role("button", name="Check the file").click()

        # The inferred schema and the first rows, before anything is written
        expect(page.get_by_test_id("upload-summary")).to_have_text(f"Creates {NS}.city_readings with 3 rows.")
        schema = page.get_by_role("table", name="Schema")
        expect(schema.locator("tbody tr")).to_have_text(
            [
                re.compile(r"city\s*string\s*string"),
                re.compile(r"reading_at\s*timestamp\s*timestamp"),
                re.compile(r"kwh\s*double\s*double"),
            ]
        )
        sample = page.get_by_role("table", name="First rows of the file (scrollable)")
        expect(sample.locator("tbody tr")).to_have_count(3)
        expect(sample.locator("tbody tr").first).to_contain_text("Riyadh")
        assert admin_api.get(table_api).status_code == 404  # the check wrote nothing
        found += axe_light_and_dark(page, screenshots, "upload-preview")

        page.get_by_role("button", name="Upload 3 rows").click()
        done = page.get_by_test_id("upload-done")
        expect(done).to_contain_text(f"3 rows committed to {NS}.city_readings as snapshot ")
        created = admin_api.get(table_api).json()
        snapshot = created["current_snapshot_id"]
        expect(done).to_contain_text(snapshot)  # the exact 64-bit id
        found += axe_light_and_dark(page, screenshots, "upload-done")

        # The snapshot's rows on the table page, the snapshot in its address
        page.get_by_role("link", name="See the snapshot's rows").click()
        expect(heading(page, f"{NS}.city_readings")).to_be_visible()
        expect(page).to_have_url(re.compile(rf"[?&]snapshot={snapshot}(&|$)"))
        grid = page.get_by_role("table", name="Preview")
        expect(grid.locator("tbody tr")).to_have_count(3)
        expect(grid).to_contain_text("Jeddah")

        # Append from the table's own page: the table is chosen already
        page.get_by_role("link", name="Upload data").click()
        expect(page.get_by_role("radio", name="An existing table")).to_be_checked()
        expect(page.get_by_label("Table", exact=True)).to_have_value("city_readings")
        rows = 120_000
        more = "city,reading_at,kwh\n" + "".join(
            f"Abha,2026-12-02 {i % 24:02d}:00:00,{i % 97}.5\n" for i in range(rows)
        )
        page.get_by_label("File").set_input_files(csv_file("more.csv", more))
        # A slow link (about 1 MB/s up): the bar moves while the check sends the file
        cdp = context.new_cdp_session(page)
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 1_000_000},
        )
        page.get_by_role("button", name="Check the file").click()
        bar = page.get_by_role("progressbar", name="Upload progress")
        expect(bar).to_be_visible()
        page.wait_for_function(
            """() => {
                const bar = document.querySelector('[role=progressbar]');
                const now = bar ? Number(bar.getAttribute('aria-valuenow')) : 0;
                return now > 0 && now < 100;
            }""",
            timeout=30_000,
        )
        expect(page.get_by_text(re.compile(r"^Sending \d+% \("))).to_be_visible()
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        expect(page.get_by_test_id("upload-summary")).to_have_text(
            f"Appends {rows:,} rows to {NS}.city_readings.", timeout=60_000
        )
        # The commit names the file the check kept on the server: no second copy goes out
        with page.expect_request(re.compile(r"/ingest/.*[?&]upload=")) as commit:
            page.get_by_role("button", name=f"Upload {rows:,} rows").click()
        assert commit.value.post_data_buffer in (None, b"")
        expect(page.get_by_test_id("upload-done")).to_contain_text(
            f"{rows:,} rows committed to {NS}.city_readings", timeout=60_000
        )
        appended = admin_api.get(table_api).json()
        assert len(appended["snapshots"]) == 2
        assert appended["totals"]["row_count"] == rows + 3
        page.get_by_role("link", name="See the snapshot's rows").click()
        expect(page).to_have_url(re.compile(rf"[?&]snapshot={appended['current_snapshot_id']}(&|$)"))
        expect(page.get_by_role("table", name="Preview").locator("tbody tr")).to_have_count(100)

        # Columns that do not fit: refused at the check, listed by name, nothing written
        page.get_by_role("link", name="Upload data").click()
        page.get_by_label("File").set_input_files(csv_file("wrong.csv", "city,colour\nTabuk,red\n"))
        page.get_by_role("button", name="Check the file").click()
        mismatches = page.get_by_role("table", name="Columns that do not fit the table")
        expect(mismatches.locator("tbody tr")).to_have_text(
            [re.compile(r"^colour\s*not a column of the table")]
        )
        expect(page.get_by_role("button", name=re.compile(r"^Upload \d"))).to_have_count(0)
        found += axe_light_and_dark(page, screenshots, "upload-mismatch")
        assert len(admin_api.get(table_api).json()["snapshots"]) == 2
    finally:
        context.close()
    assert not found, "\n".join(found)
