"""Security issue #10, item 2 ("An editor becomes platform admin"), reproduced as the roles that
made it. The attack: an editor added a version to an admin's job; the run acted as the admin with a
full personal access token of the admin's, which the SQL could read; with it the editor called the
control-plane API as the admin. Now a run acts as its version's author (or whom a workspace admin
named), and the engine gets a credential good only for its own workspace's Iceberg catalog."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from sadeem.audit.models import AuditEvent
from sadeem.auth import service as auth_service
from sadeem.auth.models import ApiToken, User
from sadeem.auth.principal import catalog_scope
from sadeem.catalog.access import ALL_WORKSPACES
from sadeem.core.clock import utcnow
from sadeem.db.engine import Database
from sadeem.runs.models import RunAttempt
from sadeem.scheduler.scheduler import fire_due
from sadeem.statements.models import Statement
from sadeem.workspaces.models import Workspace
from tests.conftest import World, bearer
from tests.jobs_support import Platform, platform, running_platform  # noqa: F401

SQL_TASK = {"type": "sql", "engine": "duckdb"}
TABLE_SCHEMA = {
    "type": "struct",
    "schema-id": 0,
    "fields": [{"id": 1, "name": "id", "type": "long", "required": False}],
}


def _workspace_id(db: Database, slug: str) -> int:
    with db.reads() as session:
        found = session.scalar(select(Workspace.id).where(Workspace.slug == slug))
    assert found is not None
    return found


def _engine_token(db: Database, username: str, workspace: str, purpose: str = "run 1 attempt 1") -> str:
    """An engine credential minted the way a worker's claim and a worksheet statement mint theirs."""
    with db.writes() as session:
        user = auth_service.get_user(session, username)
        token = auth_service.issue_run_token(
            session, user.id, purpose, timedelta(minutes=10), workspace_id=_workspace_id(db, workspace)
        )
        session.commit()
        return token.secret


def _attempt_token(db: Database, run_id: int) -> tuple[ApiToken, str]:
    """The engine credential a run's first attempt got, and the name of its user."""
    with db.reads() as session:
        found = session.execute(
            select(ApiToken, User.username)
            .join(RunAttempt, RunAttempt.token_id == ApiToken.public_id)
            .join(User, User.id == ApiToken.user_id)
            .where(RunAttempt.run_id == run_id, RunAttempt.number == 1)
        ).one()
    return found[0], found[1]


def _run_events(db: Database, run_id: int) -> list[AuditEvent]:
    with db.reads() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.target_type == "run", AuditEvent.target_id == str(run_id))
                .order_by(AuditEvent.seq)
            )
        )


def _catalog(p: Platform, method: str, path: str, who: str = "root", **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method, f"{p.catalog_url}/v1{path}", headers=bearer(p.world.tokens[who]), timeout=30, **kwargs
    )


# --- (a) run identity: an editor's version runs as the editor, scheduled and manual --------------


def test_an_editors_version_of_an_admins_job_runs_as_the_editor(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job("nightly", {**SQL_TASK, "sql": "SELECT 1 AS one"}, who="ws_admin")
    edited = p.api(
        "PUT",
        "/jobs/nightly",
        "ws_editor",
        json={"task": {**SQL_TASK, "sql": "CREATE TABLE made_by_run AS SELECT 2 AS two"}},
    )
    assert edited.status_code == 200, edited.text
    job = edited.json()
    assert (job["created_by"], job["author"], job["run_as"]) == ("ws_admin", "ws_editor", "ws_editor")
    versions = p.api("GET", "/jobs/nightly/versions", "ws_viewer").json()["items"]
    assert [(v["version"], v["created_by"], v["run_as"]) for v in versions] == [
        (2, "ws_editor", "ws_editor"),
        (1, "ws_admin", "ws_admin"),
    ]

    # Even when the admin starts it, the editor's version lends nothing of the admin's.
    submitted = p.submit("nightly", who="ws_admin")
    assert (submitted["owner"], submitted["version_author"], submitted["triggered_by"]) == (
        "ws_editor",
        "ws_editor",
        "ws_admin",
    )
    done = p.wait(submitted["id"])
    assert done["state"] == "SUCCEEDED", (done, p.logs(submitted["id"]))
    assert "owner ws_editor" in p.logs(submitted["id"])

    token, token_user = _attempt_token(p.db, submitted["id"])
    assert token_user == "ws_editor"
    assert token.scope == catalog_scope(_workspace_id(p.db, "alpha"))
    assert token.revoked_at is not None

    transitions = _run_events(p.db, submitted["id"])
    assert [e.details["to"] for e in transitions] == ["QUEUED", "RUNNING", "SUCCEEDED"]
    assert {(e.details["run_as"], e.details["version_author"]) for e in transitions} == {
        ("ws_editor", "ws_editor")
    }
    assert transitions[0].actor == "ws_admin"  # who queued it; the run acted as `run_as`

    # The engine's catalog commit is the run's own: the editor, through the run's credential.
    with p.db.reads() as session:
        commits = list(session.scalars(select(AuditEvent).where(AuditEvent.token_id == token.public_id)))
    assert commits, "the run's catalog commit was not audited"
    assert {(e.actor, e.details["acting_for"]) for e in commits} == {
        ("ws_editor", f"run {submitted['id']} attempt 1")
    }


def test_a_scheduled_run_of_an_editors_version_runs_as_the_editor(platform: Platform) -> None:  # noqa: F811
    p = platform  # the scheduler's decision is what counts here: no worker needed
    p.create_job("hourly", {**SQL_TASK, "sql": "SELECT 1"}, who="ws_admin", schedule={"cron": "0 * * * *"})
    edited = p.api(
        "PUT",
        "/jobs/hourly",
        "ws_editor",
        json={"task": {**SQL_TASK, "sql": "SELECT 2"}, "schedule": {"cron": "0 * * * *"}},
    )
    assert edited.status_code == 200, edited.text
    (run_id,) = fire_due(p.db, now=utcnow() + timedelta(hours=1))
    run = p.run(run_id)
    assert (run["trigger"], run["owner"], run["version_author"], run["triggered_by"]) == (
        "schedule",
        "ws_editor",
        "ws_editor",
        None,
    )
    (queued,) = _run_events(p.db, run_id)
    assert (queued.details["run_as"], queued.details["version_author"]) == ("ws_editor", "ws_editor")

    p.start_worker()
    assert p.wait(run_id)["state"] == "SUCCEEDED"
    _, token_user = _attempt_token(p.db, run_id)
    assert token_user == "ws_editor"


def test_a_rollback_runs_as_whoever_rolled_back(platform: Platform) -> None:  # noqa: F811
    p = platform
    p.create_job("rolled", {**SQL_TASK, "sql": "SELECT 1"}, who="ws_admin")
    edited = p.api("PUT", "/jobs/rolled", "ws_editor", json={"task": {**SQL_TASK, "sql": "SELECT 2"}})
    assert edited.status_code == 200, edited.text
    back = p.api("POST", "/jobs/rolled/rollback", "ws_editor", json={"version": 1})
    assert back.status_code == 200, back.text
    assert (back.json()["author"], back.json()["run_as"]) == ("ws_editor", "ws_editor")
    assert p.submit("rolled", who="ws_admin")["owner"] == "ws_editor"


def test_an_identical_save_by_an_editor_changes_nothing(platform: Platform) -> None:  # noqa: F811
    p = platform
    task = {**SQL_TASK, "sql": "SELECT 1"}
    p.create_job("same", task, who="ws_admin")
    saved = p.api("PUT", "/jobs/same", "ws_editor", json={"task": task})
    assert saved.status_code == 200, saved.text
    assert (saved.json()["current_version"], saved.json()["run_as"]) == (1, "ws_admin")


# --- (c) who may set run-as ----------------------------------------------------------------------


def test_an_editor_cannot_set_run_as_to_someone_else(platform: Platform) -> None:  # noqa: F811
    p = platform
    p.create_job("mine", {**SQL_TASK, "sql": "SELECT 1"}, who="ws_admin")
    body = {"task": {**SQL_TASK, "sql": "SELECT 2"}, "run_as": "ws_admin"}
    for method, path, json in (
        ("POST", "/jobs", {**body, "name": "as_admin"}),
        ("PUT", "/jobs/mine", body),
        ("POST", "/jobs/mine/rollback", {"version": 1, "run_as": "ws_admin"}),
        ("PUT", "/jobs/mine", {**body, "run_as": "root"}),
    ):
        refused = p.api(method, path, "ws_editor", json=json)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "Only a workspace admin may set a job to run as another user" in refused.json()["detail"]
    job = p.api("GET", "/jobs/mine", "ws_viewer").json()
    assert (job["current_version"], job["run_as"]) == (1, "ws_admin")
    assert p.api("GET", "/jobs/as_admin", "ws_viewer").status_code == 404

    # Naming themself is what an editor's version does anyway.
    own = p.api("PUT", "/jobs/mine", "ws_editor", json={**body, "run_as": "ws_editor"})
    assert own.status_code == 200 and own.json()["run_as"] == "ws_editor", own.text


def test_a_workspace_admin_may_name_a_member_as_run_as(platform: Platform) -> None:  # noqa: F811
    p = platform
    created = p.create_job("delegated", {**SQL_TASK, "sql": "SELECT 1"}, who="ws_admin", run_as="ws_viewer")
    assert (created["author"], created["run_as"]) == ("ws_admin", "ws_viewer")
    assert p.submit("delegated", who="ws_editor")["owner"] == "ws_viewer"
    with p.db.reads() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.target_type == "job", AuditEvent.target_id == "delegated")
        ).one()
    assert (event.actor, event.details["author"], event.details["run_as"]) == (
        "ws_admin",
        "ws_admin",
        "ws_viewer",
    )
    # Someone outside the workspace could not run anything there: refused at once.
    outsider = p.api(
        "PUT",
        "/jobs/delegated",
        "ws_admin",
        json={"task": {**SQL_TASK, "sql": "SELECT 2"}, "run_as": "outsider"},
    )
    assert outsider.status_code == 400 and "not a member" in outsider.json()["detail"], outsider.text
    unknown = p.api(
        "PUT",
        "/jobs/delegated",
        "ws_admin",
        json={"task": {**SQL_TASK, "sql": "SELECT 2"}, "run_as": "nobody"},
    )
    assert unknown.status_code == 400, unknown.text
    # Only an identical definition AND run-as is "no change".
    same = p.api(
        "PUT",
        "/jobs/delegated",
        "ws_admin",
        json={"task": {**SQL_TASK, "sql": "SELECT 1"}, "run_as": "ws_admin"},
    )
    assert (same.json()["current_version"], same.json()["run_as"]) == (2, "ws_admin"), same.text


# --- (d) the confused deputy: DROP TABLE in an admin's job -----------------------------------------


def test_an_editors_drop_table_in_an_admins_job_is_refused_by_the_catalog(running_platform: Platform) -> None:  # noqa: F811
    """Editors may not drop tables (catalog/access.py: dropping needs a workspace admin). The
    editor's DROP used to run as the admin, and the audit blamed the admin."""
    p = running_platform
    created = _catalog(
        p, "POST", "/alpha/namespaces/alpha/tables", json={"name": "precious", "schema": TABLE_SCHEMA}
    )
    assert created.status_code == 200, created.text
    p.create_job("cleanup", {**SQL_TASK, "sql": "SELECT 1"}, who="ws_admin")
    edited = p.api(
        "PUT", "/jobs/cleanup", "ws_editor", json={"task": {**SQL_TASK, "sql": "DROP TABLE precious"}}
    )
    assert edited.status_code == 200, edited.text

    run = p.submit("cleanup", who="ws_admin")
    done = p.wait(run["id"])
    assert done["state"] == "FAILED", (done, p.logs(run["id"]))
    assert done["owner"] == "ws_editor"
    assert _catalog(p, "HEAD", "/alpha/namespaces/alpha/tables/precious").status_code == 204

    token, _ = _attempt_token(p.db, run["id"])
    with p.db.reads() as session:
        attempts = list(session.scalars(select(AuditEvent).where(AuditEvent.token_id == token.public_id)))
    refused = [e for e in attempts if e.action == "drop_table"]
    assert [(e.outcome, e.status_code) for e in refused] == [("denied", 403)], refused
    assert refused, [(e.action, e.outcome, e.status_code) for e in attempts]
    assert {(e.actor, e.details.get("acting_for")) for e in refused} == {
        ("ws_editor", f"run {run['id']} attempt 1")
    }


# --- (b) engine credentials: their workspace's catalog, nothing else ------------------------------


def test_an_engine_credential_cannot_call_the_api(client: TestClient, world: World, db: Database) -> None:
    token = _engine_token(db, "root", "alpha")  # a platform admin's, the worst case
    for method, path, body in (
        ("GET", "/api/v1/workspaces", None),
        ("GET", "/api/v1/me", None),
        ("GET", "/api/v1/users", None),
        ("POST", "/api/v1/users", {"username": "mallory", "password": "a long enough password"}),
        ("POST", "/api/v1/me/tokens", {"name": "escalated"}),
        ("GET", "/api/v1/workspaces/alpha/jobs", None),
    ):
        response = client.request(method, path, json=body, headers=bearer(token))
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "engine credential" in response.json()["detail"]
    with db.reads() as session:
        assert session.scalar(select(User.id).where(User.username == "mallory")) is None
        refused = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "create_user", AuditEvent.status_code == 401)
        ).one()
    assert (refused.actor, refused.status_code, refused.details["acting_for"]) == (
        "root",
        401,
        "run 1 attempt 1",
    )


def test_an_engine_credential_reaches_only_its_own_warehouse(
    client: TestClient, world: World, db: Database
) -> None:
    token = _engine_token(db, "root", "alpha")
    headers = bearer(token)
    assert client.get("/iceberg/v1/config", params={"warehouse": "alpha"}, headers=headers).status_code == 200
    assert client.get("/iceberg/v1/alpha/namespaces", headers=headers).json()["namespaces"] == [["alpha"]]
    # `all-workspaces` is narrowed to its workspace, even for a platform admin's credential.
    listed = client.get(f"/iceberg/v1/{ALL_WORKSPACES}/namespaces", headers=headers)
    assert listed.status_code == 200 and listed.json()["namespaces"] == [["alpha"]], listed.text
    for path, params in (
        ("/iceberg/v1/config", {"warehouse": "beta"}),
        ("/iceberg/v1/config", {"warehouse": "no-such-warehouse"}),
        ("/iceberg/v1/beta/namespaces", None),
        ("/iceberg/v1/beta/namespaces/beta", None),
        (f"/iceberg/v1/{ALL_WORKSPACES}/namespaces/beta", None),
    ):
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 403, (path, params, response.text)
    created = client.post(
        "/iceberg/v1/beta/namespaces", json={"namespace": ["beta", "planted"]}, headers=headers
    )
    assert created.status_code in (400, 403), created.text
    # The same user's own token still reaches beta: the scope is the credential's, not the user's.
    assert client.get("/iceberg/v1/beta/namespaces", headers=world.headers("root")).status_code == 200


def test_the_oauth_exchange_keeps_an_engine_credentials_scope(
    client: TestClient, world: World, db: Database
) -> None:
    token = _engine_token(db, "ws_admin", "alpha")
    _, client_id, secret = token.split("_", 2)
    exchanged = client.post(
        "/iceberg/v1/oauth/tokens",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert exchanged.status_code == 200, exchanged.text
    access = exchanged.json()["access_token"]
    assert client.get("/api/v1/workspaces", headers=bearer(access)).status_code == 401
    assert client.get("/iceberg/v1/beta/namespaces", headers=bearer(access)).status_code == 403
    assert client.get("/iceberg/v1/alpha/namespaces", headers=bearer(access)).status_code == 200


def test_engine_credentials_are_not_in_the_users_token_list(
    client: TestClient, world: World, db: Database
) -> None:
    token = _engine_token(db, "ws_editor", "alpha", purpose="statement 0123")
    public_id = token.split("_")[1]
    listed = client.get("/api/v1/me/tokens", headers=world.headers("ws_editor")).json()["items"]
    assert [t["name"] for t in listed] == ["test"]
    revoke = client.delete(f"/api/v1/me/tokens/{public_id}", headers=world.headers("ws_editor"))
    assert revoke.status_code == 404, revoke.text
    assert client.get("/iceberg/v1/alpha/namespaces", headers=bearer(token)).status_code == 200


def test_a_worksheet_statement_gets_an_engine_credential(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    response = p.api("POST", "/statements", "ws_editor", json={"sql": "SELECT 1 AS one", "wait_timeout": 30})
    assert response.status_code in (200, 201), response.text
    with p.db.reads() as session:
        token = session.scalars(
            select(ApiToken)
            .join(Statement, Statement.token_id == ApiToken.id)
            .where(Statement.public_id == response.json()["id"])
        ).one()
    assert token.scope == catalog_scope(_workspace_id(p.db, "alpha"))
    assert token.name == f"statement {response.json()['id']}"
