"""Liveness, readiness, Prometheus metrics and request ids."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from sadeem.app import create_app
from sadeem.config import Settings
from sadeem.db import migrate
from tests.conftest import World


def test_liveness(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_migrated(client: TestClient, settings: Settings) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["migration_revision"] == migrate.head_revision()
    assert body["database"] == (
        "sqlite" if settings.resolved_database_url.startswith("sqlite") else "postgresql"
    )


def test_not_ready_when_the_schema_is_behind(tmp_path: Path, empty_database_url: str) -> None:
    settings = Settings(home=tmp_path / "home", database_url=empty_database_url)
    with TestClient(create_app(settings)) as client:
        response = client.get("/health/ready")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == 503
        assert body["type"] == "urn:sadeem:problem:unavailable"
        assert "sadeem db upgrade" in body["detail"]
        assert client.get("/health").status_code == 200  # alive, just not ready
        migrate.upgrade(empty_database_url)
        assert client.get("/health/ready").status_code == 200


def test_not_ready_when_the_database_is_unreachable(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody:secret-pw@127.0.0.1:1/nothing?connect_timeout=2"
    settings = Settings(home=tmp_path / "home", database_url=url)
    with TestClient(create_app(settings)) as client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "unreachable" in response.json()["detail"]
    assert "secret-pw" not in response.text


def test_metrics_use_route_templates(client: TestClient, world: World) -> None:
    for _ in range(2):
        assert client.get("/api/v1/workspaces/alpha", headers=world.headers("ws_viewer")).status_code == 200
    assert client.get("/api/v1/workspaces/beta", headers=world.headers("ws_viewer")).status_code == 404
    # (an unknown page outside /api/ is the console's to answer: tests/test_console_build.py)
    assert client.get("/api/v1/no/such/page/12345").status_code == 404
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    metrics = response.text
    assert (
        'sadeem_http_requests_total{method="GET",route="/api/v1/workspaces/{workspace}",status="200"} 2.0'
        in metrics
    )
    assert (
        'sadeem_http_requests_total{method="GET",route="/api/v1/workspaces/{workspace}",status="404"} 1.0'
        in metrics
    )
    latency = (
        'sadeem_http_request_duration_seconds_count{method="GET",route="/api/v1/workspaces/{workspace}"}'
    )
    assert f"{latency} 3.0" in metrics
    assert "/api/v1/workspaces/alpha" not in metrics
    assert "12345" not in metrics  # unmatched paths do not become labels
    assert 'route="<unmatched>"' in metrics


def test_metrics_can_be_disabled(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"metrics_enabled": False}))) as client:
        response = client.get("/metrics")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_every_response_carries_a_request_id(client: TestClient, world: World) -> None:
    responses = [
        client.get("/health"),
        client.get("/api/v1/me"),
        client.get("/api/v1/me", headers=world.headers("ws_viewer")),
        client.get("/nowhere"),
        client.post("/api/v1/workspaces", json={"slug": "X"}, headers=world.headers("ws_viewer")),
        client.delete("/health"),
    ]
    ids = [r.headers["x-request-id"] for r in responses]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    for response in responses:
        if response.status_code >= 400:
            assert response.json()["request_id"] == response.headers["x-request-id"]


def test_valid_incoming_request_id_is_echoed(client: TestClient) -> None:
    echoed = client.get("/health", headers={"X-Request-ID": "trace-abc_123.4"})
    assert echoed.headers["x-request-id"] == "trace-abc_123.4"
    problem = client.get("/api/v1/me", headers={"X-Request-ID": "trace-401"})
    assert problem.headers["x-request-id"] == "trace-401"
    assert problem.json()["request_id"] == "trace-401"
    for bad in ("has spaces", "x" * 65, "semi;colon", "<script>"):
        replaced = client.get("/health", headers={"X-Request-ID": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"]), bad


def _fail_unexpectedly() -> None:
    raise RuntimeError("a bug, with a secret-looking detail")


def test_unexpected_errors_carry_the_request_id_too(app: FastAPI) -> None:
    app.add_api_route("/api/v1/boom", _fail_unexpectedly, methods=["POST"])
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/v1/boom", headers={"X-Request-ID": "trace-500"})
        assert response.status_code == 500
        assert response.headers["x-request-id"] == "trace-500"
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert (body["type"], body["request_id"]) == ("urn:sadeem:problem:internal-error", "trace-500")
        assert "secret-looking" not in response.text
        metrics = client.get("/metrics").text
    assert 'sadeem_http_requests_total{method="POST",route="/api/v1/boom",status="500"} 1.0' in metrics


class _Stored(BaseModel):
    port: int


STORED_SECRET = "hunter2-secret"


def _fail_validating_stored_data() -> None:
    _Stored.model_validate({"port": STORED_SECRET})


def test_unexpected_validation_errors_are_logged_without_the_input(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    app.add_api_route("/api/v1/stored", _fail_validating_stored_data, methods=["GET"])
    with caplog.at_level(logging.DEBUG), TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/stored")
    assert response.status_code == 500
    logged = "\n".join(logging.Formatter().format(r) for r in caplog.records)
    assert "unhandled ValidationError for _Stored" in logged
    assert "int_parsing" in logged
    assert STORED_SECRET not in logged
