"""The classic page (kept at /classic/ for its worksheet and run views until the console's data areas
replace them) in a real browser (Debian's Chromium driven by Playwright) over a real
uvicorn server on loopback: log in, see your workspaces and tables, log out; and the jobs and runs
of the demo workspace, executed by a real in-process worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from sadeem.app import create_app
from sadeem.bootstrap import bootstrap
from sadeem.catalog.provisioning import CatalogProvisioner
from sadeem.config import Settings
from sadeem.db.engine import Database
from sadeem.worker.worker import Worker
from tests.browser import chromium, needs_chromium
from tests.conftest import PASSWORD, World, bearer, live_uvicorn, make_token
from tests.iceberg_tables import make_table
from tests.jobs_support import fast_settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.integration, needs_chromium]


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    with live_uvicorn(app) as base:
        yield base


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def screenshot_path(name: str) -> Path | None:
    directory = os.environ.get("SADEEM_SCREENSHOT_DIR")
    return Path(directory) / name if directory else None


def test_console_login_lists_workspaces_and_logs_out(
    live_server: str, world: World, browser: Browser, db: Database, settings: Settings
) -> None:
    from playwright.sync_api import expect

    make_table(db, settings, ("alpha", "readings"), {"id": [1, 2, 3], "name": ["north", "south", "east"]})

    page = browser.new_page(viewport={"width": 1200, "height": 700})
    page.goto(live_server + "/classic/")
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
    expect(page.locator("#no-jobs")).to_be_visible()  # alpha has no jobs: the empty states show
    expect(page.locator("#no-runs")).to_be_visible()
    if path := screenshot_path("console.png"):
        page.screenshot(path=str(path), full_page=True)

    # The session cookie is HttpOnly: page scripts cannot read it, only the CSRF cookie.
    assert "sadeem_session" not in page.evaluate("document.cookie")
    page.click("#logout")  # a cookie-authenticated POST: succeeds only with the CSRF header
    expect(page.locator("#login-view")).to_be_visible()
    page.reload()
    expect(page.locator("#login-view")).to_be_visible()


def test_console_jobs_and_runs_follow_real_runs(browser: Browser, settings: Settings, db: Database) -> None:
    """The demo workspace's jobs and their first run, as a new user sees them: the queued build run
    is stopped and retried from the page, then a real worker executes it while the page follows its
    state and log live; a report run started with the Run button shows its result and downloads."""
    from playwright.sync_api import expect

    demo = fast_settings(
        settings, demo=True, admin_password=SecretStr(PASSWORD), spark_jars_dir=settings.home / "no-spark"
    )
    started = bootstrap(demo, db, CatalogProvisioner(demo))
    assert (
        started.demo_jobs
        == "jobs daily_usage_build, daily_usage_report, first runs queued; saved query usage_by_region"
    ), started
    with live_uvicorn(create_app(demo, db)) as base_url:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(base_url + "/classic/")
        page.fill("#username", "admin")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.locator("#workspaces tr", has_text="demo").click()

        jobs = page.locator("#jobs tr")
        expect(jobs).to_have_count(2)
        build_job = page.locator("#jobs tr[data-job=daily_usage_build]")
        expect(build_job).to_contain_text("duckdb")
        expect(build_job).to_contain_text("v1")
        expect(build_job).to_contain_text("0 1 * * * UTC")
        expect(build_job).to_contain_text("next ")
        expect(build_job).to_contain_text("active")
        expect(page.locator("#jobs tr[data-job=daily_usage_report]")).to_contain_text("manual")
        build_job.get_by_role("button", name="Pause").click()
        expect(build_job).to_contain_text("paused")
        expect(build_job).to_contain_text("not firing")
        build_job.get_by_role("button", name="Resume").click()
        expect(build_job).to_contain_text("active")

        # No worker yet: the build run bootstrap queued waits; stop it and retry it from the page.
        runs = page.locator("#runs tr")
        expect(runs).to_have_count(1)
        expect(runs.first).to_contain_text("daily_usage_build")
        expect(runs.first.locator(".state")).to_have_text("QUEUED")
        runs.first.click()
        expect(page.locator("#run-retry")).to_be_hidden()
        page.click("#run-stop")
        expect(page.locator("#run-state")).to_have_text("CANCELLED")
        expect(page.locator("#run-stop")).to_be_hidden()
        page.click("#run-retry")
        expect(page.locator("#run-state")).to_have_text("QUEUED")
        expect(page.locator("#run-facts")).to_contain_text("2attempt")

        # A real worker runs attempt 2: list, state and log follow without a reload.
        worker = Worker(db, demo, catalog_url=f"{base_url}/iceberg")
        worker.start()
        try:
            expect(runs.first.locator(".state")).to_have_text("SUCCEEDED", timeout=30_000)
            expect(page.locator("#run-state")).to_have_text("SUCCEEDED")
            expect(page.locator("#run-log")).to_contain_text("attempt ended: SUCCEEDED")
            expect(page.locator("#log-status")).to_have_text("· attempt 2 · complete")
            timeline = page.locator("#run-timeline tr")
            expect(timeline.locator("td:nth-child(3)")).to_have_text(
                [
                    "QUEUED",
                    "QUEUED → CANCELLED",
                    "CANCELLED → QUEUED",
                    "QUEUED → RUNNING",
                    "RUNNING → SUCCEEDED",
                ]
            )
            expect(page.locator("#result-head th")).to_have_text(
                ["groups", "first_day", "last_day", "total_kwh"]
            )
            expect(page.locator("#result-rows tr")).to_have_count(1)
            expect(page.locator("#run-stop")).to_be_hidden()
            expect(page.locator("#run-retry")).to_be_hidden()

            # The Run button queues a report run, which opens, runs and shows its first rows.
            page.locator("#jobs tr[data-job=daily_usage_report]").get_by_role("button", name="Run").click()
            expect(runs).to_have_count(2)
            expect(runs.first).to_contain_text("daily_usage_report")
            expect(runs.first).to_have_class("clickable selected")
            expect(runs.first.locator(".state")).to_have_text("SUCCEEDED", timeout=30_000)
            expect(page.locator("#run-title")).to_contain_text("daily_usage_report")
            expect(page.locator("#run-log")).to_contain_text("attempt ended: SUCCEEDED")
            expect(page.locator("#result-head th")).to_have_text(["day", "region", "kwh", "readings"])
            expect(page.locator("#result-rows tr").first).to_be_visible()
            assert page.locator("#result-rows tr").count() > 1
            expect(page.locator("#result-summary")).to_contain_text("rows")
        finally:
            worker.stop(wait_seconds=0)
        if path := screenshot_path("console-runs.png"):
            # From the jobs card to the open run's end, in page coordinates.
            top, bottom = page.evaluate(
                """() => [document.getElementById("jobs-card"), document.getElementById("run-card")]
                    .map((card) => card.getBoundingClientRect())
                    .map((box) => [box.top + window.scrollY, box.bottom + window.scrollY])"""
            )
            page.screenshot(
                path=str(path),
                full_page=True,
                clip={"x": 0, "y": top[0] - 20, "width": 1200, "height": bottom[1] - top[0] + 40},
            )

        # The download link streams the full result as Parquet, with the browser's session.
        href = page.locator("#result-download").get_attribute("href")
        assert href is not None and href.endswith("/result.parquet?attempt=1")
        download = page.request.get(base_url + href)
        assert download.status == 200 and download.body()[:4] == b"PAR1"

        # API errors show the problem's detail; what a job's author wrote is shown as text, not HTML.
        token = make_token(db, demo, "admin")
        created = httpx.post(
            f"{base_url}/api/v1/workspaces/demo/jobs",
            headers=bearer(token),
            json={
                "name": "needs_day",
                "description": "<img src=x onerror=alert(1)>",
                "task": {"type": "sql", "sql": "SELECT :day AS day"},
                "parameters": [{"name": "day", "type": "date"}],
            },
        )
        assert created.status_code == 201, created.text
        page.locator("#workspaces tr", has_text="demo").click()
        needs_day = page.locator("#jobs tr[data-job=needs_day]")
        expect(needs_day.locator(".sub")).to_have_text("<img src=x onerror=alert(1)>")
        expect(needs_day.locator("img")).to_have_count(0)
        needs_day.get_by_role("button", name="Run").click()
        expect(page.locator("#jobs-error")).to_have_text("Parameters without a value or default: day.")


SLOW_SQL = (
    "SELECT count(*) AS pairs FROM meter_readings a CROSS JOIN meter_readings b WHERE a.kwh * b.voltage > 1e9"
)


def test_console_sql_worksheet(browser: Browser, settings: Settings, db: Database) -> None:
    """The SQL worksheet of the demo workspace, as its admin uses it: the schema panel, typing a
    query with completion, Ctrl+Enter, the result grid with types, exact numbers, more pages and
    downloads; a syntax error pointing at its line; cancel; other users' running statements;
    history; saved queries and running one as a job."""
    from playwright.sync_api import expect

    demo = fast_settings(
        settings, demo=True, admin_password=SecretStr(PASSWORD), spark_jars_dir=settings.home / "no-spark"
    )
    bootstrap(demo, db, CatalogProvisioner(demo))
    app = create_app(demo, db)
    with live_uvicorn(app) as base_url:
        app.state.statements.catalog_url = f"{base_url}/iceberg"
        token = make_token(db, demo, "admin")
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        tree_answers: list[int] = []
        page.on("response", lambda r: tree_answers.append(r.status) if "/schema-tree" in r.url else None)
        page.goto(base_url + "/classic/")
        page.fill("#username", "admin")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.locator("#workspaces tr", has_text="demo").click()
        expect(page.locator("#tables-card")).to_be_visible()
        page.click("#tab-sql")
        expect(page.locator("#sql-view")).to_be_visible()
        expect(page.locator("#tables-card")).to_be_hidden()
        expect(page.locator("#sql-engine option")).to_have_text(["DuckDB (embedded)"])

        # The schema panel lists the table; its columns unfold; a click inserts a name.
        tree = page.locator("#schema-tree")
        table = tree.locator("details.table[data-table=meter_readings]")
        expect(table).to_be_visible()
        table.locator("summary .type").click()
        expect(table.locator(".col")).to_have_count(7)
        expect(table.locator(".col", has_text="kwh")).to_contain_text("double")
        page.fill("#schema-filter", "volt")
        expect(tree.locator(".col")).to_have_text(["voltagedouble"])
        page.fill("#schema-filter", "")
        editor = page.locator("#sql-editor")
        editor.click()
        page.keyboard.type("SELECT * FROM ")
        table.locator("summary .name").click()
        expect(editor).to_have_value("SELECT * FROM meter_readings")

        # Type a query: names complete from the schema tree (tables, aliased columns).
        editor.fill("")
        page.keyboard.type("SELECT m.region, count(*) AS n, round(sum(m.kwh), 1) AS kwh\nFROM meter_")
        complete = page.locator("#sql-complete")
        expect(complete).to_be_visible()
        expect(complete.locator("li").first).to_contain_text("meter_readings")
        page.keyboard.press("Tab")
        page.keyboard.type(" m\nGROUP BY 1\nORDER BY m.reg")
        expect(complete.locator("li")).to_have_text(["regionstring"])
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")  # no completion open: Tab indents
        expect(editor).to_have_value(
            "SELECT m.region, count(*) AS n, round(sum(m.kwh), 1) AS kwh\n"
            "FROM meter_readings m\nGROUP BY 1\nORDER BY m.region  "
        )
        page.keyboard.press("Control+Enter")
        expect(page.locator("#sql-state")).to_have_text("SUCCEEDED", timeout=30_000)
        expect(page.locator("#sql-result-head th[data-column]")).to_have_text(
            ["regionstring", "nint64", "kwhdouble"]
        )
        rows = page.locator("#sql-result-rows tr")
        expect(rows).to_have_count(5)
        expect(rows.first.locator("td")).to_have_text(["1", "central", "20160", "377833.7"])
        expect(page.locator("#sql-summary")).to_contain_text("5 rows")
        expect(page.locator("#sql-truncated")).to_be_hidden()
        expect(page.locator("#sql-more")).to_be_hidden()
        expect(page.locator("#sql-gutter div")).to_have_count(4)
        # The schema tree loads once, then revalidates with its ETag (after each run: DDL may change it).
        assert tree_answers[0] == 200 and 304 in tree_answers[1:], tree_answers
        if path := screenshot_path("console-worksheet.png"):
            table.evaluate("(details) => { details.open = true; }")  # its columns in the picture
            top, bottom = page.evaluate(
                """() => { const box = document.querySelector(".sql-card").getBoundingClientRect();
                    return [box.top + window.scrollY, box.bottom + window.scrollY]; }"""
            )
            page.screenshot(
                path=str(path),
                full_page=True,
                clip={"x": 0, "y": top - 70, "width": 1400, "height": bottom - top + 90},
            )

        # The download links stream the whole result with the browser's session.
        csv_href = page.locator("#sql-download-csv").get_attribute("href")
        assert csv_href is not None and csv_href.endswith("/result.csv")
        download = page.request.get(base_url + csv_href)
        assert download.status == 200
        assert download.text().splitlines()[:2] == ['"region","n","kwh"', '"central",20160,377833.7']
        parquet = page.request.get(
            base_url + str(page.locator("#sql-download-parquet").get_attribute("href"))
        )
        assert parquet.status == 200 and parquet.body()[:4] == b"PAR1"
        arrow = page.request.get(base_url + str(page.locator("#sql-download-arrow").get_attribute("href")))
        assert arrow.status == 200 and arrow.headers["sadeem-result-rows"] == "5"

        # Big integers and decimals come as text and are shown as they come; NULL is marked.
        editor.fill(
            "SELECT CAST('12345678901234567890' AS DECIMAL(38, 0)) AS big,\n"
            "  CAST(1.25 AS DECIMAL(10, 2)) AS d, 9007199254740993 AS beyond, NULL AS nothing"
        )
        page.keyboard.press("Control+Enter")
        expect(page.locator("#sql-state")).to_have_text("SUCCEEDED", timeout=30_000)
        expect(rows.first.locator("td")).to_have_text(
            ["1", "12345678901234567890", "1.25", "9007199254740993", "NULL"]
        )
        expect(page.locator("#sql-result-head th[data-column=big] .sub")).to_have_text("decimal128(38, 0)")

        # Only the selection runs; a long result comes a page at a time.
        editor.fill(
            "SELECT 1 AS one;\n"
            "SELECT meter_id, kwh FROM meter_readings ORDER BY reading_at, meter_id LIMIT 2500"
        )
        editor.evaluate("(e) => e.setSelectionRange(e.value.indexOf('\\n') + 1, e.value.length)")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#sql-state")).to_have_text("SUCCEEDED", timeout=30_000)
        expect(rows).to_have_count(1000)
        expect(page.locator("#sql-summary")).to_contain_text("1,000 of 2,500 rows")
        page.click("#sql-more")
        expect(rows).to_have_count(2000)
        page.click("#sql-more")
        expect(rows).to_have_count(2500)
        expect(page.locator("#sql-summary")).to_contain_text("2,500 rows")
        expect(page.locator("#sql-more")).to_be_hidden()
        expect(rows.last.locator("td").first).to_have_text("2500")

        # A syntax error names its line and column, marks the line and puts the caret there.
        editor.fill("SELECT 1\nFROM meter_readings\nWHERE ((")
        page.keyboard.press("Control+Enter")
        error = page.locator("#sql-error")
        expect(error).to_contain_text("Line 3, column 8")
        expect(error).to_contain_text("Syntax error")
        expect(page.locator("#sql-gutter div.err")).to_have_text("3")
        expect(page.locator("#sql-errline")).to_be_visible()
        assert (
            editor.evaluate("(e) => e.selectionStart") == len("SELECT 1\nFROM meter_readings\nWHERE ((") - 1
        )
        # In a selection, the position is the editor's.
        editor.fill("SELECT 1;\nSELECT 0; SELECT 2, (( FROM meter_readings;")
        editor.evaluate("(e) => e.setSelectionRange(e.value.indexOf('SELECT 2'), e.value.length)")
        page.keyboard.press("Control+Enter")
        expect(error).to_contain_text("Line 2, column 29")  # line 1, column 19 of the selection
        expect(page.locator("#sql-gutter div.err")).to_have_text("2")
        # An engine error shows the engine's message, with the state.
        editor.fill("SELECT nope FROM meter_readings")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#sql-state")).to_have_text("FAILED", timeout=30_000)
        expect(error).to_contain_text('"nope" not found')
        expect(page.locator("#sql-gutter div.err")).to_have_text("1")  # the failed statement's line

        # Cancel stops a running statement; the timer runs meanwhile.
        editor.fill(SLOW_SQL)
        page.click("#sql-run")
        expect(page.locator("#sql-cancel")).to_be_visible()
        expect(page.locator("#sql-run")).to_be_disabled()
        expect(page.locator("#sql-timer")).to_contain_text(" s")
        page.wait_for_timeout(2500)  # past the inline wait: the page polls the statement by id
        page.click("#sql-cancel")
        expect(page.locator("#sql-state")).to_have_text("CANCELLED", timeout=30_000)
        expect(page.locator("#sql-info")).to_contain_text("Cancelled")
        expect(page.locator("#sql-cancel")).to_be_hidden()

        # Running now (workspace admins): a statement from another client, cancelled from here.
        started = httpx.post(
            f"{base_url}/api/v1/workspaces/demo/statements",
            headers=bearer(token),
            json={"sql": SLOW_SQL, "wait_timeout": 0},
        )
        assert started.status_code == 200, started.text
        statement_id = started.json()["id"]
        running = page.locator(f"#running-rows tr[data-statement='{statement_id}']")
        for _ in range(20):
            page.click("#running-reload")
            if running.count():
                break
            page.wait_for_timeout(500)
        expect(running).to_contain_text("admin")
        expect(running).to_contain_text("CROSS JOIN")
        running.get_by_role("button", name="Cancel").click()
        expect(running).to_have_count(0)
        ended = httpx.get(
            f"{base_url}/api/v1/workspaces/demo/statements/{statement_id}?wait=20", headers=bearer(token)
        )
        assert ended.json()["state"] == "CANCELLED"

        # History: newest first, searchable; a click loads the SQL and shows its result again.
        page.click("#side-tabs button[data-side=history]")
        history = page.locator("#history-list li")
        expect(history.first).to_contain_text("CROSS JOIN")
        expect(history.first.locator(".state")).to_have_text("CANCELLED")
        page.fill("#history-search", "GROUP BY 1")
        expect(history).to_have_count(1)
        expect(history.first).to_contain_text("5 rows")
        history.first.click()
        expect(editor).to_have_value(
            "SELECT m.region, count(*) AS n, round(sum(m.kwh), 1) AS kwh\n"
            "FROM meter_readings m\nGROUP BY 1\nORDER BY m.region  "
        )
        expect(page.locator("#sql-state")).to_have_text("SUCCEEDED")
        expect(rows).to_have_count(5)
        page.fill("#history-search", "no such text anywhere")
        expect(history).to_have_text(["No statement matches."])

        # Saved queries: save with a parameter, reopen, run it as a job and follow the link.
        editor.fill("SELECT region, count(*) AS n FROM meter_readings WHERE region = :region GROUP BY 1")
        expect(page.locator("#sql-params input[data-name=region]")).to_be_visible()
        page.fill("#sql-params input[data-name=region]", "east")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#sql-state")).to_have_text("SUCCEEDED", timeout=30_000)
        expect(rows.first.locator("td")).to_have_text(["1", "east", "18720"])
        page.click("#sql-save")
        page.fill("#save-name", "east_readings")
        page.fill("#save-description", "Readings of one region")
        page.check("#save-shared")
        page.locator("#sql-save-form button[type=submit]").click()
        expect(page.locator("#sql-info")).to_have_text("Saved as east_readings.")
        expect(page.locator("#sql-query")).to_have_text("east_readings · v1 · shared")
        saved = page.locator("#queries-list li[data-query=east_readings]")
        expect(saved).to_contain_text("Readings of one region")
        expect(saved).to_contain_text("shared")
        editor.fill("SELECT 1")
        saved.click()
        expect(editor).to_have_value(
            "SELECT region, count(*) AS n FROM meter_readings WHERE region = :region GROUP BY 1"
        )
        # Saving again under the same name is a new version.
        editor.fill("SELECT region, count(*) AS n FROM meter_readings WHERE region = :region GROUP BY region")
        page.click("#sql-save")
        expect(page.locator("#save-name")).to_have_value("east_readings")
        page.locator("#sql-save-form button[type=submit]").click()
        expect(page.locator("#sql-info")).to_have_text("Saved east_readings as version 2.")
        page.click("#sql-run-job")
        expect(page.locator("#sql-info")).to_contain_text("Created job east_readings")
        run_link = page.locator("#sql-job-run")
        expect(run_link).to_contain_text("run #")
        run_link.click()
        expect(page.locator("#overview-view")).to_be_visible()
        expect(page.locator("#run-title")).to_contain_text("east_readings")
        expect(page.locator("#jobs tr[data-job=east_readings]")).to_be_visible()
        assert errors == []


def test_console_sql_worksheet_for_a_viewer(live_server: str, world: World, browser: Browser) -> None:
    """A viewer has the worksheet too, but no Running now list and no Run as job; a write is refused
    with the server's message."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.goto(live_server + "/classic/")
    page.fill("#username", "ws_viewer")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.locator("#workspaces tr", has_text="alpha").click()
    page.click("#tab-sql")
    expect(page.locator("#schema-tree")).to_contain_text("alpha defaultno tables")
    expect(page.locator("#sql-running-card")).to_be_hidden()
    page.fill("#sql-editor", "CREATE TABLE t AS SELECT 1 AS x")
    page.click("#sql-run")
    expect(page.locator("#sql-error")).to_contain_text("is viewer, which may only read", timeout=30_000)
    expect(page.locator("#sql-run")).to_be_enabled()
    page.click("#side-tabs button[data-side=queries]")
    expect(page.locator("#no-queries")).to_be_visible()
