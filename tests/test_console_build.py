"""The console's build as the server ships it: its typed API client matches the server's OpenAPI
document, and the server serves its pages and assets as a browser and a cache need them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sadeem.ui import console

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = ROOT / "console"
GENERATOR = CONSOLE / "node_modules" / ".bin" / "openapi-typescript"
needs_console_build = pytest.mark.skipif(
    console.bundle() is None, reason="the console is not built (`make console`; `make test` builds it)"
)


@pytest.mark.skipif(not GENERATOR.exists(), reason="console/node_modules is missing (`make console`)")
def test_the_generated_client_matches_the_committed_openapi_document(tmp_path: Path) -> None:
    # tests/test_openapi_document.py holds openapi.json to the app; this holds the client to openapi.json.
    fresh = tmp_path / "schema.d.ts"
    subprocess.run(
        [str(GENERATOR), str(ROOT / "openapi.json"), "-o", str(fresh)],
        cwd=CONSOLE,
        check=True,
        capture_output=True,
    )
    committed = (CONSOLE / "src" / "api" / "schema.d.ts").read_text()
    assert fresh.read_text() == committed, (
        "console/src/api/schema.d.ts is stale: run `npm run generate` in console/"
    )


@needs_console_build
def test_pages_and_assets_are_served_for_browsers_and_caches(client: TestClient) -> None:
    page = client.get("/workspaces/alpha/members", headers={"Accept-Encoding": "gzip"})  # a deep link
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"  # a new build is seen at once
    assert page.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self';")
    assert page.headers["content-encoding"] == "gzip"
    assert page.text == client.get("/").text

    scripts = re.findall(r'src="(/assets/[^"]+\.js)"', page.text)
    assert scripts, page.text
    asset = client.get(scripts[0], headers={"Accept-Encoding": "gzip"})
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["content-encoding"] == "gzip"
    assert asset.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    again = client.get(scripts[0], headers={"If-None-Match": asset.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@needs_console_build
@pytest.mark.parametrize(
    "path",
    ["/api/v1/no-such-thing", "/assets/no-such.js", "/assets/%2e%2e/%2e%2e/pyproject.toml", "/health/nope"],
)
def test_unknown_server_paths_stay_problem_not_found(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_unknown_api_paths_with_other_methods_are_not_pages(client: TestClient) -> None:
    assert client.post("/workspaces").status_code == 404
    assert client.delete("/api/v1/nothing").headers["content-type"] == "application/problem+json"


def test_a_server_without_its_console_says_how_to_build_it(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "DIST", Path("/nonexistent"))
    page = client.get("/")
    assert page.status_code == 503
    assert "make run" in page.text and "/docs" in page.text


def test_a_new_build_is_served_without_a_restart(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app-1.js").write_text("first()")
    (tmp_path / "index.html").write_text('<script src="/assets/app-1.js"></script>')
    monkeypatch.setattr(console, "DIST", tmp_path)
    assert "app-1.js" in client.get("/").text
    (tmp_path / "assets" / "app-2.js").write_text("second()")
    (tmp_path / "index.html").write_text('<script src="/assets/app-2.js"></script>')
    os.utime(tmp_path / "index.html", ns=(1, 1))  # another build, whatever the clock's resolution
    assert "app-2.js" in client.get("/").text
    assert client.get("/assets/app-2.js").text == "second()"


def test_a_wheel_cannot_be_built_without_the_console(tmp_path: Path) -> None:
    # A copy of the sources without console_dist: the backend refuses, naming the fix.
    tree = tmp_path / "src-tree"
    shutil.copytree(
        ROOT,
        tree,
        ignore=shutil.ignore_patterns(
            ".venv", "node_modules", "console_dist", ".git", "*_cache", "build", ".sadeem"
        ),
    )
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(tree),
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode != 0
    assert "The console is not built" in built.stdout + built.stderr
