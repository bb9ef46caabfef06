"""The first start's sample jobs run for real: the daily aggregate is built from the demo data
set by DuckDB through the built-in catalog, and the report job reads it."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from sadeem.app import create_app
from sadeem.bootstrap import bootstrap
from sadeem.catalog.provisioning import CatalogProvisioner
from sadeem.config import Settings
from sadeem.db.engine import Database
from sadeem.worker.worker import Worker
from tests.conftest import bearer, live_uvicorn, make_token
from tests.jobs_support import fast_settings


def _wait(client: httpx.Client, run_id: int, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = client.get(f"/runs/{run_id}").json()
        if run["state"] in ("SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT") or time.monotonic() > deadline:
            return run
        time.sleep(0.2)


@pytest.mark.slow
def test_demo_jobs_build_and_read_the_daily_aggregate(settings: Settings, db: Database) -> None:
    demo = fast_settings(settings, demo=True, spark_jars_dir=settings.home / "no-spark-here")
    result = bootstrap(demo, db, CatalogProvisioner(demo))
    assert (
        result.demo_jobs
        == "jobs daily_usage_build, daily_usage_report, first runs queued; saved query usage_by_region"
    ), result
    token = make_token(db, demo, "admin")
    app = create_app(demo, db)
    with live_uvicorn(app) as base_url:
        app.state.statements.catalog_url = f"{base_url}/iceberg"
        worker = Worker(db, demo, catalog_url=f"{base_url}/iceberg")
        worker.start()
        try:
            with httpx.Client(
                base_url=f"{base_url}/api/v1/workspaces/demo", headers=bearer(token), timeout=60
            ) as client:
                (build,) = client.get("/runs", params={"job": "daily_usage_build"}).json()["items"]
                built = _wait(client, build["id"])
                assert built["state"] == "SUCCEEDED", (built, client.get(f"/runs/{build['id']}/logs").text)
                summary = client.get(f"/runs/{build['id']}/result").json()
                assert [c["name"] for c in summary["columns"]] == [
                    "groups",
                    "first_day",
                    "last_day",
                    "total_kwh",
                ]
                assert summary["rows"][0][0] > 0

                report = client.post(
                    "/jobs/daily_usage_report/runs", json={"parameters": {"min_kwh": 0}}
                ).json()
                read = _wait(client, report["id"])
                assert read["state"] == "SUCCEEDED", client.get(f"/runs/{report['id']}/logs").text
                rows = client.get(f"/runs/{report['id']}/result").json()
                assert rows["total_rows"] > 0
                assert [c["name"] for c in rows["columns"]] == ["day", "region", "kwh", "readings"]
                job = client.get("/jobs/daily_usage_build").json()
                assert job["next_fire_at"] is not None  # scheduled daily

                # The sample saved query runs in the worksheet as it is.
                saved = client.get("/queries/usage_by_region").json()
                assert saved["shared"] and saved["parameters"][0]["name"] == "min_kwh", saved
                ran = client.post(
                    "/statements",
                    json={"sql": saved["sql"], "parameters": {"min_kwh": 0}, "wait_timeout": 30},
                ).json()
                assert ran["state"] == "SUCCEEDED" and ran["result"]["total_rows"] > 0, ran
        finally:
            worker.stop(wait_seconds=0)
