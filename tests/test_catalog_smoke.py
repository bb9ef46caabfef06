"""A first end-to-end check of the built-in catalog with pyiceberg and DuckDB."""

from __future__ import annotations

import pyarrow as pa

from tests.catalog_support import CatalogServer, catalog_server  # noqa: F401


def test_pyiceberg_and_duckdb_share_a_table(catalog_server: CatalogServer) -> None:  # noqa: F811
    catalog = catalog_server.pyiceberg("ws_editor")
    table = catalog.create_table(("alpha", "readings"), pa.schema([("id", pa.int64()), ("v", pa.string())]))
    table.append(pa.table({"id": [1, 2], "v": ["a", "b"]}))
    duck = catalog_server.duckdb("ws_editor")
    assert duck.execute("SELECT id, v FROM lake.alpha.readings ORDER BY id").fetchall() == [
        (1, "a"),
        (2, "b"),
    ]
    duck.execute("INSERT INTO lake.alpha.readings VALUES (3, 'c')")
    assert catalog.load_table(("alpha", "readings")).scan().to_arrow().num_rows == 3
