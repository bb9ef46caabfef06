"""Benchmark: the built-in catalog's loadTable latency as Trino and Spark see it, side by side
with a direct HTTP GET of the endpoint.

On the demo's components (`sadeem demo`'s stack: SeaweedFS S3, `sadeem up` on an s3:// warehouse,
Trino 476 with its Iceberg REST catalog on Sadeem; the demo flow runs once to make the tables), the
same table `lakehouse.daily_usage` is loaded by:

- `http`: `GET /iceberg/v1/{prefix}/namespaces/lakehouse/tables/daily_usage` with httpx
  (keep-alive, the admin's bearer token): the endpoint's own latency;
- `trino`: each query resolves the table through the catalog with the caller's token
  (`iceberg.rest-catalog.session=USER`). `SELECT 1` is the floor (no catalog call); `SELECT * …
  LIMIT 0` and `DESCRIBE` each load the table once or more. Trino's own `analysisTime` of the
  `LIMIT 0` query (from /v1/query/{id}) is the part spent resolving names and metadata;
- `spark`: `spark.table(...)` in a local SparkSession with the REST catalog and its cache off
  (`cache-enabled=false`, as Sadeem's Spark jobs run), which calls loadTable on every resolution.

Reports p50 and p99 in milliseconds per way.

    .venv/bin/python -m bench.load_table [--http 300] [--trino 60] [--spark 60]
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import trino
from tests.spark_support import s3_catalog_conf, spark_session

from sadeem.demo.flow import DEMO_WORKSPACE, run_demo
from sadeem.demo.stack import DemoStack, demo_stack

TABLE = "daily_usage"
_DURATION = re.compile(r"^([\d.]+)(ns|us|ms|s|m|h|d)$")
_MS_PER_UNIT = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6, "d": 8.64e7}


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def timed(action: Callable[[], object], count: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def http_samples(stack: DemoStack, count: int) -> list[float]:
    target = stack.target
    with httpx.Client(
        base_url=f"{target.sadeem_url}/iceberg",
        headers={"Authorization": f"Bearer {target.token}"},
        timeout=30,
    ) as client:
        config = client.get("/v1/config", params={"warehouse": DEMO_WORKSPACE})
        config.raise_for_status()
        prefix = config.json()["overrides"]["prefix"]
        path = f"/v1/{prefix}/namespaces/{DEMO_WORKSPACE}/tables/{TABLE}"

        def load() -> None:
            client.get(path).raise_for_status()

        return timed(load, count)


def trino_samples(stack: DemoStack, count: int) -> dict[str, list[float]]:
    target = stack.target
    connection = trino.dbapi.connect(
        host=target.trino_host,
        port=target.trino_port,
        user="admin",
        catalog=target.trino_catalog,
        schema=DEMO_WORKSPACE,
        extra_credential=[("token", target.token)],
    )
    analysis: list[float] = []

    def run(sql: str, record_analysis: bool = False) -> Callable[[], None]:
        def query() -> None:
            cursor = connection.cursor()
            cursor.execute(sql)
            cursor.fetchall()
            if record_analysis:
                analysis.append(_analysis_ms(stack.trino_url, cursor.query_id))

        return query

    results = {
        "trino SELECT 1 (no catalog call)": timed(run("SELECT 1"), count),
        "trino SELECT * FROM daily_usage LIMIT 0": timed(
            run("SELECT * FROM daily_usage LIMIT 0", True), count
        ),
        "trino DESCRIBE daily_usage": timed(run("DESCRIBE daily_usage"), count),
    }
    results["trino analysisTime of LIMIT 0"] = analysis[-count:]
    connection.close()
    return results


def _analysis_ms(trino_url: str, query_id: str) -> float:
    info = httpx.get(f"{trino_url}/v1/query/{query_id}", headers={"X-Trino-User": "admin"}, timeout=10)
    info.raise_for_status()
    found = _DURATION.match(info.json()["queryStats"]["analysisTime"])
    assert found is not None, info.json()["queryStats"]["analysisTime"]
    return float(found.group(1)) * _MS_PER_UNIT[found.group(2)]


def spark_samples(stack: DemoStack, count: int, scratch: Path) -> list[float]:
    target = stack.target
    s3 = stack.s3
    with spark_session(
        "sadeem",
        f"{target.sadeem_url}/iceberg",
        target.token,
        DEMO_WORKSPACE,
        scratch,
        extra_conf=s3_catalog_conf("sadeem", s3.endpoint_url, s3.access_key_id, s3.secret_access_key),
    ) as spark:
        return timed(lambda: spark.table(f"{DEMO_WORKSPACE}.{TABLE}"), count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--http", type=int, default=300)
    parser.add_argument("--trino", type=int, default=60)
    parser.add_argument("--spark", type=int, default=60)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="bench-load-table-") as scratch,
        demo_stack(Path(scratch)) as stack,
    ):
        run_demo(stack.target)  # the tables
        rows: dict[str, list[float]] = {
            "http GET loadTable (httpx, keep-alive)": http_samples(stack, args.http)
        }
        rows.update(trino_samples(stack, args.trino))
        rows["spark spark.table(...) (catalog cache off)"] = spark_samples(stack, args.spark, Path(scratch))
    print(f"\n{'loadTable of lakehouse.daily_usage':<44} {'n':>5} {'p50 ms':>9} {'p99 ms':>9}")
    for name, samples in rows.items():
        p50, p99 = percentiles(samples)
        print(f"{name:<44} {len(samples):>5} {p50:>9.1f} {p99:>9.1f}")


if __name__ == "__main__":
    main()
