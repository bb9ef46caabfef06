"""What a new user does (issue #12 item 1): build the wheel, install it with plain `pip install`
into a fresh virtual environment (no constraints file: the package's own dependency metadata must
resolve), start `sadeem up` from that environment in an empty directory, and get the console.

Slow the first time (pip downloads every dependency), then fast from pip's cache."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.connection_doubles import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = ROOT / "src" / "sadeem" / "console_dist" / "index.html"
# What the build reads: everything else in the checkout (node_modules, .venv, caches) stays out.
BUILD_INPUTS = ("pyproject.toml", "README.md", "MANIFEST.in", "LICENSE", "packaging", "src")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")


def clean_env() -> dict[str, str]:
    """This process's environment without Sadeem's settings and without PYTHONPATH (with the
    sources on it, pip would take the package for installed already)."""
    return {name: value for name, value in os.environ.items() if not name.startswith(("SADEEM_", "PYTHON"))}


def run(args: list[str | Path], cwd: Path, timeout: float) -> str:
    done = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, (
        f"{' '.join(map(str, args))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    )
    return done.stdout


def test_wheel_installs_with_plain_pip_and_serves_the_console(tmp_path: Path) -> None:
    assert CONSOLE.is_file(), "the console is not built: run `make console` (`make test` builds it first)"
    source = tmp_path / "source"
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=IGNORED)
        elif path.is_file():
            source.mkdir(exist_ok=True)
            shutil.copy2(path, source / name)

    wheels = tmp_path / "wheels"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", wheels, source], tmp_path, 600)
    (wheel,) = wheels.glob("sadeem-*.whl")

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], tmp_path, 120)
    # Plain `pip install <wheel>`, as the README tells a new user: no -c constraints.txt.
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel], tmp_path, 1200)

    empty = tmp_path / "empty"
    empty.mkdir()
    port = free_port()
    env = clean_env()
    env.update(SADEEM_PORT=str(port), SADEEM_DEMO="false")
    log_path = tmp_path / "sadeem-up.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [venv / "bin" / "sadeem", "up"], cwd=empty, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                assert process.poll() is None, f"sadeem up exited:\n{log_path.read_text()[-4000:]}"
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/health/ready", timeout=5).status_code == 200:
                        break
                assert time.monotonic() < deadline, f"not ready in time:\n{log_path.read_text()[-4000:]}"
                time.sleep(0.25)

            page = httpx.get(base + "/")
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert page.text == (venv_package(venv) / "console_dist" / "index.html").read_text()
            assets = re.findall(r'(?:src|href)="(/assets/[^"]+\.(?:js|css))"', page.text)
            assert assets, page.text
            asset = httpx.get(base + assets[0], headers={"Accept-Encoding": "gzip"})
            assert asset.status_code == 200 and len(asset.content) > 1000, assets[0]
            assert "immutable" in asset.headers["cache-control"]
            # The state went into ./.sadeem of the directory it was started in, nowhere else.
            assert (empty / ".sadeem").is_dir()
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def venv_package(venv: Path) -> Path:
    (site,) = (venv / "lib").glob("python3*/site-packages")
    return site / "sadeem"
