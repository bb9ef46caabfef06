"""Benchmark: opening a very long run log in the console (headless Chromium, real `sadeem up`).

A run's first attempt gets a 1,000,000-line, ~100 MB log written straight into its log chunks
(the worker caps a live attempt's log at 10 MB; the viewer is measured beyond that, at the size
issue #13 names). The run page is then opened in a fresh browser and timed from navigation until
the viewer says the log is complete with all its lines (and, on the way, until its first lines are
on screen, while the rest streams in); then the JS heap, the rows in the DOM,
a search for a rare word, and long tasks while scrolling from top to bottom.

Targets (issue #13): open ≤ 1 s, browser memory ≤ 250 MB, ≤ 150 DOM rows, no long task > 50 ms.

    .venv/bin/python -m bench.console_log [--lines 1000000]
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from pathlib import Path

import httpx

from bench.console import PASSWORD, chromium_path, sadeem_up_in_home

LINE = "2026-12-07T10:00:00.000Z INFO  stage 3 task {i:>7}: wrote 4096 rows to s3://lake/sales/part-{i:07d}\n"
LINES_PER_CHUNK = 500
# Resolves once the viewer reports the whole log: its status says complete and its count is `lines`.
LOADED = """(lines) => {
    const status = document.querySelector('[data-testid="log-status"]');
    const count = [...document.querySelectorAll('span')]
        .find((s) => /^[\\d,]+ lines$/.test(s.textContent.trim()));
    return !!status && status.textContent.includes('complete') && !!count
        && Number(count.textContent.replace(/[^\\d]/g, '')) === lines;
}"""
SCROLL = """async () => {
    const long = [];
    new PerformanceObserver((list) => long.push(...list.getEntries().map((e) => e.duration)))
        .observe({ type: 'longtask' });
    const log = document.querySelector('[data-testid="run-log"]');
    log.scrollTop = 0;
    await new Promise((r) => requestAnimationFrame(r));
    const steps = 60;
    for (let i = 1; i <= steps; i++) {
        log.scrollTop = (log.scrollHeight * i) / steps;
        await new Promise((r) => requestAnimationFrame(r));
    }
    await new Promise((r) => setTimeout(r, 200));
    return { long, rows: log.querySelectorAll('[data-line]').length };
}"""


def write_log(database: Path, run_id: int, lines: int) -> int:
    """The run's attempt 1 log replaced by `lines` synthetic lines; returns its size in bytes."""
    size = 0
    with sqlite3.connect(database) as connection:
        connection.execute("DELETE FROM run_log_chunks WHERE run_id = ? AND attempt = 1", (run_id,))
        rows = []
        for seq, start in enumerate(range(0, lines, LINES_PER_CHUNK), start=1):
            text = "".join(LINE.format(i=i) for i in range(start, min(start + LINES_PER_CHUNK, lines)))
            size += len(text)
            rows.append((run_id, 1, seq, text))
        connection.executemany(
            "INSERT INTO run_log_chunks (run_id, attempt, seq, text, created_at)"
            " VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)",
            rows,
        )
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sadeem_up_in_home() as (base, home):
        with httpx.Client(base_url=base, timeout=60) as client:
            login = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
            client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
            client.post("/api/v1/workspaces", json={"slug": "logs", "name": "Logs"}).raise_for_status()
            job = {"name": "chatty", "task": {"type": "sql", "engine": "duckdb", "sql": "SELECT 1 AS one"}}
            client.post("/api/v1/workspaces/logs/jobs", json=job).raise_for_status()
            run_id = client.post("/api/v1/workspaces/logs/jobs/chatty/runs", json={}).json()["id"]
            deadline = time.monotonic() + 120
            while client.get(f"/api/v1/workspaces/logs/runs/{run_id}").json()["state"] != "SUCCEEDED":
                if time.monotonic() > deadline:
                    raise SystemExit("the run did not finish")
                time.sleep(0.2)
        size = write_log(home / "sadeem.db", run_id, args.lines)
        print(f"log: {args.lines:,} lines, {size / 1e6:.0f} MB in {args.lines // LINES_PER_CHUNK:,} chunks")

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(),
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--enable-precise-memory-info"],
            )
            context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
            context.request.post("/api/v1/auth/login", data={"username": "admin", "password": PASSWORD})
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            page.goto(f"/workspaces/logs/runs/{run_id}")
            page.locator('[data-testid="run-log"] [data-line]').first.wait_for(timeout=300_000)
            first_lines = page.evaluate("performance.now()")
            page.wait_for_function(LOADED, arg=args.lines, timeout=300_000, polling=50)
            opened = page.evaluate("performance.now()")
            cdp.send("HeapProfiler.collectGarbage")
            heap = cdp.send("Runtime.getHeapUsage")["usedSize"]
            metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            rows = page.locator('[data-testid="run-log"] [data-line]').count()
            started = time.monotonic()
            page.get_by_label("Search the log").fill("task  999999")
            page.get_by_test_id("log-matches").wait_for()
            searched = (time.monotonic() - started) * 1000
            scrolled = page.evaluate(SCROLL)
            browser.close()

    longest = max(scrolled["long"], default=0)
    print(f"open → first lines on screen: {first_lines:,.0f} ms (the rest streams in behind them)")
    print(f"open → whole log shown: {opened:,.0f} ms (target ≤ 1,000)")
    nodes = metrics.get("Nodes", 0)
    print(f"JS heap after GC: {heap / 1e6:,.0f} MB (target ≤ 250 MB); DOM nodes: {nodes:,.0f}")
    print(f"log rows in the DOM: {rows} (target ≤ 150); while scrolling: {scrolled['rows']}")
    print(f"search for a rare line: {searched:,.0f} ms")
    tasks = len(scrolled["long"])
    print(f"scroll top → bottom: {tasks} long tasks, longest {longest:.0f} ms (target none > 50)")


if __name__ == "__main__":
    main()
