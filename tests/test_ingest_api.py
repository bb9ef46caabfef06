"""The upload route (`POST /api/v1/workspaces/{ws}/ingest/{namespace}/{table}`) through HTTP, on
each database backend: what lands in the table (read back with pyiceberg), what is refused and
that a refusal changes nothing, the audit trail, the size limit, and concurrency (parallel
uploads to one table, and other writers while an upload is still streaming)."""

from __future__ import annotations

import datetime as dt
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from pyiceberg.table import Table
from sqlalchemy import select

from sadeem.app import create_app
from sadeem.audit.models import AuditEvent
from sadeem.audit.service import verify_chain
from sadeem.catalog.storage import local_path
from sadeem.catalog.store import PlatformCatalog
from sadeem.catalog.writer import WorkspaceWriterCatalog
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.core.errors import InvalidInput
from sadeem.db.engine import Database
from sadeem.ingest import uploads
from sadeem.ingest.scratch import scratch_root
from sadeem.ingest.service import SNAPSHOT_SOURCE_FORMAT, ingest
from sadeem.workspaces.models import Workspace
from tests.catalog_support import CatalogServer, catalog_server  # noqa: F401
from tests.conftest import World

READINGS_CSV = (
    "meter_id,reading_at,kwh,count\n"
    "M1,2024-06-01 00:00:00,1.5,3\n"
    "M2,2024-06-01 01:30:00,2.25,4\n"
    "M3,2024-06-02 00:00:00,,5\n"
)
UPLOAD_SECONDS_LIMIT = 5.0  # SQLite's busy timeout is 30 s: a blocked writer would take that long


def path_of(table: str, namespace: str = "alpha", workspace: str = "alpha") -> str:
    return f"/api/v1/workspaces/{workspace}/ingest/{namespace}/{table}"


def upload(
    client: TestClient | httpx.Client,
    world: World,
    table: str,
    body: bytes | str | Iterator[bytes],
    *,
    fmt: str = "csv",
    mode: str = "create",
    who: str = "ws_editor",
    namespace: str = "alpha",
    workspace: str = "alpha",
) -> httpx.Response:
    return client.post(
        path_of(table, namespace, workspace),
        params={"format": fmt, "mode": mode},
        content=body.encode() if isinstance(body, str) else body,
        headers=world.headers(who),
    )


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def load(db: Database, settings: Settings, name: str, namespace: str = "alpha") -> Table:
    with db.reads() as session:
        return PlatformCatalog.in_session(session, settings).load_table((namespace, name))


def table_names(db: Database, settings: Settings, namespace: str = "alpha") -> list[str]:
    with db.reads() as session:
        catalog = PlatformCatalog.in_session(session, settings)
        return sorted(identifier[-1] for identifier in catalog.list_tables(namespace))


def rows_of(table: Table) -> list[dict[str, Any]]:
    rows = table.scan().to_arrow().to_pylist()
    return sorted(rows, key=lambda row: [(value is None, value) for value in row.values()])


def warehouse_files(settings: Settings) -> set[Path]:
    root = local_path(settings.resolved_warehouse)
    assert root is not None
    return {path for path in root.rglob("*") if path.is_file()}


def ingest_events(db: Database) -> list[AuditEvent]:
    with db.reads() as session:
        query = select(AuditEvent).where(AuditEvent.action == "ingest_file").order_by(AuditEvent.seq)
        return list(session.scalars(query))


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def csv_rows(first_id: int, count: int) -> str:
    return "id,city\n" + "".join(f"{i},city-{i}\n" for i in range(first_id, first_id + count))


# --- what lands in the table -------------------------------------------------------------------


def test_create_from_csv_round_trips_and_is_audited(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    result = created(upload(client, world, "readings", READINGS_CSV))

    assert result["table"] == "alpha.readings"
    assert (result["mode"], result["rows"], result["data_files"], result["attempts"]) == ("create", 3, 1, 1)
    assert result["bytes_received"] == len(READINGS_CSV.encode())
    assert result["bytes_written"] > 0 and result["duration_s"] >= 0
    assert isinstance(result["snapshot_id"], str)
    table = load(db, settings, "readings")
    snapshot = table.current_snapshot()
    assert snapshot is not None and str(snapshot.snapshot_id) == result["snapshot_id"]
    assert len(table.snapshots()) == 1
    assert snapshot.summary is not None and snapshot.summary[SNAPSHOT_SOURCE_FORMAT] == "csv"
    assert table.location().startswith(settings.resolved_warehouse + "/alpha/")
    assert {f.name: str(f.field_type) for f in table.schema().fields} == {
        "meter_id": "string",
        "reading_at": "timestamp",
        "kwh": "double",
        "count": "long",
    }
    assert rows_of(table) == [
        {"meter_id": "M1", "reading_at": dt.datetime(2024, 6, 1), "kwh": 1.5, "count": 3},
        {"meter_id": "M2", "reading_at": dt.datetime(2024, 6, 1, 1, 30), "kwh": 2.25, "count": 4},
        {"meter_id": "M3", "reading_at": dt.datetime(2024, 6, 2), "kwh": None, "count": 5},
    ]

    # One event for the catalog commit that created the table, one summing up the ingest; both
    # by the uploader, on the table, in the workspace, with the exact snapshot id as a string.
    commit, summary = ingest_events(db)
    for event in (commit, summary):
        assert (event.actor, event.auth_method, event.outcome) == ("ws_editor", "token", "success")
        assert (event.target_type, event.target_id, event.workspace) == ("table", "alpha.readings", "alpha")
        assert event.details["snapshot_id"] == result["snapshot_id"]
    assert commit.request_id == summary.request_id
    assert commit.details["table_uuid"] == str(table.metadata.table_uuid)
    assert commit.details["metadata_location"] == table.metadata_location
    assert summary.details == {
        "mode": "create",
        "format": "csv",
        "rows": 3,
        "bytes_received": len(READINGS_CSV.encode()),
        "snapshot_id": result["snapshot_id"],
        "attempts": 1,
    }
    with db.reads() as session:
        assert verify_chain(session).ok


def test_append_overwrite_and_create_or_append(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    created(upload(client, world, "cities", csv_rows(1, 2)))
    appended = created(upload(client, world, "cities", csv_rows(3, 1), mode="append"))
    assert (appended["mode"], appended["rows"]) == ("append", 1)
    assert [row["id"] for row in rows_of(load(db, settings, "cities"))] == [1, 2, 3]

    # create_or_append on an existing table appends; the columns may come in another order
    either = created(upload(client, world, "cities", "city,id\ncity-4,4\n", mode="create_or_append"))
    assert (either["mode"], either["rows"]) == ("append", 1)
    assert [row["id"] for row in rows_of(load(db, settings, "cities"))] == [1, 2, 3, 4]

    replaced = created(upload(client, world, "cities", csv_rows(9, 2), mode="overwrite"))
    assert (replaced["mode"], replaced["rows"]) == ("overwrite", 2)
    table = load(db, settings, "cities")
    assert rows_of(table) == [{"id": 9, "city": "city-9"}, {"id": 10, "city": "city-10"}]
    operations = [s.summary.operation.value for s in table.snapshots() if s.summary is not None]
    assert operations == ["append", "append", "append", "overwrite"]
    assert str(table.metadata.current_snapshot_id) == replaced["snapshot_id"]

    # create_or_append on a missing table creates it
    fresh = created(upload(client, world, "towns", csv_rows(1, 3), mode="create_or_append"))
    assert (fresh["mode"], fresh["rows"]) == ("create", 3)
    assert len(rows_of(load(db, settings, "towns"))) == 3

    summaries = [event.details for event in ingest_events(db) if "rows" in event.details]
    assert [(d["mode"], d["rows"]) for d in summaries] == [
        ("create", 2),
        ("append", 1),
        ("append", 1),
        ("overwrite", 2),
        ("create", 3),
    ]
    assert len(ingest_events(db)) == 2 * len(summaries)  # each with its catalog commit


def test_parquet_upload(client: TestClient, world: World, db: Database, settings: Settings) -> None:
    first = pa.table(
        {
            "id": pa.array([1, 2], pa.int32()),
            "at": pa.array([dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)], pa.timestamp("ms")),
            "day": pa.array([dt.date(2024, 1, 1), None], pa.date32()),
            "ok": [True, False],
            "name": pa.array(["a", "b"], pa.large_string()),
        }
    )
    body = parquet_bytes(first)
    result = created(upload(client, world, "events", body, fmt="parquet"))
    assert (result["mode"], result["rows"], result["bytes_received"]) == ("create", 2, len(body))
    table = load(db, settings, "events")
    assert {f.name: str(f.field_type) for f in table.schema().fields} == {
        "id": "int",
        "at": "timestamp",
        "day": "date",
        "ok": "boolean",
        "name": "string",
    }
    summary = table.current_snapshot().summary  # type: ignore[union-attr]
    assert summary is not None and summary[SNAPSHOT_SOURCE_FORMAT] == "parquet"

    # A CSV appended to a table made from Parquet is parsed into the table's types
    created(
        upload(
            client,
            world,
            "events",
            "id,at,day,ok,name\n3,2024-01-03 12:00:00,2024-01-03,true,c\n",
            mode="append",
        )
    )
    assert rows_of(load(db, settings, "events")) == [
        {"id": 1, "at": dt.datetime(2024, 1, 1), "day": dt.date(2024, 1, 1), "ok": True, "name": "a"},
        {"id": 2, "at": dt.datetime(2024, 1, 2), "day": None, "ok": False, "name": "b"},
        {"id": 3, "at": dt.datetime(2024, 1, 3, 12), "day": dt.date(2024, 1, 3), "ok": True, "name": "c"},
    ]


def test_nested_namespace_of_the_workspace(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    storage = f"{settings.resolved_warehouse}/alpha"
    with db.writes() as session:
        PlatformCatalog.in_session(session, settings).create_namespace(
            "alpha.raw", {"location": f"{storage}/raw"}
        )
        session.commit()

    made = created(upload(client, world, "cities", csv_rows(1, 2), namespace="alpha.raw"))
    assert (made["table"], made["mode"], made["rows"]) == ("alpha.raw.cities", "create", 2)
    added = created(upload(client, world, "cities", csv_rows(3, 1), namespace="alpha.raw", mode="append"))
    assert added["mode"] == "append"
    table = load(db, settings, "cities", namespace="alpha.raw")
    assert table.location() == f"{storage}/raw/cities"
    assert [row["id"] for row in rows_of(table)] == [1, 2, 3]
    assert {e.target_id for e in ingest_events(db)} == {"alpha.raw.cities"}


def test_the_writer_catalog_refuses_other_locations_before_writing(
    world: World, db: Database, settings: Settings, tmp_path: Path
) -> None:
    """Below the route's own checks: whatever the name or location asked for, the workspace's
    writer catalog refuses a table outside the workspace's storage before any file is written."""
    with db.reads() as session:
        alpha = session.scalars(select(Workspace).where(Workspace.slug == "alpha")).one()
    catalog = WorkspaceWriterCatalog(db, settings, Actor.system("cli"), "test.ingest", alpha)
    source = tmp_path / "cities.csv"
    source.write_text(csv_rows(1, 3))
    files = warehouse_files(settings)
    warehouse = settings.resolved_warehouse
    attempts: list[tuple[tuple[str, str], str | None]] = [
        (("alpha", ".."), None),
        (("beta", "t"), None),  # another workspace's namespace, and so its storage
        (("alpha", "t"), f"{warehouse}/beta/t"),
        (("alpha", "t"), f"{warehouse}/alpha/../beta/t"),
    ]
    for identifier, location in attempts:
        with pytest.raises(InvalidInput, match="must be inside the workspace's storage"):
            ingest(catalog, identifier, source, "csv", "create", location=location)
    assert warehouse_files(settings) == files
    assert table_names(db, settings) == [] and table_names(db, settings, "beta") == []
    assert ingest_events(db) == []


# --- refusals change nothing -------------------------------------------------------------------


def test_schema_mismatch_is_refused_listing_the_columns(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    created(upload(client, world, "readings", READINGS_CSV))
    before = load(db, settings, "readings").metadata.current_snapshot_id
    files = warehouse_files(settings)
    events = len(ingest_events(db))

    wrong_columns = "meter_id,kwh,colour\nM9,1.0,red\n"
    for mode in ("append", "overwrite", "create_or_append"):
        refused = upload(client, world, "readings", wrong_columns, mode=mode)
        assert refused.status_code == 400, refused.text
        detail = refused.json()["detail"]
        assert "column 'colour' is not in the table" in detail
        assert "Table columns: meter_id string, reading_at timestamp, kwh double, count long." in detail
        assert "File columns: meter_id string, kwh double, colour string." in detail
        # The same differences as data, one per column, for a console to list
        assert refused.json()["mismatches"] == [
            {"column": "colour", "kind": "not_in_table", "file_type": "string", "table_type": None}
        ]

    # A value far down that does not parse as the column's type: refused too, after writing began
    bad_value = (
        "meter_id,reading_at,kwh,count\n"
        + "M1,2024-06-01 00:00:00,1.0,1\n" * 5000
        + "M2,2024-06-01,1.0,many\n"
    )
    refused = upload(client, world, "readings", bad_value, mode="append")
    assert refused.status_code == 400, refused.text
    assert "count" in refused.json()["detail"] and "many" not in refused.json()["detail"]
    parquet_mismatch = parquet_bytes(pa.table({"meter_id": [1, 2], "kwh": ["high", "low"]}))
    refused = upload(client, world, "readings", parquet_mismatch, fmt="parquet", mode="append")
    assert refused.status_code == 400, refused.text
    assert "column 'meter_id' is long in the file but string in the table" in refused.json()["detail"]
    assert refused.json()["mismatches"] == [
        {"column": "meter_id", "kind": "type", "file_type": "long", "table_type": "string"},
        {"column": "kwh", "kind": "type", "file_type": "string", "table_type": "double"},
    ]

    table = load(db, settings, "readings")
    assert table.metadata.current_snapshot_id == before and len(table.snapshots()) == 1
    assert len(rows_of(table)) == 3
    assert warehouse_files(settings) == files  # no data or metadata file left behind
    failures = ingest_events(db)[events:]
    assert len(failures) == 5  # one per refused upload, from the audit safety net
    assert {(e.outcome, e.status_code, e.actor) for e in failures} == {("failure", 400, "ws_editor")}


# --- the dry run (preview) ---------------------------------------------------------------------


def preview(
    client: TestClient, world: World, table: str, body: bytes | str, *, fmt: str = "csv", mode: str = "create"
) -> httpx.Response:
    return client.post(
        path_of(table) + "/preview",
        params={"format": fmt, "mode": mode},
        content=body.encode() if isinstance(body, str) else body,
        headers=world.headers("ws_editor"),
    )


def test_preview_shows_the_schema_and_first_rows_and_writes_nothing(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    files, events = warehouse_files(settings), len(ingest_events(db))
    many = READINGS_CSV + "".join(f"M{i},2024-06-03 00:00:00,{i}.5,{i}\n" for i in range(20))
    shown = preview(client, world, "readings", many, mode="create_or_append")
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["table"], body["mode"], body["rows"]) == ("alpha.readings", "create", 23)
    assert body["bytes_received"] == len(many.encode())
    assert body["columns"] == [
        {"name": "meter_id", "type": "string", "file_type": "string"},
        {"name": "reading_at", "type": "timestamp", "file_type": "timestamp"},
        {"name": "kwh", "type": "double", "file_type": "double"},
        {"name": "count", "type": "long", "file_type": "long"},
    ]
    assert [c["name"] for c in body["sample_columns"]] == ["meter_id", "reading_at", "kwh", "count"]
    assert len(body["sample_rows"]) == 10
    assert body["sample_rows"][:3] == [
        ["M1", "2024-06-01T00:00:00.000000", 1.5, 3],
        ["M2", "2024-06-01T01:30:00.000000", 2.25, 4],
        ["M3", "2024-06-02T00:00:00.000000", None, 5],
    ]
    # Nothing written, nothing kept, nothing in the audit trail (a dry run changes nothing)
    assert table_names(db, settings) == [] and warehouse_files(settings) == files
    assert len(ingest_events(db)) == events
    assert not any(scratch_root(settings).iterdir())

    # The preview's promise is kept: the upload of the same file does what it said
    result = created(upload(client, world, "readings", many, mode="create_or_append"))
    assert (result["mode"], result["rows"]) == ("create", 23)

    # Into the existing table: its columns, what the file has for them, and what it lacks
    partial = "meter_id,kwh\nM9,9.5\n"
    body = preview(client, world, "readings", partial, mode="create_or_append").json()
    assert (body["mode"], body["rows"]) == ("append", 1)
    assert body["columns"] == [
        {"name": "meter_id", "type": "string", "file_type": "string"},
        {"name": "reading_at", "type": "timestamp", "file_type": None},
        {"name": "kwh", "type": "double", "file_type": "double"},
        {"name": "count", "type": "long", "file_type": None},
    ]
    assert body["sample_rows"] == [["M9", 9.5]]
    parquet = parquet_bytes(pa.table({"meter_id": ["P1"], "count": pa.array([7], pa.int16())}))
    body = preview(client, world, "readings", parquet, fmt="parquet", mode="overwrite").json()
    assert (body["mode"], body["rows"], body["sample_rows"]) == ("overwrite", 1, [["P1", 7]])
    assert body["columns"][3] == {"name": "count", "type": "long", "file_type": "int"}
    assert len(load(db, settings, "readings").snapshots()) == 1


def test_preview_refuses_what_the_upload_would_refuse(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    created(upload(client, world, "readings", READINGS_CSV))
    files = warehouse_files(settings)

    refused = preview(client, world, "readings", "meter_id,kwh,colour\nM9,1.5,red\n", mode="append")
    assert refused.status_code == 400, refused.text
    assert refused.json()["mismatches"] == [
        {"column": "colour", "kind": "not_in_table", "file_type": "string", "table_type": None}
    ]
    assert "column 'colour' is not in the table" in refused.json()["detail"]
    wrong_types = parquet_bytes(pa.table({"meter_id": [1], "kwh": ["high"]}))
    refused = preview(client, world, "readings", wrong_types, fmt="parquet", mode="append")
    assert refused.status_code == 400, refused.text
    assert [(m["column"], m["kind"]) for m in refused.json()["mismatches"]] == [
        ("meter_id", "type"),
        ("kwh", "type"),
    ]
    # A value far down the file that does not parse: found by the preview, not at commit time
    bad_value = (
        "meter_id,reading_at,kwh,count\n" + "M1,2024-06-01,1.0,1\n" * 5000 + "M2,2024-06-01,1.0,many\n"
    )
    refused = preview(client, world, "readings", bad_value, mode="append")
    assert refused.status_code == 400 and "count" in refused.json()["detail"], refused.text
    assert preview(client, world, "readings", READINGS_CSV, mode="create").status_code == 409
    assert preview(client, world, "absent", READINGS_CSV, mode="append").status_code == 404
    assert preview(client, world, "readings", b"PAR1garbage", fmt="parquet", mode="append").status_code == 400
    viewer = client.post(
        path_of("readings") + "/preview",
        params={"format": "csv", "mode": "append"},
        content=READINGS_CSV.encode(),
        headers=world.headers("ws_viewer"),
    )
    assert viewer.status_code == 403
    assert warehouse_files(settings) == files
    assert len(load(db, settings, "readings").snapshots()) == 1


def test_refusals_about_the_target(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    created(upload(client, world, "readings", READINGS_CSV))
    files = warehouse_files(settings)
    body = "meter_id\nM1\n"

    cases: list[tuple[str, dict[str, str], int, str]] = [
        ("readings", {"mode": "create"}, 409, "Table alpha.readings already exists."),
        ("missing", {"mode": "append"}, 404, "Table alpha.missing does not exist."),
        ("missing", {"mode": "overwrite"}, 404, "Table alpha.missing does not exist."),
        ("t", {"namespace": "beta"}, 404, "No namespace 'beta' in workspace 'alpha'."),
        ("t", {"namespace": "beta.raw"}, 404, "No namespace 'beta.raw' in workspace 'alpha'."),
        ("t", {"namespace": "alphabet"}, 404, "No namespace 'alphabet' in workspace 'alpha'."),
        ("t", {"namespace": "alpha.nested"}, 404, "Namespace 'alpha.nested' does not exist."),
        # names the catalog could not address; `..` would also put files outside the workspace
        ("a.b", {}, 400, "Invalid table name 'a.b'"),
        ("%20padded", {}, 400, "Invalid table name ' padded'"),
        ("%2E%2E", {}, 400, "Invalid table name '..'"),
        ("t", {"namespace": "alpha..x"}, 400, "Invalid namespace 'alpha..x'"),
        ("t", {"namespace": "alpha.%20x"}, 400, "Invalid namespace 'alpha. x'"),
        ("readings", {"who": "ws_viewer", "mode": "append"}, 403, "yours is 'viewer'"),
        ("readings", {"who": "outsider", "mode": "append"}, 404, "No workspace 'alpha'."),
        # a member of beta aiming at alpha's namespace from its own workspace
        ("readings", {"who": "outsider", "workspace": "beta", "mode": "append"}, 404, "No namespace 'alpha'"),
        ("readings", {"who": "anonymous", "mode": "append"}, 401, "Authentication required"),
    ]
    for table, options, status, message in cases:
        response = upload(client, world, table, body, **options)
        assert response.status_code == status, (table, options, response.text)
        assert message in response.json()["detail"], (table, options, response.text)

    assert table_names(db, settings) == ["readings"]
    assert table_names(db, settings, "beta") == []
    assert len(load(db, settings, "readings").snapshots()) == 1
    assert warehouse_files(settings) == files
    outcomes = [(e.outcome, e.status_code) for e in ingest_events(db)[2:]]
    assert outcomes == [("denied" if s in (401, 403) else "failure", s) for _, _, s, _ in cases]


def test_empty_garbage_and_unknown_inputs(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    files = warehouse_files(settings)
    cases: list[tuple[bytes, str, str, int, str]] = [
        (b"", "csv", "create", 400, "The CSV file is empty"),
        (b"", "parquet", "create", 400, "not a readable Parquet file"),
        (b"\x00\xffPAR1 not really" * 50, "parquet", "create", 400, "not a readable Parquet file"),
        (b"PAR1" + b"\x00" * 64 + b"PAR1", "parquet", "create", 400, "Parquet"),
        (READINGS_CSV.encode(), "parquet", "create", 400, "not a readable Parquet file"),
        (READINGS_CSV.encode(), "xlsx", "create", 422, "not valid"),
        (READINGS_CSV.encode(), "csv", "upsert", 422, "not valid"),
    ]
    for body, fmt, mode, status, message in cases:
        response = upload(client, world, "t", body, fmt=fmt, mode=mode)
        assert response.status_code == status, (body[:20], fmt, mode, response.text)
        assert message in response.json()["detail"], (body[:20], fmt, mode, response.text)
    missing_format = client.post(path_of("t"), content=READINGS_CSV, headers=world.headers("ws_editor"))
    assert missing_format.status_code == 422
    assert table_names(db, settings) == []
    assert warehouse_files(settings) == files


@pytest.fixture
def scratch_tmp(settings: Settings) -> Path:
    """Where the route's upload directories go."""
    scratch = scratch_root(settings)
    scratch.mkdir(parents=True, exist_ok=True)
    return scratch


def test_body_over_the_limit_is_refused_and_nothing_is_written(
    world: World, db: Database, settings: Settings, scratch_tmp: Path
) -> None:
    body = ("meter_id,kwh\n" + "M1,1.5\n" * 500).encode()
    files = warehouse_files(settings)

    def chunked(data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), 100):
            yield data[start : start + 100]

    limited = create_app(settings.model_copy(update={"ingest_max_bytes": len(body) - 1}), db)
    with TestClient(limited) as client:
        announced = upload(client, world, "readings", body)
        assert announced.status_code == 413, announced.text
        assert announced.request.headers["content-length"] == str(len(body))
        assert (
            f"The file is {len(body):,} bytes; the limit is {len(body) - 1:,}." == announced.json()["detail"]
        )

        streamed = upload(client, world, "readings", chunked(body))
        assert streamed.status_code == 413, streamed.text
        assert "content-length" not in streamed.request.headers
        assert streamed.request.headers["transfer-encoding"] == "chunked"
        assert f"larger than the limit of {len(body) - 1:,} bytes" in streamed.json()["detail"]

    assert table_names(db, settings) == []
    assert warehouse_files(settings) == files
    assert list(scratch_tmp.iterdir()) == []  # the partial upload is gone too
    assert [(e.outcome, e.status_code) for e in ingest_events(db)] == [("failure", 413)] * 2

    exact = create_app(settings.model_copy(update={"ingest_max_bytes": len(body)}), db)
    with TestClient(exact) as client:
        result = created(upload(client, world, "readings", chunked(body)))
    assert (result["rows"], result["bytes_received"]) == (500, len(body))
    assert list(scratch_tmp.iterdir()) == []


# --- concurrency through a live server ---------------------------------------------------------


def test_parallel_appends_to_one_table_all_land(catalog_server: CatalogServer) -> None:  # noqa: F811
    world = catalog_server.world
    with httpx.Client(base_url=catalog_server.base_url, timeout=60) as client:
        created(upload(client, world, "cities", csv_rows(0, 10)))
    writers = 4
    start = threading.Barrier(writers)
    results: list[dict[str, Any] | BaseException] = [{} for _ in range(writers)]

    def append(index: int) -> None:
        try:
            with httpx.Client(base_url=catalog_server.base_url, timeout=60) as client:
                start.wait(timeout=10)
                results[index] = created(
                    upload(client, world, "cities", csv_rows(1000 * (index + 1), 100 + index), mode="append")
                )
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=append, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(r, dict) and r["mode"] == "append" for r in results), results
    done = [r for r in results if isinstance(r, dict)]
    assert sorted(r["rows"] for r in done) == [100, 101, 102, 103]

    # Read back through the REST catalog, as any client would
    table = catalog_server.pyiceberg("ws_viewer").load_table("alpha.cities")
    rows = table.scan().to_arrow()
    assert rows.num_rows == 10 + 100 + 101 + 102 + 103
    assert len(set(rows.column("id").to_pylist())) == rows.num_rows
    assert len(table.snapshots()) == 1 + writers
    assert {str(s.snapshot_id) for s in table.snapshots()} >= {r["snapshot_id"] for r in done}
    summaries = [e for e in ingest_events(catalog_server.db) if "rows" in e.details]
    assert sorted(e.details["rows"] for e in summaries) == [10, 100, 101, 102, 103]
    assert sum(r["attempts"] for r in done) >= writers


def test_an_upload_cut_off_midway_leaves_nothing(
    catalog_server: CatalogServer,  # noqa: F811
    scratch_tmp: Path,
) -> None:
    url = urlparse(catalog_server.base_url)
    assert url.hostname is not None and url.port is not None
    token = catalog_server.world.tokens["ws_editor"]
    first_chunk = b"id,city\n1,Riyadh\n"
    with socket.create_connection((url.hostname, url.port), timeout=10) as connection:
        connection.sendall(
            f"POST {path_of('cut')}?format=csv&mode=create HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            + f"{len(first_chunk):x}\r\n".encode()
            + first_chunk
            + b"\r\n"
        )
        deadline = time.monotonic() + 10
        while not list(scratch_tmp.rglob("upload.csv")) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert list(scratch_tmp.rglob("upload.csv")), "the upload never started"
    # the client is gone: the partial file goes, and nothing else happened but a failure event
    deadline = time.monotonic() + 10
    while list(scratch_tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert list(scratch_tmp.iterdir()) == []
    assert table_names(catalog_server.db, catalog_server.settings) == []
    deadline = time.monotonic() + 10
    while not ingest_events(catalog_server.db) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [(e.actor, e.outcome) for e in ingest_events(catalog_server.db)] == [("ws_editor", "failure")]


def test_racing_creates_one_wins_and_the_loser_leaves_no_data(catalog_server: CatalogServer) -> None:  # noqa: F811
    world = catalog_server.world
    start = threading.Barrier(2)
    responses: list[httpx.Response] = []

    def create(first_id: int) -> None:
        with httpx.Client(base_url=catalog_server.base_url, timeout=60) as client:
            start.wait(timeout=10)
            responses.append(upload(client, world, "race", csv_rows(first_id, 20_000)))

    threads = [threading.Thread(target=create, args=(first_id,)) for first_id in (0, 100_000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 201)
    loser = next(r.json() for r in responses if r.status_code == 409)
    assert "Table alpha.race" in loser["detail"]
    table = catalog_server.pyiceberg("ws_viewer").load_table("alpha.race")
    assert str(table.metadata.current_snapshot_id) == winner["snapshot_id"]
    assert table.scan().to_arrow().num_rows == 20_000
    referenced = {local_path(task.file.file_path) for task in table.scan().plan_files()}
    data_dir = local_path(table.location() + "/data")
    assert data_dir is not None and set(data_dir.rglob("*.parquet")) == referenced
    assert [e.details["rows"] for e in ingest_events(catalog_server.db) if "rows" in e.details] == [20_000]


def test_a_slow_upload_does_not_block_other_writes(
    catalog_server: CatalogServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The route ends its transaction (on SQLite: the write lock) before it reads the body; while
    an upload is still arriving, other requests can write, catalog commits included."""
    world = catalog_server.world
    streaming = threading.Event()  # the route is reading the body
    release = threading.Event()  # let the upload's last part go
    receive = uploads.receive_upload

    async def observed_receive(request: Request, destination: Path, max_bytes: int) -> int:
        streaming.set()
        return await receive(request, destination, max_bytes)

    monkeypatch.setattr(uploads, "receive_upload", observed_receive)

    def slow_body() -> Iterator[bytes]:
        yield b"id,city\n1,Riyadh\n"
        release.wait(timeout=60)
        yield b"2,Jeddah\n"

    outcome: dict[str, Any] = {}

    def slow_upload() -> None:
        with httpx.Client(base_url=catalog_server.base_url, timeout=60) as client:
            outcome["response"] = upload(client, world, "slow", slow_body())

    uploader = threading.Thread(target=slow_upload)
    uploader.start()
    try:
        assert streaming.wait(timeout=10), "the upload never reached the route"
        # Short client timeouts: a blocked write would wait out SQLite's 30 s busy timeout.
        with httpx.Client(base_url=catalog_server.base_url, timeout=2 * UPLOAD_SECONDS_LIMIT) as client:
            started = time.monotonic()
            connection = client.post(
                "/api/v1/workspaces/alpha/connections",
                json={"name": "spark", "config": {"type": "spark_local", "master": "local[2]"}},
                headers=world.headers("ws_admin"),
            )
            assert connection.status_code == 201, connection.text
            assert time.monotonic() - started < UPLOAD_SECONDS_LIMIT

            started = time.monotonic()
            created(upload(client, world, "other", csv_rows(1, 5), who="ws_admin"))
            assert time.monotonic() - started < UPLOAD_SECONDS_LIMIT
        started = time.monotonic()
        catalog_server.pyiceberg("ws_admin").create_table(
            "alpha.direct", pa.schema([pa.field("x", pa.int64())])
        )
        assert time.monotonic() - started < UPLOAD_SECONDS_LIMIT
        assert uploader.is_alive()  # all of that happened while the upload was still arriving
    finally:
        release.set()
        uploader.join(timeout=60)
    result = created(outcome["response"])
    assert result["rows"] == 2
    assert table_names(catalog_server.db, catalog_server.settings) == ["direct", "other", "slow"]


def test_a_checked_file_kept_for_its_commit_is_sent_once(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    """`…/preview?keep=true` keeps the file; the commit names it (`upload`) and sends no body. It
    is the checker's, for that table, format and mode only, and committed once."""
    checked = client.post(
        path_of("readings") + "/preview",
        params={"format": "csv", "mode": "create", "keep": "true"},
        content=READINGS_CSV.encode(),
        headers=world.headers("ws_editor"),
    )
    assert checked.status_code == 200, checked.text
    upload_id = checked.json()["upload_id"]
    assert upload_id and table_names(db, settings) == []

    def commit(who: str = "ws_editor", table: str = "readings", **params: str) -> httpx.Response:
        query = {"format": "csv", "mode": "create", "upload": upload_id, **params}
        return client.post(path_of(table), params=query, headers=world.headers(who))

    # Anyone else, another table, format or mode: not there, and still kept for the right commit.
    assert commit(who="ws_admin").status_code == 404
    assert commit(table="other").status_code == 404
    assert commit(mode="create_or_append").status_code == 404
    assert commit(format="parquet").status_code == 404
    both = client.post(
        path_of("readings"),
        params={"format": "csv", "mode": "create", "upload": upload_id},
        content=READINGS_CSV.encode(),
        headers=world.headers("ws_editor"),
    )
    assert both.status_code == 400 and "not both" in both.json()["detail"]
    assert commit(upload="../../etc/passwd").status_code in (400, 422)

    done = created(commit())
    assert (done["rows"], done["bytes_received"]) == (3, len(READINGS_CSV.encode()))
    assert len(rows_of(load(db, settings, "readings"))) == 3
    again = commit()
    assert again.status_code == 404 and "check the file again" in again.json()["detail"]
    assert not any(scratch_root(settings).iterdir())  # nothing left behind
    # Without `keep`, nothing is kept and there is no id.
    assert preview(client, world, "readings", READINGS_CSV, mode="append").json()["upload_id"] is None
