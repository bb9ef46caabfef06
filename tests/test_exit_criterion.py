"""The product's exit criterion on the embedded stack, end to end through the API: sample batch
data is ingested, a Spark job (real `spark-submit`, local mode) writes an Iceberg table through
the built-in catalog, a SQL job (DuckDB) reads it, and the run's result comes back through the API."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest

from tests.jobs_support import Platform, platform  # noqa: F401
from tests.spark_support import spark_jars

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SALES_CSV = "region,amount\nnorth,10.5\nsouth,4\nnorth,1.5\neast,7\nsouth,6\n"

AGGREGATE = """\
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
spark.sql(
    "CREATE TABLE alpha.sales_by_region USING iceberg AS "
    "SELECT region, sum(amount) AS total, count(*) AS orders FROM alpha.sales GROUP BY region"
)
print("wrote", spark.table("alpha.sales_by_region").count(), "regions")
"""


def test_ingest_then_spark_writes_then_sql_reads_and_the_result_is_served(platform: Platform) -> None:  # noqa: F811
    spark_jars()  # skips when pyspark is not installed
    platform.start_worker()

    ingested = platform.api(
        "POST", "/ingest/alpha/sales", params={"format": "csv", "mode": "create"}, content=SALES_CSV.encode()
    )
    assert ingested.status_code == 201, ingested.text
    assert ingested.json()["rows"] == 5

    platform.create_job(
        "aggregate_sales", {"type": "spark", "engine": "spark_local", "kind": "pyspark", "source": AGGREGATE}
    )
    spark_run = platform.submit("aggregate_sales")
    done = platform.wait(spark_run["id"], timeout=240)
    assert done["state"] == "SUCCEEDED", (done, platform.logs(spark_run["id"]))
    assert "wrote 3 regions" in platform.logs(spark_run["id"])

    platform.create_job(
        "read_sales",
        {
            "type": "sql",
            "engine": "duckdb",
            "sql": "SELECT region, total, orders FROM sales_by_region ORDER BY region",
        },
    )
    sql_run = platform.submit("read_sales")
    read = platform.wait(sql_run["id"])
    assert read["state"] == "SUCCEEDED", (read, platform.logs(sql_run["id"]))

    result = platform.api("GET", f"/runs/{sql_run['id']}/result", "ws_viewer").json()
    assert result["rows"] == [["east", 7.0, 1], ["north", 12.0, 2], ["south", 10.0, 2]]
    download = platform.api("GET", f"/runs/{sql_run['id']}/result.parquet", "ws_viewer")
    assert download.status_code == 200
    table = pq.read_table(io.BytesIO(download.content))
    assert table.to_pylist() == [
        {"region": "east", "total": 7.0, "orders": 1},
        {"region": "north", "total": 12.0, "orders": 2},
        {"region": "south", "total": 10.0, "orders": 2},
    ]
