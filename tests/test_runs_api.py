"""The runs API against a live server and an in-process worker running real DuckDB: idempotent
submission, listing, stopping in every state, manual and automatic retries, repair, timeouts,
max concurrent runs, the audited timeline, log long-polling, results and webhooks."""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from sadeem.runs.models import Run
from sadeem.scheduler.scheduler import fire_due
from tests.conftest import bearer
from tests.connection_doubles import serve
from tests.jobs_support import Platform, platform, running_platform  # noqa: F401

SQL_TASK = {"type": "sql", "engine": "duckdb"}
# Runs for hours on DuckDB unless something stops it.
ENDLESS_SQL = "SELECT sum(x) AS s FROM range(1000000000000) AS t(x)"
# Fails when it runs (not when the job is saved: the syntax is fine).
FAILING_SQL = "SELECT CAST('abc' AS INTEGER) AS n"
FAILING_MESSAGE = "Could not convert string 'abc'"


def engine_thread_alive(run_id: int, attempt: int) -> bool:
    """Whether DuckDB is still executing the attempt (the engine runs it on a thread named so)."""
    name = f"duckdb-run-{run_id}-{attempt}"
    return any(thread.name == name and thread.is_alive() for thread in threading.enumerate())


def wait_for_engine_thread(run_id: int, attempt: int = 1, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not engine_thread_alive(run_id, attempt):
        assert time.monotonic() < deadline, f"DuckDB never started attempt {attempt} of run {run_id}"
        time.sleep(0.01)


def assert_engine_stops(run_id: int, attempt: int = 1, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while engine_thread_alive(run_id, attempt):
        assert time.monotonic() < deadline, f"DuckDB still runs attempt {attempt} of run {run_id}"
        time.sleep(0.05)


def stop(p: Platform, run_id: int) -> dict[str, Any]:
    response = p.api("POST", f"/runs/{run_id}/stop")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def states(run: dict[str, Any]) -> list[str]:
    return [t["to_state"] for t in run["transitions"]]


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def audited_transitions(p: Platform, run_id: int) -> list[dict[str, Any]]:
    """The run's `run.transition` audit events, oldest first."""
    response = httpx.get(
        f"{p.base_url}/api/v1/audit/events",
        params={"action": "run.transition", "target_id": str(run_id), "limit": 500},
        headers=bearer(p.world.tokens["root"]),
    )
    assert response.status_code == 200, response.text
    return sorted(response.json()["items"], key=lambda event: event["seq"])


def test_one_idempotency_key_submits_exactly_one_run(platform: Platform) -> None:  # noqa: F811
    p = platform
    p.create_job("once", {**SQL_TASK, "sql": "SELECT 1"})
    start = threading.Barrier(100)

    def submit(_: int) -> httpx.Response:
        start.wait()
        return p.api("POST", "/jobs/once/runs", json={"idempotency_key": "nightly-2024-06-01"})

    with ThreadPoolExecutor(max_workers=100) as pool:
        responses = list(pool.map(submit, range(100)))
    assert sorted(r.status_code for r in responses) == [200] * 99 + [201], [
        r.text for r in responses if r.status_code not in (200, 201)
    ]
    assert len({r.json()["id"] for r in responses}) == 1
    assert [r.json()["created"] for r in responses if r.status_code == 201] == [True]
    with p.db.reads() as session:
        assert session.scalar(select(func.count()).select_from(Run)) == 1
    # Another key is another run.
    assert p.submit("once", idempotency_key="nightly-2024-06-02")["id"] != responses[0].json()["id"]


def test_list_runs_with_filters_and_pages(platform: Platform) -> None:  # noqa: F811
    p = platform  # no worker: runs stay where the test puts them
    p.create_job("alpha_job", {**SQL_TASK, "sql": "SELECT 1"})
    p.create_job("beta_job", {**SQL_TASK, "sql": "SELECT 2"})
    scheduled = p.create_job("every_5", {**SQL_TASK, "sql": "SELECT 3"}, schedule={"cron": "*/5 * * * *"})
    first = [p.submit("alpha_job")["id"] for _ in range(3)]
    later = [p.submit("beta_job")["id"] for _ in range(2)]
    stop(p, first[0])
    (from_schedule,) = fire_due(p.db, now=at(scheduled["next_fire_at"]))
    everything = sorted([*first, *later, from_schedule], reverse=True)

    def ids(**params: Any) -> list[int]:
        response = p.api("GET", "/runs", "ws_viewer", params=params)
        assert response.status_code == 200, response.text
        return [run["id"] for run in response.json()["items"]]

    assert ids() == everything
    assert ids(job="alpha_job") == sorted(first, reverse=True)
    assert ids(state="CANCELLED") == [first[0]]
    assert ids(state="QUEUED", job="alpha_job") == sorted(first[1:], reverse=True)
    assert ids(trigger="schedule") == [from_schedule]
    assert ids(trigger="manual", job="every_5") == []
    since = p.run(later[0])["created_at"]
    assert ids(since=since) == sorted([*later, from_schedule], reverse=True)
    # A time range: from (inclusive) to (exclusive), so consecutive ranges never count a run twice
    assert ids(until=since) == sorted(first, reverse=True)
    assert ids(since=p.run(first[1])["created_at"], until=since) == sorted(first[1:], reverse=True)
    assert ids(since=since, until=since) == []
    assert ids(job="no_such_job") == []
    assert p.api("GET", "/runs", "ws_viewer", params={"state": "SLEEPING"}).status_code == 422

    walked: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = p.api("GET", "/runs", "ws_viewer", params=params).json()
        assert len(page["items"]) <= 2
        walked += [run["id"] for run in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == everything


def test_stop_a_queued_run_cancels_it_before_any_worker_sees_it(platform: Platform) -> None:  # noqa: F811
    p = platform
    p.create_job("queued", {**SQL_TASK, "sql": "SELECT 1"})
    stopped = p.submit("queued")
    answer = stop(p, stopped["id"])
    assert (answer["state"], answer["state_reason"]) == ("CANCELLED", "stopped")

    p.start_worker()
    later = p.submit("queued")
    assert p.wait(later["id"])["state"] == "SUCCEEDED"
    cancelled = p.run(stopped["id"])
    assert cancelled["state"] == "CANCELLED" and cancelled["attempt"] == 1
    assert states(cancelled) == ["QUEUED", "CANCELLED"]
    assert cancelled["transitions"][-1]["actor"] == "ws_editor"


def test_stop_a_run_waiting_for_its_retry(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job(
        "flaky",
        {**SQL_TASK, "sql": FAILING_SQL},
        retry={"max_attempts": 3, "backoff_seconds": 600},
    )
    run = p.submit("flaky")
    waiting = p.wait(run["id"], {"WAITING_FOR_RETRY"})
    assert waiting["next_attempt_at"] is not None
    assert FAILING_MESSAGE in waiting["state_message"]
    answer = stop(p, run["id"])
    assert answer["state"] == "CANCELLED" and answer["next_attempt_at"] is None
    final = p.run(run["id"])
    assert states(final) == ["QUEUED", "RUNNING", "WAITING_FOR_RETRY", "CANCELLED"]
    assert [a["state"] for a in final["attempts"]] == ["CANCELLED"]


def test_stop_a_running_run_stops_the_engine_work(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job("endless", {**SQL_TASK, "sql": ENDLESS_SQL})
    run = p.submit("endless")
    p.wait(run["id"], {"RUNNING"})
    wait_for_engine_thread(run["id"])

    asked = time.monotonic()
    answer = stop(p, run["id"])
    assert answer["state"] == "CANCELLING"  # the worker reports CANCELLED once DuckDB has stopped
    final = p.wait(run["id"], timeout=10)
    took = time.monotonic() - asked
    assert (final["state"], final["state_reason"]) == ("CANCELLED", "stopped")
    assert took < 5, f"stopping took {took:.1f} s"
    assert_engine_stops(run["id"])
    assert states(final) == ["QUEUED", "RUNNING", "CANCELLING", "CANCELLED"]
    assert final["attempts"][0]["ended_at"] is not None
    assert "stop requested; stopping the engine work" in p.logs(run["id"])

    # A finished run is returned as it is.
    again = stop(p, run["id"])
    assert again["state"] == "CANCELLED" and again["ended_at"] == final["ended_at"]
    assert p.run(run["id"])["transitions"] == final["transitions"]


def test_runtime_sql_errors_fail_the_run_with_the_engines_message(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job("broken", {**SQL_TASK, "sql": f"SELECT 1;\n{FAILING_SQL}"})
    p.create_job("missing_table", {**SQL_TASK, "sql": "SELECT * FROM no_such_table"})
    run, missing = p.submit("broken"), p.submit("missing_table")
    failed = p.wait(run["id"])
    assert (failed["state"], failed["state_reason"]) == ("FAILED", "engine_failed")
    assert FAILING_MESSAGE in failed["state_message"]
    assert "line 2" in failed["state_message"]
    assert failed["attempts"][0]["message"] == failed["state_message"]
    assert FAILING_MESSAGE in p.logs(run["id"])
    assert p.api("GET", f"/runs/{run['id']}/result", "ws_viewer").status_code == 404
    no_table = p.wait(missing["id"])
    assert no_table["state"] == "FAILED" and "no_such_table" in no_table["state_message"], no_table


def test_retry_a_failed_run_makes_a_second_attempt_of_the_same_run(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job("fails", {**SQL_TASK, "sql": FAILING_SQL})
    p.create_job("works", {**SQL_TASK, "sql": "SELECT 1"})
    run = p.submit("fails")
    assert p.wait(run["id"])["state"] == "FAILED"
    time.sleep(1.5)  # someone reads the error before pressing Retry: that wait is not running time

    response = p.api("POST", f"/runs/{run['id']}/retry")
    assert response.status_code == 200, response.text
    assert (response.json()["id"], response.json()["attempt"]) == (run["id"], 2)
    second = p.wait(run["id"])
    assert second["state"] == "FAILED" and second["attempt"] == 2
    assert [(a["number"], a["state"]) for a in second["attempts"]] == [(1, "FAILED"), (2, "FAILED")]
    ran = sum((at(a["ended_at"]) - at(a["started_at"])).total_seconds() for a in second["attempts"])
    assert second["run_time_seconds"] == pytest.approx(ran, abs=0.01)
    assert (at(second["ended_at"]) - at(second["started_at"])).total_seconds() > ran + 1.4
    listed = p.api("GET", "/runs", params={"job": "fails"}).json()["items"]
    assert listed[0]["run_time_seconds"] == pytest.approx(ran, abs=0.01)
    assert [t["attempt"] for t in second["transitions"]] == [1, 1, 1, 2, 2, 2]
    assert second["transitions"][3]["reason"] == "retry"
    assert (second["transitions"][3]["rule"], second["transitions"][3]["decision"]) == (
        "retry-ended-run",
        "attempt 2 of 2",
    )
    first_log, second_log = p.logs(run["id"], attempt=1), p.logs(run["id"], attempt=2)
    assert "attempt 1 of run" in first_log and "attempt 2 of run" in second_log

    done = p.submit("works")
    assert p.wait(done["id"])["state"] == "SUCCEEDED"
    refused = p.api("POST", f"/runs/{done['id']}/retry")
    assert refused.status_code == 409, refused.text
    assert p.run(done["id"])["attempt"] == 1


def test_repair_requeues_only_failed_and_timed_out_runs(platform: Platform) -> None:  # noqa: F811
    p = platform
    p.create_job(
        "picky",
        {**SQL_TASK, "sql": "SELECT CAST(CASE WHEN :x > 0 THEN 'abc' ELSE '1' END AS INTEGER) AS n"},
        parameters=[{"name": "x", "type": "integer"}],
    )
    cancelled = p.submit("picky", parameters={"x": 0})
    stop(p, cancelled["id"])
    p.start_worker()
    good, bad = p.submit("picky", parameters={"x": 0}), p.submit("picky", parameters={"x": 1})
    assert p.wait(good["id"])["state"] == "SUCCEEDED"
    assert p.wait(bad["id"])["state"] == "FAILED"

    response = p.api("POST", "/jobs/picky/repair", json={})
    assert response.status_code == 200, response.text
    assert [(r["id"], r["attempt"]) for r in response.json()] == [(bad["id"], 2)]
    assert p.wait(bad["id"])["attempts"][1]["state"] == "FAILED"
    assert p.run(bad["id"])["transitions"][3]["reason"] == "repair"
    assert p.run(good["id"])["attempt"] == 1
    assert p.run(cancelled["id"])["state"] == "CANCELLED"
    assert p.run(cancelled["id"])["attempt"] == 1
    # Repairing only runs created after them touches none of them.
    later = p.api("POST", "/jobs/picky/repair", json={"since": "2999-01-01T00:00:00Z"})
    assert later.status_code == 200 and later.json() == []


def test_automatic_retries_end_failed_after_the_last_attempt(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job(
        "always_fails",
        {**SQL_TASK, "sql": FAILING_SQL},
        retry={"max_attempts": 3, "backoff_seconds": 0.2, "backoff_multiplier": 1},
    )
    run = p.submit("always_fails")
    final = p.wait(run["id"], timeout=30)
    assert (final["state"], final["attempt"], final["max_attempts"]) == ("FAILED", 3, 3)
    assert states(final) == ["QUEUED", "RUNNING", "WAITING_FOR_RETRY"] * 2 + ["QUEUED", "RUNNING", "FAILED"]
    assert [a["state"] for a in final["attempts"]] == ["FAILED"] * 3
    events = audited_transitions(p, run["id"])
    assert [e["details"]["to"] for e in events] == states(final)
    # Each transition names the policy rule that decided it; retries say which attempt comes next.
    decided = [(t["rule"], t["decision"]) for t in final["transitions"]]
    assert decided == [(e["details"]["rule"], e["details"]["decision"]) for e in events]
    assert decided == [
        ("queue-submitted-run", None),
        ("start-claimed-run", None),
        ("retry-with-backoff", "attempt 2 of 3 in 0.2 s"),
        ("queue-due-retry", None),
        ("start-claimed-run", None),
        ("retry-with-backoff", "attempt 3 of 3 in 0.2 s"),
        ("queue-due-retry", None),
        ("start-claimed-run", None),
        ("fail-when-retries-exhausted", "attempt 3 of 3, the last"),
    ]
    assert all(FAILING_MESSAGE in a["message"] for a in final["attempts"])
    for waited, requeued in zip(final["attempts"], final["attempts"][1:], strict=False):
        assert (at(requeued["started_at"]) - at(waited["ended_at"])).total_seconds() >= 0.2


def test_a_run_past_its_timeout_is_timed_out_and_its_query_stopped(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job("slow", {**SQL_TASK, "sql": ENDLESS_SQL}, timeout_seconds=1)
    run = p.submit("slow")
    wait_for_engine_thread(run["id"])
    final = p.wait(run["id"], timeout=15)
    assert (final["state"], final["state_reason"]) == ("TIMED_OUT", "timeout")
    assert "timeout of 1 s" in final["state_message"]
    ran = (at(final["ended_at"]) - at(final["started_at"])).total_seconds()
    assert 1 <= ran < 6, ran
    assert_engine_stops(run["id"])
    assert states(final) == ["QUEUED", "RUNNING", "TIMED_OUT"]


def test_max_concurrent_runs_keeps_a_second_run_queued(platform: Platform) -> None:  # noqa: F811
    p = platform
    p.start_worker(worker_slots=2)
    p.create_job("single", {**SQL_TASK, "sql": ENDLESS_SQL}, max_concurrent_runs=1)
    p.create_job("other", {**SQL_TASK, "sql": "SELECT 1"})
    first = p.submit("single")
    second = p.submit("single")
    p.wait(first["id"], {"RUNNING"})
    # The worker's other slot is free: another job's run goes through while `second` waits.
    quick = p.submit("other")
    assert p.wait(quick["id"])["state"] == "SUCCEEDED"
    # The pass that claimed `quick` passed over the older `second`.
    assert p.run(second["id"])["state"] == "QUEUED"

    stop(p, first["id"])
    p.wait(second["id"], {"RUNNING"}, timeout=15)
    assert p.run(first["id"])["state"] == "CANCELLED"
    stop(p, second["id"])
    assert p.wait(second["id"], timeout=10)["state"] == "CANCELLED"


def test_every_transition_is_timestamped_and_audited(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job("audited", {**SQL_TASK, "sql": "SELECT 1"})
    run = p.submit("audited")
    final = p.wait(run["id"])
    timeline = final["transitions"]
    assert states(final) == ["QUEUED", "RUNNING", "SUCCEEDED"]
    moments = [at(t["at"]) for t in timeline]
    assert moments == sorted(moments)
    assert moments[0] >= at(final["created_at"]) and moments[-1] == at(final["ended_at"])
    assert timeline[0]["actor"] == "ws_editor" and timeline[1]["actor"].startswith("worker:")

    events = audited_transitions(p, run["id"])
    assert [(e["details"]["from"], e["details"]["to"]) for e in events] == [
        (None, "QUEUED"),
        ("QUEUED", "RUNNING"),
        ("RUNNING", "SUCCEEDED"),
    ]
    assert all(e["target_type"] == "run" and e["workspace"] == "alpha" for e in events)
    assert [e["actor"] for e in events] == [t["actor"] for t in timeline]


def test_logs_long_poll_follows_a_running_attempt(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job("followed", {**SQL_TASK, "sql": ENDLESS_SQL})
    run = p.submit("followed")

    def poll(after: int, wait: float) -> dict[str, Any]:
        response = p.api("GET", f"/runs/{run['id']}/logs", "ws_viewer", params={"after": after, "wait": wait})
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        return page

    seen, after = "", 0
    while "statement 1/1 started" not in seen:
        page = poll(after, 10)
        assert page["text"] and not page["complete"], page
        seen, after = seen + page["text"], page["next_after"]
    assert p.run(run["id"])["state"] == "RUNNING"
    asked = time.monotonic()
    idle = poll(after, 1)
    assert (idle["text"], idle["complete"], idle["next_after"]) == ("", False, after)
    assert time.monotonic() - asked >= 0.9  # it waited for lines before answering

    stop(p, run["id"])
    while True:
        page = poll(after, 10)
        seen, after = seen + page["text"], page["next_after"]
        if page["complete"]:
            break
    assert "attempt ended: CANCELLED" in seen
    assert seen.index("statement 1/1 started") < seen.index("stop requested")
    assert poll(after, 0) == {"attempt": 1, "text": "", "next_after": after, "complete": True}


def test_result_preview_and_full_parquet_download(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    preview_rows = p.settings.run_result_preview_rows
    sql = (
        "SELECT x, concat('row ', CAST(x AS varchar)) AS label "
        "FROM UNNEST(sequence(0, 999)) AS t(x) ORDER BY x"
    )
    p.create_job("thousand", {**SQL_TASK, "sql": sql})
    run = p.submit("thousand")
    assert p.wait(run["id"])["state"] == "SUCCEEDED"

    result = p.api("GET", f"/runs/{run['id']}/result", "ws_viewer").json()
    assert preview_rows < 1000
    assert (result["total_rows"], result["truncated"]) == (1000, True)
    assert [c["name"] for c in result["columns"]] == ["x", "label"]
    assert result["rows"] == [[x, f"row {x}"] for x in range(preview_rows)]

    download = p.api("GET", f"/runs/{run['id']}/result.parquet", "ws_viewer")
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "application/vnd.apache.parquet"
    assert len(download.content) == result["size_bytes"]
    table = pq.read_table(io.BytesIO(download.content))
    assert table.column_names == ["x", "label"]
    assert table.to_pydict() == {"x": list(range(1000)), "label": [f"row {x}" for x in range(1000)]}


def test_webhooks_hear_of_success_and_failure(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    with serve(lambda _request: (200, {"ok": True})) as receiver:
        hook = [{"url": f"{receiver.url}/hooks/sadeem", "on": ["success", "failure"]}]
        p.create_job("notifies_ok", {**SQL_TASK, "sql": "SELECT 1"}, notifications=hook)
        p.create_job("notifies_bad", {**SQL_TASK, "sql": FAILING_SQL}, notifications=hook)
        p.create_job(
            "notifies_failure_only",
            {**SQL_TASK, "sql": "SELECT 1"},
            notifications=[{"url": f"{receiver.url}/hooks/failures", "on": ["failure"]}],
        )
        runs = {
            name: p.submit(name)["id"] for name in ("notifies_ok", "notifies_bad", "notifies_failure_only")
        }
        for run_id in runs.values():
            p.wait(run_id)
        # An attempt's thread sends its notifications before it frees its worker slot.
        deadline = time.monotonic() + 10
        while p.workers[0].active() and time.monotonic() < deadline:
            time.sleep(0.05)
    received = {r.json()["run_id"]: (r.method, r.path, r.json()) for r in receiver.requests}
    assert set(received) == {runs["notifies_ok"], runs["notifies_bad"]}
    ok = received[runs["notifies_ok"]]
    bad = received[runs["notifies_bad"]]
    assert ok[:2] == bad[:2] == ("POST", "/hooks/sadeem")
    assert (ok[2]["event"], ok[2]["state"], ok[2]["workspace"]) == ("success", "SUCCEEDED", "alpha")
    assert (bad[2]["event"], bad[2]["state"], bad[2]["attempt"]) == ("failure", "FAILED", 1)
    assert "notification success → http://127.0.0.1: HTTP 200" in p.logs(runs["notifies_ok"])


def test_each_duration_threshold_is_announced_once_while_the_run_goes_on(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    with serve(lambda _request: (200, {"ok": True})) as receiver:
        hooks = [
            {
                "url": f"{receiver.url}/hooks/{seconds}s",
                "on": ["duration_exceeded"],
                "duration_threshold_seconds": seconds,
            }
            for seconds in (1, 2)
        ]
        p.create_job("slow", {**SQL_TASK, "sql": ENDLESS_SQL}, notifications=hooks)
        run_id = p.submit("slow")["id"]
        deadline = time.monotonic() + 20
        while len(receiver.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1)  # nothing more may come while the run goes on
        stop(p, run_id)
        p.wait(run_id)
    calls = sorted((r.path, r.json()["event"], r.json()["state"]) for r in receiver.requests)
    assert calls == [
        ("/hooks/1s", "duration_exceeded", "RUNNING"),
        ("/hooks/2s", "duration_exceeded", "RUNNING"),
    ]
    assert all(r.json()["duration_seconds"] >= int(r.path[7:-1]) for r in receiver.requests)


def test_a_refused_task_fails_at_once_without_retries(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    connection = {"type": "trino", "host": "trino.internal", "user": "analyst", "catalog": "iceberg"}
    created = p.api("POST", "/connections", json={"name": "gone-soon", "config": connection})
    assert created.status_code == 201, created.text
    p.create_job(
        "orphaned",
        {"type": "sql", "engine": "trino", "connection": "gone-soon", "sql": "SELECT 1"},
        retry={"max_attempts": 3, "backoff_seconds": 0},
    )
    assert p.api("DELETE", "/connections/gone-soon").status_code == 204
    run = p.submit("orphaned")
    final = p.wait(run["id"])
    assert (final["state"], final["state_reason"], final["attempt"]) == ("FAILED", "refused", 1)
    assert "connection 'gone-soon' no longer exists" in final["state_message"]
    assert states(final) == ["QUEUED", "RUNNING", "FAILED"]
