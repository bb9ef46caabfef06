"""Spark local runs on an `s3://` warehouse: a real `spark-submit` (Spark 4.0 with the official
Iceberg runtime and AWS bundle) writes an Iceberg table through Sadeem's built-in catalog into a
real S3 server (SeaweedFS `weed mini`), and pyiceberg and DuckDB read the same rows back through
the same catalog.

One SeaweedFS for the module, one bucket per test (tests/lake_support.py). The engine never
touches Sadeem's database, so this runs on SQLite only (the catalog's backends have their own
tests)."""

from __future__ import annotations

import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from sadeem.connections.schemas import SparkLocalConfig
from sadeem.engines.base import CatalogAccess, EngineTask, ExecutionState, SparkTask, WorkspaceStorage
from sadeem.engines.spark_local import SparkLocalEngine, SparkSubmitExecution
from tests.catalog_support import CatalogServer, catalog_server  # noqa: F401
from tests.connection_doubles import S3Server
from tests.lake_support import (  # noqa: F401
    S3_KEY_ID,
    S3_SECRET,
    bucket,
    duckdb_on_s3,
    lake_s3,
    pyiceberg_on_s3,
    settings,
)
from tests.spark_support import spark_jars

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

FAST_JVM = {"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}
SPARK_RUN_TIMEOUT = 240.0

WRITER = """\
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
# Unqualified: the workspace's root namespace in Sadeem's catalog, stored where it says (s3://).
spark.sql("CREATE TABLE meters (id BIGINT, site STRING, kwh DOUBLE) USING iceberg")
spark.sql("INSERT INTO meters VALUES (1, 'north', 1.5), (2, 'south', 2.5)")
spark.sql("INSERT INTO meters SELECT id + 3, 'east', id * 10.0 FROM range(2)")
described = spark.sql("DESCRIBE TABLE EXTENDED meters").where("col_name = 'Location'").first()
print("location", described.data_type)
"""
EXPECTED = [(1, "north", 1.5), (2, "south", 2.5), (3, "east", 0.0), (4, "east", 10.0)]


def _keys(s3: S3Server, bucket_name: str, prefix: str) -> list[str]:
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
        config=Config(s3={"addressing_style": "path"}),
    )
    listing = client.list_objects_v2(Bucket=bucket_name, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_a_spark_local_job_writes_an_s3_table_that_pyiceberg_and_duckdb_read(
    catalog_server: CatalogServer,  # noqa: F811
    lake_s3: S3Server,  # noqa: F811
    bucket: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    spark_jars()  # skips without pyspark; fetches the jars when missing
    lines: list[str] = []
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    task = EngineTask(
        run_id=1,
        attempt=1,
        owner="ws_editor",
        workspace=WorkspaceStorage("alpha", "alpha", f"s3://{bucket}/wh/alpha"),
        catalog=CatalogAccess(catalog_server.uri, "alpha", catalog_server.world.tokens["ws_editor"]),
        task=SparkTask(kind="pyspark", source=WRITER, conf=FAST_JVM),
        parameters={},
        work_dir=work_dir,
        log=lines.append,
        connection=SparkLocalConfig(type="spark_local", master="local[2]").model_dump(by_alias=False),
    )
    execution = SparkLocalEngine(catalog_server.settings).submit(task)
    assert isinstance(execution, SparkSubmitExecution), execution.status()
    try:
        deadline = time.monotonic() + SPARK_RUN_TIMEOUT
        while not (status := execution.status()).finished:
            assert time.monotonic() < deadline, "\n".join(lines)
            time.sleep(0.3)
    finally:
        execution.close()
    log = "\n".join(lines)
    assert status.state == ExecutionState.SUCCEEDED, log
    assert f"location s3://{bucket}/wh/alpha/meters" in lines
    assert S3_SECRET not in log and catalog_server.world.tokens["ws_editor"] not in log

    # The data and metadata files are in the bucket, under the workspace's prefix.
    s3 = lake_s3
    keys = _keys(s3, bucket, "wh/alpha/meters/")
    assert sum(k.startswith("wh/alpha/meters/data/") and k.endswith(".parquet") for k in keys) >= 2
    assert any(k.startswith("wh/alpha/meters/metadata/") and k.endswith(".metadata.json") for k in keys)

    catalog = pyiceberg_on_s3(catalog_server, s3, "ws_viewer")
    table = catalog.load_table(("alpha", "meters"))
    assert table.location() == f"s3://{bucket}/wh/alpha/meters"
    assert sorted(tuple(row.values()) for row in table.scan().to_arrow().to_pylist()) == EXPECTED
    assert len(table.snapshots()) == 2  # one per INSERT

    duck = duckdb_on_s3(catalog_server, s3, "ws_viewer")
    assert duck.execute("SELECT id, site, kwh FROM lake.alpha.meters ORDER BY id").fetchall() == EXPECTED
