"""The data plane chart's Trino configuration, run by a real Trino (scripts/trino.py's release).

The coordinator ConfigMaps the chart renders (config, JVM, node, the Iceberg catalog with its
`${ENV:…}` secrets, file-based access control, the file group provider, resource groups) are
written out as they would be mounted, with only what a pod gets from Kubernetes replaced: paths,
the port, loopback addresses, and the coordinator scheduling work on itself (no worker pods here).
Trino must start with them, route queries to the resource groups the chart promises, and keep
management endpoints (shutdown, /metrics) to the admins.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trino

from sadeem.engines.trino import WORKSPACE_TAG_PREFIX
from tests.connection_doubles import free_port
from tests.helm_support import render
from tests.trino_server import trino_script, unavailable_reason

VALUES = {
    # Nothing listens there: the catalog and S3 are not what this test is about.
    "catalog": {"controlPlane": {"url": "http://127.0.0.1:9"}},
    "objectStore": {"type": "external", "external": {"endpoint": "http://127.0.0.1:9"}},
    "trino": {
        "coordinator": {"jvm": {"maxHeapSize": "768M"}},
        "query": {"maxMemory": "256MB", "maxMemoryPerNode": "256MB", "maxRunTime": "10m"},
        "accessControl": {
            "admins": ["admin"],
            "serviceUser": "sadeem",
            "workspaces": [{"slug": "demo", "editors": ["ada"], "viewers": ["bob"]}],
        },
        "resourceGroups": {"workspaces": [{"slug": "demo"}]},
    },
}
START_TIMEOUT_SECONDS = 180


def _write_etc(directory: Path, port: int) -> Path:
    objects = render("dataplane", values=VALUES)
    maps = {o["metadata"]["name"]: o["data"] for o in objects if o["kind"] == "ConfigMap"}
    coordinator, rules = maps["sadeem-trino-coordinator"], maps["sadeem-trino-rules"]
    etc, rules_dir = directory / "etc", directory / "rules"
    (etc / "catalog").mkdir(parents=True)
    rules_dir.mkdir()
    for name, text in rules.items():
        (rules_dir / name).write_text(text)
    pod_only = {
        "/etc/trino-rules": str(rules_dir),
        "/data/trino": str(directory),
        "node-scheduler.include-coordinator=false": "node-scheduler.include-coordinator=true",
        "http-server.http.port=8080": f"http-server.http.port={port}",
        "discovery.uri=http://sadeem-trino:8080": f"discovery.uri=http://127.0.0.1:{port}",
    }
    for name, text in coordinator.items():
        for pod_value, here in pod_only.items():
            text = text.replace(pod_value, here)
        if name == "node.properties":
            text += "node.id=chart\nnode.bind-ip=127.0.0.1\nnode.internal-address=127.0.0.1\n"
        target = etc / "catalog" / name if name == "iceberg.properties" else etc / name
        target.write_text(text)
    assert "8080" not in (etc / "config.properties").read_text()
    return etc


@pytest.fixture(scope="module")
def chart_trino(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if reason := unavailable_reason():
        pytest.skip(reason)
    script = trino_script()
    directory = tmp_path_factory.mktemp("chart-trino")
    port = free_port()
    etc = _write_etc(directory, port)
    java_home = script.find_java_home()
    environment = {
        **script.server_environment(java_home),
        # What the pod gets from the Secrets (secretKeyRef), read by Trino's ${ENV:…}.
        "ICEBERG_REST_TOKEN": "sdm_service",
        "S3_ACCESS_KEY_ID": "access",
        "S3_SECRET_ACCESS_KEY": "secret",
    }
    log = directory / "trino.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            script.server_command(script.fetch(), etc, directory),
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            assert process.poll() is None, (
                f"Trino refused the chart's configuration:\n{log.read_text()[-4000:]}"
            )
            assert time.monotonic() < deadline, f"Trino did not start:\n{log.read_text()[-4000:]}"
            try:
                if httpx.get(f"{url}/v1/info", timeout=2).json().get("starting") is False:
                    _query(port, "admin", "SELECT 1")
                    break
            except Exception:  # not up yet (no answer, or no active node for a moment)
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _query(
    port: int, user: str, sql: str, parameters: tuple[Any, ...] = (), **options: Any
) -> tuple[list[list[Any]], str]:
    connection = trino.dbapi.connect(host="127.0.0.1", port=port, user=user, **options)
    cursor = connection.cursor()
    cursor.execute(sql, parameters or None)
    rows = cursor.fetchall()
    return rows, str(cursor.query_id)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.mark.parametrize(
    ("user", "source", "tags", "group"),
    [
        # What Sadeem's Trino engine sends: source sadeem-<random>, the workspace tag.
        (
            "ada",
            "sadeem-1a2b3c4d5e6f",
            ["run:1", "attempt:1", f"{WORKSPACE_TAG_PREFIX}demo"],
            ["batch", "ws_demo"],
        ),
        ("bob", "superset", [f"{WORKSPACE_TAG_PREFIX}demo"], ["interactive", "ws_demo"]),
        ("carol", "trino-cli", [], ["interactive", "other"]),
        ("carol", "sadeem-0f0f0f0f0f0f", ["run:2", "attempt:1"], ["batch", "other"]),
    ],
)
def test_queries_land_in_the_resource_groups_the_chart_promises(
    chart_trino: str, user: str, source: str, tags: list[str], group: list[str]
) -> None:
    port = _port(chart_trino)
    rows, query_id = _query(port, user, "SELECT 1", source=source, client_tags=tags)
    assert rows == [[1]]
    sql = "SELECT resource_group_id FROM system.runtime.queries WHERE query_id = ?"
    assert _query(port, "admin", sql, (query_id,))[0] == [[group]]


def test_only_admins_may_shut_trino_down_or_read_its_metrics(chart_trino: str) -> None:
    refused = httpx.put(
        f"{chart_trino}/v1/info/state", json="SHUTTING_DOWN", headers={"X-Trino-User": "carol"}
    )
    assert refused.status_code == 403
    assert httpx.get(f"{chart_trino}/metrics", headers={"X-Trino-User": "carol"}).status_code == 403
    metrics = httpx.get(f"{chart_trino}/metrics", headers={"X-Trino-User": "admin"})
    assert metrics.status_code == 200 and "trino_" in metrics.text
