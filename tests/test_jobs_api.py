"""The jobs API: creating jobs of each task type, versions (edit, diff, rollback, running an older
one), pause and resume, deletion, who may do what, and bad input refused with nothing changed."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from sadeem.config import Settings
from sadeem.db.engine import Database
from sadeem.jobs.models import Job, JobVersion
from sadeem.jobs.schemas import Notification, NotificationEvent
from sadeem.runs.models import Run
from tests.conftest import World, bearer
from tests.jobs_support import Platform, platform, running_platform  # noqa: F401

SQL_TASK = {"type": "sql", "engine": "duckdb"}
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


def add_connection(p: Platform, name: str, config: dict[str, Any]) -> None:
    response = p.api("POST", "/connections", json={"name": name, "config": config})
    assert response.status_code == 201, response.text


def row_counts(p: Platform) -> dict[str, int]:
    with p.db.reads() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Job, JobVersion, Run)
        }


def assert_problem(response: httpx.Response, status: int, *fragments: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    for fragment in fragments:
        assert fragment in body["detail"], body
    return body


def test_create_a_job_of_each_task_type(platform: Platform) -> None:  # noqa: F811
    p = platform
    add_connection(p, "warehouse-trino", TRINO_CONNECTION)
    tasks = {
        "duckdb_job": {**SQL_TASK, "sql": "SELECT 1 AS one"},
        "trino_job": {"type": "sql", "engine": "trino", "connection": "warehouse-trino", "sql": "SELECT 1"},
        "spark_job": {
            "type": "spark",
            "engine": "spark_local",
            "kind": "pyspark",
            "source": "from pyspark.sql import SparkSession\n"
            "SparkSession.builder.getOrCreate().range(3).show()\n",
        },
    }
    for name, task in tasks.items():
        created = p.create_job(name, task, description=f"{name} for the test")
        assert created["name"] == name
        assert created["current_version"] == 1
        assert created["run_as"] == "ws_editor" and created["created_by"] == "ws_editor"
        assert created["definition"]["task"]["type"] == task["type"]
        assert created["definition"]["task"]["engine"] == task["engine"]
        assert created["next_fire_at"] is None and created["paused"] is False
    listed = p.api("GET", "/jobs", "ws_viewer").json()["items"]
    assert sorted(j["name"] for j in listed) == sorted(tasks)
    assert row_counts(p) == {"jobs": 3, "job_versions": 3, "runs": 0}


def test_versions_edit_diff_and_rollback(platform: Platform) -> None:  # noqa: F811
    p = platform
    first = p.create_job("report", {**SQL_TASK, "sql": "SELECT 1 AS v"}, timeout_seconds=60)
    v1_definition = first["definition"]
    edited = {"task": {**SQL_TASK, "sql": "SELECT 2 AS v"}, "timeout_seconds": 120, "message": "two"}

    response = p.api("PUT", "/jobs/report", json=edited)
    assert response.status_code == 200, response.text
    assert response.json()["current_version"] == 2
    # Saving the same definition again is not a new version.
    again = p.api("PUT", "/jobs/report", json={**edited, "message": "same again"})
    assert again.status_code == 200 and again.json()["current_version"] == 2

    versions = p.api("GET", "/jobs/report/versions", "ws_viewer").json()["items"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["message"] == "two" and versions[0]["created_by"] == "ws_editor"
    assert versions[1]["definition"] == v1_definition

    diff = p.api("GET", "/jobs/report/versions/1/diff/2", "ws_viewer").json()
    changes = {c["path"]: (c["before"], c["after"]) for c in diff["changes"]}
    assert changes == {"task.sql": ("SELECT 1 AS v", "SELECT 2 AS v"), "timeout_seconds": (60, 120)}
    assert diff["from_version"] == 1 and diff["to_version"] == 2
    assert '-    "sql": "SELECT 1 AS v"' in diff["unified"]
    assert '+    "sql": "SELECT 2 AS v"' in diff["unified"]
    assert diff["unified"].startswith("--- version 1\n+++ version 2\n")
    assert p.api("GET", "/jobs/report/versions/1/diff/9", "ws_viewer").status_code == 404

    rolled = p.api("POST", "/jobs/report/rollback", json={"version": 1})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["current_version"] == 3
    assert rolled.json()["definition"] == v1_definition
    newest = p.api("GET", "/jobs/report/versions", "ws_viewer", params={"limit": 1}).json()
    assert newest["items"][0]["version"] == 3
    assert newest["items"][0]["message"] == "Rollback to version 1"
    assert newest["next_cursor"] is not None
    assert p.api("GET", "/jobs/report/versions/1/diff/3", "ws_viewer").json()["changes"] == []
    assert row_counts(p)["job_versions"] == 3


def test_a_run_of_an_older_version_runs_that_version(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job("versioned", {**SQL_TASK, "sql": "SELECT 'first' AS v"})
    response = p.api("PUT", "/jobs/versioned", json={"task": {**SQL_TASK, "sql": "SELECT 'second' AS v"}})
    assert response.json()["current_version"] == 2

    old = p.submit("versioned", version=1)
    current = p.submit("versioned")
    assert (old["job_version"], current["job_version"]) == (1, 2)
    for run, expected in ((old, "first"), (current, "second")):
        assert p.wait(run["id"])["state"] == "SUCCEEDED"
        result = p.api("GET", f"/runs/{run['id']}/result", "ws_viewer").json()
        assert result["rows"] == [[expected]]
    missing = p.api("POST", "/jobs/versioned/runs", json={"version": 7})
    assert_problem(missing, 404, "no version 7")


def test_pause_and_resume_a_schedule(platform: Platform) -> None:  # noqa: F811
    p = platform
    created = p.create_job("nightly", {**SQL_TASK, "sql": "SELECT 1"}, schedule={"cron": "0 2 * * *"})
    assert created["next_fire_at"] is not None
    paused = p.api("POST", "/jobs/nightly/pause")
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused"] is True and paused.json()["next_fire_at"] is None
    resumed = p.api("POST", "/jobs/nightly/resume").json()
    assert resumed["paused"] is False
    assert resumed["next_fire_at"] is not None and resumed["next_fire_at"].endswith("T02:00:00Z")
    assert resumed["current_version"] == 1  # pausing is not an edit of the definition

    p.create_job("adhoc", {**SQL_TASK, "sql": "SELECT 1"})
    assert_problem(p.api("POST", "/jobs/adhoc/pause"), 400, "no schedule")


def test_delete_is_refused_while_a_run_is_unfinished(platform: Platform) -> None:  # noqa: F811
    p = platform  # no worker: the run stays QUEUED
    p.create_job("doomed", {**SQL_TASK, "sql": "SELECT 1"})
    run = p.submit("doomed")
    assert_problem(p.api("DELETE", "/jobs/doomed"), 409, "unfinished")
    assert p.api("GET", "/jobs/doomed", "ws_viewer").status_code == 200

    assert p.api("POST", f"/runs/{run['id']}/stop").json()["state"] == "CANCELLED"
    assert p.api("DELETE", "/jobs/doomed").status_code == 204
    assert p.api("GET", "/jobs/doomed", "ws_viewer").status_code == 404
    assert p.api("GET", f"/runs/{run['id']}", "ws_viewer").status_code == 404
    assert row_counts(p) == {"jobs": 0, "job_versions": 0, "runs": 0}


def test_a_workspace_with_jobs_is_deleted_only_with_purge(platform: Platform) -> None:  # noqa: F811
    p = platform
    p.create_job("kept", {**SQL_TASK, "sql": "SELECT 1"})
    p.submit("kept")
    workspace = f"{p.base_url}/api/v1/workspaces/alpha"
    refused = httpx.delete(workspace, headers=bearer(p.world.tokens["ws_admin"]))
    assert refused.status_code == 409 and "1 job(s)" in refused.json()["detail"], refused.text
    assert refused.json()["blockers"] == [
        {"kind": "jobs", "count": 1, "detail": "1 job(s) and their runs", "names": ["kept"]}
    ]
    assert row_counts(p) == {"jobs": 1, "job_versions": 1, "runs": 1}
    purged = httpx.delete(workspace, params={"purge": "true"}, headers=bearer(p.world.tokens["ws_admin"]))
    assert purged.status_code == 204, purged.text
    assert row_counts(p) == {"jobs": 0, "job_versions": 0, "runs": 0}


def test_viewers_cannot_change_jobs_or_runs_and_outsiders_see_nothing(platform: Platform) -> None:  # noqa: F811
    p = platform
    p.create_job("guarded", {**SQL_TASK, "sql": "SELECT 1"})
    run = p.submit("guarded")
    body = {"name": "viewers_job", "task": {**SQL_TASK, "sql": "SELECT 1"}}
    viewer_attempts = [
        p.api("POST", "/jobs", "ws_viewer", json=body),
        p.api("PUT", "/jobs/guarded", "ws_viewer", json={"task": {**SQL_TASK, "sql": "SELECT 2"}}),
        p.api("POST", "/jobs/guarded/runs", "ws_viewer", json={}),
        p.api("POST", f"/runs/{run['id']}/stop", "ws_viewer"),
        p.api("DELETE", "/jobs/guarded", "ws_viewer"),
    ]
    for response in viewer_attempts:
        assert_problem(response, 403)
    assert p.run(run["id"])["state"] == "QUEUED"

    outsider_attempts = [
        p.api("GET", "/jobs", "outsider"),
        p.api("GET", "/jobs/guarded", "outsider"),
        p.api("GET", f"/runs/{run['id']}", "outsider"),
        p.api("POST", "/jobs/guarded/runs", "outsider", json={}),
        p.api("POST", f"/runs/{run['id']}/stop", "outsider"),
    ]
    for response in outsider_attempts:
        assert_problem(response, 404)
    assert row_counts(p) == {"jobs": 1, "job_versions": 1, "runs": 1}


def test_bad_definitions_are_refused_and_change_nothing(platform: Platform, tmp_path: Any) -> None:  # noqa: F811
    p = platform
    add_connection(p, "local-spark", SPARK_LOCAL_CONNECTION)
    p.create_job("taken", {**SQL_TASK, "sql": "SELECT 1"})
    before = row_counts(p)
    sql = {**SQL_TASK, "sql": "SELECT 1"}
    cases: list[tuple[str, dict[str, Any], int, tuple[str, ...]]] = [
        ("unknown engine", {"task": {**sql, "engine": "oracle"}}, 422, ()),
        ("malformed cron", {"task": sql, "schedule": {"cron": "61 * * * *"}}, 400, ("not a valid cron",)),
        ("six-field cron", {"task": sql, "schedule": {"cron": "0 0 * * * *"}}, 400, ("five fields",)),
        (
            "unknown time zone",
            {"task": sql, "schedule": {"cron": "0 2 * * *", "timezone": "Mars/Olympus"}},
            400,
            ("Unknown time zone 'Mars/Olympus'",),
        ),
        (
            "SQL syntax error",
            {"task": {**SQL_TASK, "sql": "SELECT 1\nFROM t WHERE WHERE x = 1"}},
            400,
            ("line 2, column",),
        ),
        (
            "undeclared parameter",
            {"task": {**SQL_TASK, "sql": "SELECT :region"}},
            400,
            ("not declared: :region",),
        ),
        (
            "default of the wrong type",
            {
                "task": {**SQL_TASK, "sql": "SELECT :n"},
                "parameters": [{"name": "n", "type": "integer", "default": "ten"}],
            },
            400,
            ("default of parameter 'n' is not of type integer",),
        ),
        (
            "missing spark program file",
            {
                "task": {
                    "type": "spark",
                    "engine": "spark_local",
                    "kind": "pyspark",
                    "file": str(tmp_path / "no_such_program.py"),
                }
            },
            400,
            ("does not exist",),
        ),
        (
            "trino without a connection",
            {"task": {"type": "sql", "engine": "trino", "sql": "SELECT 1"}},
            400,
            ("needs `connection`",),
        ),
        (
            "connection of the wrong type",
            {"task": {"type": "sql", "engine": "trino", "connection": "local-spark", "sql": "SELECT 1"}},
            400,
            ("'spark_local' connection", "needs 'trino'"),
        ),
        (
            "connection that does not exist",
            {"task": {"type": "sql", "engine": "trino", "connection": "nowhere", "sql": "SELECT 1"}},
            400,
            ("No connection 'nowhere'",),
        ),
        ("duplicate name", {"name": "taken", "task": sql}, 409, ("already has a job 'taken'",)),
    ]
    for label, body, status, fragments in cases:
        response = p.api("POST", "/jobs", json={"name": "new_job", **body})
        problem = assert_problem(response, status, *fragments)
        if label == "SQL syntax error":
            assert (problem["line"], problem["column"]) == (2, 14), problem
        if label == "unknown engine":
            assert problem["errors"][0]["loc"][-1] == "engine", problem
        # The same definition as an edit of an existing job is refused the same way.
        if label != "duplicate name":
            edit = p.api("PUT", "/jobs/taken", json={k: v for k, v in body.items() if k != "name"})
            assert_problem(edit, status, *fragments)
        assert row_counts(p) == before, label
    assert p.api("GET", "/jobs/taken", "ws_viewer").json()["current_version"] == 1


def test_bad_run_parameters_are_refused_and_queue_nothing(platform: Platform) -> None:  # noqa: F811
    p = platform
    p.create_job(
        "typed",
        {**SQL_TASK, "sql": "SELECT :n AS n, :day AS day"},
        parameters=[
            {"name": "n", "type": "integer"},
            {"name": "day", "type": "date", "default": "2024-01-31"},
        ],
    )
    cases = [
        ({"n": "seven"}, "Parameter 'n' must be of type integer"),
        ({"n": 1.5}, "Parameter 'n' must be of type integer"),
        ({"n": 1, "day": "31/01/2024"}, "Parameter 'day' must be of type date"),
        ({}, "without a value or default: n"),
        ({"n": 1, "region": "north"}, "Unknown parameters: region"),
    ]
    for given, fragment in cases:
        response = p.api("POST", "/jobs/typed/runs", json={"parameters": given})
        assert_problem(response, 400, fragment)
    assert row_counts(p)["runs"] == 0
    accepted = p.submit("typed", parameters={"n": 7})
    assert accepted["parameters"] == {"n": 7, "day": "2024-01-31"}


def test_spark_local_jobs_can_be_switched_off(settings: Settings, db: Database, world: World) -> None:
    """Spark local runs job code on the server's host; a shared server can refuse such jobs."""
    from fastapi.testclient import TestClient

    from sadeem.app import create_app

    locked = settings.model_copy(update={"spark_local_enabled": False})
    with TestClient(create_app(locked, db)) as client:
        response = client.post(
            "/api/v1/workspaces/alpha/jobs",
            headers=world.headers("ws_editor"),
            json={"name": "local", "task": {"type": "spark", "kind": "pyspark", "source": "print(1)"}},
        )
    assert response.status_code == 400, response.text
    assert "SADEEM_SPARK_LOCAL_ENABLED" in response.json()["detail"]


def test_deeply_nested_sql_is_a_400_for_jobs_and_saved_queries(platform: Platform) -> None:  # noqa: F811
    """Security issue #10, item 6a: no RecursionError (500) from SQL nested past the parser's depth."""
    p = platform
    before = row_counts(p)
    for sql in (
        "SELECT " + "(" * 600 + "1" + ")" * 600,
        "SELECT * FROM " + "(SELECT * FROM " * 300 + "t" + ")" * 300,
        "SELECT " + "NOT " * 3000 + "true",
    ):
        job = p.api("POST", "/jobs", json={"name": "deep", "task": {**SQL_TASK, "sql": sql}})
        assert_problem(job, 400, "nested too deeply")
        query = p.api("POST", "/queries", json={"name": "deep", "sql": sql})
        assert_problem(query, 400, "nested too deeply")
    assert row_counts(p) == before
    p.create_job("shallow", {**SQL_TASK, "sql": "SELECT ((1))"})


NODE = shutil.which("node")


@pytest.mark.parametrize("character", ["\x85", "\ufeff", "\x9f", "\x7f", "\xa0", "\u2028", " ", "\t"])
def test_a_notification_url_with_whitespace_or_a_control_character_is_refused(character: str) -> None:
    """Found by the API fuzz: the server and the OpenAPI document's (ECMA) regex disagreed on
    U+0085 and U+FEFF, so a URL the document allowed was refused; now both refuse them."""
    with pytest.raises(ValidationError):
        Notification(url=f"https://hooks.example.com/a{character}b", on=[NotificationEvent.failure])
    pattern = Notification.model_json_schema()["properties"]["url"]["pattern"]
    assert re.fullmatch(pattern, f"https://hooks.example.com/a{character}b") is None
    if NODE:  # the document's own dialect, ECMA, as a generated client (the console) reads it
        script = "process.stdout.write(String(new RegExp(process.argv[1], 'u').test(process.argv[2])))"
        url = f"https://hooks.example.com/a{character}b"
        ecma = subprocess.run([NODE, "-e", script, pattern, url], capture_output=True, text=True, check=True)
        assert ecma.stdout == "false"


def test_a_notification_url_may_hold_non_ascii_letters() -> None:
    assert Notification(url="https://hooks.example.com/ré", on=[NotificationEvent.success]).url.endswith("ré")
