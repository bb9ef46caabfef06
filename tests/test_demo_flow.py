"""The spec's demo, automated, with every component real: Sadeem (API, built-in Iceberg catalog,
an in-process worker), SeaweedFS S3, Spark 4 (`spark-submit`, local mode) and Trino 476.

Sample batch data (the demo's smart-meter readings, as a CSV) is ingested through the API into
the workspace's `s3://` warehouse → a Spark job run aggregates it into a new Iceberg table on S3
through Sadeem's catalog → a Trino SQL job run reads and aggregates that table → the run's result
rows come back through `GET …/runs/{id}/result` and equal the aggregate DuckDB computes straight
from the CSV. Seconds per step are recorded as the test's `demo_seconds` user property (in
`--junitxml` reports) and are in every assertion message.

Trino and SeaweedFS are the session's (tests/conftest.py); Spark is the only JVM this test starts.
It runs on SQLite and PostgreSQL; tests/test_demo_command.py runs the same demo as `sadeem demo`
against a real `sadeem up` and checks the console's run page.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import duckdb
import pytest
from botocore.config import Config

from sadeem.config import Settings
from sadeem.demo.flow import DAILY_USAGE_SOURCE, REGION_TOTALS_SQL
from sadeem.ingest.demo_data import meter_reading_batches, write_meter_readings_csv
from tests.conftest import make_token, make_user
from tests.connection_doubles import S3Server
from tests.jobs_support import Platform, platform  # noqa: F401
from tests.lake_support import s3_warehouse_settings
from tests.spark_support import spark_jars
from tests.trino_server import TrinoServer, trino_connection_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CATALOG_SERVICE_USER = "trino_catalog"  # reads /v1/config for Trino; a member of no workspace
SPARK_RUN_TIMEOUT = 300.0
TRINO_RUN_TIMEOUT = 120.0

# The demo's own jobs (`sadeem demo` runs the same ones): Spark writes the daily aggregate as a new
# Iceberg table; Trino totals it per region.
DAILY_USAGE = DAILY_USAGE_SOURCE.format(namespace="alpha")
REGION_TOTALS = REGION_TOTALS_SQL
# The same aggregate computed independently, by DuckDB from the CSV that was uploaded.
EXPECTED_SQL = """
SELECT region, sum(kwh) AS total_kwh, sum(readings) AS readings, max(kwh) AS peak_day_kwh
FROM (SELECT region, CAST(reading_at AS DATE) AS day, sum(kwh) AS kwh, count(kwh) AS readings
      FROM read_csv(?, header = true) GROUP BY ALL)
GROUP BY region ORDER BY region
"""


@pytest.fixture
def settings(tmp_path: Path, database_url: str, trino_s3: S3Server) -> Settings:
    """Overrides conftest's: an s3:// warehouse on the session's SeaweedFS, a bucket per test."""
    return s3_warehouse_settings(tmp_path, database_url, trino_s3, f"demo-{uuid.uuid4().hex[:12]}")


class Steps(dict[str, float]):
    """Seconds per step, in order."""

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self[name] = round(time.monotonic() - started, 2)

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds} s" for name, seconds in self.items())


def test_ingest_spark_writes_iceberg_on_s3_trino_aggregates_and_the_result_is_served(
    platform: Platform,  # noqa: F811
    trino_server: TrinoServer,
    trino_s3: S3Server,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    spark_jars()  # skips without pyspark (`make spark`); fetches the pinned jars when missing
    p = platform
    steps = Steps()
    try:
        _demo(p, trino_server, trino_s3, tmp_path, steps)
    finally:
        # What `record_property` does, minus its warning under JUnit's xunit2 format.
        request.node.user_properties.append(("demo_seconds", dict(steps)))


def _demo(p: Platform, trino_server: TrinoServer, s3: S3Server, tmp_path: Path, steps: Steps) -> None:
    p.start_worker()
    csv = tmp_path / "meter_readings.csv"
    rows = write_meter_readings_csv(csv, meter_reading_batches(meters=40, days=14))

    # 1. Ingest: the CSV through the upload API into the workspace's s3:// warehouse.
    with steps.timed("ingest"):
        ingested = p.api(
            "POST",
            "/ingest/alpha/meter_readings",
            params={"format": "csv", "mode": "create"},
            content=csv.read_bytes(),
        )
    assert ingested.status_code == 201, (ingested.text, str(steps))
    assert ingested.json()["rows"] == rows, str(steps)

    # 2. Spark: a job run, executed by the worker with `spark-submit`, writes the aggregate on S3.
    p.create_job(
        "daily_usage", {"type": "spark", "engine": "spark_local", "kind": "pyspark", "source": DAILY_USAGE}
    )
    with steps.timed("spark_run"):
        spark_run = p.submit("daily_usage")
        spark_done = p.wait(spark_run["id"], timeout=SPARK_RUN_TIMEOUT)
    spark_log = p.logs(spark_run["id"])
    assert spark_done["state"] == "SUCCEEDED", (spark_done, spark_log, str(steps))
    assert "wrote " in spark_log and " daily rows" in spark_log, (spark_log, str(steps))
    bucket, prefix = str(p.settings.warehouse).removeprefix("s3://").split("/", 1)
    written = _keys(s3, bucket, f"{prefix}/alpha/daily_usage/")
    assert any(key.endswith(".parquet") for key in written), written
    assert any(key.endswith(".metadata.json") for key in written), written

    # 3. Trino: the platform's catalog in Trino (as a service user in no workspace reads its
    # config), the workspace connection to it, then a SQL job run that aggregates the table.
    with steps.timed("trino_setup"):
        make_user(p.db, CATALOG_SERVICE_USER)
        service_token = make_token(p.db, p.settings, CATALOG_SERVICE_USER)
        catalog = trino_server.add_iceberg_catalog(p.base_url, service_token, s3)
    trino_server.forget_past_queries()  # the session's Trino: earlier tests' queries
    try:
        created = p.api(
            "POST",
            "/connections",
            "ws_admin",
            json={
                "name": "trino_main",
                "config": {"type": "trino", **trino_connection_settings(trino_server, catalog)},
            },
        )
        assert created.status_code == 201, created.text
        p.create_job(
            "region_totals",
            {"type": "sql", "engine": "trino", "connection": "trino_main", "sql": REGION_TOTALS},
        )
        with steps.timed("trino_run"):
            trino_run = p.submit("region_totals")
            trino_done = p.wait(trino_run["id"], timeout=TRINO_RUN_TIMEOUT)
        trino_log = p.logs(trino_run["id"])
        assert trino_done["state"] == "SUCCEEDED", (trino_done, trino_log, str(steps))

        # 4. The result, through the API, equals DuckDB's aggregate of the uploaded CSV.
        with steps.timed("result"):
            result = p.api("GET", f"/runs/{trino_run['id']}/result", "ws_viewer")
        assert result.status_code == 200, (result.text, str(steps))
        body = result.json()
        assert [column["name"] for column in body["columns"]] == [
            "region",
            "total_kwh",
            "readings",
            "peak_day_kwh",
        ], body["columns"]
        expected = duckdb.connect().execute(EXPECTED_SQL, [str(csv)]).fetchall()
        assert len(expected) >= 2, expected  # the demo data has several regions
        got = body["rows"]
        assert [row[0] for row in got] == [row[0] for row in expected], (got, expected, str(steps))
        for served, independent in zip(got, expected, strict=True):
            _region, total_kwh, readings, peak = served
            assert readings == independent[2], (served, independent)
            # Sums of doubles in another order: equal to the last few bits.
            assert total_kwh == pytest.approx(independent[1], rel=1e-9), (served, independent)
            assert peak == pytest.approx(independent[3], rel=1e-9), (served, independent)
        # Trino ran it as the run's owner.
        (query,) = [q for q in trino_server.queries(user="ws_editor") if "day_kwh" in q["query"]]
        assert query["state"] == "FINISHED" and query["query_id"] in trino_log
    finally:
        trino_server.drop_catalog(catalog)
    assert set(steps) == {"ingest", "spark_run", "trino_setup", "trino_run", "result"}, str(steps)


def _keys(s3: S3Server, bucket: str, prefix: str) -> list[str]:
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=s3.access_key_id,
        aws_secret_access_key=s3.secret_access_key,
        config=Config(s3={"addressing_style": "path"}),
    )
    listing = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))
