# ruff: noqa: S608  (SQL built from the test's own table names and values)
"""Interoperability of the engines on the same Iceberg tables: Spark 4.0, DuckDB, pyiceberg and
Trino 476, each through Sadeem's built-in catalog, on an `s3://` warehouse served by a real S3
server (SeaweedFS). A table goes through a whole life (create, append, upsert by MERGE, UPDATE,
DELETE, a new column, a renamed one and a row that has them), written by one engine, or by the
engines taking turns; then every engine must read the same columns and rows, and the columns and
rows of the first snapshot by its id (time travel, with that snapshot's schema). Every engine here
does every step (DuckDB 1.5.5 included: MERGE INTO, ALTER TABLE ADD and RENAME COLUMN work on an
attached Iceberg catalog). The rename comes after data files exist, so every reader must match
columns by field id, not by name. DuckDB and Trino change rows with position-delete files,
pyiceberg and Spark (copy-on-write, Iceberg's default) by rewriting data files; Spark writes
position deletes too when the engines take turns (merge-on-read). Each test asserts which, so
reading delete files is proven for every reader.

An engine is a class with the same few methods (`LakeEngine`).

The session's Trino and SeaweedFS (conftest's `trino_server`, `trino_s3`) and one SparkSession
(in this process) for the module; each test gets its own Sadeem, bucket and Trino catalog. The
catalog's backends have their own tests: SQLite only.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import BadRequestError
from pyiceberg.expressions import EqualTo
from pyiceberg.types import StringType
from trino.exceptions import TrinoUserError

from tests.catalog_support import CatalogServer, catalog_server  # noqa: F401
from tests.connection_doubles import S3Server, closed_port
from tests.lake_support import (  # noqa: F401
    bucket,
    duckdb_on_s3,
    pyiceberg_on_s3,
    settings,
)
from tests.spark_support import rest_catalog_conf, s3_catalog_conf, spark_jars, spark_session
from tests.trino_server import TrinoServer

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import SparkSession

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

Row = tuple[Any, ...]
SCHEMA = pa.schema(
    [pa.field("id", pa.int64(), nullable=False), pa.field("site", pa.string()), pa.field("kwh", pa.float64())]
)
FIRST_COLUMNS = ["id", "site", "kwh"]
FIRST = [(1, "north", 1.5), (2, "south", 2.5)]
SECOND = [(3, "east", 3.5)]
UPSERT = [(2, "south", 20.0), (4, "west", 4.5)]  # id 2 updated, id 4 inserted
# After: first append, second append, upsert, UPDATE kwh=0 WHERE id=1, DELETE id=3, new column
# `note`, `site` renamed `place`, and one row that has them.
FINAL_COLUMNS = ["id", "place", "kwh", "note"]
FINAL = [(1, "north", 0.0, None), (2, "south", 20.0, None), (4, "west", 4.5, None), (5, "up", 5.5, "new")]

_names = itertools.count()


class LakeEngine(Protocol):
    """What the test asks of an engine, on a table `name` of the workspace `alpha`."""

    name: str

    def create(self, table: str) -> None: ...  # (id BIGINT NOT NULL, site STRING, kwh DOUBLE)
    def append(self, table: str, rows: list[Row]) -> None: ...
    def upsert(self, table: str, rows: list[Row]) -> None: ...  # MERGE on id
    def update_kwh(self, table: str, id_: int, kwh: float) -> None: ...
    def delete(self, table: str, id_: int) -> None: ...
    def add_note_column(self, table: str) -> None: ...  # note STRING
    def rename_site_to_place(self, table: str) -> None: ...
    def rows(self, table: str, snapshot_id: int | None = None) -> list[Row]: ...
    def columns(self, table: str, snapshot_id: int | None = None) -> list[str]: ...


def _sql_value(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _values(rows: list[Row]) -> str:
    return ", ".join("(" + ", ".join(_sql_value(v) for v in row) + ")" for row in rows)


class SparkEngine:
    name = "spark"
    # How the tables Spark creates take UPDATE, DELETE and MERGE: Iceberg's default rewrites the
    # data files; "merge-on-read" writes position-delete files, as DuckDB and Trino do.
    row_level_mode = "copy-on-write"

    def __init__(self, spark: SparkSession, server: CatalogServer, s3: S3Server) -> None:
        self._spark = spark
        self._catalog = f"lake_{next(_names)}"
        conf = {
            **rest_catalog_conf(self._catalog, server.uri, server.world.tokens["ws_editor"], "alpha"),
            **s3_catalog_conf(self._catalog, s3.endpoint_url, s3.access_key_id, s3.secret_access_key),
        }
        for key, value in conf.items():
            spark.conf.set(key, value)

    def _t(self, table: str) -> str:
        return f"{self._catalog}.alpha.{table}"

    def _sql(self, sql: str) -> list[Row]:
        return [tuple(row) for row in self._spark.sql(sql).collect()]

    def create(self, table: str) -> None:
        modes = ", ".join(
            f"'write.{change}.mode' = '{self.row_level_mode}'" for change in ("update", "delete", "merge")
        )
        self._sql(
            f"CREATE TABLE {self._t(table)} (id BIGINT NOT NULL, site STRING, kwh DOUBLE) USING iceberg"
            f" TBLPROPERTIES ({modes})"
        )

    def append(self, table: str, rows: list[Row]) -> None:
        self._sql(f"INSERT INTO {self._t(table)} VALUES {_values(rows)}")

    def upsert(self, table: str, rows: list[Row]) -> None:
        self._sql(
            f"""MERGE INTO {self._t(table)} t
            USING (SELECT * FROM VALUES {_values(rows)} AS s(id, site, kwh)) s ON t.id = s.id
            WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"""
        )

    def update_kwh(self, table: str, id_: int, kwh: float) -> None:
        self._sql(f"UPDATE {self._t(table)} SET kwh = {kwh} WHERE id = {id_}")

    def delete(self, table: str, id_: int) -> None:
        self._sql(f"DELETE FROM {self._t(table)} WHERE id = {id_}")

    def add_note_column(self, table: str) -> None:
        self._sql(f"ALTER TABLE {self._t(table)} ADD COLUMN note STRING")

    def rename_site_to_place(self, table: str) -> None:
        self._sql(f"ALTER TABLE {self._t(table)} RENAME COLUMN site TO place")

    def columns(self, table: str, snapshot_id: int | None = None) -> list[str]:
        version = f" VERSION AS OF {snapshot_id}" if snapshot_id is not None else ""
        return list(self._spark.sql(f"SELECT * FROM {self._t(table)}{version}").columns)

    def rows(self, table: str, snapshot_id: int | None = None) -> list[Row]:
        version = f" VERSION AS OF {snapshot_id}" if snapshot_id is not None else ""
        return self._sql(f"SELECT * FROM {self._t(table)}{version} ORDER BY id")


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, server: CatalogServer, s3: S3Server) -> None:
        self._duck: duckdb.DuckDBPyConnection = duckdb_on_s3(server, s3, "ws_editor")

    def _sql(self, sql: str) -> list[Row]:
        return self._duck.execute(sql).fetchall()

    def create(self, table: str) -> None:
        self._sql(f"CREATE TABLE lake.alpha.{table} (id BIGINT NOT NULL, site VARCHAR, kwh DOUBLE)")

    def append(self, table: str, rows: list[Row]) -> None:
        self._sql(f"INSERT INTO lake.alpha.{table} VALUES {_values(rows)}")

    def upsert(self, table: str, rows: list[Row]) -> None:
        self._sql(
            f"""MERGE INTO lake.alpha.{table} t
            USING (SELECT * FROM (VALUES {_values(rows)}) AS s(id, site, kwh)) s ON t.id = s.id
            WHEN MATCHED THEN UPDATE SET site = s.site, kwh = s.kwh
            WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.site, s.kwh)"""
        )

    def update_kwh(self, table: str, id_: int, kwh: float) -> None:
        self._sql(f"UPDATE lake.alpha.{table} SET kwh = {kwh} WHERE id = {id_}")

    def delete(self, table: str, id_: int) -> None:
        self._sql(f"DELETE FROM lake.alpha.{table} WHERE id = {id_}")

    def add_note_column(self, table: str) -> None:
        self._sql(f"ALTER TABLE lake.alpha.{table} ADD COLUMN note VARCHAR")

    def rename_site_to_place(self, table: str) -> None:
        self._sql(f"ALTER TABLE lake.alpha.{table} RENAME COLUMN site TO place")

    def columns(self, table: str, snapshot_id: int | None = None) -> list[str]:
        version = f" AT (VERSION => {snapshot_id})" if snapshot_id is not None else ""
        described = self._duck.execute(f"SELECT * FROM lake.alpha.{table}{version} LIMIT 0").description
        return [column[0] for column in described]

    def rows(self, table: str, snapshot_id: int | None = None) -> list[Row]:
        version = f" AT (VERSION => {snapshot_id})" if snapshot_id is not None else ""
        return self._sql(f"SELECT * FROM lake.alpha.{table}{version} ORDER BY id")


class PyIcebergEngine:
    name = "pyiceberg"

    def __init__(self, server: CatalogServer, s3: S3Server) -> None:
        self._catalog: RestCatalog = pyiceberg_on_s3(server, s3, "ws_editor")

    def table(self, table: str) -> Any:
        return self._catalog.load_table(("alpha", table))

    def _arrow(self, table: str, rows: list[Row]) -> pa.Table:
        schema = self.table(table).schema().as_arrow()
        return pa.Table.from_pylist(
            [dict(zip(schema.names, row, strict=True)) for row in rows], schema=schema
        )

    def create(self, table: str) -> None:
        self._catalog.create_table(("alpha", table), SCHEMA)

    def append(self, table: str, rows: list[Row]) -> None:
        self.table(table).append(self._arrow(table, rows))

    def upsert(self, table: str, rows: list[Row]) -> None:
        self.table(table).upsert(self._arrow(table, rows), join_cols=["id"])

    def update_kwh(self, table: str, id_: int, kwh: float) -> None:
        current = self.table(table)
        (row,) = current.scan(row_filter=EqualTo("id", id_)).to_arrow().to_pylist()
        current.overwrite(
            self._arrow(table, [tuple({**row, "kwh": kwh}.values())]), overwrite_filter=EqualTo("id", id_)
        )

    def delete(self, table: str, id_: int) -> None:
        self.table(table).delete(EqualTo("id", id_))

    def add_note_column(self, table: str) -> None:
        with self.table(table).update_schema() as update:
            update.add_column("note", StringType())

    def rename_site_to_place(self, table: str) -> None:
        with self.table(table).update_schema() as update:
            update.rename_column("site", "place")

    def columns(self, table: str, snapshot_id: int | None = None) -> list[str]:
        return self.table(table).scan(snapshot_id=snapshot_id, limit=0).to_arrow().schema.names

    def rows(self, table: str, snapshot_id: int | None = None) -> list[Row]:
        scanned = self.table(table).scan(snapshot_id=snapshot_id).to_arrow().to_pylist()
        return sorted((tuple(row.values()) for row in scanned), key=lambda row: row[0])


class TrinoEngine:
    """Trino 476's Iceberg connector on a catalog of its own over this test's Sadeem; every query
    runs as `ws_editor` with that user's token as the `token` extra credential (as Sadeem's Trino
    engine sends it), so the catalog checks the same grants as for the other engines. Row-level
    changes (UPDATE, DELETE, MERGE) write v2 position-delete files, which the others must honour."""

    name = "trino"

    def __init__(self, trino: TrinoServer, server: CatalogServer, s3: S3Server) -> None:
        self._trino = trino
        self._token = server.world.tokens["ws_editor"]
        self.catalog = trino.add_iceberg_catalog(server.base_url, self._token, s3)

    def _t(self, table: str) -> str:
        return f'"{self.catalog}".alpha.{table}'

    def _query(self, sql: str) -> tuple[list[str], list[Row]]:
        """The column names and rows of `sql` (fetching all rows is what completes a DML query)."""
        with self._trino.connect("ws_editor", extra_credential=[("token", self._token)]) as connection:
            cursor = connection.cursor()
            cursor.execute(sql)
            rows = [tuple(row) for row in cursor.fetchall()]
            return [column[0] for column in cursor.description or []], rows

    def _sql(self, sql: str) -> list[Row]:
        return self._query(sql)[1]

    @staticmethod
    def _values(rows: list[Row]) -> str:
        # A bare 1.5 is a DECIMAL in Trino: say DOUBLE so MERGE's source has the table's types.
        def literal(value: object) -> str:
            return f"DOUBLE '{value!r}'" if isinstance(value, float) else _sql_value(value)

        return ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)

    def create(self, table: str) -> None:
        self._sql(f"CREATE TABLE {self._t(table)} (id BIGINT NOT NULL, site VARCHAR, kwh DOUBLE)")

    def append(self, table: str, rows: list[Row]) -> None:
        self._sql(f"INSERT INTO {self._t(table)} VALUES {self._values(rows)}")

    def upsert(self, table: str, rows: list[Row]) -> None:
        self._sql(
            f"""MERGE INTO {self._t(table)} t
            USING (VALUES {self._values(rows)}) AS s(id, site, kwh) ON t.id = s.id
            WHEN MATCHED THEN UPDATE SET site = s.site, kwh = s.kwh
            WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.site, s.kwh)"""
        )

    def update_kwh(self, table: str, id_: int, kwh: float) -> None:
        self._sql(f"UPDATE {self._t(table)} SET kwh = DOUBLE '{kwh!r}' WHERE id = {id_}")

    def delete(self, table: str, id_: int) -> None:
        self._sql(f"DELETE FROM {self._t(table)} WHERE id = {id_}")

    def add_note_column(self, table: str) -> None:
        self._sql(f"ALTER TABLE {self._t(table)} ADD COLUMN note VARCHAR")

    def rename_site_to_place(self, table: str) -> None:
        self._sql(f"ALTER TABLE {self._t(table)} RENAME COLUMN site TO place")

    def columns(self, table: str, snapshot_id: int | None = None) -> list[str]:
        version = f" FOR VERSION AS OF {snapshot_id}" if snapshot_id is not None else ""
        return self._query(f"SELECT * FROM {self._t(table)}{version} LIMIT 0")[0]

    def rows(self, table: str, snapshot_id: int | None = None) -> list[Row]:
        version = f" FOR VERSION AS OF {snapshot_id}" if snapshot_id is not None else ""
        return self._sql(f"SELECT * FROM {self._t(table)}{version} ORDER BY id")


@pytest.fixture(scope="module")
def lake_s3(trino_s3: S3Server) -> S3Server:
    """The session's SeaweedFS (conftest's `trino_s3`) rather than one of the module's own: the
    Trino of the session already reads it, and a test's bucket is its own anyway."""
    return trino_s3


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    spark_jars()  # skips the module before starting anything when pyspark is not installed
    tmp = tmp_path_factory.mktemp("spark-interop")
    uri = f"http://127.0.0.1:{closed_port()}"  # never used: each test adds its own catalog
    with spark_session("placeholder", uri, "", None, tmp, default_catalog=False) as session:
        yield session


ENGINES = ("spark", "duckdb", "pyiceberg", "trino")
# UPDATE, DELETE and MERGE of DuckDB and Trino write v2 position-delete files (merge-on-read);
# Spark (Iceberg's default `write.*.mode` copy-on-write) and pyiceberg rewrite the data files.
# None of them writes equality deletes (Flink's kind), so no test here reads one.
WRITES_POSITION_DELETES = {"duckdb", "trino"}


@pytest.fixture
def engines(
    spark: SparkSession,
    trino_server: TrinoServer,
    catalog_server: CatalogServer,  # noqa: F811
    lake_s3: S3Server,
) -> Iterator[dict[str, LakeEngine]]:
    """Every engine of `ENGINES` on this test's Sadeem and bucket (the Trino catalog is dropped
    afterwards: Trino lives for the whole session)."""
    trino = TrinoEngine(trino_server, catalog_server, lake_s3)
    made: dict[str, LakeEngine] = {
        "spark": SparkEngine(spark, catalog_server, lake_s3),
        "duckdb": DuckDBEngine(catalog_server, lake_s3),
        "pyiceberg": PyIcebergEngine(catalog_server, lake_s3),
        "trino": trino,
    }
    assert tuple(made) == ENGINES
    try:
        yield made
    finally:
        trino_server.drop_catalog(trino.catalog)


def _life(table: str, writers: Iterator[LakeEngine], pyiceberg: PyIcebergEngine) -> int:
    """Take `table` through its whole life, each step by the next of `writers`; the id of the
    snapshot its first append made."""
    next(writers).create(table)
    next(writers).append(table, FIRST)
    first_snapshot: int = pyiceberg.table(table).current_snapshot().snapshot_id
    next(writers).append(table, SECOND)
    next(writers).upsert(table, UPSERT)
    next(writers).update_kwh(table, 1, 0.0)
    next(writers).delete(table, 3)
    next(writers).add_note_column(table)
    # Data files written so far name the column `site`: readers must match columns by field id.
    next(writers).rename_site_to_place(table)
    next(writers).append(table, [(5, "up", 5.5, "new")])
    return first_snapshot


def _pyiceberg(engines: dict[str, LakeEngine]) -> PyIcebergEngine:
    pyiceberg = engines["pyiceberg"]
    assert isinstance(pyiceberg, PyIcebergEngine)
    return pyiceberg


def _assert_every_engine_reads(engines: dict[str, LakeEngine], table: str, first_snapshot: int) -> None:
    for reader in engines.values():
        assert reader.columns(table) == FINAL_COLUMNS, f"{reader.name} reading {table}'s columns"
        # Time travel reads the snapshot with the schema it was written with: `site`, no `note`.
        assert reader.columns(table, first_snapshot) == FIRST_COLUMNS, f"{reader.name}: {table}'s first"
        assert reader.rows(table) == FINAL, f"{reader.name} reading {table}"
        assert reader.rows(table, first_snapshot) == FIRST, f"{reader.name} reading {table}'s first snapshot"


@pytest.mark.parametrize("writer", ENGINES)
def test_a_table_written_by_one_engine_reads_the_same_in_every_engine(
    writer: str, engines: dict[str, LakeEngine]
) -> None:
    table = f"by_{writer}"
    first_snapshot = _life(table, itertools.repeat(engines[writer]), _pyiceberg(engines))
    # How the writer changed rows decides what the readers had to honour: delete files or not.
    summary = _pyiceberg(engines).table(table).current_snapshot().summary
    assert (int(summary["total-position-deletes"]) > 0) == (writer in WRITES_POSITION_DELETES)
    assert int(summary["total-equality-deletes"] or 0) == 0  # DuckDB leaves the total out
    _assert_every_engine_reads(engines, table, first_snapshot)


def test_engines_taking_turns_on_one_table_read_the_same(engines: dict[str, LakeEngine]) -> None:
    # spark creates, duckdb appends, pyiceberg appends, trino upserts, spark updates, ...: each
    # step's writer works on what the previous engine committed.
    spark = engines["spark"]
    assert isinstance(spark, SparkEngine)
    spark.row_level_mode = "merge-on-read"  # so Spark's UPDATE too leaves delete files to read
    pyiceberg = _pyiceberg(engines)
    first_snapshot = _life("by_turns", itertools.cycle(engines.values()), pyiceberg)
    deleting = {
        snapshot.summary["engine-name"] or "duckdb or pyiceberg"
        for snapshot in pyiceberg.table("by_turns").snapshots()
        if int(snapshot.summary["added-position-deletes"] or 0) > 0
    }
    assert {"spark", "trino"} <= deleting
    _assert_every_engine_reads(engines, "by_turns", first_snapshot)


def test_a_format_v3_table_is_refused_with_the_reason(engines: dict[str, LakeEngine]) -> None:
    """Iceberg format v3 (deletion vectors, row lineage) is out of the matrix. Sadeem's catalog
    writes table metadata with pyiceberg, which cannot write v3 metadata yet: the catalog refuses
    a v3 table with a 400 that says so (not a 500), to Spark and pyiceberg alike; Trino 476 does
    not even ask for one. Nothing is created."""
    spark, trino, pyiceberg = engines["spark"], engines["trino"], _pyiceberg(engines)
    assert isinstance(spark, SparkEngine) and isinstance(trino, TrinoEngine)
    refusal = "Not supported by Sadeem's catalog: Writing V3 is not yet supported"
    with pytest.raises(Exception, match=f"BadRequestException: Malformed request: {refusal}"):
        spark._sql(
            f"CREATE TABLE {spark._t('v3')} (id BIGINT) USING iceberg TBLPROPERTIES ('format-version' = '3')"
        )
    with pytest.raises(BadRequestError, match=refusal):
        pyiceberg._catalog.create_table(("alpha", "v3"), SCHEMA, properties={"format-version": "3"})
    with pytest.raises(TrinoUserError, match="format_version must be between 1 and 2"):
        trino._sql(f"CREATE TABLE {trino._t('v3')} (id BIGINT) WITH (format_version = 3)")
    assert pyiceberg._catalog.list_tables("alpha") == []
