"""Saved queries: create, list, search and tags; versions (an identical edit makes none); private
and shared visibility across users; who may edit, delete and share; bad input refused with
nothing changed; "run as job" creating (then updating) a job and a run that succeeds on DuckDB;
every change in the audit trail."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sadeem.audit.models import AuditEvent
from sadeem.db.engine import Database
from sadeem.jobs.models import Job, JobVersion
from sadeem.queries.models import SavedQuery, SavedQueryJob, SavedQueryTag, SavedQueryVersion
from sadeem.runs.models import Run
from tests.conftest import World
from tests.jobs_support import Platform, platform, running_platform  # noqa: F401

BASE = "/api/v1/workspaces/alpha/queries"
TRINO_CONNECTION = {
    "type": "trino",
    "host": "trino.internal",
    "port": 8443,
    "http_scheme": "https",
    "user": "analyst",
    "catalog": "iceberg",
    "password": "trino-password-value-1",
}
SPARK_LOCAL_CONNECTION = {"type": "spark_local", "master": "local[2]"}


class Api:
    def __init__(self, client: TestClient, world: World) -> None:
        self.client, self.world = client, world

    def __call__(self, method: str, path: str, who: str = "ws_editor", **kwargs: Any) -> httpx.Response:
        return self.client.request(method, f"{BASE}{path}", headers=self.world.headers(who), **kwargs)

    def create(self, name: str, who: str = "ws_editor", **body: Any) -> dict[str, Any]:
        response = self("POST", "", who, json={"name": name, "sql": "SELECT 1 AS x", **body})
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def names(self, who: str = "ws_editor", **params: Any) -> list[str]:
        response = self("GET", "", who, params=params)
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]


def row_counts(db: Database) -> dict[str, int]:
    with db.reads() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (SavedQuery, SavedQueryVersion, SavedQueryTag, SavedQueryJob, Job, JobVersion, Run)
        }


def audit_events(db: Database, target: str) -> list[AuditEvent]:
    with db.reads() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.target_type == "saved_query", AuditEvent.target_id == target)
                .order_by(AuditEvent.seq)
            )
        )


def assert_problem(response: httpx.Response, status: int, *fragments: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    for fragment in fragments:
        assert fragment in body["detail"], body
    return body


def test_create_list_search_and_tags(client: TestClient, world: World, db: Database) -> None:
    api = Api(client, world)
    created = api.create(
        "daily_sales",
        description="Sales per DAY",
        tags=["finance", "daily", "finance"],
        sql="SELECT :day AS day, 42 AS total",
        parameters=[{"name": "day", "type": "date", "default": "2024-01-31"}],
        shared=True,
    )
    assert created["owner"] == "ws_editor" and created["created_by"] == "ws_editor"
    assert created["current_version"] == 1 and created["shared"] is True and created["can_edit"] is True
    assert created["tags"] == ["daily", "finance"]
    assert created["engine"] == "duckdb" and created["connection"] is None
    assert created["parameters"][0]["name"] == "day"
    api.create("churn", description="customer churn", tags=["marketing"], sql="SELECT 'Revenue' AS r")
    api.create("viewer_scratch", who="ws_viewer", sql="select 2 as two")

    assert api.names() == ["daily_sales", "churn"]  # the viewer's query is private to the viewer
    assert api.names(q="SALES") == ["daily_sales"]  # name, any case
    assert api.names(q="per day") == ["daily_sales"]  # description
    assert api.names(q="revenue") == ["churn"]  # the SQL text
    assert api.names(q="%") == []  # LIKE wildcards are plain text
    assert api.names(tag="finance") == ["daily_sales"]
    assert api.names(tag="nope") == []
    assert api.names(owner="me") == ["daily_sales", "churn"]
    assert api.names("ws_viewer", owner="me") == ["viewer_scratch"]
    assert api.names("ws_viewer", owner="ws_editor") == ["daily_sales"]  # churn is private
    assert api.names(shared="true") == ["daily_sales"]
    assert api.names(shared="false") == ["churn"]
    assert api.names("ws_admin") == ["daily_sales", "churn", "viewer_scratch"]

    first = api("GET", "", params={"limit": 1}).json()
    assert [i["name"] for i in first["items"]] == ["daily_sales"] and first["next_cursor"]
    second = api("GET", "", params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [i["name"] for i in second["items"]] == ["churn"] and second["next_cursor"] is None

    got = api("GET", "/daily_sales", "ws_viewer").json()
    assert got["sql"] == "SELECT :day AS day, 42 AS total" and got["can_edit"] is False
    assert row_counts(db)["saved_queries"] == 3 and row_counts(db)["saved_query_tags"] == 3


def test_edits_make_versions_and_identical_edits_do_not(
    client: TestClient, world: World, db: Database
) -> None:
    api = Api(client, world)
    api.create("q", description="one", tags=["a"])
    content = {"description": "two", "tags": ["b", "a"], "sql": "SELECT 2 AS x", "message": "second"}
    edited = api("PUT", "/q", json=content)
    assert edited.status_code == 200, edited.text
    assert edited.json()["current_version"] == 2 and edited.json()["tags"] == ["a", "b"]
    before = row_counts(db)
    events = len(audit_events(db, "q"))
    # The same content again (tags in another order, another message): no version, no event.
    again = api("PUT", "/q", json={**content, "tags": ["a", "b"], "message": "no-op"})
    assert again.status_code == 200 and again.json()["current_version"] == 2
    assert row_counts(db) == before and len(audit_events(db, "q")) == events
    api("PUT", "/q", json={"sql": "SELECT 3 AS x", "message": "third"})
    # Search follows the current version.
    assert api.names(q="select 3") == ["q"] and api.names(q="select 2") == []
    assert api.names(tag="b") == []

    versions = api("GET", "/q/versions").json()["items"]
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert [v["message"] for v in versions] == ["third", "second", ""]
    assert versions[1]["content"]["description"] == "two" and versions[1]["content"]["tags"] == ["a", "b"]
    assert versions[0]["content"] == {
        "description": "",
        "tags": [],
        "sql": "SELECT 3 AS x",
        "engine": "duckdb",
        "connection": None,
        "parameters": [],
    }
    page = api("GET", "/q/versions", params={"limit": 2}).json()
    assert [v["version"] for v in page["items"]] == [3, 2] and page["next_cursor"]
    one = api("GET", "/q/versions/1")
    assert one.status_code == 200 and one.json()["content"]["description"] == "one"
    assert one.json()["created_by"] == "ws_editor"
    assert_problem(api("GET", "/q/versions/9"), 404, "has no version 9")


def test_private_and_shared_visibility(client: TestClient, world: World) -> None:
    api = Api(client, world)
    api.create("mine", who="ws_viewer")
    for who in ("ws_editor",):
        # Another member cannot see a private query at all: a 404, as if it did not exist.
        for method, path, body in (
            ("GET", "/mine", None),
            ("GET", "/mine/versions", None),
            ("GET", "/mine/versions/1", None),
            ("PUT", "/mine", {"sql": "SELECT 5"}),
            ("DELETE", "/mine", None),
            ("POST", "/mine/share", None),
            ("POST", "/mine/run-as-job", {}),
        ):
            assert_problem(api(method, path, who, json=body), 404, "No saved query 'mine'")
    assert api("GET", "/mine", "ws_admin").status_code == 200  # workspace admins see all
    assert api("GET", "/mine", "root").status_code == 200  # platform admins act as workspace admins
    assert_problem(api("GET", "/mine", "outsider"), 404, "No workspace 'alpha'")

    # Only the owner shares, not even a workspace admin.
    assert_problem(api("POST", "/mine/share", "ws_admin"), 403, "Only the owner")
    shared = api("POST", "/mine/share", "ws_viewer")
    assert shared.status_code == 200 and shared.json()["shared"] is True
    assert api("GET", "/mine", "ws_editor").json()["can_edit"] is False
    assert api.names("ws_editor") == ["mine"]
    assert api("POST", "/mine/share", "ws_viewer").status_code == 200  # already shared: no change
    assert api("POST", "/mine/unshare", "ws_viewer").json()["shared"] is False
    assert api.names("ws_editor") == []
    # The name is still taken, whoever can see it.
    assert_problem(
        api("POST", "", "ws_editor", json={"name": "mine", "sql": "SELECT 1"}),
        409,
        "already has a saved query",
    )


def test_edit_and_delete_permissions(client: TestClient, world: World, db: Database) -> None:
    api = Api(client, world)
    api.create("shared_q", who="ws_viewer", shared=True)
    before = row_counts(db)
    # A member who sees it but does not own it may not change it, even an editor.
    assert_problem(api("PUT", "/shared_q", "ws_editor", json={"sql": "SELECT 9"}), 403, "Only the owner")
    assert_problem(api("DELETE", "/shared_q", "ws_editor"), 403, "Only the owner")
    assert_problem(api("POST", "/shared_q/unshare", "ws_editor"), 403, "Only the owner")
    assert row_counts(db) == before
    # The owner (a viewer) edits it; a workspace admin edits it too.
    assert api("PUT", "/shared_q", "ws_viewer", json={"sql": "SELECT 2"}).json()["current_version"] == 2
    by_admin = api("PUT", "/shared_q", "ws_admin", json={"sql": "SELECT 3"})
    assert by_admin.json()["current_version"] == 3 and by_admin.json()["owner"] == "ws_viewer"
    versions = api("GET", "/shared_q/versions", "ws_viewer").json()["items"]
    assert [v["created_by"] for v in versions] == ["ws_admin", "ws_viewer", "ws_viewer"]
    # Run as job needs the editor role (jobs do).
    assert_problem(api("POST", "/shared_q/run-as-job", "ws_viewer", json={}), 403, "editor")
    assert api("DELETE", "/shared_q", "ws_admin").status_code == 204
    assert_problem(api("GET", "/shared_q", "ws_viewer"), 404)
    api.create("own", who="ws_viewer")
    assert api("DELETE", "/own", "ws_viewer").status_code == 204
    counts = row_counts(db)
    assert counts["saved_queries"] == 0 and counts["saved_query_versions"] == 0


def test_bad_input_is_refused_and_changes_nothing(client: TestClient, world: World, db: Database) -> None:
    api = Api(client, world)
    for name, config in (("warehouse", TRINO_CONNECTION), ("local-spark", SPARK_LOCAL_CONNECTION)):
        response = client.post(
            "/api/v1/workspaces/alpha/connections",
            json={"name": name, "config": config},
            headers=world.headers("ws_admin"),
        )
        assert response.status_code == 201, response.text
    api.create("taken")
    before = row_counts(db)
    cases: list[tuple[str, dict[str, Any], int, tuple[str, ...]]] = [
        ("SQL syntax error", {"sql": "SELECT 1\nFROM t WHERE (x"}, 400, ()),
        ("no statement", {"sql": " ;; "}, 400, ("no statement",)),
        ("undeclared parameter", {"sql": "SELECT :n"}, 400, ("not declared: :n",)),
        (
            "bad default",
            {"sql": "SELECT :n", "parameters": [{"name": "n", "type": "integer", "default": "x"}]},
            400,
            ("default of parameter 'n'",),
        ),
        ("fenced on DuckDB", {"sql": "SELECT * FROM read_csv('/etc/passwd')"}, 400, ()),
        ("trino without a connection", {"engine": "trino"}, 400, ("needs `connection`",)),
        (
            "unknown connection",
            {"engine": "trino", "connection": "nowhere"},
            400,
            ("No connection 'nowhere'",),
        ),
        (
            "connection of the wrong type",
            {"engine": "trino", "connection": "local-spark"},
            400,
            ("'spark_local' connection",),
        ),
        ("connection on DuckDB", {"connection": "warehouse"}, 400, ("embedded",)),
        ("unknown engine", {"engine": "oracle"}, 422, ()),
        ("bad tag", {"tags": ["Not A Tag"]}, 422, ()),
        ("unknown field", {"colour": "red"}, 422, ()),
        ("duplicate name", {"name": "taken"}, 409, ("already has a saved query 'taken'",)),
    ]
    for label, body, status, fragments in cases:
        payload = {"name": "new_q", "sql": "SELECT 1", **body}
        problem = assert_problem(api("POST", "", json=payload), status, *fragments)
        if label == "SQL syntax error":
            assert (problem["line"], problem["column"]) == (2, 15), problem
        if label != "duplicate name":  # the same content as an edit is refused the same way
            edit = {k: v for k, v in payload.items() if k != "name"}
            assert_problem(api("PUT", "/taken", json=edit), status, *fragments)
        assert row_counts(db) == before, label
    assert api("GET", "/taken").json()["current_version"] == 1
    assert_problem(api("GET", "/nope"), 404, "No saved query 'nope'")
    # A trino query with its connection is fine.
    trino = api.create("on_trino", engine="trino", connection="warehouse")
    assert trino["engine"] == "trino" and trino["connection"] == "warehouse"


def test_audit_trail(client: TestClient, world: World, db: Database) -> None:
    api = Api(client, world)
    long_sql = "SELECT 1 AS x -- " + "y" * 5000
    api.create("audited", sql=long_sql, tags=["t"])
    api("PUT", "/audited", json={"sql": "SELECT 2 AS x", "message": "shorter"})
    api("POST", "/audited/share")
    api("DELETE", "/audited")
    events = audit_events(db, "audited")
    assert [e.action for e in events] == ["create_query", "update_query", "share_query", "delete_query"]
    assert all(e.actor == "ws_editor" and e.workspace == "alpha" and e.outcome == "success" for e in events)
    created = events[0].details
    assert created["sql_truncated"] is True and created["sql_chars"] == len(long_sql)
    assert len(created["sql"]) == 2000 and created["tags"] == ["t"] and created["version"] == 1
    assert events[1].details["sql"] == "SELECT 2 AS x" and events[1].details["version"] == 2
    assert events[2].details == {"shared": True}


def test_run_as_job_creates_a_job_and_a_run_that_succeeds(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform

    def call(method: str, path: str, who: str = "ws_editor", **kwargs: Any) -> httpx.Response:
        return p.api(method, f"/queries{path}", who, **kwargs)

    created = call(
        "POST",
        "",
        json={
            "name": "answer",
            "description": "The answer",
            "sql": "SELECT CAST(:n AS INTEGER) AS x",
            "parameters": [{"name": "n", "type": "integer", "default": 41}],
        },
    )
    assert created.status_code == 201, created.text
    before = row_counts(p.db)
    # Refused before anything is written: a bad value, an unknown parameter, values without a run.
    for body, fragment in (
        ({"parameters": {"n": "many"}}, "must be of type integer"),
        ({"parameters": {"m": 1}}, "Unknown parameters: m"),
        ({"parameters": {"n": 1}, "submit": False}, "no run"),
        ({"schedule": {"cron": "not a cron"}}, ""),
    ):
        assert_problem(call("POST", "/answer/run-as-job", json=body), 400, fragment)
        assert row_counts(p.db) == before, body

    response = call("POST", "/answer/run-as-job", json={"parameters": {"n": 42}})
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["job_created"] is True and result["query_version"] == 1
    job = result["job"]
    assert job["name"] == "answer" and job["current_version"] == 1 and job["created_by"] == "ws_editor"
    assert job["definition"]["task"] == {
        "type": "sql",
        "engine": "duckdb",
        "connection": None,
        "sql": "SELECT CAST(:n AS INTEGER) AS x",
    }
    assert job["definition"]["description"] == "The answer"
    run = result["run"]
    assert run["job"] == "answer" and run["job_version"] == 1 and run["parameters"] == {"n": 42}
    assert run["owner"] == "ws_editor" and run["trigger"] == "manual"
    finished = p.wait(run["id"])
    assert finished["state"] == "SUCCEEDED", finished
    rows = p.api("GET", f"/runs/{run['id']}/result", "ws_viewer")
    assert rows.status_code == 200, rows.text
    assert "42" in rows.text

    # Again after an edit: the same job, a new version of it, with the new SQL.
    assert call("PUT", "/answer", json={"sql": "SELECT 7 AS x"}).status_code == 200
    again = call("POST", "/answer/run-as-job", json={"submit": False})
    assert again.status_code == 201, again.text
    assert again.json()["job_created"] is False and again.json()["run"] is None
    assert again.json()["job"]["current_version"] == 2 and again.json()["query_version"] == 2
    assert again.json()["job"]["definition"]["task"]["sql"] == "SELECT 7 AS x"
    versions = p.api("GET", "/jobs/answer/versions").json()["items"]
    assert versions[0]["message"] == "From saved query 'answer' version 2"
    # Nothing changed since: no new job version, no run.
    counts = row_counts(p.db)
    same = call("POST", "/answer/run-as-job", json={"submit": False})
    assert same.status_code == 201 and same.json()["job"]["current_version"] == 2
    assert row_counts(p.db) == counts

    # A job of that name not made from this query is not overwritten.
    p.create_job("other", {"type": "sql", "engine": "duckdb", "sql": "SELECT 1"})
    assert_problem(call("POST", "/answer/run-as-job", json={"job_name": "other"}), 409, "not made from")
    # Another name makes another job, with a schedule.
    scheduled = call(
        "POST",
        "/answer/run-as-job",
        json={"job_name": "answer_nightly", "schedule": {"cron": "0 2 * * *"}, "submit": False},
    )
    assert scheduled.status_code == 201, scheduled.text
    assert scheduled.json()["job"]["next_fire_at"] is not None and scheduled.json()["run"] is None
    # A scheduled job takes the given values, typed, as its parameters' defaults (its runs use them).
    rate = {"name": "rate", "sql": "SELECT :n AS x", "parameters": [{"name": "n", "type": "integer"}]}
    assert call("POST", "", json=rate).status_code == 201
    counts = row_counts(p.db)
    assert_problem(
        call(
            "POST",
            "/rate/run-as-job",
            json={"schedule": {"cron": "0 * * * *"}, "parameters": {"n": "x"}},
        ),
        400,
        "must be of type integer",
    )
    assert row_counts(p.db) == counts
    hourly = call(
        "POST",
        "/rate/run-as-job",
        json={"schedule": {"cron": "0 * * * *"}, "parameters": {"n": 5}, "submit": False},
    )
    assert hourly.status_code == 201, hourly.text
    assert hourly.json()["job"]["definition"]["parameters"][0]["default"] == 5
    assert hourly.json()["job"]["definition"]["parameters"][0]["type"] == "integer"

    events = audit_events(p.db, "answer")
    run_as = [e.details for e in events if e.action == "run_as_job"]
    assert [(d["job"], d["job_version"], d["job_created"]) for d in run_as] == [
        ("answer", 1, True),
        ("answer", 2, False),
        ("answer_nightly", 1, True),
    ]
    assert run_as[0]["run_id"] == run["id"] and run_as[1]["run_id"] is None

    # Deleting the query keeps its jobs.
    assert call("DELETE", "/answer").status_code == 204
    assert call("DELETE", "/rate").status_code == 204
    assert p.api("GET", "/jobs/answer").status_code == 200 and p.api("GET", "/jobs/rate").status_code == 200
    assert row_counts(p.db)["saved_query_jobs"] == 0


def test_deeply_nested_sql_is_a_400(client: TestClient, world: World, db: Database) -> None:
    """Security issue #10, item 6a: a 400 naming the limit, not a RecursionError (500)."""
    api = Api(client, world)
    api.create("deep")
    before = row_counts(db)
    for sql in ("SELECT " + "(" * 600 + "1" + ")" * 600, "SELECT " + "(SELECT " * 300 + "1" + ")" * 300):
        assert_problem(api("POST", "", json={"name": "deeper", "sql": sql}), 400, "nested too deeply")
        assert_problem(api("PUT", "/deep", json={"sql": sql}), 400, "nested too deeply")
    assert row_counts(db) == before
    assert api("GET", "/deep").status_code == 200
