"""Benchmark: the SQL editor's schema tree (`GET …/catalog/schema-tree`) for a workspace of 200
tables (12 columns each, in the root namespace and 4 nested ones).

Measures, on SQLite and PostgreSQL:

- service `cold`: `schema_tree.schema_tree` with the tree cache and the catalog's parsed-metadata
  cache both empty (every metadata file read and parsed); `rebuild`: after a commit to one table
  (one metadata file read, the other 199 tables' columns reused); `warm`: unchanged catalog;
- API (in-process `TestClient`, bearer token, full auth): `warm` 200 with the body, a `304`
  revalidation with `If-None-Match`, and as a baseline the explorer's `GET …/catalog/namespaces`
  (the same auth and one small query).

Target (issue #5 helper brief): a warm call for 200 tables in a few ms.

    .venv/bin/python -m bench.schema_tree [--backend sqlite|postgresql|both] [--tables 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from pyiceberg.schema import Schema
from pyiceberg.types import (
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    ListType,
    LongType,
    NestedField,
    StringType,
    StructType,
    TimestamptzType,
)
from sqlalchemy import select

from bench.catalog import database, percentile, prepare, timed
from sadeem.app import create_app
from sadeem.catalog import schema_tree, store
from sadeem.catalog.store import PlatformCatalog
from sadeem.config import Settings
from sadeem.db.engine import Database
from sadeem.workspaces.models import Workspace

NESTED = ("sales", "sales.eu", "ops", "ops.meters")
SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=True, doc="Row id"),
    NestedField(2, "ts", TimestamptzType(), required=True),
    NestedField(3, "day", DateType()),
    NestedField(4, "amount", DecimalType(12, 2)),
    NestedField(5, "name", StringType()),
    NestedField(6, "active", BooleanType()),
    NestedField(7, "score", DoubleType()),
    NestedField(8, "labels", ListType(20, StringType(), element_required=False)),
    NestedField(
        9, "point", StructType(NestedField(21, "x", DoubleType()), NestedField(22, "y", DoubleType()))
    ),
    NestedField(10, "site", StringType()),
    NestedField(11, "meter", LongType()),
    NestedField(12, "note", StringType(), doc="Free text"),
)


def seed(db: Database, settings: Settings, tables: int) -> None:
    with db.writes() as session:
        cat = PlatformCatalog.in_session(session, settings)
        root = cat.load_namespace_properties(("bench",))["location"]
        namespaces: list[tuple[str, ...]] = [("bench",)]
        for dotted in NESTED:
            parts = ("bench", *dotted.split("."))
            cat.create_namespace(parts, {"location": "/".join([root, *parts[1:]])})
            namespaces.append(parts)
        for i in range(tables):
            cat.create_table((*namespaces[i % len(namespaces)], f"table_{i:04d}"), SCHEMA)
        session.commit()


def summary(samples: list[float]) -> str:
    return f"p50 {statistics.median(samples):7.2f} ms  p99 {percentile(samples, 0.99):7.2f} ms"


def run(backend: str, tables: int, repeat: int) -> None:
    with database(backend, "schema_tree") as url, tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), database_url=url, demo=False)
        token = prepare(settings)
        db = Database.connect(url)
        try:
            started = time.perf_counter()
            seed(db, settings, tables)
            print(f"[{backend}] seeded {tables} tables in {time.perf_counter() - started:.1f} s")
            with db.reads() as session:
                workspace = session.scalars(select(Workspace).where(Workspace.slug == "bench")).one()

            def service() -> schema_tree.CachedTree:
                with db.reads() as session:
                    return schema_tree.schema_tree(session, settings, workspace)

            cold: list[float] = []
            for _ in range(max(3, repeat // 50)):
                schema_tree.tree_cache.clear()
                store.metadata_cache = store.MetadataCache()  # every metadata file read again
                cold += timed(service, 1)
            body = service().body
            rebuild: list[float] = []
            for i in range(max(3, repeat // 50)):
                with db.writes() as session:
                    cat = PlatformCatalog.in_session(session, settings)
                    table = cat.load_table(("bench", "table_0000"))
                    table.transaction().set_properties({"bench.round": str(i)}).commit_transaction()
                    session.commit()
                rebuild += timed(service, 1)
            warm = timed(service, repeat)
            print(f"[{backend}] service cold    {summary(cold)}  ({len(body) / 1024:.0f} KiB of JSON)")
            print(f"[{backend}] service rebuild {summary(rebuild)}  (one table committed)")
            print(f"[{backend}] service warm    {summary(warm)}")

            with TestClient(create_app(settings, db)) as client:
                path = "/api/v1/workspaces/bench/catalog/schema-tree"
                headers = {"Authorization": f"Bearer {token}"}
                first = client.get(path, headers=headers)
                assert first.status_code == 200, first.text
                assert sum(len(ns["tables"]) for ns in first.json()["namespaces"]) == tables
                etag = first.headers["etag"]

                def full() -> None:
                    assert client.get(path, headers=headers).status_code == 200

                def revalidate() -> None:
                    response = client.get(path, headers=headers | {"If-None-Match": etag})
                    assert response.status_code == 304

                def baseline() -> None:  # the explorer's namespace tree: auth + one small query
                    namespaces = "/api/v1/workspaces/bench/catalog/namespaces"
                    assert client.get(namespaces, headers=headers).status_code == 200

                api_warm = timed(full, repeat)
                api_304 = timed(revalidate, repeat)
                api_baseline = timed(baseline, repeat)
            print(f"[{backend}] API warm 200    {summary(api_warm)}")
            print(f"[{backend}] API warm 304    {summary(api_304)}")
            print(f"[{backend}] API …/namespaces {summary(api_baseline)}  (baseline: auth + one query)")
        finally:
            db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        run(backend, args.tables, args.repeat)


if __name__ == "__main__":
    main()
