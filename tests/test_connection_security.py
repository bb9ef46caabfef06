"""Issue #10, item 3: connection secrets must not leak to whoever may edit a connection.

The attack: an editor moves an admin's connection to a host of their own without sending the
secret (the stored one used to be kept), then "test" sends the stored secret there. Now moving a
connection drops the stored secrets it is not given again, and "test" never connects to
link-local or cloud-metadata addresses nor to Sadeem's own port, judged after DNS resolution.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from ipaddress import ip_network
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from sadeem.app import create_app
from sadeem.config import Settings
from sadeem.connections import egress
from sadeem.connections.keyring import Keyring
from sadeem.connections.schemas import config_adapter
from sadeem.db.engine import Database
from tests.conftest import World
from tests.connection_doubles import Double, Request, iceberg_rest_double, serve
from tests.test_connections import BASE, TESTS, VALID, audit_events, raw_rows

TOKEN = "admins-bearer-token-1"
CLIENT_SECRET = "admins-client-secret-1"
CREDENTIALS = {
    "token": {"token": TOKEN},
    "client credentials": {"client_id": "sadeem", "client_secret": CLIENT_SECRET},
}


def leaked(double: Double, *values: str) -> list[Request]:
    """The requests that carried any of `values` (headers or body) or any Authorization."""
    return [
        r
        for r in double.requests
        if "authorization" in r.headers
        or any(v in str(r.headers) or v.encode() in r.body or v in str(r.query) for v in values)
    ]


def stored_secrets(app: FastAPI, db: Database, name: str) -> dict[str, str]:
    (row,) = [row for row in raw_rows(db) if row["name"] == name]
    keyring: Keyring = app.state.keyring
    return keyring.decrypt(row["secrets_encrypted"]) if row["secrets_encrypted"] else {}


def admin_creates(client: TestClient, world: World, name: str, config: dict[str, Any]) -> None:
    response = client.post(BASE, json={"name": name, "config": config}, headers=world.headers("ws_admin"))
    assert response.status_code == 201, response.text


def editor_patches(client: TestClient, world: World, name: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.patch(f"{BASE}/{name}", json=body, headers=world.headers("ws_editor"))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def editor_tests(client: TestClient, world: World, name: str) -> dict[str, Any]:
    response = client.post(f"{BASE}/{name}/test", headers=world.headers("ws_editor"))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# --- moving a connection drops its secrets ----------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "moved"),
    [("token", "uri"), ("client credentials", "uri"), ("client credentials", "oauth2_server_uri")],
)
def test_the_attack_an_editor_moving_an_admins_connection_gets_no_secret(
    client: TestClient, app: FastAPI, world: World, db: Database, credentials: str, moved: str
) -> None:
    with (
        serve(iceberg_rest_double(token=TOKEN, client_id="sadeem", client_secret=CLIENT_SECRET)) as admins,
        serve(iceberg_rest_double(token=None)) as attackers,
    ):
        config = {
            "type": "iceberg_rest",
            "uri": admins.url,
            "oauth2_server_uri": f"{admins.url}/v1/oauth/tokens",
            **CREDENTIALS[credentials],
        }
        admin_creates(client, world, "catalog", config)
        assert editor_tests(client, world, "catalog")["ok"] is True
        secret_names = sorted(k for k in CREDENTIALS[credentials] if k != "client_id")

        target = {"uri": attackers.url, "oauth2_server_uri": f"{attackers.url}/v1/oauth/tokens"}[moved]
        public = {k: v for k, v in config.items() if k not in ("token", "client_secret")}
        shown = editor_patches(client, world, "catalog", {"config": {**public, moved: target}})

        assert shown["secrets_set"] == []
        assert stored_secrets(app, db, "catalog") == {}
        (row,) = raw_rows(db)
        assert row["secrets_encrypted"] is None
        event = [e for e in audit_events(db) if e.action == "update_connection"][-1]
        assert event.details["write_only_fields_dropped"] == secret_names
        assert moved in event.details["changed"]
        assert TOKEN not in str(event.details) and CLIENT_SECRET not in str(event.details)

        admins.requests.clear()
        editor_tests(client, world, "catalog")
        assert leaked(attackers, TOKEN, CLIENT_SECRET) == []
        assert leaked(admins, TOKEN, CLIENT_SECRET) == []  # no secret is sent anywhere any more
        assert not any(r.path == "/v1/oauth/tokens" for r in admins.requests + attackers.requests)
        if moved == "uri":
            assert [r.path for r in attackers.requests] == ["/v1/config"]


def test_moving_with_the_secret_given_again_keeps_the_new_one(
    client: TestClient, app: FastAPI, world: World, db: Database
) -> None:
    with (
        serve(iceberg_rest_double(token=None)) as old,
        serve(iceberg_rest_double(token="new-token-2")) as new,
    ):
        admin_creates(client, world, "catalog", {"type": "iceberg_rest", "uri": old.url, "token": TOKEN})
        moved = {"type": "iceberg_rest", "uri": new.url, "token": "new-token-2"}
        assert editor_patches(client, world, "catalog", {"config": moved})["secrets_set"] == ["token"]
        assert stored_secrets(app, db, "catalog") == {"token": "new-token-2"}
        assert editor_tests(client, world, "catalog")["ok"] is True
        assert [r.headers["authorization"] for r in new.requests] == ["Bearer new-token-2"]
        assert old.requests == []  # the old secret went nowhere: only the new one was used
    event = [e for e in audit_events(db) if e.action == "update_connection"][-1]
    assert "write_only_fields_dropped" not in event.details
    assert event.details["changed"] == ["uri", "token"]  # settings, then write-only fields


def test_changes_that_do_not_move_the_endpoint_keep_the_secrets(
    client: TestClient, app: FastAPI, world: World, db: Database
) -> None:
    with serve(iceberg_rest_double(token=TOKEN)) as catalog:
        config = {"type": "iceberg_rest", "uri": catalog.url, "warehouse": "main", "token": TOKEN}
        admin_creates(client, world, "catalog", config)
        editor_patches(client, world, "catalog", {"description": "renamed in spirit"})
        public = {k: v for k, v in config.items() if k != "token"}
        shown = editor_patches(client, world, "catalog", {"config": {**public, "warehouse": "lake"}})
        assert shown["secrets_set"] == ["token"]
        assert stored_secrets(app, db, "catalog") == {"token": TOKEN}
        assert editor_tests(client, world, "catalog")["ok"] is True
        assert catalog.requests[-1].headers["authorization"] == f"Bearer {TOKEN}"


PEM = "-----BEGIN CERTIFICATE-----\nMIIBdGVzdA==\n-----END CERTIFICATE-----\n"
ENDPOINT_MOVES: dict[str, dict[str, Any]] = {
    "s3": {
        "endpoint_url": "http://10.9.9.9:9000",
        "region": "eu-west-1",
        "bucket": "elsewhere",
        "path_style": False,
        "verify_tls": False,
    },
    "iceberg_rest": {
        "uri": "http://10.9.9.9:8181",
        "oauth2_server_uri": "http://10.9.9.9/token",
        "verify_tls": False,
    },
    "trino": {"host": "elsewhere.internal", "port": 9443, "http_scheme": "http", "verify_tls": False},
    "spark_k8s": {"api_server": "https://elsewhere.internal:6443", "ca_cert": PEM, "verify_tls": False},
    "postgres": {"host": "elsewhere.internal", "port": 6432, "sslmode": "disable"},
}
KEEPING_CHANGES: dict[str, dict[str, Any]] = {
    "s3": {"access_key_id": "AKIAOTHER"},
    "iceberg_rest": {"warehouse": "lake", "scope": "other"},
    "trino": {"user": "someone", "catalog": "hive", "schema": "other"},
    "spark_k8s": {"namespace": "elsewhere", "image": "apache/spark:4.0.0"},
    "postgres": {"database": "archive", "user": "someone"},
}
WITH_SECRETS = {**VALID, "iceberg_rest": {**VALID["iceberg_rest"], "client_secret": CLIENT_SECRET}}


def test_every_type_names_the_fields_that_move_it() -> None:
    for kind, moves in ENDPOINT_MOVES.items():
        config = config_adapter.validate_python(WITH_SECRETS[kind])
        assert set(type(config).endpoint_fields) == set(moves), kind
    assert set(ENDPOINT_MOVES) == {
        k for k, v in VALID.items() if config_adapter.validate_python(v).secret_field_names
    }


@pytest.mark.parametrize(
    ("kind", "field"), [(kind, field) for kind, moves in ENDPOINT_MOVES.items() for field in moves]
)
def test_each_endpoint_field_drops_the_secrets(
    client: TestClient, app: FastAPI, world: World, db: Database, kind: str, field: str
) -> None:
    config = WITH_SECRETS[kind]
    admin_creates(client, world, "conn", config)
    secrets = config_adapter.validate_python(config).secret_field_names
    public = {k: v for k, v in config.items() if k not in secrets}
    shown = editor_patches(client, world, "conn", {"config": {**public, field: ENDPOINT_MOVES[kind][field]}})
    assert shown["secrets_set"] == []
    assert stored_secrets(app, db, "conn") == {}


@pytest.mark.parametrize("kind", list(KEEPING_CHANGES))
def test_other_fields_keep_the_secrets(
    client: TestClient, app: FastAPI, world: World, db: Database, kind: str
) -> None:
    config = WITH_SECRETS[kind]
    admin_creates(client, world, "conn", config)
    secrets = config_adapter.validate_python(config).secret_field_names
    public = {k: v for k, v in config.items() if k not in secrets}
    shown = editor_patches(client, world, "conn", {"config": {**public, **KEEPING_CHANGES[kind]}})
    assert shown["secrets_set"] == sorted(secrets)
    assert stored_secrets(app, db, "conn") == {name: config[name] for name in secrets}


# --- where a test may connect -----------------------------------------------------------------


def refused(response: Any, *names: str) -> str:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["type"] == "urn:sadeem:problem:destination-refused"
    for secret in (TOKEN, CLIENT_SECRET, *(c.get("password", "") for c in VALID.values())):
        assert not secret or secret not in response.text
    for name in names:
        assert name in body["detail"], body["detail"]
    detail: str = body["detail"]
    return detail


AT_METADATA: dict[str, dict[str, Any]] = {
    "postgres": {**VALID["postgres"], "host": "169.254.169.254", "port": 80},
    "s3": {**VALID["s3"], "endpoint_url": "http://169.254.169.254"},
    "iceberg_rest": {"type": "iceberg_rest", "uri": "http://169.254.169.254", "token": TOKEN},
    "trino": {**VALID["trino"], "host": "169.254.169.254", "port": 80},
    "spark_k8s": {**VALID["spark_k8s"], "api_server": "https://169.254.169.254"},
}


@pytest.mark.parametrize("kind", list(AT_METADATA))
def test_the_metadata_address_is_refused_for_every_type(
    client: TestClient, world: World, db: Database, kind: str
) -> None:
    admin_creates(client, world, "meta", AT_METADATA[kind])
    refused(
        client.post(f"{BASE}/meta/test", headers=world.headers("ws_editor")),
        "169.254.169.254",
        "169.254.0.0/16",
        "SADEEM_CONNECTION_TEST_DENIED_NETWORKS",
    )
    assert raw_rows(db)[0]["last_test_at"] is None  # a refused test changes nothing
    assert not [e for e in audit_events(db) if e.action == "test_connection"]
    unsaved = client.post(TESTS, json={"config": AT_METADATA[kind]}, headers=world.headers("ws_editor"))
    refused(unsaved, "169.254.169.254")


@pytest.mark.parametrize(
    "uri",
    [
        "http://169.254.170.2",  # ECS task metadata: all of link-local
        "http://[fd00:ec2::254]",
        "http://[fe80::1]:8181",
        "http://[::ffff:169.254.169.254]",  # IPv4-mapped
        "http://100.100.100.200",
    ],
)
def test_link_local_and_metadata_addresses_are_refused(client: TestClient, world: World, uri: str) -> None:
    config = {"type": "iceberg_rest", "uri": uri, "token": TOKEN}
    refused(client.post(TESTS, json={"config": config}, headers=world.headers("ws_editor")))


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, Iterator[list[str]]]], None]:
    """Answer chosen names with chosen addresses (one list per lookup), as every client library
    sees them; other names resolve as usual."""

    def install(answers: dict[str, Iterator[list[str]]]) -> None:
        system = egress._system_getaddrinfo

        def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host not in answers:
                return system(host, port, *args, **kwargs)
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, int(port or 0), 0, 0))
                if ":" in a
                else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, int(port or 0)))
                for a in next(answers[host])
            ]

        monkeypatch.setattr(egress, "_system_getaddrinfo", resolve)

    return install


def always(*addresses: str) -> Iterator[list[str]]:
    while True:
        yield list(addresses)


def test_names_are_judged_by_every_address_they_resolve_to(
    client: TestClient, world: World, fake_dns: Callable[[dict[str, Iterator[list[str]]]], None]
) -> None:
    fake_dns(
        {
            "metadata.google.internal": always("169.254.169.254"),
            "mixed.example": always("127.0.0.1", "169.254.169.254"),
            "aws6.example": always("fd00:ec2::254"),
        }
    )
    with serve(iceberg_rest_double(token=None)) as catalog:
        port = catalog.url.rsplit(":", 1)[1]
        for host in ("metadata.google.internal", "mixed.example", "aws6.example"):
            config = {"type": "iceberg_rest", "uri": f"http://{host}:{port}", "token": TOKEN}
            response = client.post(TESTS, json={"config": config}, headers=world.headers("ws_editor"))
            refused(response, host)
        assert catalog.requests == []


def test_dns_rebinding_gains_nothing(
    client: TestClient, world: World, fake_dns: Callable[[dict[str, Iterator[list[str]]]], None]
) -> None:
    """A name that is harmless when vetted and a metadata address when connected to: the answer
    a client library connects to is the one vetted."""

    def rebinding() -> Iterator[list[str]]:
        yield ["127.0.0.1"]
        while True:
            yield ["169.254.169.254"]

    fake_dns({"rebind.example": rebinding()})
    with serve(iceberg_rest_double(token=None)) as catalog:
        port = catalog.url.rsplit(":", 1)[1]
        config = {"type": "iceberg_rest", "uri": f"http://rebind.example:{port}", "token": TOKEN}
        response = client.post(TESTS, json={"config": config}, headers=world.headers("ws_editor"))
        refused(response, "rebind.example", "169.254.169.254")
        assert catalog.requests == []


@pytest.fixture
def own_server(settings: Settings, db: Database) -> Iterator[tuple[TestClient, Double]]:
    """An app whose SADEEM_PORT is a port something (a catalog double) really listens on."""
    with serve(iceberg_rest_double(token=None)) as catalog:
        port = int(catalog.url.rsplit(":", 1)[1])
        with TestClient(create_app(settings.model_copy(update={"port": port}), db)) as client:
            yield client, catalog


def test_sadeem_s_own_port_is_refused_on_this_host(
    own_server: tuple[TestClient, Double], world: World
) -> None:
    client, catalog = own_server
    port = catalog.url.rsplit(":", 1)[1]
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "0.0.0.0", "[::ffff:127.0.0.1]"):  # noqa: S104
        config = {"type": "iceberg_rest", "uri": f"http://{host}:{port}"}
        response = client.post(TESTS, json={"config": config}, headers=world.headers("ws_editor"))
        refused(response, f"port {port}", "Sadeem's own (SADEEM_PORT)")
    assert catalog.requests == []
    # Loopback as such stays allowed: local servers (SeaweedFS, Trino, ...) are tested there.
    with serve(iceberg_rest_double(token=None)) as other:
        config = {"type": "iceberg_rest", "uri": other.url}
        response = client.post(TESTS, json={"config": config}, headers=world.headers("ws_editor"))
        assert response.status_code == 200 and response.json()["ok"] is True, response.text


def test_the_allowed_networks_override(settings: Settings, db: Database, world: World) -> None:
    with serve(iceberg_rest_double(token=None)) as catalog:
        port = int(catalog.url.rsplit(":", 1)[1])
        allowing = settings.model_copy(
            update={
                "port": port,
                "connection_test_timeout_seconds": 0.5,
                "connection_test_allowed_networks": (
                    ip_network("127.0.0.1/32"),
                    ip_network("169.254.169.254"),
                ),
            }
        )
        with TestClient(create_app(allowing, db)) as client:
            own = client.post(
                TESTS,
                json={"config": {"type": "iceberg_rest", "uri": catalog.url}},
                headers=world.headers("ws_editor"),
            )
            assert own.status_code == 200 and own.json()["ok"] is True, own.text
            metadata = {"type": "iceberg_rest", "uri": "http://169.254.169.254"}
            response = client.post(TESTS, json={"config": metadata}, headers=world.headers("ws_editor"))
            assert response.status_code == 200, response.text  # tried, whatever answered
            still = {"type": "iceberg_rest", "uri": "http://169.254.170.2"}
            refused(client.post(TESTS, json={"config": still}, headers=world.headers("ws_editor")))


def test_the_networks_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SADEEM_CONNECTION_TEST_DENIED_NETWORKS", '["10.0.0.0/8", "fd00::/8"]')
    monkeypatch.setenv("SADEEM_CONNECTION_TEST_ALLOWED_NETWORKS", '["10.1.2.3"]')
    policy = egress.EgressPolicy.from_settings(Settings(demo=False, port=8000))
    assert policy.refusal("10.9.9.9", 443) is not None
    assert policy.refusal("fd12::1", 443) is not None
    assert policy.refusal("10.1.2.3", 443) is None
    assert policy.refusal("169.254.169.254", 80) is None  # the list replaces the defaults
    assert policy.refusal("127.0.0.1", 8000) is not None
    assert policy.refusal("127.0.0.1", 8001) is None
    monkeypatch.setenv("SADEEM_CONNECTION_TEST_ALLOWED_NETWORKS", '["not-a-network"]')
    with pytest.raises(ValidationError):
        Settings(demo=False)
    monkeypatch.delenv("SADEEM_CONNECTION_TEST_DENIED_NETWORKS")
    monkeypatch.delenv("SADEEM_CONNECTION_TEST_ALLOWED_NETWORKS")
    defaults = egress.EgressPolicy.from_settings(Settings(demo=False, port=8000))
    assert defaults.refusal("fe80::1%eth0", 80) is not None  # with a zone
    assert defaults.refusal("10.9.9.9", 443) is None
