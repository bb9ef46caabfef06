"""The spec's demo through Sadeem's public HTTP API, as any client would run it: sample meter
readings (a CSV) are ingested into a workspace's Iceberg table → a Spark job run writes their daily
aggregate as a new Iceberg table through Sadeem's catalog → a Trino SQL job run aggregates that
per region → the run's result rows come back through `GET …/runs/{id}/result`, and the console's
run page shows them.

Safe to run again on the same Sadeem: the workspace, jobs and connection are reused (the jobs and
connection updated to this definition), the table is overwritten, and the Spark job replaces its
table. Each step is timed; `Progress` lets the caller show them as they happen.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from sadeem.ingest.demo_data import meter_reading_batches, write_meter_readings_csv

DEMO_WORKSPACE = "lakehouse"
READINGS_TABLE = "meter_readings"
SPARK_JOB = "daily_usage_spark"
TRINO_JOB = "region_totals_trino"
TRINO_CONNECTION = "trino_demo"
TERMINAL_STATES = {"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"}
SPARK_RUN_TIMEOUT = 600.0
TRINO_RUN_TIMEOUT = 300.0

# Spark: daily energy per region and customer class, written as a new Iceberg table (`{namespace}`
# is the workspace's namespace, Spark's default catalog is the workspace's warehouse).
DAILY_USAGE_SOURCE = """\
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
spark.sql(
    "CREATE OR REPLACE TABLE {namespace}.daily_usage USING iceberg AS "
    "SELECT region, customer_class, to_date(reading_at) AS day, "
    "sum(kwh) AS kwh, count(kwh) AS readings "
    "FROM {namespace}.meter_readings GROUP BY region, customer_class, to_date(reading_at)"
)
print("wrote", spark.table("{namespace}.daily_usage").count(), "daily rows")
"""
# Trino: per region, the total energy, the number of readings and the busiest day's energy.
REGION_TOTALS_SQL = (
    "SELECT region, sum(kwh) AS total_kwh, sum(readings) AS readings, max(day_kwh) AS peak_day_kwh"
    " FROM (SELECT region, day, sum(kwh) AS day_kwh, sum(readings) AS readings, sum(kwh) AS kwh"
    " FROM daily_usage GROUP BY region, day)"
    " GROUP BY region ORDER BY region"
)


class DemoFailed(RuntimeError):
    """A step of the demo did not succeed; the message says which and why."""


class Progress(Protocol):
    def step(self, title: str) -> AbstractContextManager[None]:
        """Wraps one step (shown while it runs)."""


class QuietProgress:
    def step(self, title: str) -> AbstractContextManager[None]:
        return _nothing()


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@dataclass(frozen=True)
class DemoTarget:
    """Where the demo runs: a Sadeem (with a token of a user allowed to create workspaces) and a
    Trino whose catalog `trino_catalog` is an Iceberg catalog on that Sadeem."""

    sadeem_url: str
    token: str
    trino_host: str
    trino_port: int
    trino_catalog: str
    workspace: str = DEMO_WORKSPACE


@dataclass
class DemoResult:
    seconds: dict[str, float] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    ingested_rows: int = 0
    spark_run_id: int = 0
    trino_run_id: int = 0
    run_url: str = ""


@dataclass(frozen=True)
class DemoData:
    """How much sample data: 40 meters x 14 days x 8 readings a day = 4,480 rows by default."""

    meters: int = 40
    days: int = 14


def run_demo(
    target: DemoTarget, progress: Progress | None = None, data: DemoData | None = None
) -> DemoResult:
    progress = progress or QuietProgress()
    data = data or DemoData()
    result = DemoResult()
    with httpx.Client(
        base_url=f"{target.sadeem_url.rstrip('/')}/api/v1",
        headers={"Authorization": f"Bearer {target.token}"},
        timeout=120,
    ) as api:
        demo = _Demo(api, target, progress, result)
        demo.timed("workspace", f"Workspace [bold]{target.workspace}[/bold]", demo.ensure_workspace)
        demo.timed("ingest", "Ingest the sample meter readings (CSV upload)", lambda: demo.ingest(data))
        demo.timed("spark", "Spark job: daily usage as a new Iceberg table on S3", demo.spark_run)
        demo.timed("trino", "Trino SQL job: totals per region", demo.trino_run)
        demo.timed("result", "Result through the API", demo.fetch_result)
    result.run_url = (
        f"{target.sadeem_url.rstrip('/')}/workspaces/{target.workspace}/runs/{result.trino_run_id}"
    )
    return result


@dataclass
class _Demo:
    api: httpx.Client
    target: DemoTarget
    progress: Progress
    result: DemoResult

    @property
    def workspace_path(self) -> str:
        return f"/workspaces/{self.target.workspace}"

    def timed(self, name: str, title: str, action: Any) -> None:
        with self.progress.step(title):
            started = time.monotonic()
            action()
            self.result.seconds[name] = round(time.monotonic() - started, 2)

    def ensure_workspace(self) -> None:
        created = self.api.post(
            "/workspaces",
            json={
                "slug": self.target.workspace,
                "name": "Lakehouse demo",
                "description": "Spark writes Iceberg on S3, Trino reads it (sadeem demo).",
            },
        )
        if created.status_code not in (201, 409):
            raise DemoFailed(f"creating the workspace: {_problem(created)}")

    def ingest(self, data: DemoData) -> None:
        with tempfile.TemporaryDirectory(prefix="sadeem-demo-") as scratch:
            csv = Path(scratch) / f"{READINGS_TABLE}.csv"
            rows = write_meter_readings_csv(csv, meter_reading_batches(meters=data.meters, days=data.days))
            path = f"{self.workspace_path}/ingest/{self.target.workspace}/{READINGS_TABLE}"
            content = csv.read_bytes()
            response = self.api.post(path, params={"format": "csv", "mode": "create"}, content=content)
            if response.status_code == 409:  # a run before this one made it: replace its rows
                response = self.api.post(path, params={"format": "csv", "mode": "overwrite"}, content=content)
        if response.status_code != 201:
            raise DemoFailed(f"ingesting the sample data: {_problem(response)}")
        self.result.ingested_rows = int(response.json()["rows"])
        if self.result.ingested_rows != rows:
            raise DemoFailed(f"ingested {self.result.ingested_rows} rows of {rows}")

    def spark_run(self) -> None:
        source = DAILY_USAGE_SOURCE.format(namespace=self.target.workspace)
        self._define_job(
            SPARK_JOB,
            "Daily energy per region and customer class (Spark writes Iceberg on S3).",
            {"type": "spark", "engine": "spark_local", "kind": "pyspark", "source": source},
        )
        self.result.spark_run_id = self._run(SPARK_JOB, SPARK_RUN_TIMEOUT)

    def trino_run(self) -> None:
        config = {
            "type": "trino",
            "host": self.target.trino_host,
            "port": self.target.trino_port,
            "http_scheme": "http",
            "user": "sadeem",
            "catalog": self.target.trino_catalog,
            "verify_tls": True,
        }
        connections = f"{self.workspace_path}/connections"
        response = self.api.post(connections, json={"name": TRINO_CONNECTION, "config": config})
        if response.status_code == 409:
            response = self.api.patch(f"{connections}/{TRINO_CONNECTION}", json={"config": config})
        if response.status_code not in (200, 201):
            raise DemoFailed(f"saving the Trino connection: {_problem(response)}")
        self._define_job(
            TRINO_JOB,
            "Energy per region from the Spark-built daily_usage table (Trino).",
            {"type": "sql", "engine": "trino", "connection": TRINO_CONNECTION, "sql": REGION_TOTALS_SQL},
        )
        self.result.trino_run_id = self._run(TRINO_JOB, TRINO_RUN_TIMEOUT)

    def fetch_result(self) -> None:
        response = self.api.get(f"{self.workspace_path}/runs/{self.result.trino_run_id}/result")
        if response.status_code != 200:
            raise DemoFailed(f"reading the run's result: {_problem(response)}")
        body = response.json()
        self.result.columns = [column["name"] for column in body["columns"]]
        self.result.rows = body["rows"]

    def _define_job(self, name: str, description: str, task: dict[str, Any]) -> None:
        definition = {"description": description, "task": task}
        jobs = f"{self.workspace_path}/jobs"
        response = self.api.post(jobs, json={"name": name, **definition})
        if response.status_code == 409:  # defined by an earlier demo: a new version, if it changed
            response = self.api.put(f"{jobs}/{name}", json=definition)
        if response.status_code not in (200, 201):
            raise DemoFailed(f"saving the job {name}: {_problem(response)}")

    def _run(self, job: str, timeout: float) -> int:
        submitted = self.api.post(f"{self.workspace_path}/jobs/{job}/runs", json={})
        if submitted.status_code not in (200, 201):
            raise DemoFailed(f"submitting a run of {job}: {_problem(submitted)}")
        run_id = int(submitted.json()["id"])
        deadline = time.monotonic() + timeout
        while True:
            run = self.api.get(f"{self.workspace_path}/runs/{run_id}").json()
            if run["state"] in TERMINAL_STATES:
                break
            if time.monotonic() > deadline:
                raise DemoFailed(f"run {run_id} of {job} still {run['state']} after {timeout:.0f} s")
            time.sleep(0.25)
        if run["state"] != "SUCCEEDED":
            log = self.api.get(f"{self.workspace_path}/runs/{run_id}/logs").json().get("text", "")
            raise DemoFailed(
                f"run {run_id} of {job} ended {run['state']}; the end of its log:\n{log[-3000:]}"
            )
        return run_id


def _problem(response: httpx.Response) -> str:
    """The problem+json `detail` (or the body) of a failed response, with its status."""
    try:
        body = response.json()
        detail = body.get("detail") or body.get("title") or body
    except ValueError:
        detail = response.text[:500]
    return f"HTTP {response.status_code}: {detail}"
