"""The SQL editor's autocomplete metadata (`GET …/catalog/schema-tree`) against real Iceberg
tables: its contents, its per-workspace cache (validated by the catalog's state, never stale, no
metadata read on a hit), its ETag, and who sees what."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyiceberg.schema import Schema
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.types import (
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

from sadeem.catalog import schema_tree
from sadeem.config import Settings
from sadeem.db.engine import Database
from tests.conftest import World, make_workspace
from tests.iceberg_tables import catalog, make_table

TREE = "/api/v1/workspaces/{}/catalog/schema-tree"
WIDE = Schema(
    NestedField(1, "id", LongType(), required=True, doc="Row id"),
    NestedField(2, "ts", TimestamptzType(), required=True),
    NestedField(3, "amount", DecimalType(10, 2)),
    NestedField(4, "labels", ListType(10, StringType(), element_required=False)),
    NestedField(5, "attrs", MapType(11, StringType(), 12, LongType(), value_required=False)),
    NestedField(
        6, "point", StructType(NestedField(13, "x", DoubleType()), NestedField(14, "y", DoubleType()))
    ),
)


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with an empty tree cache (workspace ids repeat across test databases)."""
    monkeypatch.setattr(schema_tree, "tree_cache", schema_tree.TreeCache())


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The metadata locations the tree builder loads, in order."""
    seen: list[str] = []
    real = schema_tree.load_metadata

    def counting(settings: Settings, location: str) -> TableMetadata:
        seen.append(location)
        return real(settings, location)

    monkeypatch.setattr(schema_tree, "load_metadata", counting)
    yield seen


def tree(client: TestClient, world: World, who: str = "ws_viewer", workspace: str = "alpha") -> Any:
    response = client.get(TREE.format(workspace), headers=world.headers(who))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert response.headers["etag"] == f'"{body["fingerprint"]}"'
    return body


def tables(body: Any) -> dict[str, dict[str, Any]]:
    return {f"{ns['name']}.{t['name']}": t for ns in body["namespaces"] for t in ns["tables"]}


def column_names(body: Any, identifier: str) -> list[str]:
    return [c["name"] for c in tables(body)[identifier]["columns"]]


def test_tree_has_every_namespace_table_and_column(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    make_table(db, settings, ("alpha", "events"), schema=WIDE)
    make_table(db, settings, ("alpha", "sales", "orders"))
    make_table(db, settings, ("alpha", "sales", "eu", "returns"))
    with catalog(db, settings) as cat:  # an empty nested namespace is listed too
        root = cat.load_namespace_properties(("alpha",))["location"]
        cat.create_namespace(("alpha", "empty"), {"location": f"{root}/empty"})

    body = tree(client, world)
    assert body["catalog"] == "iceberg"
    assert body["default_namespace"] == "alpha"
    assert [(ns["name"], ns["sql_name"]) for ns in body["namespaces"]] == [
        ("alpha", "alpha"),
        ("alpha.empty", '"alpha.empty"'),
        ("alpha.sales", '"alpha.sales"'),
        ("alpha.sales.eu", '"alpha.sales.eu"'),
    ]
    assert sorted(tables(body)) == ["alpha.events", "alpha.sales.eu.returns", "alpha.sales.orders"]
    assert tables(body)["alpha.events"]["columns"] == [
        {"name": "id", "type": "long", "nullable": False, "doc": "Row id"},
        {"name": "ts", "type": "timestamptz", "nullable": False, "doc": None},
        {"name": "amount", "type": "decimal(10, 2)", "nullable": True, "doc": None},
        {"name": "labels", "type": "list<string>", "nullable": True, "doc": None},
        {"name": "attrs", "type": "map<string, long>", "nullable": True, "doc": None},
        {"name": "point", "type": "struct<x: double, y: double>", "nullable": True, "doc": None},
    ]
    assert tables(body)["alpha.sales.orders"]["columns"] == [
        {"name": "id", "type": "long", "nullable": False, "doc": None},
        {"name": "name", "type": "string", "nullable": True, "doc": None},
    ]


def test_a_new_workspace_has_its_root_namespace_only(client: TestClient, world: World) -> None:
    body = tree(client, world)
    assert [(ns["name"], ns["tables"]) for ns in body["namespaces"]] == [("alpha", [])]


def test_a_cache_hit_reads_no_metadata(
    client: TestClient, world: World, db: Database, settings: Settings, loads: list[str]
) -> None:
    for i in range(5):
        make_table(db, settings, ("alpha", f"t{i}"))
    first = client.get(TREE.format("alpha"), headers=world.headers("ws_viewer"))
    assert len(loads) == 5
    loads.clear()
    again = client.get(TREE.format("alpha"), headers=world.headers("ws_editor"))
    assert loads == []
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]


def test_commits_creates_and_drops_invalidate(
    client: TestClient, world: World, db: Database, settings: Settings, loads: list[str]
) -> None:
    make_table(db, settings, ("alpha", "orders"))
    make_table(db, settings, ("alpha", "customers"))
    before = tree(client, world)
    loads.clear()

    # A schema change: a new metadata file for one table; only that one is read again.
    with catalog(db, settings) as cat, cat.load_table(("alpha", "orders")).update_schema() as update:
        update.add_column("total", DecimalType(12, 2), doc="Order total")
    changed = tree(client, world)
    assert changed["fingerprint"] != before["fingerprint"]
    assert column_names(changed, "alpha.orders") == ["id", "name", "total"]
    assert tables(changed)["alpha.orders"]["columns"][-1]["doc"] == "Order total"
    assert len(loads) == 1
    loads.clear()

    # A new table, in a new nested namespace.
    make_table(db, settings, ("alpha", "sales", "daily"))
    created = tree(client, world)
    assert "alpha.sales.daily" in tables(created)
    assert len(loads) == 1
    loads.clear()

    # A rename, then a drop: no metadata to read at all.
    with catalog(db, settings) as cat:
        cat.rename_table(("alpha", "customers"), ("alpha", "clients"))
    renamed = tree(client, world)
    assert sorted(tables(renamed)) == ["alpha.clients", "alpha.orders", "alpha.sales.daily"]
    with catalog(db, settings) as cat:
        cat.drop_table(("alpha", "clients"))
    dropped = tree(client, world)
    assert sorted(tables(dropped)) == ["alpha.orders", "alpha.sales.daily"]
    assert loads == []
    assert len({before["fingerprint"], changed["fingerprint"], created["fingerprint"]}) == 3
    assert len({renamed["fingerprint"], dropped["fingerprint"]}) == 2


def test_etag_and_if_none_match(client: TestClient, world: World, db: Database, settings: Settings) -> None:
    make_table(db, settings, ("alpha", "orders"))
    headers = world.headers("ws_viewer")
    first = client.get(TREE.format("alpha"), headers=headers)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"

    for value in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        unchanged = client.get(TREE.format("alpha"), headers=headers | {"If-None-Match": value})
        assert unchanged.status_code == 304, value
        assert unchanged.content == b""
        assert unchanged.headers["etag"] == etag

    stale = client.get(TREE.format("alpha"), headers=headers | {"If-None-Match": '"other"'})
    assert stale.status_code == 200
    assert stale.content == first.content

    make_table(db, settings, ("alpha", "customers"))
    changed = client.get(TREE.format("alpha"), headers=headers | {"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert "alpha.customers" in tables(changed.json())


def test_only_the_callers_workspace(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    # `alpha_x` starts with `alpha`; its namespace is not under alpha's.
    make_workspace(db, settings, "alpha_x", "outsider")
    make_table(db, settings, ("alpha", "mine"))
    make_table(db, settings, ("beta", "theirs"))
    make_table(db, settings, ("beta", "deep", "theirs"))
    make_table(db, settings, ("alpha_x", "lookalike"))

    alpha = tree(client, world, "ws_viewer", "alpha")
    assert sorted(tables(alpha)) == ["alpha.mine"]
    assert [ns["name"] for ns in alpha["namespaces"]] == ["alpha"]
    beta = tree(client, world, "outsider", "beta")
    assert beta["default_namespace"] == "beta"
    assert sorted(tables(beta)) == ["beta.deep.theirs", "beta.theirs"]
    assert tables(tree(client, world, "outsider", "alpha_x")).keys() == {"alpha_x.lookalike"}
    # Both are cached now; each still answers with its own.
    assert sorted(tables(tree(client, world, "ws_viewer", "alpha"))) == ["alpha.mine"]
    assert alpha["fingerprint"] != beta["fingerprint"]


def test_who_may_ask(client: TestClient, world: World) -> None:
    for who in ("ws_viewer", "ws_editor", "ws_admin", "root"):
        assert client.get(TREE.format("alpha"), headers=world.headers(who)).status_code == 200, who
    outsider = client.get(TREE.format("alpha"), headers=world.headers("outsider"))
    assert outsider.status_code == 404
    assert outsider.json()["detail"] == "No workspace 'alpha'."
    assert client.get(TREE.format("alpha")).status_code == 401
    # An outsider's ETag guess learns nothing either.
    guess = client.get(TREE.format("alpha"), headers=world.headers("outsider") | {"If-None-Match": "*"})
    assert guess.status_code == 404


def test_the_cache_is_bounded() -> None:
    cache = schema_tree.TreeCache(capacity=2)
    for workspace_id in (1, 2, 3):
        cache.put(workspace_id, schema_tree.CachedTree(str(workspace_id), b"{}", {}))
    assert len(cache) == 2
    assert cache.get(1) is None
    cache.get(2)  # 2 is now the most recently used: 3 goes first
    cache.put(4, schema_tree.CachedTree("4", b"{}", {}))
    assert cache.get(3) is None
    assert cache.get(2) is not None
