"""A burst of requests far larger than the database pool is served, not deadlocked."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi import FastAPI

from sadeem.app import create_app
from sadeem.config import Settings
from tests.conftest import World, live_uvicorn

pytestmark = pytest.mark.integration


def test_a_burst_larger_than_the_pool_is_served(settings: Settings, world: World) -> None:
    # Two requests at a time, a pool of 2 + 2 connections, 120 concurrent requests. Without
    # admission control the thread pool fills with requests blocked on pool checkout while the
    # requests holding connections wait for a thread: nothing moves until the pool times out.
    app: FastAPI = create_app(settings.model_copy(update={"max_concurrent_requests": 2}))
    headers = world.headers("ws_editor")

    async def burst(base: str) -> list[int]:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            responses = await asyncio.gather(
                *(client.get("/api/v1/workspaces/alpha/members", headers=headers) for _ in range(120))
            )
        return [r.status_code for r in responses]

    with live_uvicorn(app) as base:
        started = time.perf_counter()
        statuses = asyncio.run(burst(base))
        elapsed = time.perf_counter() - started
    assert statuses == [200] * 120
    assert elapsed < 20, f"the burst took {elapsed:.1f}s"
