"""Shared by the catalog tests: a live Sadeem serving the built-in Iceberg REST catalog, and the
real clients pointed at it (pyiceberg's RestCatalog, DuckDB with its iceberg extension installed
offline from the Python packages)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from fastapi import FastAPI
from pyiceberg.catalog.rest import RestCatalog

from sadeem.config import Settings
from sadeem.db.engine import Database
from tests.conftest import World, bearer, live_uvicorn

DUCKDB_EXTENSIONS = ("avro", "httpfs", "iceberg")  # avro before iceberg: iceberg loads it


@dataclass
class CatalogServer:
    base_url: str
    world: World
    settings: Settings
    db: Database

    @property
    def uri(self) -> str:
        return f"{self.base_url}/iceberg"

    def pyiceberg(self, who: str, warehouse: str | None = "alpha", **properties: str) -> RestCatalog:
        extra = {"warehouse": warehouse} if warehouse else {}
        return RestCatalog("sadeem", uri=self.uri, token=self.world.tokens[who], **extra, **properties)

    def audit_events(self, **filters: str) -> list[dict[str, Any]]:
        """Audit events (newest first) as the platform admin sees them."""
        response = httpx.get(
            f"{self.base_url}/api/v1/audit/events",
            params={"limit": "500", **filters},
            headers=bearer(self.world.tokens["root"]),
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def duckdb(self, who: str, warehouse: str = "alpha", alias: str = "lake") -> duckdb.DuckDBPyConnection:
        connection = duckdb_with_iceberg()
        token = self.world.tokens[who]
        connection.execute(f"CREATE SECRET (TYPE ICEBERG, TOKEN '{token}')")
        connection.execute(f"ATTACH '{warehouse}' AS {alias} (TYPE ICEBERG, ENDPOINT '{self.uri}')")
        return connection


def duckdb_with_iceberg() -> duckdb.DuckDBPyConnection:
    """DuckDB with the iceberg extension from the duckdb-extension-* packages (no download)."""
    connection = duckdb.connect(
        config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
    )
    for name in DUCKDB_EXTENSIONS:
        spec = importlib.util.find_spec(f"duckdb_extension_{name}")
        assert spec is not None and spec.origin is not None, f"duckdb-extension-{name} is not installed"
        extension = next(Path(spec.origin).parent.rglob(f"{name}.duckdb_extension"))
        connection.execute(f"INSTALL '{extension}'")
        connection.execute(f"LOAD {name}")
    return connection


@pytest.fixture
def catalog_server(app: FastAPI, world: World, settings: Settings, db: Database) -> Iterator[CatalogServer]:
    with live_uvicorn(app) as base_url:
        yield CatalogServer(base_url, world, settings, db)
