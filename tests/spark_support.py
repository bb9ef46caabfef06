"""Real Spark 4.0 with Iceberg 1.10 for tests: local mode, a REST catalog, file:// or s3:// data.

`spark_jars()` gives the official Iceberg jars (the Spark runtime and the AWS bundle, fetched from
Maven Central into the user's cache by `sadeem.engines.spark_jars` when missing; `make spark`
does the same ahead of time). `spark_session(...)` starts a local SparkSession whose catalog
`catalog_name` is an Iceberg REST catalog, and stops it after::

    with spark_session("sadeem", "http://127.0.0.1:8000/api/iceberg", token, "main", tmp_path) as spark:
        spark.sql("CREATE NAMESPACE sales")

For `s3://` tables, pass the catalog's `s3.*` properties in `extra_conf` (see `s3_catalog_conf`).

pyspark runs one JVM per Python process and keeps it after `stop()`: the JVM options of the first
session (classpath, driver memory, log configuration) stay for all later ones. Its SQL settings
(`spark.sql.*`: catalogs, default catalog) and `spark.hadoop.*` ones do not: each session gets
exactly the catalogs it asks for. Sessions are sequential: one at a time per process.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sadeem.engines import spark_jars as pinned
from sadeem.engines.spark_local import LOG4J2_PROPERTIES

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"


@functools.cache
def _jars() -> tuple[Path, ...]:
    try:
        return tuple(pinned.fetch(log=lambda line: print(f"spark jars: {line}", file=sys.stderr)))
    except pinned.FetchError as error:
        pytest.fail(f"cannot fetch the Spark jars: {error}", pytrace=False)


def spark_jars() -> list[Path]:
    """The Iceberg Spark runtime and AWS bundle jars, in classpath order; fetched first if missing.
    Skips the test when pyspark is not installed (`make spark` installs it); fails when it is not
    the Spark the runtime is built for, or the jars cannot be fetched."""
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed: `make spark` installs the `spark` extra and fetches the jars")
    version = importlib.metadata.version("pyspark")
    if not version.startswith(f"{pinned.SPARK_MINOR}."):
        pytest.fail(
            f"pyspark {version} is installed, the Iceberg runtime needs {pinned.SPARK_MINOR}.x: `make spark`"
        )
    return list(_jars())


def s3_catalog_conf(catalog_name: str, endpoint_url: str, key_id: str, secret: str) -> dict[str, str]:
    """The catalog properties Iceberg's S3FileIO reads to reach an S3 server with static keys
    (path-style, as SeaweedFS and MinIO serve buckets)."""
    catalog = f"spark.sql.catalog.{catalog_name}"
    return {
        f"{catalog}.s3.endpoint": endpoint_url,
        f"{catalog}.s3.path-style-access": "true",
        f"{catalog}.s3.access-key-id": key_id,
        f"{catalog}.s3.secret-access-key": secret,
        f"{catalog}.client.region": "us-east-1",
    }


def spark_conf(
    catalog_name: str,
    uri: str,
    token: str,
    warehouse: str | None,
    tmp_dir: Path,
    *,
    default_catalog: bool = True,
    extra_conf: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The Spark configuration `spark_session` starts with (see there); useful on its own to
    check what a session would get."""
    classpath = os.pathsep.join(str(jar) for jar in spark_jars())
    log_config = tmp_dir / "log4j2.properties"
    log_config.write_text(LOG4J2_PROPERTIES)
    # C1 only and the serial GC: a short-lived 2-thread JVM starts and warms up faster with
    # them (a smoke run took 13 s instead of 25 s on a 2-core machine).
    java_options = f"-Dlog4j2.configurationFile=file:{log_config} -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
    conf = {
        "spark.master": "local[2]",
        "spark.app.name": f"sadeem-test-{catalog_name}",
        # JVM launch options: the jars go straight on the (single, local-mode) JVM classpath,
        # which skips copying 46 MB through Spark's file server.
        "spark.driver.extraClassPath": classpath,
        "spark.executor.extraClassPath": classpath,
        "spark.driver.extraJavaOptions": java_options,
        "spark.driver.memory": "1g",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        # Small and quiet.
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.sql.session.timeZone": "UTC",
        # Nothing in the working directory: no Hive metastore, no spark-warehouse/.
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": (tmp_dir / "spark-warehouse").as_uri(),
        "spark.sql.extensions": ICEBERG_EXTENSIONS,
        **rest_catalog_conf(catalog_name, uri, token, warehouse),
    }
    if default_catalog:
        conf["spark.sql.defaultCatalog"] = catalog_name
    conf.update(extra_conf or {})
    return conf


def rest_catalog_conf(catalog_name: str, uri: str, token: str, warehouse: str | None) -> dict[str, str]:
    """The `spark.sql.catalog.<catalog_name>.*` settings of an Iceberg REST catalog (see
    `spark_session`). They are SQL settings: `spark.conf.set` adds such a catalog to a running
    session too, under a name not used yet (Spark keeps a catalog once it has loaded it)."""
    catalog = f"spark.sql.catalog.{catalog_name}"
    conf = {
        catalog: "org.apache.iceberg.spark.SparkCatalog",
        f"{catalog}.type": "rest",
        f"{catalog}.uri": uri,
        # Every read asks the catalog again, so changes made behind Spark's back are seen.
        f"{catalog}.cache-enabled": "false",
    }
    if token:
        # Sent as `Authorization: Bearer <token>`, as it is: never refreshed or exchanged.
        conf[f"{catalog}.rest.auth.type"] = "oauth2"
        conf[f"{catalog}.token"] = token
        conf[f"{catalog}.token-refresh-enabled"] = "false"
    if warehouse is not None:
        conf[f"{catalog}.warehouse"] = warehouse
    return conf


def _forget_launch_conf() -> None:
    """pyspark launched its JVM with the first session's settings as Java system properties,
    and every later session's SparkConf starts from them. Drop the SQL and Hadoop ones so an
    earlier session's catalogs do not leak into this one (the JVM-level ones cannot change)."""
    from pyspark import SparkContext

    jvm = SparkContext._jvm
    if jvm is None:  # no JVM yet: this session launches it
        return
    system = jvm.java.lang.System
    for key in list(system.getProperties().stringPropertyNames()):
        if key.startswith(("spark.sql.", "spark.hadoop.")):
            system.clearProperty(key)


@contextmanager
def spark_session(
    catalog_name: str,
    uri: str,
    token: str,
    warehouse: str | None,
    tmp_dir: Path,
    *,
    default_catalog: bool = True,
    extra_conf: Mapping[str, str] | None = None,
) -> Iterator[SparkSession]:
    """A local SparkSession (local[2], 1 GB driver, no UI) with Iceberg's SQL extensions and an
    Iceberg REST catalog named `catalog_name`, stopped when the block ends.

    `uri` is the catalog's base URL (Iceberg appends `/v1/...`); `token` is sent as
    `Authorization: Bearer <token>` (empty: no header); `warehouse` is the catalog's `warehouse`
    property when given. The catalog is Spark's default (so `ns.table` needs no prefix) unless
    `default_catalog=False`. `extra_conf` adds or overrides Spark settings, for instance more
    `spark.sql.catalog.<name>.*` properties or a second catalog. The log configuration and
    `spark.sql.warehouse.dir` go under `tmp_dir`.
    """
    from pyspark.sql import SparkSession

    conf = spark_conf(
        catalog_name,
        uri,
        token,
        warehouse,
        tmp_dir,
        default_catalog=default_catalog,
        extra_conf=extra_conf,
    )
    _forget_launch_conf()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the JVM reads it at launch
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    try:
        yield spark
    finally:
        spark.stop()
