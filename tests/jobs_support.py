"""Shared by the jobs and runs tests: a live Sadeem (API + built-in catalog on a real uvicorn)
with an in-process worker, and small helpers to create jobs, submit runs and wait for them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sadeem.config import Settings
from sadeem.db.engine import Database
from sadeem.worker.worker import Worker
from tests.conftest import World, bearer, live_uvicorn

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"}


def fast_settings(settings: Settings, **overrides: Any) -> Settings:
    """Short leases and reaper periods, so fault tests finish in seconds."""
    values: dict[str, Any] = {
        "lease_seconds": 3.0,
        "reaper_interval_seconds": 0.5,
        "worker_poll_seconds": 0.5,
    }
    return settings.model_copy(update={**values, **overrides})


@dataclass
class Platform:
    base_url: str
    world: World
    settings: Settings
    db: Database
    workers: list[Worker] = field(default_factory=list)

    @property
    def catalog_url(self) -> str:
        return f"{self.base_url}/iceberg"

    def api(self, method: str, path: str, who: str = "ws_editor", **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.base_url}/api/v1/workspaces/alpha{path}",
            headers=bearer(self.world.tokens[who]),
            timeout=60,
            **kwargs,
        )

    def create_job(
        self, name: str, task: dict[str, Any], who: str = "ws_editor", **definition: Any
    ) -> dict[str, Any]:
        response = self.api("POST", "/jobs", who, json={"name": name, "task": task, **definition})
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def submit(self, job: str, who: str = "ws_editor", **body: Any) -> dict[str, Any]:
        response = self.api("POST", f"/jobs/{job}/runs", who, json=body)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    def run(self, run_id: int) -> dict[str, Any]:
        response = self.api("GET", f"/runs/{run_id}", "ws_viewer")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def wait(self, run_id: int, states: set[str] = TERMINAL, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(run_id)
            if run["state"] in states:
                return run
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} still {run['state']} after {timeout} s: {run}")
            time.sleep(0.05)

    def logs(self, run_id: int, attempt: int | None = None) -> str:
        params = {} if attempt is None else {"attempt": attempt}
        response = self.api("GET", f"/runs/{run_id}/logs", "ws_viewer", params=params)
        assert response.status_code == 200, response.text
        text: str = response.json()["text"]
        return text

    def start_worker(self, **overrides: Any) -> Worker:
        worker = Worker(self.db, self.settings.model_copy(update=overrides), catalog_url=self.catalog_url)
        worker.start()
        self.workers.append(worker)
        return worker


@pytest.fixture
def platform(app: FastAPI, world: World, settings: Settings, db: Database) -> Iterator[Platform]:
    """A live server and no worker yet (tests start the workers they need)."""
    with live_uvicorn(app) as base_url:
        app.state.statements.catalog_url = f"{base_url}/iceberg"  # the worksheet's engines too
        found = Platform(base_url, world, fast_settings(settings), db)
        try:
            yield found
        finally:
            for worker in found.workers:
                worker.stop(wait_seconds=0)


@pytest.fixture
def running_platform(platform: Platform) -> Platform:
    platform.start_worker()
    return platform
