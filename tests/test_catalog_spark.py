# ruff: noqa: S608  (Spark SQL built from the tests' own catalog and table names)
"""Spark 4.0 with Iceberg 1.10 against Sadeem's built-in Iceberg REST catalog (`type=rest`,
`uri=<server>/iceberg`, `warehouse=<workspace>`, a personal access token as bearer token).

One SparkSession for the module (its JVM takes 10-20 s to start); each test gets its own live
server and database as the other catalog tests do (SQLite, and PostgreSQL when configured), and
adds to the running session one Spark catalog per caller it needs, under fresh names: catalogs
are SQL settings that `spark.conf.set` adds at any time, and Spark keeps a catalog it has loaded.

The warehouse is the default file:// one under the server's home, which Spark reads and writes
directly (the catalog hands out locations, not credentials); `s3://` is tests/test_spark_s3.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pytest

from tests.catalog_support import CatalogServer, catalog_server  # noqa: F401
from tests.connection_doubles import closed_port
from tests.spark_support import rest_catalog_conf, spark_jars, spark_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_names = itertools.count()
FORBIDDEN = r"org\.apache\.iceberg\.exceptions\.ForbiddenException: Forbidden: "

ORDERS = "id BIGINT, site STRING, qty INT, amount DECIMAL(10, 2), day DATE"
FIRST_ROWS = [
    (1, "north", 3, Decimal("10.50"), date(2024, 1, 1)),
    (2, "south", 5, Decimal("7.25"), date(2024, 1, 2)),
    (3, "north", 1, Decimal("99.99"), date(2024, 1, 3)),
]
MERGED_ROWS = [
    (1, "north", 3, Decimal("10.50"), date(2024, 1, 1)),
    (2, "south", 8, Decimal("7.25"), date(2024, 1, 2)),  # updated
    (3, "north", 1, Decimal("99.99"), date(2024, 1, 3)),
    (4, "east", 2, Decimal("1.00"), date(2024, 1, 4)),  # inserted
]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    spark_jars()  # skips the module before starting anything when pyspark is not installed
    tmp = tmp_path_factory.mktemp("spark-catalog")
    # The session's own catalog is never used (it points at a closed port): every test adds
    # catalogs for its own server.
    uri = f"http://127.0.0.1:{closed_port()}"
    with spark_session("placeholder", uri, "", None, tmp, default_catalog=False) as session:
        yield session


def _catalog(spark: SparkSession, server: CatalogServer, who: str, warehouse: str | None = "alpha") -> str:
    """A new Spark catalog on `server` with `who`'s token; its name."""
    name = f"{who}_{next(_names)}"
    for key, value in rest_catalog_conf(name, server.uri, server.world.tokens[who], warehouse).items():
        spark.conf.set(key, value)
    return name


def _rows(spark: SparkSession, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in spark.sql(sql).collect()]


def _values(rows: list[tuple[Any, ...]]) -> str:
    return ", ".join(f"({i}, '{s}', {q}, {a}, DATE '{d.isoformat()}')" for i, s, q, a, d in rows)


def _create_orders(spark: SparkSession, table: str, *properties: str) -> None:
    tblproperties = f" TBLPROPERTIES ({', '.join(properties)})" if properties else ""
    spark.sql(f"CREATE TABLE {table} ({ORDERS}) USING iceberg PARTITIONED BY (site){tblproperties}")
    spark.sql(f"INSERT INTO {table} VALUES {_values(FIRST_ROWS)}")


def _merge(spark: SparkSession, table: str) -> None:
    spark.sql(
        f"""
        MERGE INTO {table} AS t
        USING (SELECT 2L AS id, 'south' AS site, 8 AS qty, CAST(7.25 AS DECIMAL(10, 2)) AS amount,
                      DATE '2024-01-02' AS day
               UNION ALL
               SELECT 4L, 'east', 2, CAST(1.00 AS DECIMAL(10, 2)), DATE '2024-01-04') AS s
        ON t.id = s.id
        WHEN MATCHED THEN UPDATE SET t.qty = s.qty
        WHEN NOT MATCHED THEN INSERT *
        """
    )


def _snapshots(spark: SparkSession, table: str) -> list[tuple[int, str]]:
    return _rows(spark, f"SELECT snapshot_id, operation FROM {table}.snapshots ORDER BY committed_at")


def _audit(server: CatalogServer, **filters: str) -> list[dict[str, Any]]:
    return server.audit_events(**filters)


def _files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


# --- Spark alone -------------------------------------------------------------------------------


def test_spark_creates_merges_and_travels_in_time(spark: SparkSession, catalog_server: CatalogServer) -> None:  # noqa: F811
    cat = _catalog(spark, catalog_server, "ws_editor")
    table = f"{cat}.alpha.orders"
    _create_orders(spark, table)
    ((first, operation),) = _snapshots(spark, table)
    assert operation == "append"

    _merge(spark, table)
    assert _rows(spark, f"SELECT * FROM {table} ORDER BY id") == MERGED_ROWS
    as_of_first = f"SELECT * FROM {table} VERSION AS OF {first} ORDER BY id"
    assert _rows(spark, as_of_first) == FIRST_ROWS
    assert [op for _, op in _snapshots(spark, table)] == ["append", "overwrite"]

    assert _rows(spark, f"DESCRIBE TABLE {table}") == [
        ("id", "bigint", None),
        ("site", "string", None),
        ("qty", "int", None),
        ("amount", "decimal(10,2)", None),
        ("day", "date", None),
        ("# Partition Information", "", ""),
        ("# col_name", "data_type", "comment"),
        ("site", "string", None),
    ]
    extended = {name: value for name, value, _ in _rows(spark, f"DESCRIBE TABLE EXTENDED {table}")}
    location = f"{catalog_server.settings.resolved_warehouse}/alpha/orders"
    assert (extended["Provider"], extended["Location"]) == ("iceberg", location)
    assert _rows(spark, f"SHOW TABLES IN {cat}.alpha") == [("alpha", "orders", False)]

    # The data went where the catalog said: the workspace's storage, one directory per site.
    data = catalog_server.settings.home / "warehouse" / "alpha" / "orders" / "data"
    assert {p.parent.name for p in _files_under(data)} == {"site=north", "site=south", "site=east"}

    spark.sql(f"CREATE NAMESPACE {cat}.alpha.staging")
    spark.sql(f"ALTER TABLE {table} RENAME TO alpha.staging.orders")
    assert _rows(spark, f"SHOW TABLES IN {cat}.alpha") == []
    assert _rows(spark, f"SELECT count(*) FROM {cat}.alpha.staging.orders") == [(4,)]
    assert _rows(spark, f"SHOW NAMESPACES IN {cat}.alpha") == [("alpha.staging",)]


def test_spark_commits_are_audited_with_their_snapshots(
    spark: SparkSession,
    catalog_server: CatalogServer,  # noqa: F811
) -> None:
    cat = _catalog(spark, catalog_server, "ws_editor")
    table = f"{cat}.alpha.audited"
    _create_orders(spark, table)
    _merge(spark, table)
    spark.sql(f"DELETE FROM {table} WHERE id = 1")
    snapshots = [str(snapshot_id) for snapshot_id, _ in _snapshots(spark, table)]
    assert len(snapshots) == 3

    events = list(reversed(_audit(catalog_server, target_type="table")))
    assert [(e["action"], e["target_id"], e["actor"], e["outcome"]) for e in events] == [
        ("create_table", "alpha.audited", "ws_editor", "success"),
        *[("commit_table", "alpha.audited", "ws_editor", "success")] * 3,
    ]
    assert events[0]["details"]["snapshot_id"] is None
    assert [e["details"]["snapshot_id"] for e in events[1:]] == snapshots
    assert all(e["workspace"] == "alpha" and e["auth_method"] == "token" for e in events)


def test_spark_creates_and_replaces_tables_as_select(
    spark: SparkSession,
    catalog_server: CatalogServer,  # noqa: F811
) -> None:
    """CTAS and RTAS are staged: a stage-create (or a load), data files, then one commit that
    creates (`assert-create`) or replaces the table."""
    cat = _catalog(spark, catalog_server, "ws_editor")
    _create_orders(spark, f"{cat}.alpha.orders")
    spark.sql(
        f"CREATE TABLE {cat}.alpha.by_site USING iceberg PARTITIONED BY (site) AS "
        f"SELECT site, sum(qty) AS qty FROM {cat}.alpha.orders GROUP BY site"
    )
    assert _rows(spark, f"SELECT * FROM {cat}.alpha.by_site ORDER BY site") == [("north", 4), ("south", 5)]
    spark.sql(
        f"REPLACE TABLE {cat}.alpha.by_site USING iceberg AS "
        f"SELECT site, count(*) AS orders FROM {cat}.alpha.orders GROUP BY site"
    )
    assert _rows(spark, f"SELECT * FROM {cat}.alpha.by_site ORDER BY site") == [("north", 2), ("south", 1)]
    spark.sql(f"CREATE OR REPLACE TABLE {cat}.alpha.fresh USING iceberg AS SELECT id FROM {cat}.alpha.orders")
    assert _rows(spark, f"SELECT * FROM {cat}.alpha.fresh ORDER BY id") == [(1,), (2,), (3,)]

    replaced = catalog_server.pyiceberg("ws_viewer").load_table(("alpha", "by_site"))
    assert replaced.schema().column_names == ["site", "orders"]
    assert len(replaced.snapshots()) == 2  # the CTAS snapshot stays in the replaced table's history
    events = list(reversed(_audit(catalog_server, target_type="table")))
    assert [(e["action"], e["target_id"]) for e in events] == [
        ("create_table", "alpha.orders"),
        ("commit_table", "alpha.orders"),
        ("commit_table", "alpha.by_site"),  # CTAS: created by its commit
        ("commit_table", "alpha.by_site"),
        ("commit_table", "alpha.fresh"),
    ]


def test_an_admin_drops_and_purges_spark_tables(
    spark: SparkSession,
    catalog_server: CatalogServer,  # noqa: F811
) -> None:
    editor = _catalog(spark, catalog_server, "ws_editor")
    for name in ("kept", "purged_by_spark", "purged_by_server"):
        _create_orders(spark, f"{editor}.alpha.{name}")
        _merge(spark, f"{editor}.alpha.{name}")
        spark.sql(f"DELETE FROM {editor}.alpha.{name} WHERE id = 1")
    with pytest.raises(Exception, match=FORBIDDEN):
        spark.sql(f"DROP TABLE {editor}.alpha.kept").collect()  # dropping takes an admin

    admin = _catalog(spark, catalog_server, "ws_admin")
    alpha = catalog_server.settings.home / "warehouse" / "alpha"
    spark.sql(f"DROP TABLE {admin}.alpha.kept")
    assert _files_under(alpha / "kept"), "a drop without purge keeps the files"

    # Spark's DROP TABLE … PURGE drops the table in the catalog (no purgeRequested) and deletes
    # the files itself.
    spark.sql(f"DROP TABLE {admin}.alpha.purged_by_spark PURGE")
    assert _files_under(alpha / "purged_by_spark") == []
    (drop,) = _audit(catalog_server, action="drop_table", target_id="alpha.purged_by_spark")
    assert drop["details"]["purge"] is False

    # The server's purge (purgeRequested=true) deletes the files Spark wrote: data files,
    # manifests, manifest lists (which Spark names `file:/…`) and metadata. Not the checksum
    # files Hadoop's local file system writes beside each of them (`.<name>.crc`), which no
    # metadata names.
    catalog_server.pyiceberg("ws_admin").purge_table(("alpha", "purged_by_server"))
    assert [p for p in _files_under(alpha / "purged_by_server") if p.suffix != ".crc"] == []
    (purge,) = _audit(catalog_server, action="drop_table", target_id="alpha.purged_by_server")
    assert purge["details"]["purge"] is True
    assert _rows(spark, f"SHOW TABLES IN {admin}.alpha") == []


# --- Spark with pyiceberg and DuckDB -----------------------------------------------------------


@pytest.mark.parametrize("mode", ["copy-on-write", "merge-on-read"])
def test_spark_tables_are_read_by_pyiceberg_and_duckdb(
    spark: SparkSession,
    catalog_server: CatalogServer,  # noqa: F811
    mode: str,
) -> None:
    cat = _catalog(spark, catalog_server, "ws_editor")
    table = f"{cat}.alpha.orders"
    modes = [f"'write.{op}.mode' = '{mode}'" for op in ("merge", "update", "delete")]
    _create_orders(spark, table, *modes)
    _merge(spark, table)
    spark.sql(f"DELETE FROM {table} WHERE id = 3")
    expected = [row for row in MERGED_ROWS if row[0] != 3]
    assert _rows(spark, f"SELECT * FROM {table} ORDER BY id") == expected

    loaded = catalog_server.pyiceberg("ws_viewer").load_table(("alpha", "orders"))
    assert [f.name for f in loaded.spec().fields] == ["site"]
    arrow = loaded.scan().to_arrow().sort_by("id")
    assert [tuple(row.values()) for row in arrow.to_pylist()] == expected

    duck = catalog_server.duckdb("ws_viewer")
    assert duck.execute("SELECT * FROM lake.alpha.orders ORDER BY id").fetchall() == expected


def test_spark_reads_tables_written_by_pyiceberg_and_duckdb(
    spark: SparkSession,
    catalog_server: CatalogServer,  # noqa: F811
) -> None:
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("site", pa.string())])
    pyiceberg_table = catalog_server.pyiceberg("ws_editor").create_table(("alpha", "from_pyiceberg"), schema)
    pyiceberg_table.append(pa.table({"id": [1, 2], "site": ["a", "b"]}, schema=schema))
    pyiceberg_table.delete("id == 1")
    pyiceberg_table.append(pa.table({"id": [3], "site": ["c"]}, schema=schema))

    duck = catalog_server.duckdb("ws_editor")
    duck.execute("CREATE TABLE lake.alpha.from_duckdb (id BIGINT, site VARCHAR, depth DOUBLE)")
    duck.execute("INSERT INTO lake.alpha.from_duckdb VALUES (1, 'a', 1.5), (2, 'b', 2.5), (3, 'c', 3.5)")
    duck.execute("UPDATE lake.alpha.from_duckdb SET depth = 9.0 WHERE id = 2")
    duck.execute("DELETE FROM lake.alpha.from_duckdb WHERE id = 3")

    cat = _catalog(spark, catalog_server, "ws_viewer")
    assert _rows(spark, f"SELECT * FROM {cat}.alpha.from_pyiceberg ORDER BY id") == [(2, "b"), (3, "c")]
    assert _rows(spark, f"SELECT * FROM {cat}.alpha.from_duckdb ORDER BY id") == [
        (1, "a", 1.5),
        (2, "b", 9.0),
    ]
    tables = _rows(spark, f"SHOW TABLES IN {cat}.alpha")
    assert sorted(name for _, name, _ in tables) == ["from_duckdb", "from_pyiceberg"]

    # And Spark writes to them; the other clients see it.
    editor = _catalog(spark, catalog_server, "ws_editor")
    spark.sql(f"INSERT INTO {editor}.alpha.from_pyiceberg VALUES (4, 'd')")
    spark.sql(f"INSERT INTO {editor}.alpha.from_duckdb VALUES (4, 'd', 4.5)")
    reloaded = catalog_server.pyiceberg("ws_editor").load_table(("alpha", "from_pyiceberg"))
    assert sorted(tuple(r.values()) for r in reloaded.scan().to_arrow().to_pylist()) == [
        (2, "b"),
        (3, "c"),
        (4, "d"),
    ]
    assert duck.execute("SELECT id, depth FROM lake.alpha.from_duckdb ORDER BY id").fetchall() == [
        (1, 1.5),
        (2, 9.0),
        (4, 4.5),
    ]


# --- who may do what ---------------------------------------------------------------------------


def test_a_non_member_is_refused(spark: SparkSession, catalog_server: CatalogServer) -> None:  # noqa: F811
    editor = _catalog(spark, catalog_server, "ws_editor")
    _create_orders(spark, f"{editor}.alpha.orders")

    # Warehouse alpha: the catalog's configuration itself is refused.
    on_alpha = _catalog(spark, catalog_server, "outsider")
    for statement in (
        f"SHOW TABLES IN {on_alpha}.alpha",
        f"SELECT * FROM {on_alpha}.alpha.orders",
        f"CREATE TABLE {on_alpha}.alpha.mine (id BIGINT) USING iceberg",
    ):
        with pytest.raises(Exception, match=FORBIDDEN):
            spark.sql(statement).collect()

    # Warehouse beta (the outsider's own) or none: the catalog works, alpha's namespace does not.
    for warehouse in ("beta", None):
        own = _catalog(spark, catalog_server, "outsider", warehouse=warehouse)
        assert _rows(spark, f"SHOW TABLES IN {own}.beta") == []
        for statement in (
            f"SHOW TABLES IN {own}.alpha",
            f"SELECT * FROM {own}.alpha.orders",
            f"CREATE TABLE {own}.alpha.mine (id BIGINT) USING iceberg",
            f"INSERT INTO {own}.alpha.orders VALUES {_values(FIRST_ROWS[:1])}",
            f"DROP TABLE {own}.alpha.orders",
        ):
            with pytest.raises(Exception, match=FORBIDDEN):
                spark.sql(statement).collect()

    assert _rows(spark, f"SELECT * FROM {editor}.alpha.orders ORDER BY id") == FIRST_ROWS
    assert [name for _, name, _ in _rows(spark, f"SHOW TABLES IN {editor}.alpha")] == ["orders"]
    # Spark asks before it changes anything (does the table or namespace exist?), so each
    # attempt ended on a refused read, and refused reads are not audited: nothing from outsider.
    assert _audit(catalog_server, actor="outsider") == []


def test_a_viewer_reads_but_does_not_write(spark: SparkSession, catalog_server: CatalogServer) -> None:  # noqa: F811
    editor = _catalog(spark, catalog_server, "ws_editor")
    _create_orders(spark, f"{editor}.alpha.orders")
    before = catalog_server.pyiceberg("ws_editor").load_table(("alpha", "orders")).metadata_location
    files_before = sorted(_files_under(catalog_server.settings.home / "warehouse" / "alpha"))

    viewer = _catalog(spark, catalog_server, "ws_viewer")
    table = f"{viewer}.alpha.orders"
    assert _rows(spark, f"SELECT * FROM {table} ORDER BY id") == FIRST_ROWS
    assert len(_snapshots(spark, table)) == 1
    for statement in (
        f"INSERT INTO {table} VALUES {_values(MERGED_ROWS[3:])}",
        f"DELETE FROM {table} WHERE id = 1",
        f"ALTER TABLE {table} ADD COLUMN note STRING",
        f"CREATE TABLE {viewer}.alpha.mine (id BIGINT) USING iceberg",
        f"CREATE NAMESPACE {viewer}.alpha.mine",
    ):
        with pytest.raises(Exception, match=FORBIDDEN):
            spark.sql(statement).collect()
    with pytest.raises(Exception, match=FORBIDDEN):
        _merge(spark, table)

    assert catalog_server.pyiceberg("ws_editor").load_table(("alpha", "orders")).metadata_location == before
    assert _rows(spark, f"SELECT * FROM {table} ORDER BY id") == FIRST_ROWS
    # Spark wrote data files before the refused commits, and deleted them after.
    assert sorted(_files_under(catalog_server.settings.home / "warehouse" / "alpha")) == files_before

    # Every refused change is in the audit trail (Spark's scan reports, POSTed to /metrics, are
    # audited too, as successes: they are left out here).
    events = [e for e in _audit(catalog_server, actor="ws_viewer") if e["action"] != "report_metrics"]
    assert sorted((e["action"], e["outcome"]) for e in events) == [
        ("commit_table", "denied"),  # INSERT, DELETE, ALTER TABLE, MERGE
        ("commit_table", "denied"),
        ("commit_table", "denied"),
        ("commit_table", "denied"),
        ("create_namespace", "denied"),
        ("create_table", "denied"),
    ]
