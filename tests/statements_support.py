"""Shared by the SQL worksheet tests: a live platform (tests/jobs_support.py) plus helpers to run
statements through the API and to create real Iceberg tables in the built-in catalog."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog

from tests.conftest import bearer
from tests.jobs_support import Platform

FINISHED = {"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"}

READINGS = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("site", pa.string()),
        pa.field("kwh", pa.float64()),
        pa.field("day", pa.date32()),
    ]
)


def catalog(platform: Platform, who: str = "ws_admin", warehouse: str = "alpha") -> RestCatalog:
    return RestCatalog(
        "sadeem", uri=platform.catalog_url, token=platform.world.tokens[who], warehouse=warehouse
    )


def create_readings(
    platform: Platform, rows: int = 4, workspace: str = "alpha", who: str = "ws_admin"
) -> None:
    """`<workspace>.meter_readings` with `rows` rows: id 1…rows, sites north/south/east, kwh id*0.5."""
    table = catalog(platform, who, workspace).create_table((workspace, "meter_readings"), schema=READINGS)
    sites = ["north", "south", "east"]
    table.append(
        pa.table(
            {
                "id": list(range(1, rows + 1)),
                "site": [sites[i % 3] for i in range(rows)],
                "kwh": [i * 0.5 for i in range(1, rows + 1)],
                "day": [pa.scalar(20454 + i % 7, pa.date32()).as_py() for i in range(rows)],
            },
            schema=READINGS,
        )
    )


def statements_url(platform: Platform, workspace: str = "alpha") -> str:
    return f"{platform.base_url}/api/v1/workspaces/{workspace}/statements"


def submit(
    platform: Platform, sql: str, who: str = "ws_editor", workspace: str = "alpha", **body: Any
) -> httpx.Response:
    return httpx.post(
        statements_url(platform, workspace),
        json={"sql": sql, **body},
        headers=bearer(platform.world.tokens[who]),
        timeout=120,
    )


def run_sql(platform: Platform, sql: str, who: str = "ws_editor", **body: Any) -> dict[str, Any]:
    """Submit and wait until the statement ends; the final statement."""
    response = submit(platform, sql, who, **body)
    assert response.status_code == 200, response.text
    statement: dict[str, Any] = response.json()
    return wait_for(platform, statement["id"], who) if statement["state"] not in FINISHED else statement


def wait_for(
    platform: Platform, statement_id: str, who: str = "ws_editor", timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = get(platform, f"/{statement_id}", who, params={"wait": 5})
        assert response.status_code == 200, response.text
        statement: dict[str, Any] = response.json()
        if statement["state"] in FINISHED:
            return statement
        assert time.monotonic() < deadline, statement


def get(platform: Platform, path: str, who: str = "ws_editor", **kwargs: Any) -> httpx.Response:
    return httpx.get(
        statements_url(platform) + path, headers=bearer(platform.world.tokens[who]), timeout=120, **kwargs
    )


def post(platform: Platform, path: str, who: str = "ws_editor", **kwargs: Any) -> httpx.Response:
    return httpx.post(
        statements_url(platform) + path, headers=bearer(platform.world.tokens[who]), timeout=120, **kwargs
    )


def all_rows(
    platform: Platform, statement_id: str, who: str = "ws_editor", limit: int = 1000
) -> list[list[Any]]:
    """Every row through the JSON pages, following next_cursor."""
    rows: list[list[Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = get(platform, f"/{statement_id}/result", who, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        rows.extend(page["rows"])
        cursor = page["next_cursor"]
        if cursor is None:
            assert page["complete"]
            return rows
