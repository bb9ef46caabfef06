"""Per-workspace Trino isolation (sadeem.resource_groups): each workspace's limits through the API
(members read them, a platform admin sets them; bad input changes nothing), the rows Sadeem keeps
for Trino's database resource-group manager on PostgreSQL, and — against a real Trino reading those
rows — a runaway interactive load that cannot starve the workspace's batch queries, nor another
workspace's."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.engine import make_url

from sadeem.app import create_app
from sadeem.audit.models import AuditEvent
from sadeem.config import EngineLimits, Settings
from sadeem.db.engine import Database
from sadeem.engines.base import CatalogAccess, EngineTask, ExecutionState, SqlTask, WorkspaceStorage
from sadeem.engines.trino import TrinoEngine, TrinoExecution
from sadeem.resource_groups.trino_tables import UNTAGGED_GROUP, resource_groups, selectors
from tests.conftest import PG_URL, World, _pg_database, make_world
from tests.trino_server import TrinoServer, running_trino, trino_script
from tests.trino_server import unavailable_reason as trino_unavailable_reason

LIMITS_URL = "/api/v1/workspaces/alpha/engine-limits"
OWN_LIMITS = {
    "soft_memory_percent": 40,
    "interactive": {
        "hard_concurrency": 2,
        "max_queued": 10,
        "soft_memory_percent": 70,
        "scheduling_weight": 3,
    },
    "batch": {"hard_concurrency": 1, "max_queued": 5, "soft_memory_percent": 50, "scheduling_weight": 1},
}


def on_postgresql(database_url: str) -> bool:
    return database_url.startswith("postgresql")


def test_members_read_the_default_limits_and_the_groups_their_queries_run_in(
    client: TestClient, world: World, database_url: str
) -> None:
    response = client.get(LIMITS_URL, headers=world.headers("ws_viewer"))
    assert response.status_code == 200, response.text
    body = response.json()
    defaults = EngineLimits()
    assert body["source"] == "default" and body["updated_by"] is None
    assert body["soft_memory_percent"] == defaults.soft_memory_percent
    assert body["interactive"] == {**defaults.interactive.model_dump(), "resource_group": "alpha.interactive"}
    assert body["batch"] == {**defaults.batch.model_dump(), "resource_group": "alpha.batch"}
    assert body["resource_group"] == "alpha"
    assert body["enforced_by_trino_tables"] is on_postgresql(database_url)
    # A non-member learns nothing, not even that the workspace exists.
    assert client.get(LIMITS_URL, headers=world.headers("outsider")).status_code == 404


def test_only_a_platform_admin_sets_them_audited_and_can_reset_them(
    client: TestClient, world: World, db: Database
) -> None:
    refused = client.put(LIMITS_URL, json=OWN_LIMITS, headers=world.headers("ws_admin"))
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"

    response = client.put(LIMITS_URL, json=OWN_LIMITS, headers=world.headers("root"))
    assert response.status_code == 200, response.text
    seen = client.get(LIMITS_URL, headers=world.headers("ws_viewer")).json()
    assert seen["source"] == "workspace" and seen["updated_by"] == "root"
    assert seen["interactive"]["hard_concurrency"] == 2 and seen["batch"]["max_queued"] == 5
    assert seen["soft_memory_percent"] == 40
    # Another workspace keeps the defaults.
    beta = client.get("/api/v1/workspaces/beta/engine-limits", headers=world.headers("outsider")).json()
    assert beta["source"] == "default"

    with db.unit_of_work("test.read_audit") as session:
        (event,) = session.scalars(select(AuditEvent).where(AuditEvent.target_type == "engine_limits")).all()
        assert (event.actor, event.target_id, event.workspace) == ("root", "alpha", "alpha")
        assert event.action == "set_engine_limits"
        assert event.details["limits"] == OWN_LIMITS
        assert event.details["previous"] == EngineLimits().model_dump()

    reset = client.delete(LIMITS_URL, headers=world.headers("root"))
    assert reset.status_code == 200, reset.text
    assert reset.json()["source"] == "default"
    assert reset.json()["interactive"]["hard_concurrency"] == EngineLimits().interactive.hard_concurrency


def _with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(OWN_LIMITS))
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is _MISSING:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


_MISSING = object()


BAD_LIMITS = [
    (("interactive", "hard_concurrency"), 0),
    (("interactive", "hard_concurrency"), 1001),
    (("batch", "max_queued"), -1),
    (("batch", "soft_memory_percent"), 101),
    (("soft_memory_percent",), 0),
    (("interactive", "scheduling_weight"), True),
    (("batch", "hard_concurrency"), "2"),
    (("batch", "hard_concurrency"), 1.5),
    (("batch", "surprise"), 1),
    (("batch",), _MISSING),
    (("interactive", "max_queued"), _MISSING),
]


def test_bad_limits_get_a_problem_naming_the_field_and_change_nothing(
    client: TestClient, world: World
) -> None:
    for path, value in BAD_LIMITS:
        response = client.put(LIMITS_URL, json=_with(path, value), headers=world.headers("root"))
        assert response.status_code == 422, (path, value, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["loc"][: len(path) + 1] == ["body", *path], response.text
    assert client.get(LIMITS_URL, headers=world.headers("root")).json()["source"] == "default"
    with_defaults = client.get(LIMITS_URL, headers=world.headers("root")).json()
    assert with_defaults["interactive"]["hard_concurrency"] == EngineLimits().interactive.hard_concurrency


def test_a_missing_workspace_is_not_found(client: TestClient, world: World) -> None:
    for method in ("PUT", "DELETE"):
        response = client.request(
            method, "/api/v1/workspaces/nowhere/engine-limits", json=OWN_LIMITS, headers=world.headers("root")
        )
        assert response.status_code == 404, response.text


def trino_rows(db: Database) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Trino's resource groups by path (`alpha.batch`) and the selectors, with their group's path."""
    with db.unit_of_work("test.read_trino_tables") as session:
        rows = [dict(r._mapping) for r in session.execute(select(resource_groups))]
        by_id = {row["resource_group_id"]: row for row in rows}

        def path(row: dict[str, Any]) -> str:
            parent = by_id.get(row["parent"])
            return f"{path(parent)}.{row['name']}" if parent else row["name"]

        groups = {path(row): row for row in rows}
        found = [
            {**dict(r._mapping), "group": path(by_id[r.resource_group_id])}
            for r in session.execute(select(selectors))
        ]
    return groups, found


def test_on_postgresql_trinos_tables_follow_the_workspaces_and_their_limits(
    client: TestClient, world: World, db: Database, database_url: str, settings: Settings
) -> None:
    if not on_postgresql(database_url):
        pytest.skip("Trino's tables are kept on PostgreSQL only (a SQLite install has file groups)")
    groups, found = trino_rows(db)
    assert set(groups) == {
        "alpha", "alpha.interactive", "alpha.batch", "beta", "beta.interactive", "beta.batch", UNTAGGED_GROUP
    }  # fmt: skip
    assert all(group["environment"] == "sadeem" for group in groups.values())
    defaults = EngineLimits()
    assert groups["alpha.interactive"]["hard_concurrency_limit"] == defaults.interactive.hard_concurrency
    assert groups["alpha"]["scheduling_policy"] == "weighted_fair"
    tags = {s["group"]: json.loads(s["client_tags"]) if s["client_tags"] else None for s in found}
    assert tags == {
        "alpha.interactive": ["workspace:alpha", "class:interactive"],
        "alpha.batch": ["workspace:alpha", "class:batch"],
        "beta.interactive": ["workspace:beta", "class:interactive"],
        "beta.batch": ["workspace:beta", "class:batch"],
        UNTAGGED_GROUP: None,  # the catch-all, tried last
    }
    assert {s["priority"] for s in found if s["group"] == UNTAGGED_GROUP} == {0}

    assert client.put(LIMITS_URL, json=OWN_LIMITS, headers=world.headers("root")).status_code == 200
    groups, _ = trino_rows(db)
    shape = {
        path: (
            row["hard_concurrency_limit"],
            row["max_queued"],
            row["soft_memory_limit"],
            row["scheduling_weight"],
        )
        for path, row in groups.items()
        if path.startswith("alpha")
    }
    assert shape == {
        "alpha": (3, 15, "40%", None),  # the sum of its classes' own: they are the limits
        "alpha.interactive": (2, 10, "70%", 3),
        "alpha.batch": (1, 5, "50%", 1),
    }

    deleted = client.delete(
        "/api/v1/workspaces/beta", params={"purge": "true"}, headers=world.headers("root")
    )
    assert deleted.status_code == 204, deleted.text
    groups, found = trino_rows(db)
    assert not [name for name in groups if name.startswith("beta")]
    assert not [s for s in found if s["group"].startswith("beta")]

    # A server start writes every workspace's groups again (those from before the tables too).
    with db.unit_of_work("test.empty_trino_tables") as session:
        session.execute(delete(resource_groups))
    with TestClient(create_app(settings, db)):
        groups, found = trino_rows(db)
    assert set(groups) == {"alpha", "alpha.interactive", "alpha.batch", UNTAGGED_GROUP}
    assert groups["alpha.interactive"]["hard_concurrency_limit"] == 2  # alpha's own limits


# --- against a real Trino with the database resource-group manager ------------------------------

# Runs until killed: ~10^11 rows through a filter no optimizer removes (tests/test_trino_server.py).
ENDLESS_SQL = (
    "SELECT count(*) AS n FROM UNNEST(sequence(1, 10000)) a(x)"
    " CROSS JOIN UNNEST(sequence(1, 10000)) b(y) CROSS JOIN UNNEST(sequence(1, 1000)) c(z)"
    " WHERE x + y + z = -1"
)
SHORT_SQL = "SELECT count(*) AS n FROM UNNEST(sequence(1, 1000)) t(x)"
RUNAWAY_QUERIES = 5  # against alpha's interactive hard concurrency of 2 (OWN_LIMITS)


@pytest.fixture
def isolated_trino(
    migrated_templates: dict[str, str], tmp_path: Path
) -> Iterator[tuple[Database, TrinoServer]]:
    """Sadeem on a PostgreSQL database of its own (workspaces alpha and beta, alpha with OWN_LIMITS)
    and a Trino of this test's own whose database resource-group manager reads it."""
    if not PG_URL:
        pytest.skip(
            "Trino's database resource-group manager needs PostgreSQL: SADEEM_TEST_DATABASE_URL is unset"
        )
    reason = trino_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with _pg_database("sadeem_rg", template=migrated_templates["postgresql"]) as url:
        settings = Settings(
            home=tmp_path / "home", database_url=url, secret_key=Fernet.generate_key().decode(), demo=False
        )
        db = Database.connect(url)
        try:
            world = make_world(db, settings)
            with TestClient(create_app(settings, db)) as client:
                response = client.put(LIMITS_URL, json=OWN_LIMITS, headers=world.headers("root"))
                assert response.status_code == 200, response.text
            with running_trino(tmp_path / "trino", resource_groups_db=url) as trino:
                yield db, trino
            # The database password went to a file only the server reads, not into its log.
            password = make_url(url).password
            assert password and password not in (tmp_path / "trino" / "trino.log").read_text()
        finally:
            db.dispose()


def submit(trino: TrinoServer, tmp_path: Path, workspace: str, work_class: str, sql: str) -> TrinoExecution:
    """The query as Sadeem's Trino engine sends it (its client tags place it)."""
    run_id = uuid.uuid4().int % 10**9
    task = EngineTask(
        run_id=run_id,
        attempt=1,
        owner=f"{workspace}_user",
        workspace=WorkspaceStorage(slug=workspace, namespace=workspace, location=f"file://{tmp_path}"),
        catalog=CatalogAccess(uri="http://127.0.0.1:1/iceberg", warehouse=workspace, token="unused-here"),
        task=SqlTask(sql),
        parameters={},
        work_dir=tmp_path / f"{work_class}-{run_id}",
        log=lambda line: None,
        connection={
            "type": "trino",
            "host": trino.host,
            "port": trino.port,
            "http_scheme": "http",
            "user": "sadeem",
            "catalog": "system",
            "schema_": None,
            "password": None,
            "verify_tls": True,
        },
        work_class=work_class,  # type: ignore[arg-type]
    )
    task.work_dir.mkdir()
    return TrinoEngine().submit(task)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def states_in(trino: TrinoServer, group: list[str]) -> list[str]:
    return sorted(q["state"] for q in trino.queries() if q["resource_group_id"] == group)


@pytest.mark.integration
def test_a_runaway_interactive_load_cannot_starve_batch_queries(
    isolated_trino: tuple[Database, TrinoServer], tmp_path: Path
) -> None:
    _db, trino = isolated_trino
    runaway = [submit(trino, tmp_path, "alpha", "interactive", ENDLESS_SQL) for _ in range(RUNAWAY_QUERIES)]
    try:
        # Trino itself holds alpha's interactive queries to its hard concurrency: 2 run, 3 wait.
        wait_for(
            lambda: (
                states_in(trino, ["alpha", "interactive"]).count("RUNNING") == 2
                and states_in(trino, ["alpha", "interactive"]).count("QUEUED") == 3
            ),
            60,
            "2 RUNNING and 3 QUEUED interactive queries",
        )
        started = time.monotonic()
        batch = submit(trino, tmp_path, "alpha", "batch", SHORT_SQL)
        other = submit(trino, tmp_path, "beta", "interactive", SHORT_SQL)
        for execution in (batch, other):
            wait_for(
                lambda e=execution: e.status().finished, 60, "the batch query and beta's query to finish"
            )
            assert execution.status().state is ExecutionState.SUCCEEDED, execution.status().message
            reader = execution.result()
            assert reader is not None and reader.read_all().to_pylist() == [{"n": 1000}]
        waited = time.monotonic() - started
        # ... while the runaway load still holds its slots and its queue.
        interactive = states_in(trino, ["alpha", "interactive"])
        assert (interactive.count("RUNNING"), interactive.count("QUEUED")) == (2, 3), interactive
        assert states_in(trino, ["alpha", "batch"]) == ["FINISHED"]
        assert states_in(trino, ["beta", "interactive"]) == ["FINISHED"]
        assert waited < 60
    finally:
        for execution in runaway:
            execution.cancel()
        for execution in runaway:
            wait_for(lambda e=execution: e.status().finished, 30, "the runaway queries to stop")
            execution.close()


def test_trino_reads_the_groups_with_credentials_apart_from_the_jdbc_url_it_logs() -> None:
    script = trino_script()
    found = script.ResourceGroupsDatabase.from_url(
        "postgresql+psycopg://sadeem:s%40cret@db.internal:6432/sadeem?sslmode=require&application_name=x"
    )
    assert found.jdbc_url == (
        "jdbc:postgresql://db.internal:6432/sadeem?sslmode=require&currentSchema=trino_resource_groups"
    )
    assert (found.user, found.password) == ("sadeem", "s@cret")
    # Sadeem's migration owns the tables.
    assert found.properties()["resource-groups.db-migrations-enabled"] == "false"
    jdbc = script.ResourceGroupsDatabase.from_url("jdbc:postgresql://db:5432/x?user=a&password=b")
    assert (jdbc.jdbc_url, jdbc.user, jdbc.password) == (
        "jdbc:postgresql://db:5432/x?currentSchema=trino_resource_groups",
        "a",
        "b",
    )
    with pytest.raises(SystemExit):
        script.ResourceGroupsDatabase.from_url("sqlite:///sadeem.db")
