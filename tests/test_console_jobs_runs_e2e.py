"""The console's jobs and runs pages in Chromium against a real `sadeem up` with the demo workspace
and its jobs (an embedded worker runs them): the jobs list with schedules, pause and resume; a job's
page; "Run now" followed live to SUCCEEDED with its log and result; a long run stopped and retried;
a viewer without write buttons; axe (0 serious/critical) and screenshots in light and dark mode.

What the classic page's test (tests/test_console_classic.py::test_console_jobs_and_runs_follow_real_runs)
checks, ported to the React console."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.browser import needs_chromium
from tests.test_console_e2e import (
    AXE,
    BLOCKING_IMPACTS,
    TRANSITIONS_ENDED,
    VIEWER,
    VIEWER_PASSWORD,
    Stack,
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

__all__ = ["browser", "context", "page", "screenshots"]  # fixtures this module uses from the main e2e

DEMO = "demo"
RUN_TIMEOUT_MS = 60_000
# DuckDB counts for minutes: long enough to be stopped while it runs.
SLOW_SQL = "SELECT count(*) AS n FROM range(100000000000) r WHERE r.range % 7 = 3"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`sadeem up` with the demo workspace and its jobs (the embedded worker runs them); no Spark."""
    from tests.test_console_e2e import DIST

    if not (DIST / "index.html").is_file():
        pytest.fail("the console is not built: run `make console` (`make test` builds it first)")
    root = tmp_path_factory.mktemp("console-jobs-e2e")
    extra = {"SADEEM_DEMO": "true", "SADEEM_SPARK_LOCAL_ENABLED": "false"}
    with sadeem_up(root / "home", extra) as (base, log):
        yield Stack(base, root / "home", log, None, None)


@pytest.fixture(scope="module")
def admin_api(stack: Stack) -> Iterator[httpx.Client]:
    client = stack.api()
    yield client
    client.close()


def wait_for_run(api: httpx.Client, run_id: int, states: set[str], timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        found = api.get(f"/api/v1/workspaces/{DEMO}/runs/{run_id}").json()
        if found["state"] in states or time.monotonic() > deadline:
            assert found["state"] in states, found
            return dict(found)
        time.sleep(0.3)


@pytest.fixture(scope="module")
def demo_built(admin_api: httpx.Client) -> str:
    """The demo's first run (the build the bootstrap queued) has run: its table exists."""
    runs = admin_api.get(f"/api/v1/workspaces/{DEMO}/runs", params={"job": "daily_usage_build"}).json()[
        "items"
    ]
    assert runs, "the demo queued no build run"
    wait_for_run(admin_api, runs[-1]["id"], {"SUCCEEDED"})
    return DEMO


@pytest.fixture(scope="module")
def slow_job(admin_api: httpx.Client) -> str:
    created = admin_api.post(
        f"/api/v1/workspaces/{DEMO}/jobs",
        json={
            "name": "slow_count",
            "description": "Counts for minutes: a run to stop.",
            "task": {"type": "sql", "engine": "duckdb", "sql": SLOW_SQL},
        },
    )
    assert created.status_code == 201, created.text
    return "slow_count"


@pytest.fixture(scope="module")
def demo_viewer(admin_api: httpx.Client) -> str:
    viewer(admin_api)
    added = admin_api.post(f"/api/v1/workspaces/{DEMO}/members", json={"username": VIEWER, "role": "viewer"})
    assert added.status_code in (200, 201, 409), added.text
    return VIEWER


def test_jobs_list_shows_schedules_and_pauses_and_resumes(
    stack: Stack, demo_built: str, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(context)
    page.goto(f"/workspaces/{DEMO}/jobs")
    expect(heading(page, "Jobs")).to_be_visible()
    build = page.locator("tr[data-job=daily_usage_build]")
    expect(build).to_contain_text("SQLduckdb · v1")
    expect(build).to_contain_text("Every day at 01:00 (UTC)")
    expect(build).to_contain_text("0 1 * * *")
    expect(build).to_contain_text("active")
    expect(build).to_contain_text(re.compile(r"in \d+ (hours?|minutes?)"))
    expect(build.locator("[data-state]")).to_have_text("Succeeded")
    report = page.locator("tr[data-job=daily_usage_report]")
    expect(report).to_contain_text("manual only")
    expect(report.get_by_role("button", name="Pause")).to_have_count(0)

    build.get_by_role("button", name="Pause").click()
    expect(build).to_contain_text("paused")
    expect(build).to_contain_text("not firing")
    build.get_by_role("button", name="Resume").click()
    expect(build).to_contain_text("active")
    expect(build.get_by_role("button", name="Pause")).to_be_visible()

    # The type filter is in the URL.
    page.get_by_role("combobox", name="Type").select_option("spark")
    expect(page).to_have_url(re.compile(r"type=spark"))
    expect(page.get_by_text("No job matches these filters.")).to_be_visible()
    page.get_by_role("button", name="Clear filters").click()
    report.get_by_role("link", name="daily_usage_report").click()
    expect(heading(page, "daily_usage_report")).to_be_visible()
    expect(page.get_by_test_id("job-sql")).to_contain_text("FROM daily_usage")
    expect(page.get_by_text("min_kwh", exact=True)).to_be_visible()


def test_run_now_follows_the_run_to_its_log_and_result(
    stack: Stack, demo_built: str, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(context)
    page.goto(f"/workspaces/{DEMO}/jobs/daily_usage_report")
    page.get_by_role("button", name="Run now").click()
    dialog = page.get_by_role("dialog", name="Run daily_usage_report")
    dialog.get_by_label("min_kwh (number)").fill("0")
    dialog.get_by_role("button", name="Start the run").click()
    expect(page).to_have_url(re.compile(rf"/workspaces/{DEMO}/runs/\d+$"))
    title = page.get_by_role("heading", level=1)
    expect(title).to_contain_text("daily_usage_report")
    expect(title.locator("[data-state]")).to_have_text("Succeeded", timeout=RUN_TIMEOUT_MS)
    log = page.get_by_label("Log of attempt 1")
    expect(log).to_contain_text("attempt ended: SUCCEEDED")
    expect(page.get_by_test_id("log-status")).to_have_text("Attempt 1 · complete")
    expect(page.get_by_test_id("run-facts")).to_contain_text("min_kwh=0")
    grid = page.get_by_test_id("result-grid")
    expect(grid.locator("th")).to_have_count(4)
    assert [
        name.split(" ")[0]
        for name in grid.locator("th").evaluate_all("(ths) => ths.map((th) => th.firstChild.textContent)")
    ] == [
        "day",
        "region",
        "kwh",
        "readings",
    ]
    assert grid.locator("tbody tr").count() > 1
    expect(page.get_by_test_id("result-summary")).to_contain_text("rows")
    timeline = page.get_by_test_id("run-timeline").locator("tbody tr td:nth-child(3)")
    expect(timeline).to_have_text(["QUEUED", "QUEUED → RUNNING", "RUNNING → SUCCEEDED"])
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)

    # The download streams the full result as Parquet with the browser's session.
    link = page.get_by_role("link", name=re.compile(r"Download Parquet"))
    href = link.get_attribute("href")
    assert href is not None and href.endswith("/result.parquet?attempt=1")
    download = page.request.get(stack.base + href)
    assert download.status == 200 and download.body()[:4] == b"PAR1"

    # The run is in the list, and in the list filtered by its job (filters in the URL).
    page.get_by_role("link", name="All runs").click()
    expect(heading(page, "Runs")).to_be_visible()
    page.get_by_role("combobox", name="Job").select_option("daily_usage_report")
    expect(page).to_have_url(re.compile(r"job=daily_usage_report"))
    rows = page.locator("tbody tr[data-run]")
    expect(rows.first).to_contain_text("daily_usage_report")
    expect(rows.first.locator("[data-state]")).to_have_text("Succeeded")


def test_stop_a_running_run_then_retry_it(
    stack: Stack, demo_built: str, slow_job: str, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(context)
    page.goto(f"/workspaces/{DEMO}/jobs/{slow_job}")
    page.get_by_role("button", name="Run now").click()  # no parameters: runs at once
    expect(page).to_have_url(re.compile(rf"/workspaces/{DEMO}/runs/\d+$"))
    state = page.get_by_role("heading", level=1).locator("[data-state]")
    expect(state).to_have_text("Running", timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_label("Log of attempt 1")).to_contain_text("statement 1/1 started")
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)

    page.get_by_role("button", name="Stop").click()
    expect(state).to_have_text("Cancelled", timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_label("Log of attempt 1")).to_contain_text("attempt ended: CANCELLED")
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)

    page.get_by_role("button", name="Retry").click()
    expect(state).to_have_text(re.compile("Queued|Running"))
    expect(page.locator("tr[data-attempt]")).to_have_count(2)
    expect(page.get_by_test_id("log-status")).to_contain_text("Attempt 2")
    changes = page.get_by_test_id("run-timeline").locator("tbody tr td:nth-child(3)")
    expect(changes.filter(has_text="CANCELLED → QUEUED")).to_have_count(1)
    # Stop it again (nothing keeps counting after the test).
    expect(state).to_have_text("Running", timeout=RUN_TIMEOUT_MS)
    page.get_by_role("button", name="Stop").click()
    expect(state).to_have_text("Cancelled", timeout=RUN_TIMEOUT_MS)

    page.goto(f"/workspaces/{DEMO}/runs?job={slow_job}&state=CANCELLED")
    expect(page.locator("tbody tr[data-run]")).to_have_count(1)
    expect(page.get_by_role("combobox", name="State")).to_have_value("CANCELLED")


def test_a_stop_made_elsewhere_reaches_the_open_run_page_within_a_second(
    stack: Stack, demo_built: str, slow_job: str, admin_api: httpx.Client, context: BrowserContext, page: Page
) -> None:
    """The page follows the run over Server-Sent Events: a change made by someone else (here the
    API) shows without a reload, before the page's one-second fallback poll could have fetched it."""
    from playwright.sync_api import expect

    sign_in(context)
    submitted = admin_api.post(f"/api/v1/workspaces/{DEMO}/jobs/{slow_job}/runs", json={})
    run_id = submitted.json()["id"]
    wait_for_run(admin_api, run_id, {"RUNNING"})
    with page.expect_request(re.compile(rf"/runs/{run_id}/events\?attempt=1$")):
        page.goto(f"/workspaces/{DEMO}/runs/{run_id}")
    state = page.get_by_role("heading", level=1).locator("[data-state]")
    expect(state).to_have_text("Running")
    # The page's fallback poll of the run is cut off: the change can only come by the stream.
    page.route(re.compile(rf"/api/v1/workspaces/{DEMO}/runs/{run_id}$"), lambda route: route.abort())
    assert admin_api.post(f"/api/v1/workspaces/{DEMO}/runs/{run_id}/stop").status_code == 200
    stopped = time.monotonic()
    expect(state).to_have_text(re.compile("Cancelling|Cancelled"), timeout=5_000)
    shown = time.monotonic()
    assert shown - stopped < 1.0, f"the page showed the stop after {shown - stopped:.2f} s"
    expect(state).to_have_text("Cancelled", timeout=RUN_TIMEOUT_MS)


def test_a_viewer_sees_no_write_buttons(
    stack: Stack, demo_built: str, demo_viewer: str, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(context, VIEWER, VIEWER_PASSWORD)
    page.goto(f"/workspaces/{DEMO}/jobs")
    expect(page.locator("tr[data-job=daily_usage_build]")).to_be_visible()
    expect(page.get_by_text("You are a viewer in this workspace")).to_be_visible()
    for name in ("Run now", "Pause", "Resume"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    page.goto(f"/workspaces/{DEMO}/jobs/daily_usage_build")
    expect(page.get_by_test_id("job-sql")).to_be_visible()
    for name in ("Run now", "Pause", "Rerun failed", "Delete job", "Run this version v1"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    page.get_by_role("link", name=re.compile(r"^#\d+$")).first.click()
    expect(page.get_by_role("heading", level=1).locator("[data-state]")).to_have_text("Succeeded")
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)


MIN_SQL = "SELECT r.range AS n FROM range(10) r WHERE r.range >= :min_n"


def type_sql(page: Page, sql: str) -> None:
    """Replace the text of the form's CodeMirror editor, typed as a person would."""
    editor = page.get_by_role("textbox", name="SQL of the job")
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    # CodeMirror closes a bracket as it opens; typing the closing one steps over it.
    page.keyboard.type(sql)


def test_create_a_sql_job_with_a_parameter_by_clicking_and_run_it(
    stack: Stack, demo_built: str, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(context)
    page.goto(f"/workspaces/{DEMO}/jobs")
    page.get_by_role("link", name="New job").click()
    expect(heading(page, "New job")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("at_least")
    page.get_by_label("Description").fill("Numbers from a minimum")
    type_sql(page, MIN_SQL)
    page.get_by_role("button", name="Add :min_n as parameters").click()
    parameter = page.get_by_role("group", name="Parameter 1")
    expect(parameter.get_by_label("Name")).to_have_value("min_n")
    parameter.get_by_label("Type").select_option("integer")
    expect(parameter.get_by_label("Required")).to_be_checked()
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page).to_have_url(re.compile(rf"/workspaces/{DEMO}/jobs/at_least$"))
    expect(heading(page, "at_least")).to_be_visible()
    expect(page.get_by_test_id("job-sql")).to_have_text(MIN_SQL)
    page.get_by_role("button", name="Run now").click()
    dialog = page.get_by_role("dialog", name="Run at_least")
    dialog.get_by_role("button", name="Start the run").click()
    expect(dialog.get_by_text("A value is needed")).to_be_visible()  # required: no run without it
    dialog.get_by_label("min_n (integer)").fill("7")
    dialog.get_by_role("button", name="Start the run").click()
    expect(page).to_have_url(re.compile(rf"/workspaces/{DEMO}/runs/\d+$"))
    title = page.get_by_role("heading", level=1)
    expect(title.locator("[data-state]")).to_have_text("Succeeded", timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("run-facts")).to_contain_text("min_n=7")
    grid = page.get_by_test_id("result-grid")
    expect(grid.locator("tbody tr")).to_have_count(3)  # 7, 8, 9: the value went in as a number


ONE_SQL = "SELECT 1 AS one\nFROM range(1)"


def test_edit_a_job_then_diff_two_versions_and_restore(
    stack: Stack, admin_api: httpx.Client, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    created = admin_api.post(
        f"/api/v1/workspaces/{DEMO}/jobs",
        json={
            "name": "to_edit",
            "task": {"type": "sql", "engine": "duckdb", "sql": ONE_SQL},
        },
    )
    assert created.status_code == 201, created.text
    sign_in(context)
    page.goto(f"/workspaces/{DEMO}/jobs/to_edit")
    page.get_by_role("link", name="Edit").click()
    expect(heading(page, "Edit to_edit")).to_be_visible()
    type_sql(page, "SELECT 2 AS two\nFROM range(1)")
    page.get_by_label("What changed").fill("Two instead of one")
    page.get_by_role("button", name="Save a new version").click()
    expect(page).to_have_url(re.compile(rf"/workspaces/{DEMO}/jobs/to_edit$"))
    expect(page.get_by_text("to_edit: version 2 saved.")).to_be_visible()
    expect(page.get_by_test_id("job-sql")).to_contain_text("SELECT 2 AS two")
    expect(page.locator("tr[data-version='2']")).to_contain_text("Two instead of one")

    compare = page.get_by_role("group", name="Compare")
    expect(compare.get_by_label("From version")).to_have_value("1")
    expect(compare.get_by_label("To version")).to_have_value("2")
    compare.get_by_role("button", name="Compare").click()
    dialog = page.get_by_role("dialog", name="Changes from v1 to v2")
    expect(dialog).to_contain_text("Changed: task.sql")
    sql = dialog.get_by_role("region", name="task.sql: Changes from v1 to v2")
    first = sql.locator("tbody tr").first
    expect(first.locator("td[data-changed=removed]")).to_have_text("\u2212 SELECT 1 AS one")
    expect(first.locator("td[data-changed=added]")).to_have_text("+ SELECT 2 AS two")
    expect(sql.locator("tbody tr").nth(1).locator("[data-changed]")).to_have_count(0)  # FROM range(1)
    page.keyboard.press("Escape")

    page.get_by_role("button", name="Restore v1").click()
    page.get_by_role("dialog", name="Restore version 1?").get_by_role("button", name="Restore").click()
    expect(page.get_by_text("v1 restored as v3.")).to_be_visible()
    expect(page.get_by_test_id("job-sql")).to_contain_text("SELECT 1 AS one")


def test_schedule_every_minute_in_riyadh_shows_the_next_fire_times(
    stack: Stack, context: BrowserContext, page: Page
) -> None:
    from datetime import datetime, timedelta

    from playwright.sync_api import expect

    sign_in(context)
    page.goto(f"/workspaces/{DEMO}/jobs/-/new")
    page.get_by_label("Name", exact=True).fill("every_minute")
    type_sql(page, "SELECT 1 AS one")
    page.get_by_label("Run on a schedule").check()
    page.get_by_role("button", name="Every minute").click()
    page.get_by_label("Time zone (IANA)").fill("Asia/Riyadh")
    expect(page.get_by_test_id("schedule-words")).to_have_text("Every minute (Asia/Riyadh)")
    expect(page.get_by_text("Next five runs (Asia/Riyadh)")).to_be_visible()
    times = page.get_by_test_id("fire-times").locator("time")
    expect(times).to_have_count(5)
    instants = [datetime.fromisoformat(t) for t in times.evaluate_all("(ts) => ts.map((t) => t.dateTime)")]
    assert all(t.utcoffset() == timedelta(hours=3) for t in instants), instants
    assert all(b - a == timedelta(minutes=1) for a, b in itertools.pairwise(instants)), instants
    now = datetime.now().astimezone()
    assert now < instants[0] <= now + timedelta(minutes=1, seconds=5), (now, instants)
    expect(page.get_by_test_id("fire-times").locator("li").first).to_contain_text("UTC+03:00")
    expect(page.get_by_test_id("fire-times").locator("li").first).to_contain_text(
        instants[0].strftime("%H:%M")
    )

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/workspaces/{DEMO}/jobs/every_minute$"))
    schedule = page.get_by_test_id("job-schedule")
    expect(schedule).to_contain_text("Every minute (Asia/Riyadh)")
    expect(schedule).to_contain_text("* * * * * Asia/Riyadh")
    page.get_by_role("button", name="Pause").click()  # nothing keeps firing after the test
    expect(schedule).to_contain_text("paused")


PAGES = {
    "jobs": "/workspaces/demo/jobs",
    "job": "/workspaces/demo/jobs/daily_usage_report",
    "job-new": "/workspaces/demo/jobs/-/new",
    "job-edit": "/workspaces/demo/jobs/daily_usage_report/edit",
    "runs": "/workspaces/demo/runs",
    "runs-matrix": "/workspaces/demo/runs?view=matrix",
    "run": "/workspaces/demo/runs/{run}",
}


@pytest.mark.parametrize("name", list(PAGES))
def test_jobs_and_runs_pages_are_accessible(
    stack: Stack, browser: Browser, admin_api: httpx.Client, demo_built: str, screenshots: Path, name: str
) -> None:
    """axe-core: no serious or critical violation, light and dark; nothing wider than 1280 px;
    a screenshot of each (the run page: the demo report's run, with its log and result)."""
    assert AXE.is_file(), f"axe-core is missing ({AXE}): run `npm ci` in console/"
    reports = admin_api.get(f"/api/v1/workspaces/{DEMO}/runs", params={"job": "daily_usage_report"}).json()[
        "items"
    ]
    if not reports:
        submitted = admin_api.post(
            f"/api/v1/workspaces/{DEMO}/jobs/daily_usage_report/runs", json={"parameters": {}}
        )
        assert submitted.status_code == 201, submitted.text
        reports = [submitted.json()]
    wait_for_run(admin_api, reports[0]["id"], {"SUCCEEDED"})
    context = new_context(stack, browser, bypass_csp=True)
    try:
        page = context.new_page()
        sign_in(context)
        page.goto(PAGES[name].format(run=reports[0]["id"]))
        settle(page)
        found = []
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            found.append(f"{name} is {overflow} px wider than a 1280 px window")
        for theme in ("light", "dark"):
            if theme == "dark":
                page.get_by_role("button", name="Toggle dark mode").click()
            page.wait_for_function(TRANSITIONS_ENDED)
            suffix = "" if theme == "light" else "-dark"
            page.screenshot(path=str(screenshots / f"console-{name}{suffix}.png"))
            blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
            if blocking:
                found.append(f"axe on {name} ({theme}):\n{describe_violations(blocking)}")
        assert not found, "\n".join(found)
    finally:
        context.close()


def test_runs_matrix_marks_where_the_version_changed(
    stack: Stack, admin_api: httpx.Client, context: BrowserContext, page: Page
) -> None:
    """Two runs of version 1, a new version, one run of it: the matrix shows the job's three runs
    oldest first, each named by its state, with one marker before the first run of version 2;
    the view and its filters are a link; from a square to the run."""
    from playwright.sync_api import expect

    job = "matrix_probe"
    definition = {"task": {"type": "sql", "engine": "duckdb", "sql": "SELECT 1 AS one"}}
    created = admin_api.post(f"/api/v1/workspaces/{DEMO}/jobs", json={"name": job, **definition})
    assert created.status_code == 201, created.text

    def run_once() -> int:
        submitted = admin_api.post(f"/api/v1/workspaces/{DEMO}/jobs/{job}/runs", json={"parameters": {}})
        assert submitted.status_code == 201, submitted.text
        run_id = int(submitted.json()["id"])
        wait_for_run(admin_api, run_id, {"SUCCEEDED"})
        return run_id

    first, second = run_once(), run_once()
    changed = {**definition, "task": {**definition["task"], "sql": "SELECT 2 AS two"}, "message": "two"}
    assert admin_api.put(f"/api/v1/workspaces/{DEMO}/jobs/{job}", json=changed).status_code == 200
    third = run_once()

    sign_in(context)
    page.goto(f"/workspaces/{DEMO}/runs")
    page.get_by_role("navigation", name="Runs view").get_by_role("link", name="Matrix").click()
    expect(page).to_have_url(re.compile(r"view=matrix"))
    page.get_by_role("combobox", name="Job").select_option(job)
    expect(page).to_have_url(re.compile(rf"job={job}"))
    page.reload()  # the view is its address
    row = page.locator(f'tr[data-job="{job}"]')
    cells = row.locator("a[data-run]")
    expect(cells).to_have_count(3)
    assert cells.evaluate_all("(links) => links.map((a) => Number(a.dataset.run))") == [first, second, third]
    named = re.compile(rf"^Run #{third}: Succeeded, version 2, ")
    expect(cells.nth(2)).to_have_attribute("aria-label", named)
    markers = row.get_by_role("img", name="version 2 from here")
    expect(markers).to_have_count(1)
    assert markers.evaluate("(m) => m.parentElement.querySelector('a').dataset.run") == str(third)
    expect(page.get_by_role("region", name="Legend")).to_contain_text("Timed out")
    cells.nth(0).click()
    expect(page).to_have_url(re.compile(rf"/runs/{first}$"))
