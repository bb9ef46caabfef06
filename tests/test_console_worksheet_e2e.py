# ruff: noqa: F811  (pytest fixtures imported from test_console_e2e, used as parameters)
"""The console's SQL worksheet end to end: a real `sadeem up` with the demo workspace (96,000 rows
in `demo.meter_readings`) driven by Chromium. What the classic page's worksheet did, on the new
page: typed results, NULLs and exact numbers, paging, downloads, errors at their line and column,
cancel, Running now, history, saved queries and a job from one, a deep link to a result, and a
viewer who reads but is told why a write is refused. axe and screenshots in light and dark."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.browser import needs_chromium
from tests.test_console_e2e import (  # noqa: F401  (fixtures)
    BLOCKING_IMPACTS,
    VIEWER,
    VIEWER_PASSWORD,
    Stack,
    admin_api,
    browser,
    context,
    describe_violations,
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
    from playwright.sync_api import Browser, BrowserContext, Locator, Page

pytestmark = [pytest.mark.integration, needs_chromium]

SLOW_SQL = (
    "SELECT count(*) AS pairs FROM meter_readings a CROSS JOIN meter_readings b WHERE a.kwh * b.voltage > 1e9"
)
RUN_MS = 60_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`sadeem up` with its demo workspace (the worksheet needs its table), embedded storage."""
    root = tmp_path_factory.mktemp("console-worksheet-e2e")
    with sadeem_up(root / "home", {"SADEEM_SPARK_LOCAL_ENABLED": "false"}) as (base, log):
        yield Stack(base, root / "home", log, None, None)


@pytest.fixture(scope="module")
def demo_viewer(admin_api: httpx.Client) -> str:
    viewer(admin_api)
    added = admin_api.post("/api/v1/workspaces/demo/members", json={"username": VIEWER, "role": "viewer"})
    assert added.status_code in (200, 201, 409), added.text
    return VIEWER


def editor(page: Page) -> Locator:
    return page.get_by_role("textbox", name="SQL", exact=True)


def write(page: Page, sql: str) -> None:
    """Replace the editor's text, as a paste does."""
    box = editor(page)
    box.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(sql)
    page.keyboard.press("Escape")  # a completion list, if one opened


def state(page: Page) -> Locator:
    return page.get_by_test_id("sql-state")


def grid(page: Page) -> Locator:
    return page.get_by_role("region", name="Result rows")


def open_worksheet(page: Page) -> None:
    from playwright.sync_api import expect

    page.goto("/workspaces/demo/sql")
    expect(page.get_by_role("heading", level=1, name="SQL worksheet")).to_be_visible()
    expect(page.locator(".cm-content")).to_be_visible()


def test_run_page_download_and_exact_values(stack: Stack, context: BrowserContext, page: Page) -> None:
    from playwright.sync_api import expect

    sign_in(context)
    open_worksheet(page)
    # The schema panel lists the demo table; its columns unfold; a click inserts its name.
    tree = page.get_by_test_id("schema-tree")
    expect(tree.get_by_role("button", name="meter_readings", exact=True)).to_be_visible()
    tree.get_by_role("button", name="Columns of meter_readings").click()
    expect(tree.get_by_role("button", name="kwh double")).to_be_visible()
    write(page, "SELECT * FROM ")
    page.keyboard.press("Control+End")
    tree.get_by_role("button", name="meter_readings", exact=True).click()
    expect(editor(page)).to_have_text("SELECT * FROM meter_readings")

    # Names complete from the schema tree: tables, then an alias's columns.
    write(page, "")
    page.keyboard.type("SELECT m.region FROM meter_")
    completion = page.locator(".cm-tooltip-autocomplete")
    expect(completion.get_by_role("option").first).to_contain_text("meter_readings")
    # CodeMirror takes Enter as a new line, not a choice, on a list younger than 75 ms
    # (`interactionDelay`, against accidental picks): a person reads it first.
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    page.keyboard.type(" m WHERE m.kw")
    kwh = completion.get_by_role("option", name="kwh", exact=True)
    expect(kwh).to_be_visible()
    kwh.click()
    expect(editor(page)).to_have_text("SELECT m.region FROM meter_readings m WHERE m.kwh")
    page.keyboard.type(" > 400")
    # Explain shows the engine's plan.
    page.get_by_role("button", name="Explain").click()
    expect(page.get_by_test_id("sql-plan")).to_contain_text("duckdb runs:", timeout=RUN_MS)

    write(page, "SELECT meter_id, kwh, reading_at FROM meter_readings ORDER BY reading_at, meter_id")
    page.keyboard.press("Control+Enter")
    expect(state(page)).to_contain_text("Succeeded", timeout=RUN_MS)
    expect(grid(page).get_by_role("columnheader", name="kwh double")).to_be_visible()
    expect(grid(page).get_by_role("columnheader", name="reading_at timestamp[us]")).to_be_visible()
    summary = page.get_by_test_id("result-summary")
    expect(summary).to_contain_text("1,000 of 96,000 rows")
    page.get_by_role("button", name="Load more").click()
    expect(summary).to_contain_text("2,000 of 96,000 rows")
    # The statement is in the URL: a reload shows the same result.
    assert "statement=" in page.url
    page.reload()
    expect(summary).to_contain_text("1,000 of 96,000 rows", timeout=RUN_MS)
    expect(editor(page)).to_contain_text("ORDER BY reading_at, meter_id")

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == '"meter_id","kwh","reading_at"' and len(lines) == 96_001, lines[:2]
    parquet = page.request.get(str(page.get_by_role("link", name="Parquet").get_attribute("href")))
    assert parquet.status == 200 and parquet.body()[:4] == b"PAR1"

    # Big integers and decimals come as text and are shown as they come; NULL is marked.
    write(
        page,
        "SELECT CAST('12345678901234567890' AS DECIMAL(38, 0)) AS big, CAST(1.25 AS DECIMAL(10, 2)) AS d, "
        "9007199254740993 AS beyond, NULL AS nothing",
    )
    page.keyboard.press("Control+Enter")
    expect(summary).to_contain_text("1 row", timeout=RUN_MS)
    row = grid(page).locator("tbody tr").first
    expect(row.locator("td")).to_have_text(["1", "12345678901234567890", "1.25", "9007199254740993", "NULL"])
    expect(row.locator("td[data-null=true]")).to_have_count(1)
    expect(grid(page).get_by_role("columnheader", name="big decimal128(38, 0)")).to_be_visible()

    # Parameters: one box per :name, numbers sent as numbers.
    write(page, "SELECT region, count(*) AS n FROM meter_readings WHERE region = :region GROUP BY 1")
    page.get_by_role("textbox", name="Value of :region").fill("east")
    page.keyboard.press("Control+Enter")
    expect(grid(page).locator("tbody tr").first.locator("td")).to_have_text(
        ["1", "east", "18720"], timeout=RUN_MS
    )


def test_errors_point_at_their_line_and_cancel_stops(
    stack: Stack,
    admin_api: httpx.Client,
    context: BrowserContext,
    page: Page,
) -> None:
    from playwright.sync_api import expect

    sign_in(context)
    open_worksheet(page)
    write(page, "SELECT 1\nFROM meter_readings\nWHERE ((")
    page.keyboard.press("Control+Enter")
    error = page.get_by_test_id("sql-error")
    expect(error).to_contain_text("Line 3, column 8", timeout=RUN_MS)
    expect(error).to_contain_text("Syntax error")
    expect(page.locator(".cm-error-line")).to_have_text("WHERE ((")
    # In a selection, the position is the editor's.
    write(page, "SELECT 1;\nSELECT 0; SELECT 2, (( FROM meter_readings;")
    page.keyboard.press("Control+End")
    for _ in range(len("SELECT 2, (( FROM meter_readings;")):
        page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("Control+Enter")
    expect(error).to_contain_text("Line 2, column 29", timeout=RUN_MS)
    # An engine error shows the engine's message, with the state.
    write(page, "SELECT nope FROM meter_readings")
    page.keyboard.press("Control+Enter")
    expect(state(page)).to_contain_text("Failed", timeout=RUN_MS)
    expect(error).to_contain_text('"nope" not found')

    # Cancel stops a running statement; the timer runs meanwhile.
    write(page, SLOW_SQL)
    page.get_by_role("button", name="Run", exact=True).click()
    cancel = page.get_by_role("button", name="Cancel", exact=True)
    expect(cancel).to_be_visible()
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_disabled()
    expect(page.get_by_test_id("sql-timer")).to_contain_text(" s")
    page.wait_for_timeout(2500)  # past the inline wait: the page polls the statement
    cancel.click()
    expect(state(page)).to_contain_text("Cancelled", timeout=RUN_MS)
    expect(cancel).to_be_hidden()

    # Running now (workspace admins): a statement from another client, cancelled from here.
    started = admin_api.post("/api/v1/workspaces/demo/statements", json={"sql": SLOW_SQL, "wait_timeout": 0})
    assert started.status_code in (200, 201), started.text
    statement_id = started.json()["id"]
    running = page.locator(f"tr[data-statement='{statement_id}']")
    expect(running).to_contain_text("CROSS JOIN", timeout=RUN_MS)
    running.get_by_role("button", name="Cancel admin's statement").click()
    expect(running).to_have_count(0, timeout=RUN_MS)
    ended = admin_api.get(f"/api/v1/workspaces/demo/statements/{statement_id}", params={"wait": 20})
    assert ended.json()["state"] == "CANCELLED"


def test_history_reopens_and_a_saved_query_runs_as_a_job(
    stack: Stack,
    context: BrowserContext,
    page: Page,
) -> None:
    from playwright.sync_api import expect

    sign_in(context)
    open_worksheet(page)
    sql = "SELECT region, count(*) AS n FROM meter_readings GROUP BY 1 ORDER BY 1"
    write(page, sql)
    page.keyboard.press("Control+Enter")
    expect(page.get_by_test_id("result-summary")).to_contain_text("5 rows", timeout=RUN_MS)
    write(page, "SELECT 1")

    page.get_by_role("tab", name="History").click()
    history = page.get_by_test_id("history-list")
    page.get_by_role("searchbox", name="Search your statements").fill("GROUP BY 1 ORDER BY 1")
    item = history.get_by_role("button").first
    expect(item).to_contain_text("5 rows")
    item.click()
    expect(editor(page)).to_have_text(sql)
    expect(page.get_by_test_id("result-summary")).to_contain_text("5 rows")
    expect(grid(page).locator("tbody tr").first.locator("td")).to_have_text(["1", "central", "20160"])
    page.get_by_role("searchbox", name="Search your statements").fill("no such text anywhere")
    expect(history).to_have_text("No statement matches.")

    # Save with a parameter, reopen it, save a new version, run it as a job.
    write(page, "SELECT region, count(*) AS n FROM meter_readings WHERE region = :region GROUP BY 1")
    page.get_by_role("textbox", name="Value of :region").fill("east")
    page.get_by_role("button", name="Save…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("east_readings")
    dialog.get_by_label("Description").fill("Readings of one region")
    dialog.get_by_label("Shared with the workspace").check()
    dialog.get_by_role("button", name="Save", exact=True).click()
    info = page.get_by_test_id("sql-info")
    expect(info).to_have_text("Saved as east_readings.")
    expect(page.get_by_test_id("open-query")).to_have_text("east_readings · v1 · shared")
    saved = page.get_by_test_id("saved-list").get_by_role("button", name="east_readings")
    expect(saved).to_contain_text("Readings of one region")
    write(page, "SELECT 1")
    saved.click()
    expect(editor(page)).to_have_text(
        "SELECT region, count(*) AS n FROM meter_readings WHERE region = :region GROUP BY 1"
    )
    write(page, "SELECT region, count(*) AS n FROM meter_readings WHERE region = :region GROUP BY region")
    page.get_by_role("button", name="Save…").click()
    expect(dialog.get_by_label("Name")).to_have_value("east_readings")
    dialog.get_by_role("button", name="Save", exact=True).click()
    expect(info).to_have_text("Saved east_readings as version 2.")
    page.get_by_role("button", name="Run as job").click()
    expect(info).to_contain_text("Created job east_readings")
    run_link = info.get_by_role("link")
    expect(run_link).to_contain_text("run #")
    run_link.click()
    expect(page).to_have_url(re.compile(r"/workspaces/demo/runs/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("east_readings")
    expect(page.get_by_test_id("run-facts")).to_contain_text("region=east")  # the worksheet's value


def test_a_viewer_reads_and_a_write_is_refused_and_explained(
    stack: Stack,
    demo_viewer: str,
    context: BrowserContext,
    page: Page,
) -> None:
    from playwright.sync_api import expect

    sign_in(context, VIEWER, VIEWER_PASSWORD)
    open_worksheet(page)
    expect(page.get_by_role("heading", name="Running now")).to_have_count(0)
    write(page, "SELECT count(*) AS n FROM meter_readings")
    page.keyboard.press("Control+Enter")
    expect(grid(page).locator("tbody tr").first.locator("td")).to_have_text(["1", "96000"], timeout=RUN_MS)
    write(page, "CREATE TABLE t AS SELECT 1 AS x")
    page.get_by_role("button", name="Run", exact=True).click()
    error = page.get_by_test_id("sql-error")
    expect(error).to_contain_text("is viewer, which may only read", timeout=RUN_MS)
    expect(error).to_contain_text("Ask a workspace admin for the editor role")
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_enabled()
    expect(page.get_by_role("button", name="Run as job")).to_have_count(0)


def test_worksheet_is_accessible(stack: Stack, browser: Browser, screenshots: Path) -> None:
    """axe finds no serious or critical violation on the worksheet with a result, light and dark."""
    from playwright.sync_api import expect

    context = new_context(stack, browser, bypass_csp=True)
    try:
        page = context.new_page()
        sign_in(context)
        open_worksheet(page)
        write(page, "SELECT meter_id, region, kwh, reading_at FROM meter_readings ORDER BY kwh DESC")
        page.keyboard.press("Control+Enter")
        expect(page.get_by_test_id("result-summary")).to_contain_text("of 96,000 rows", timeout=RUN_MS)
        page.get_by_test_id("schema-tree").get_by_role("button", name="Columns of meter_readings").click()
        settle(page)
        found = []
        for theme in ("light", "dark"):
            if theme == "dark":
                page.get_by_role("button", name="Toggle dark mode").click()
            page.wait_for_timeout(400)
            page.screenshot(
                path=str(screenshots / f"console-worksheet{'' if theme == 'light' else '-dark'}.png")
            )
            blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
            if blocking:
                found.append(f"axe on the worksheet ({theme}):\n{describe_violations(blocking)}")
        # The result as a quick chart (dark mode still on).
        page.get_by_role("button", name="Chart").click()
        expect(page.get_by_role("img", name=re.compile(r"^Bar chart of kwh by meter_id"))).to_be_visible()
        blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
        if blocking:
            found.append(f"axe on the worksheet's chart:\n{describe_violations(blocking)}")
        assert not found, "\n".join(found)
    finally:
        with contextlib.suppress(Exception):
            context.close()
