"""Security issue #10, item 9: a very wide table bounds what a preview and the schema tree do
(the first columns only, and a flag that there are more), with small bounds here so a table of a
hundred columns shows it. (Measured with 20,000 columns: see the issue.)"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField

from sadeem.config import Settings
from sadeem.db.engine import Database
from tests.conftest import World
from tests.iceberg_tables import make_table

WIDTH = 120
PREVIEW_COLUMNS = 50
TREE_COLUMNS = 40
API = "/api/v1/workspaces/alpha/catalog"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"preview_max_columns": PREVIEW_COLUMNS, "schema_tree_max_columns": TREE_COLUMNS}
    )


@pytest.fixture
def wide(db: Database, settings: Settings) -> None:
    schema = Schema(*(NestedField(i + 1, f"c{i}", LongType()) for i in range(WIDTH)))
    make_table(db, settings, ("alpha", "wide"), {f"c{i}": [i, i + 1] for i in range(WIDTH)}, schema=schema)


def _get(client: TestClient, world: World, path: str, status: int = 200, **params: Any) -> Any:
    response = client.get(f"{API}{path}", params=params, headers=world.headers("ws_viewer"))
    assert response.status_code == status, response.text
    return response.json()


def test_a_preview_reads_the_first_columns_and_says_so(client: TestClient, world: World, wide: None) -> None:
    preview = _get(client, world, "/tables/alpha/wide/preview")
    assert [c["name"] for c in preview["columns"]] == [f"c{i}" for i in range(PREVIEW_COLUMNS)]
    assert preview["columns_truncated"] is True and preview["truncated"] is False
    assert preview["rows"] == [[i + j for i in range(PREVIEW_COLUMNS)] for j in range(2)]

    chosen = _get(client, world, "/tables/alpha/wide/preview", columns="c119,c3")
    assert [c["name"] for c in chosen["columns"]] == ["c119", "c3"] and chosen["columns_truncated"] is False
    many = ",".join(f"c{i}" for i in reversed(range(WIDTH)))
    asked = _get(client, world, "/tables/alpha/wide/preview", columns=many)
    assert [c["name"] for c in asked["columns"]][:2] == ["c119", "c118"]
    assert len(asked["columns"]) == PREVIEW_COLUMNS and asked["columns_truncated"] is True

    # An unknown column's error names some columns, not all of them.
    problem = _get(client, world, "/tables/alpha/wide/preview", status=400, columns="nope")
    assert "c49," in problem["detail"] and "c50," not in problem["detail"]
    assert f"({WIDTH} in all)" in problem["detail"]


def test_the_schema_tree_lists_the_first_columns_of_a_wide_table(
    client: TestClient, world: World, db: Database, settings: Settings, wide: None
) -> None:
    make_table(db, settings, ("alpha", "narrow"))
    tree = _get(client, world, "/schema-tree")
    tables = {t["name"]: t for ns in tree["namespaces"] for t in ns["tables"]}
    assert [c["name"] for c in tables["wide"]["columns"]] == [f"c{i}" for i in range(TREE_COLUMNS)]
    assert tables["wide"]["more_columns"] is True
    assert [c["name"] for c in tables["narrow"]["columns"]] == ["id", "name"]
    assert tables["narrow"]["more_columns"] is False
