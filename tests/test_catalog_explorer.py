"""The catalog explorer API against real Iceberg tables written by pyiceberg: what it shows is
compared with what pyiceberg itself reads from the same metadata."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.sorting import NullOrder, SortDirection, SortField, SortOrder
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.types import (
    BinaryType,
    DateType,
    DecimalType,
    DoubleType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
    TimestamptzType,
)

from sadeem.catalog import explorer
from sadeem.config import Settings
from sadeem.db.engine import Database
from tests.conftest import World
from tests.iceberg_tables import append, catalog, make_table

API = "/api/v1/workspaces/alpha/catalog"
RICH = Schema(
    NestedField(1, "id", LongType(), required=True, doc="Row id"),
    NestedField(2, "ts", TimestamptzType(), required=True),
    NestedField(3, "amount", DecimalType(10, 2)),
    NestedField(4, "name", StringType()),
    NestedField(5, "labels", ListType(10, StringType(), element_required=False)),
    NestedField(6, "attrs", MapType(11, StringType(), 12, LongType(), value_required=False)),
    NestedField(
        7, "point", StructType(NestedField(13, "x", DoubleType()), NestedField(14, "y", DoubleType()))
    ),
    NestedField(8, "payload", BinaryType()),
    NestedField(9, "day", DateType()),
    identifier_field_ids=[1],
)
BIG = 2**62 + 7  # a long no double holds exactly
FIRST_ROWS: dict[str, list[Any]] = {
    "id": [1, BIG, 3],
    "ts": [
        datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
        datetime(2024, 5, 1, 11, 30, 15, 123456, tzinfo=UTC),
        datetime(2024, 5, 2, 9, 0, tzinfo=UTC),
    ],
    "amount": [Decimal("12.30"), Decimal("-0.05"), None],
    "name": ["a", "b", None],
    "labels": [["x", "y"], [], None],
    "attrs": [[("k", 1)], [], None],
    "point": [{"x": 1.5, "y": -2.0}, None, {"x": float("nan"), "y": float("inf")}],
    "payload": [b"\x00\x01\xff", None, b"hi"],
    "day": [date(2024, 5, 1), date(2024, 5, 1), date(2024, 5, 2)],
}
SECOND_ROWS: dict[str, list[Any]] = {
    "id": [4, 5],
    "ts": [datetime(2024, 5, 3, 8, 0, tzinfo=UTC), datetime(2024, 5, 3, 9, 0, tzinfo=UTC)],
    "amount": [Decimal("1.00"), Decimal("2.50")],
    "name": ["d", "e"],
    "labels": [["z"], ["z"]],
    "attrs": [[], [("a", -(2**40))]],
    "point": [None, None],
    "payload": [None, None],
    "day": [date(2024, 5, 3), date(2024, 5, 3)],
}


@dataclass
class Rich:
    table: Table
    first: int  # snapshot ids
    second: int


def make_rich_table(db: Database, settings: Settings) -> Rich:
    """`alpha.events`: partitioned by `day`, sorted by id desc; two appends (3 + 2 rows), a tag
    `v1` on the first, a branch `dev` with retention on the second; then its partitioning evolves
    to add day(ts). (pyiceberg writes only identity partitions without its optional Rust core.)"""
    with catalog(db, settings) as cat:
        table = cat.create_table(
            ("alpha", "events"),
            RICH,
            partition_spec=PartitionSpec(
                PartitionField(source_id=9, field_id=1000, transform=IdentityTransform(), name="day")
            ),
            sort_order=SortOrder(
                SortField(
                    source_id=1,
                    transform=IdentityTransform(),
                    direction=SortDirection.DESC,
                    null_order=NullOrder.NULLS_LAST,
                )
            ),
            properties={"owner.team": "billing"},
        )
        first = append(table, table.schema(), FIRST_ROWS)
        second = append(table, table.schema(), SECOND_ROWS)
        table.manage_snapshots().create_tag(first, "v1", max_ref_age_ms=86_400_000).create_branch(
            second, "dev", max_snapshot_age_ms=3_600_000, min_snapshots_to_keep=2
        ).commit()
        table.update_spec().add_field("ts", DayTransform(), "ts_day").commit()
    with catalog(db, settings) as cat:
        return Rich(cat.load_table(("alpha", "events")), first, second)


def get(client: TestClient, world: World, path: str, who: str = "ws_viewer", **params: Any) -> Any:
    response = client.get(f"{API}{path}", params=params, headers=world.headers(who))
    assert response.status_code == 200, response.text
    return response.json()


def problem(
    client: TestClient, world: World, path: str, status: int, who: str = "ws_viewer", **params: Any
) -> str:
    response = client.get(f"{API}{path}", params=params, headers=world.headers(who))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    detail: str = response.json()["detail"]
    return detail


def by_id(preview: dict[str, Any]) -> dict[int, dict[str, Any]]:
    names = [c["name"] for c in preview["columns"]]
    rows = [dict(zip(names, row, strict=True)) for row in preview["rows"]]
    return {int(row["id"]): row for row in rows}


# --- table detail ------------------------------------------------------------------------------


def test_table_detail_matches_pyiceberg(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    rich = make_rich_table(db, settings)
    table, metadata = rich.table, rich.table.metadata
    response = client.get(f"{API}/tables/alpha/events", headers=world.headers("ws_viewer"))
    assert response.status_code == 200, response.text
    detail = response.json()

    assert detail["identifier"] == "alpha.events"
    assert detail["table_uuid"] == str(metadata.table_uuid)
    assert detail["location"] == metadata.location
    assert detail["metadata_location"] == table.metadata_location
    assert detail["format_version"] == metadata.format_version == 2
    assert detail["properties"]["owner.team"] == "billing"
    assert detail["last_sequence_number"] == metadata.last_sequence_number

    # Schema: ids, types, required, docs, nested children — as pyiceberg assigned them.
    schema = detail["schema"]
    assert schema["schema_id"] == table.schema().schema_id
    assert schema["identifier_field_ids"] == [table.schema().find_field("id").field_id]
    fields = {f["name"]: f for f in schema["fields"]}
    assert [f["name"] for f in schema["fields"]] == [f.name for f in table.schema().fields]
    for field in table.schema().fields:
        assert fields[field.name]["id"] == field.field_id
        assert fields[field.name]["required"] == field.required
    assert fields["id"] | {"children": []} == {
        "id": fields["id"]["id"],
        "name": "id",
        "type": "long",
        "required": True,
        "doc": "Row id",
        "children": [],
    }
    assert fields["ts"]["type"] == "timestamptz"
    assert fields["amount"]["type"] == "decimal(10, 2)"
    assert fields["labels"]["type"] == "list<string>"
    (element,) = fields["labels"]["children"]
    labels = table.schema().find_type("labels")
    assert isinstance(labels, ListType)
    assert (element["name"], element["id"], element["type"]) == ("element", labels.element_id, "string")
    assert fields["attrs"]["type"] == "map<string, long>"
    assert [c["name"] for c in fields["attrs"]["children"]] == ["key", "value"]
    assert fields["point"]["type"] == "struct<x: double, y: double>"
    assert [(c["name"], c["id"]) for c in fields["point"]["children"]] == [
        ("x", table.schema().find_field("point.x").field_id),
        ("y", table.schema().find_field("point.y").field_id),
    ]

    # Partitioning and sort order.
    assert detail["partition_spec"]["spec_id"] == table.spec().spec_id == 1
    assert detail["partition_spec"]["fields"] == [
        {
            "field_id": spec_field.field_id,
            "name": spec_field.name,
            "source_id": spec_field.source_id,
            "source_name": source,
            "transform": transform,
        }
        for spec_field, source, transform in zip(
            table.spec().fields, ["day", "ts"], ["identity", "day"], strict=True
        )
    ]
    assert [f.source_id for f in table.spec().fields] == [
        table.schema().find_field("day").field_id,
        table.schema().find_field("ts").field_id,
    ]
    assert detail["sort_order"]["order_id"] == table.sort_order().order_id
    assert detail["sort_order"]["fields"] == [
        {
            "source_id": table.schema().find_field("id").field_id,
            "source_name": "id",
            "transform": "identity",
            "direction": "desc",
            "null_order": "nulls-last",
        }
    ]

    # Snapshots: exact 64-bit ids as strings, parents, ISO timestamps, operation, summary.
    assert detail["current_snapshot_id"] == str(rich.second)
    assert detail["current_snapshot"]["snapshot_id"] == str(rich.second)
    snapshots = detail["snapshots"]
    assert [s["snapshot_id"] for s in snapshots] == [str(rich.first), str(rich.second)]
    assert [s["parent_snapshot_id"] for s in snapshots] == [None, str(rich.first)]
    for shown, snapshot in zip(snapshots, metadata.snapshots, strict=True):
        assert datetime.fromisoformat(shown["timestamp"]) == datetime.fromtimestamp(
            snapshot.timestamp_ms / 1000, UTC
        )
        assert shown["operation"] == "append"
        assert shown["manifest_list"] == snapshot.manifest_list
        assert shown["sequence_number"] == snapshot.sequence_number
    assert snapshots[0]["summary"]["added-records"] == "3"
    assert snapshots[1]["summary"]["total-records"] == "5"
    assert [h["snapshot_id"] for h in detail["history"]] == [str(rich.first), str(rich.second)]
    # The ids survive a JSON reader that holds numbers as doubles: they are strings in the text.
    assert f'"current_snapshot_id":"{rich.second}"' in response.text
    assert any(snapshot_id > 2**53 for snapshot_id in (rich.first, rich.second))

    # Refs: the main branch, a branch with retention, a tag.
    refs = {r["name"]: r for r in detail["refs"]}
    assert refs == {
        "dev": {
            "name": "dev",
            "type": "branch",
            "snapshot_id": str(rich.second),
            "max_ref_age_ms": None,
            "max_snapshot_age_ms": 3_600_000,
            "min_snapshots_to_keep": 2,
        },
        "main": {
            "name": "main",
            "type": "branch",
            "snapshot_id": str(rich.second),
            "max_ref_age_ms": None,
            "max_snapshot_age_ms": None,
            "min_snapshots_to_keep": None,
        },
        "v1": {
            "name": "v1",
            "type": "tag",
            "snapshot_id": str(rich.first),
            "max_ref_age_ms": 86_400_000,
            "max_snapshot_age_ms": None,
            "min_snapshots_to_keep": None,
        },
    }

    # Totals and data files, against pyiceberg's own scan planning.
    planned = {task.file.file_path: task.file for task in table.scan().plan_files()}
    assert detail["totals"] == {
        "row_count": 5,
        "total_size_bytes": sum(f.file_size_in_bytes for f in planned.values()),
        "data_files": len(planned),
        "delete_files": 0,
        "source": "snapshot-summary",
    }
    files = detail["data_files"]
    assert files["snapshot_id"] == str(rich.second)
    assert files["total"] == len(planned) == 3  # one file per day and append
    assert files["next_cursor"] is None
    assert {f["path"] for f in files["items"]} == set(planned)
    for shown in files["items"]:
        assert shown["format"] == "PARQUET"
        assert shown["record_count"] == planned[shown["path"]].record_count
        assert shown["size_bytes"] == planned[shown["path"]].file_size_in_bytes
    # Each file with the partition values of the spec it was written with.
    assert sorted(f["partition"]["day"] for f in files["items"]) == ["2024-05-01", "2024-05-02", "2024-05-03"]
    assert all(f["partition"].keys() == {"day"} for f in files["items"])
    assert detail["dataset"] is None


def test_totals_fall_back_to_the_manifests(world: World, db: Database, settings: Settings) -> None:
    """A writer may leave a snapshot summary without totals; the manifests still tell."""
    table = make_rich_table(db, settings).table
    metadata = table.metadata.model_copy(deep=True)  # the catalog caches the original
    current = metadata.current_snapshot()
    assert current is not None and current.summary is not None
    for key in ("total-records", "total-files-size"):
        current.summary.additional_properties.pop(key)
    stripped = Table(table.name(), metadata, table.metadata_location, table.io, table.catalog)
    totals = explorer.totals(stripped)
    assert (totals.source, totals.row_count, totals.data_files) == ("manifests", 5, 3)
    assert totals.total_size_bytes == sum(t.file.file_size_in_bytes for t in table.scan().plan_files())
    assert explorer.totals(table).source == "snapshot-summary"


def test_data_files_page_through_a_snapshot(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    rich = make_rich_table(db, settings)
    seen: list[str] = []
    cursor = None
    while True:
        page = get(
            client, world, "/tables/alpha/events/files", limit=1, **({"cursor": cursor} if cursor else {})
        )
        assert page["total"] == 3 and len(page["items"]) == 1
        seen += [f["path"] for f in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(t.file.file_path for t in rich.table.scan().plan_files())

    first = get(client, world, "/tables/alpha/events/files", snapshot_id=str(rich.first))
    assert first["snapshot_id"] == str(rich.first)
    assert first["total"] == 2 and sum(f["record_count"] for f in first["items"]) == 3

    problem(client, world, "/tables/alpha/events/files", 400, cursor="bm9wZQ")
    assert "no snapshot 42" in problem(client, world, "/tables/alpha/events/files", 404, snapshot_id=42)


# --- preview -----------------------------------------------------------------------------------


def test_preview_values_are_typed_for_json(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    make_rich_table(db, settings)
    preview = get(client, world, "/tables/alpha/events/preview")
    assert preview["row_count"] == 5 and preview["truncated"] is False
    # The columns of every result: Arrow types as read (the Iceberg ones are the schema's).
    assert [(c["name"], c["type"], c["field_id"]) for c in preview["columns"]] == [
        ("id", "int64", 1),
        ("ts", "timestamp[us, tz=UTC]", 2),
        ("amount", "decimal128(10, 2)", 3),
        ("name", "large_string", 4),
        ("labels", "large_list<element: large_string>", 5),
        ("attrs", "map<large_string, int64>", 6),
        ("point", "struct<x: double, y: double>", 7),
        ("payload", "large_binary", 8),
        ("day", "date32[day]", 9),
    ]
    # The cells of every result (sadeem.results.json_cells): a long is a number up to 2^53, text
    # beyond; timestamps with 6 fraction digits and Z; maps as [key, value] pairs.
    rows = by_id(preview)
    assert rows[1] == {
        "id": 1,
        "ts": "2024-05-01T10:00:00.000000Z",
        "amount": "12.30",
        "name": "a",
        "labels": ["x", "y"],
        "attrs": [["k", 1]],
        "point": {"x": 1.5, "y": -2.0},
        "payload": base64.b64encode(b"\x00\x01\xff").decode(),
        "day": "2024-05-01",
    }
    big = rows[BIG]
    assert big["id"] == str(BIG)  # exact, as text
    assert big["ts"] == "2024-05-01T11:30:15.123456Z"
    assert big["amount"] == "-0.05"
    assert big["labels"] == [] and big["point"] is None and big["payload"] is None
    assert rows[3]["point"] == {"x": "NaN", "y": "Infinity"}
    assert rows[3]["amount"] is None and rows[3]["labels"] is None and rows[3]["attrs"] is None
    assert rows[5]["attrs"] == [["a", -(2**40)]]


def test_preview_projection_and_limit(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    make_rich_table(db, settings)
    preview = get(client, world, "/tables/alpha/events/preview", columns="name,id", limit=2)
    assert [c["name"] for c in preview["columns"]] == ["name", "id"]
    assert all(len(row) == 2 and isinstance(row[0], str) for row in preview["rows"])
    assert preview["row_count"] == 2 and preview["truncated"] is True

    detail = problem(client, world, "/tables/alpha/events/preview", 400, columns="id,nope,colour")
    assert "'nope', 'colour'" in detail and "alpha.events" in detail
    response = client.get(
        f"{API}/tables/alpha/events/preview", params={"limit": 10_001}, headers=world.headers("ws_viewer")
    )
    assert response.status_code == 422, response.text


def test_preview_reads_only_the_files_it_needs(
    client: TestClient, world: World, db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never the whole table: a preview of one row opens one batch of files, not all twenty."""
    make_table(db, settings, ("alpha", "many"))
    with catalog(db, settings) as cat:
        table = cat.load_table(("alpha", "many"))
        for i in range(20):
            append(table, table.schema(), {"id": [i], "name": [f"n{i}"]})
    files_read: list[int] = []

    class CountingScan(explorer.ArrowScan):
        def to_table(self, tasks: Any) -> Any:
            files_read.append(len(list(tasks)))
            return super().to_table(tasks)

    monkeypatch.setattr(explorer, "ArrowScan", CountingScan)
    preview = get(client, world, "/tables/alpha/many/preview", limit=1)
    assert preview["row_count"] == 1 and preview["truncated"] is True
    assert sum(files_read) <= explorer.PREVIEW_FILES_AT_ONCE
    assert get(client, world, "/tables/alpha/many/preview", limit=20)["row_count"] == 20


def test_time_travel(client: TestClient, world: World, db: Database, settings: Settings) -> None:
    rich = make_rich_table(db, settings)
    with catalog(db, settings) as cat:  # a column added after the last write
        cat.load_table(("alpha", "events")).update_schema().add_column("note", StringType()).commit()
    path = "/tables/alpha/events/preview"
    first = rich.table.snapshot_by_id(rich.first)
    second = rich.table.snapshot_by_id(rich.second)
    assert first is not None and second is not None
    at_first = datetime.fromtimestamp(first.timestamp_ms / 1000, UTC)
    at_second = datetime.fromtimestamp(second.timestamp_ms / 1000, UTC)

    now = get(client, world, path)
    assert now["snapshot_id"] == str(rich.second) and sorted(by_id(now)) == [1, 3, 4, 5, BIG]
    assert "note" in [c["name"] for c in now["columns"]] and {r["note"] for r in by_id(now).values()} == {
        None
    }

    by_snapshot = get(client, world, path, snapshot_id=str(rich.first))
    assert by_snapshot["snapshot_id"] == str(rich.first) and sorted(by_id(by_snapshot)) == [1, 3, BIG]
    assert "note" not in [c["name"] for c in by_snapshot["columns"]]  # the schema it was written with
    assert "at that snapshot" in problem(
        client, world, path, 400, snapshot_id=str(rich.first), columns="note"
    )

    assert get(client, world, path, as_of=at_first.isoformat())["snapshot_id"] == str(rich.first)
    between = (at_second - timedelta(milliseconds=1)).isoformat()
    assert get(client, world, path, as_of=between)["snapshot_id"] == str(rich.first)
    assert get(client, world, path, as_of=at_second.isoformat())["snapshot_id"] == str(rich.second)
    naive_utc = at_first.replace(tzinfo=None).isoformat()  # no zone: UTC
    assert get(client, world, path, as_of=naive_utc)["snapshot_id"] == str(rich.first)
    assert get(client, world, path, ref="v1")["row_count"] == 3
    assert get(client, world, path, ref="dev")["snapshot_id"] == str(rich.second)

    before = (at_first - timedelta(seconds=1)).isoformat()
    detail = problem(client, world, path, 400, as_of=before)
    assert "before the first snapshot" in detail and at_first.isoformat() in detail
    assert "at most one" in problem(client, world, path, 400, snapshot_id=str(rich.first), ref="v1")
    assert "no snapshot 7" in problem(client, world, path, 404, snapshot_id=7)
    assert "no branch or tag 'nope'" in problem(client, world, path, 404, ref="nope")


def test_a_table_without_snapshots(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    make_table(db, settings, ("alpha", "empty"))
    preview = get(client, world, "/tables/alpha/empty/preview")
    assert (preview["snapshot_id"], preview["rows"], preview["truncated"]) == (None, [], False)
    assert [c["name"] for c in preview["columns"]] == ["id", "name"]
    detail = get(client, world, "/tables/alpha/empty")
    assert detail["current_snapshot_id"] is None and detail["snapshots"] == []
    assert detail["totals"]["source"] == "no-snapshot" and detail["data_files"]["total"] == 0
    assert "no snapshots yet" in problem(
        client, world, "/tables/alpha/empty/preview", 400, as_of="2024-01-01T00:00:00Z"
    )


# --- namespaces and the table list -------------------------------------------------------------


def test_namespace_tree(client: TestClient, world: World, db: Database, settings: Settings) -> None:
    for identifier in [
        ("alpha", "a1"),
        ("alpha", "a2"),
        ("alpha", "sales", "orders"),
        ("alpha", "sales", "eu", "invoices"),
        ("alpha", "sales", "eu", "refunds"),
        ("beta", "theirs"),
    ]:
        make_table(db, settings, identifier)
    with catalog(db, settings) as cat:
        root_location = cat.load_namespace_properties(("alpha",))["location"]
        cat.create_namespace(("alpha", "empty"), {"location": f"{root_location}/empty"})

    tree = get(client, world, "/namespaces")

    def shape(node: dict[str, Any]) -> Any:
        return (node["namespace"], node["name"], node["table_count"], node["total_table_count"]), [
            shape(child) for child in node["children"]
        ]

    assert shape(tree) == (
        ("alpha", "alpha", 2, 5),
        [
            (("alpha.empty", "empty", 0, 0), []),
            (("alpha.sales", "sales", 1, 3), [(("alpha.sales.eu", "eu", 2, 2), [])]),
        ],
    )


def test_list_tables_pages_and_searches(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    for identifier in [
        ("alpha", "customers"),
        ("alpha", "order_items"),
        ("alpha", "orders"),
        ("alpha", "sales", "orders"),
        ("beta", "orders"),
    ]:
        make_table(db, settings, identifier)
    everything = ["alpha.customers", "alpha.order_items", "alpha.orders", "alpha.sales.orders"]

    listed: list[str] = []
    cursor = None
    while True:
        page = get(client, world, "/tables", limit=3, **({"cursor": cursor} if cursor else {}))
        listed += [t["identifier"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert listed == everything

    def identifiers(**params: Any) -> list[str]:
        return [t["identifier"] for t in get(client, world, "/tables", **params)["items"]]

    assert identifiers(q="ORDER") == ["alpha.order_items", "alpha.orders", "alpha.sales.orders"]
    assert identifiers(q="%") == []  # a LIKE wildcard is just a character
    assert identifiers(namespace="alpha.sales") == ["alpha.sales.orders"]
    problem(client, world, "/tables", 400, cursor="bm9wZQ")

    for body in [
        {"namespace": "alpha", "table": "orders", "tags": ["finance", "pii"], "owner": "ws_viewer"},
        {"namespace": "alpha.sales", "table": "orders", "tags": ["finance"]},
    ]:
        response = client.post(
            "/api/v1/workspaces/alpha/datasets", json=body, headers=world.headers("ws_editor")
        )
        assert response.status_code == 201, response.text
    assert identifiers(tag="finance") == ["alpha.orders", "alpha.sales.orders"]
    assert identifiers(tag="pii") == ["alpha.orders"]
    assert identifiers(tag="finance", q="items") == []
    assert identifiers(owner="ws_viewer") == ["alpha.orders"]
    assert identifiers(owner="ws_editor") == ["alpha.sales.orders"]
    assert identifiers(owner="nobody") == []
    tables = {t["identifier"]: t for t in get(client, world, "/tables")["items"]}
    assert tables["alpha.orders"]["dataset"] == {
        "owner": "ws_viewer",
        "description": "",
        "tags": ["finance", "pii"],
    }
    assert tables["alpha.customers"]["dataset"] is None
    assert get(client, world, "/tables/alpha/orders")["dataset"]["tags"] == ["finance", "pii"]


# --- not found, and other workspaces -----------------------------------------------------------


def test_unknown_and_foreign_tables_are_404(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    make_table(db, settings, ("alpha", "mine"))
    make_table(db, settings, ("beta", "theirs"), rows={"id": [1], "name": ["secret"]})

    assert "No namespace 'alpha.nope'" in problem(client, world, "/tables/alpha.nope/mine", 404)
    assert "No table 'nope'" in problem(client, world, "/tables/alpha/nope", 404)
    assert "No table 'nope'" in problem(client, world, "/tables/alpha/nope/preview", 404)
    # Another workspace's namespace does not exist here, for its members too.
    for who in ("ws_viewer", "root", "outsider"):
        response = client.get(f"{API}/tables/beta/theirs/preview", headers=world.headers(who))
        assert response.status_code == 404, (who, response.text)
        assert "secret" not in response.text
    assert [t["identifier"] for t in get(client, world, "/tables")["items"]] == ["alpha.mine"]
    # Members of beta see it under beta; nobody else sees beta at all.
    theirs = client.get(
        "/api/v1/workspaces/beta/catalog/tables/beta/theirs/preview", headers=world.headers("outsider")
    )
    assert theirs.status_code == 200 and theirs.json()["rows"] == [[1, "secret"]]
    hidden = client.get(
        "/api/v1/workspaces/beta/catalog/tables/beta/theirs", headers=world.headers("ws_viewer")
    )
    assert hidden.status_code == 404 and hidden.json()["detail"] == "No workspace 'beta'."
    assert client.get(f"{API}/namespaces", headers=world.headers("anonymous")).status_code == 401


def test_explorer_is_read_only_json(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    """Every answer parses as strict JSON (no NaN/Infinity literals)."""
    make_rich_table(db, settings)

    def refuse(constant: str) -> None:
        pytest.fail(f"non-JSON constant {constant}")

    for path in ("/tables/alpha/events", "/tables/alpha/events/preview", "/tables/alpha/events/files"):
        response = client.get(f"{API}{path}", headers=world.headers("ws_viewer"))
        assert response.status_code == 200, response.text
        json.loads(response.text, parse_constant=refuse)
