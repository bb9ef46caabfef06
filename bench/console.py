"""Benchmark: the console's weight and speed in headless Chromium, against a real `sadeem up`.

- first route: the JS and CSS (gzipped, as the server sends them) that the sign-in page and then
  the workspaces page load, from an empty cache;
- total JS: every script of the build, gzipped (lazy chunks included);
- cold load: a signed-in browser with an empty cache opens /workspaces with the CPU throttled 4x
  (CDP `Emulation.setCPUThrottlingRate`), until the page is interactive: its heading is there, no
  loading placeholder is left (measured in the page, from navigation start);
- route change: a click on a navigation link until the new page's heading is there (in the page:
  from the click to the frame that shows it), unthrottled and throttled 4x.

Targets (/work/shared/CONSOLE.md, issue #12): first route JS <= 180 KB gz, CSS <= 25 KB gz,
total JS <= 900 KB gz, cold load <= 1.5 s throttled, route change <= 200 ms.

    make bench            # or: .venv/bin/python -m bench.console --samples 7
    .venv/bin/python -m bench.console --url http://127.0.0.1:8000 --password '…'   # a running one
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

import sadeem

DIST = Path(sadeem.__file__).resolve().parent / "console_dist"
PASSWORD = "bench console password 1"
KB = 1000  # the targets are in kB of gzip, as bundlers report them
TARGETS = {
    "first route JS": 180 * KB,
    "first route CSS": 25 * KB,
    "total JS": 900 * KB,
    "cold load (4x CPU)": 1500.0,
    "route change": 200.0,
}
# When a page counts as interactive: its h1 says `name`, and no loading placeholder is left.
READY = """(name) => {
    const h1 = document.querySelector('main h1, h1');
    return !!h1 && h1.textContent.trim() === name && !document.querySelector('[aria-busy="true"]');
}"""
# Marks the first moment the page is READY for "Workspaces", from navigation start (timeOrigin).
MARK_READY = (
    "(() => { const ready = "
    + READY
    + """;
    const check = () => {
        if (window.__benchReady === undefined && ready('Workspaces')) window.__benchReady = performance.now();
        else if (window.__benchReady === undefined) requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
})();"""
)
# Clicks the navigation link named `link` and resolves with the ms until the page is READY for `h1`.
ROUTE_CHANGE = (
    "async ([link, h1]) => { const ready = "
    + READY
    + """;
    const anchor = [...document.querySelectorAll('nav a')].find((a) => a.textContent.trim() === link);
    if (!anchor) throw new Error('no navigation link ' + link);
    const started = performance.now();
    anchor.click();
    return await new Promise((resolve, reject) => {
        const check = () => ready(h1) ? resolve(performance.now() - started)
            : performance.now() - started > 15000 ? reject(new Error('no ' + h1 + ' page'))
            : requestAnimationFrame(check);
        requestAnimationFrame(check);
    });
}"""
)
# (link text, h1 text): a round trip through the platform pages.
ROUTES = [("Audit log", "Audit log"), ("Health", "Health"), ("Users", "Users"), ("Workspaces", "Workspaces")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise SystemExit("Chromium is not installed (apt-get install chromium)")
    return found


@contextlib.contextmanager
def sadeem_up() -> Iterator[str]:
    """`sadeem up` on a throwaway home and a free port, with a few workspaces to list."""
    with sadeem_up_in_home() as (base, _home):
        yield base


@contextlib.contextmanager
def sadeem_up_in_home() -> Iterator[tuple[str, Path]]:
    """`sadeem up` as above, with its home directory (its SQLite database is `home/sadeem.db`)."""
    with tempfile.TemporaryDirectory(prefix="sadeem-bench-console-") as home:
        port = free_port()
        env = {name: value for name, value in os.environ.items() if not name.startswith("SADEEM_")}
        env.update(
            PYTHONPATH=os.pathsep.join(
                [str(Path(sadeem.__file__).resolve().parent.parent), env.get("PYTHONPATH", "")]
            ),
            SADEEM_HOME=home,
            SADEEM_PORT=str(port),
            SADEEM_ADMIN_PASSWORD=PASSWORD,
            SADEEM_DEMO="false",
        )
        log = Path(home) / "sadeem-up.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-c", "from sadeem.cli import app; app()", "up"],
                cwd=home,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                deadline = time.monotonic() + 120
                while True:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"sadeem up did not start:\n{log.read_text()[-3000:]}")
                    with contextlib.suppress(httpx.HTTPError):
                        if httpx.get(base + "/health/ready", timeout=5).status_code == 200:
                            break
                    time.sleep(0.25)
                with httpx.Client(base_url=base, timeout=60) as client:
                    login = client.post(
                        "/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}
                    )
                    login.raise_for_status()
                    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
                    for name in ("sales", "marketing", "finance", "operations", "research"):
                        client.post("/api/v1/workspaces", json={"slug": name, "name": name.title()})
                yield base, Path(home)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


def gz(data: bytes) -> int:
    return len(gzip.compress(data, 9, mtime=0))


def asset_bytes(base: str, url: str) -> bytes:
    """An asset's bytes: from the build on disk when it is this one's, else from the server."""
    local = DIST / url.removeprefix(base).lstrip("/")
    return local.read_bytes() if local.is_file() else httpx.get(url).content


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(base: str, username: str, password: str, samples: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    results: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            # First route: what sign-in, then the workspaces page it leads to, load from an empty cache.
            context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
            page = context.new_page()
            loaded: list[str] = []
            page.on("response", lambda r: loaded.append(r.url) if "/assets/" in r.url else None)
            page.goto("/login")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(password)
            page.wait_for_load_state("networkidle")
            sign_in_only = set(loaded)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_function(READY, arg="Workspaces", timeout=30_000)
            page.wait_for_load_state("networkidle")
            first = {url: gz(asset_bytes(base, url)) for url in dict.fromkeys(loaded)}
            results["first route JS"] = sum(size for url, size in first.items() if url.endswith(".js"))
            results["first route CSS"] = sum(size for url, size in first.items() if url.endswith(".css"))
            results["first route files"] = len(first)
            results["sign-in page JS"] = sum(
                size for url, size in first.items() if url.endswith(".js") and url in sign_in_only
            )
            context.close()

            results["total JS"] = sum(gz(path.read_bytes()) for path in (DIST / "assets").glob("*.js"))
            results["total JS files"] = len(list((DIST / "assets").glob("*.js")))

            cold = []
            for _ in range(samples):
                context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
                answer = context.request.post(
                    "/api/v1/auth/login", data={"username": username, "password": password}
                )
                assert answer.ok, answer.text()
                context.add_init_script(MARK_READY)
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
                page.goto("/workspaces")
                page.wait_for_function("() => window.__benchReady !== undefined", timeout=60_000)
                cold.append(page.evaluate("window.__benchReady"))
                context.close()
            results["cold load (4x CPU)"] = cold

            for rate in (1, 4):
                context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 800})
                context.request.post("/api/v1/auth/login", data={"username": username, "password": password})
                page = context.new_page()
                page.goto("/workspaces")
                page.wait_for_function(READY, arg="Workspaces", timeout=30_000)
                cdp = context.new_cdp_session(page)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
                changes = []
                for round_ in range(samples + 1):
                    for link, h1 in ROUTES:
                        elapsed = page.evaluate(ROUTE_CHANGE, [link, h1])
                        if round_:  # the first round loads each page's code: warm-up
                            changes.append(elapsed)
                        page.wait_for_timeout(200)
                results["route change" if rate == 1 else "route change (4x CPU)"] = changes
                context.close()
        finally:
            browser.close()
    return results


def report(results: dict[str, Any]) -> None:
    print(f"{'metric':<24} {'median':>10} {'p95':>10} {'target':>10} {'ratio':>7}")
    for name in ("first route JS", "first route CSS", "total JS"):
        value, target = results[name], TARGETS[name]
        print(f"{name:<24} {value / KB:>8.1f}kB {'':>10} {target / KB:>8.0f}kB {value / target:>7.2f}")
    for name, target_name in (
        ("cold load (4x CPU)", "cold load (4x CPU)"),
        ("route change", "route change"),
        ("route change (4x CPU)", "route change"),
    ):
        values, target = results[name], TARGETS[target_name]
        median, p95 = statistics.median(values), percentile(values, 0.95)
        print(f"{name:<24} {median:>8.0f}ms {p95:>8.0f}ms {target:>8.0f}ms {p95 / target:>7.2f}")
    print(
        f"(sign-in alone: {results['sign-in page JS'] / KB:.1f} kB of JS; "
        f"{results['first route files']} files on the first route, "
        f"{results['total JS files']} scripts in the build; gzip -9 as the server sends them; "
        "ratios are value / target, p95 for times; "
        f"{len(results['cold load (4x CPU)'])} cold loads, {len(results['route change'])} route changes)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="A running Sadeem (default: start `sadeem up` on a throwaway home).")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default=PASSWORD)
    parser.add_argument("--samples", type=int, default=7)
    args = parser.parse_args()
    if not (DIST / "index.html").is_file():
        raise SystemExit("the console is not built: run `make console`")
    if args.url:
        report(run(args.url.rstrip("/"), args.username, args.password, args.samples))
    else:
        with sadeem_up() as base:
            report(run(base, "admin", PASSWORD, args.samples))


if __name__ == "__main__":
    main()
