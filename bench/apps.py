"""ASGI app factories served by uvicorn in the benchmarks (`uvicorn --factory bench.apps:…`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from sadeem.app import create_app
from sadeem.config import Settings


def sadeem_app() -> FastAPI:
    return create_app(Settings())


def bare_app() -> FastAPI:
    """A bare FastAPI route returning the same payload: no auth, no database, no middleware."""
    payload: dict[str, Any] = json.loads(Path(os.environ["SADEEM_BENCH_PAYLOAD"]).read_bytes())
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/workspaces")
    def workspaces(limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        return payload

    return app
