"""`GET …/runs/{id}/events`: a run followed live over Server-Sent Events, against a live server and a
real worker — state changes arrive within a second, the log arrives once and in order (also across
a reconnect), and open streams never take request slots from other clients."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import func, select

from sadeem.runs.events import FIRST_PAGE_CHUNKS
from sadeem.runs.models import RunLogChunk
from tests.conftest import bearer
from tests.jobs_support import Platform, platform, running_platform  # noqa: F401

ENDLESS_SQL = "SELECT sum(hash(range)) AS h FROM range(1000000000000)"


@contextmanager
def stream(
    p: Platform, run_id: int, who: str = "ws_viewer", **headers: str
) -> Iterator[Iterator[dict[str, Any]]]:
    """The events of a run's stream, parsed: {"event", "id", "data"} (keep-alives skipped)."""
    with (
        httpx.Client(base_url=p.base_url, timeout=30) as client,
        client.stream(
            "GET",
            f"/api/v1/workspaces/alpha/runs/{run_id}/events",
            headers={**bearer(p.world.tokens[who]), **headers},
        ) as response,
    ):
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")

        def events() -> Iterator[dict[str, Any]]:
            event: dict[str, Any] = {}
            for line in response.iter_lines():
                if line == "" and event:
                    yield event
                    event = {}
                elif line.startswith("event: "):
                    event["event"] = line[7:]
                elif line.startswith("id: "):
                    event["id"] = line[4:]
                elif line.startswith("data: "):
                    event["data"] = json.loads(line[6:])

        yield events()


def test_a_state_change_reaches_the_stream_within_a_second(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job("endless", {"type": "sql", "engine": "duckdb", "sql": ENDLESS_SQL})
    run_id = p.submit("endless")["id"]
    p.wait(run_id, {"RUNNING"})
    with stream(p, run_id) as events:
        first = next(events)
        assert (first["event"], first["data"]["state"], first["data"]["id"]) == ("run", "RUNNING", run_id)
        assert [a["number"] for a in first["data"]["attempts"]] == [1]
        assert p.api("POST", f"/runs/{run_id}/stop").status_code == 200
        stopped_at = time.monotonic()  # the change is committed once the stop has answered
        states = []
        for event in events:
            if event["event"] == "run":
                states.append((event["data"]["state"], time.monotonic() - stopped_at))
            if event["event"] == "end":
                assert event["data"] == {"state": "CANCELLED"}
                break
    assert states[0][0] in {"CANCELLING", "CANCELLED"}
    assert states[0][1] < 1.0, f"the stop reached the stream after {states[0][1]:.2f} s"
    assert states[-1][0] == "CANCELLED"


def test_the_log_arrives_once_in_order_and_resumes_after_a_reconnect(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job("fine", {"type": "sql", "engine": "duckdb", "sql": "SELECT 42 AS answer"})
    run_id = p.submit("fine")["id"]
    with stream(p, run_id) as events:
        seen = list(events)  # the stream ends by itself once the run has finished
    assert seen[0]["event"] == "run" and seen[-1] == {
        "event": "end",
        "id": seen[-1]["id"],
        "data": {"state": "SUCCEEDED"},
    }
    assert [event["data"]["state"] for event in seen if event["event"] == "run"][-1] == "SUCCEEDED"
    logs = [event for event in seen if event["event"] == "log"]
    text = "".join(event["data"]["text"] for event in logs)
    assert text == p.logs(run_id)
    assert "attempt ended: SUCCEEDED" in text

    # A browser reconnecting after the first log event gets the rest, not the start again.
    with stream(p, run_id, **{"Last-Event-ID": logs[0]["id"]}) as events:
        resumed = [event for event in events if event["event"] == "log"]
    assert logs[0]["data"]["text"] + "".join(event["data"]["text"] for event in resumed) == text

    # One that had only the run's first event (no attempt chosen yet) gets the whole log.
    assert seen[0]["id"] == "0:0"
    with stream(p, run_id, **{"Last-Event-ID": seen[0]["id"]}) as events:
        assert "".join(event["data"]["text"] for event in events if event["event"] == "log") == text


def test_a_long_logs_first_page_is_small_so_its_first_lines_show_at_once(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job("chatty", {"type": "sql", "engine": "duckdb", "sql": "SELECT 1 AS one"})
    run_id = p.submit("chatty")["id"]
    p.wait(run_id)
    with p.db.unit_of_work() as session:
        last = session.scalar(select(func.max(RunLogChunk.seq)).where(RunLogChunk.run_id == run_id))
        session.add_all(
            RunLogChunk(run_id=run_id, attempt=1, seq=last + n, text=f"line {n}\n") for n in range(1, 301)
        )
    with stream(p, run_id) as events:
        logs = [event for event in events if event["event"] == "log"]
    pages = [event["data"]["text"].count("\n") for event in logs]
    assert pages[0] <= FIRST_PAGE_CHUNKS * 10, pages  # the worker's own chunks hold a few lines each
    assert max(pages[1:], default=0) > FIRST_PAGE_CHUNKS * 10, pages  # then full pages
    text = "".join(event["data"]["text"] for event in logs)
    assert text.startswith(p.logs(run_id))  # the logs endpoint's first page: the same start
    assert text.endswith("".join(f"line {n}\n" for n in range(1, 301)))  # every line, once, in order


def test_a_stream_is_refused_like_the_run_itself(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    assert p.api("GET", "/runs/999999/events", "ws_viewer").status_code == 404
    p.create_job("fine", {"type": "sql", "engine": "duckdb", "sql": "SELECT 1"})
    run_id = p.submit("fine")["id"]
    outsider = httpx.get(
        f"{p.base_url}/api/v1/workspaces/alpha/runs/{run_id}/events",
        headers=bearer(p.world.tokens["outsider"]),
        timeout=10,
    )
    assert outsider.status_code in {403, 404}
    assert outsider.headers["content-type"] == "application/problem+json"


def test_open_streams_take_no_request_slots(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job("endless", {"type": "sql", "engine": "duckdb", "sql": ENDLESS_SQL})
    run_id = p.submit("endless")["id"]
    p.wait(run_id, {"RUNNING"})
    opened = threading.Barrier(21)
    done = threading.Event()

    def follower() -> None:
        with stream(p, run_id) as events:
            next(events)
            opened.wait(timeout=60)
            done.wait(timeout=60)

    threads = [threading.Thread(target=follower) for _ in range(20)]  # more than the 16 slots
    for thread in threads:
        thread.start()
    try:
        opened.wait(timeout=60)
        started = time.monotonic()
        listed = p.api("GET", "/runs", "ws_viewer")
        elapsed = time.monotonic() - started
        assert listed.status_code == 200
        assert elapsed < 2.0, f"a plain request waited {elapsed:.2f} s behind 20 open streams"
    finally:
        done.set()
        p.api("POST", f"/runs/{run_id}/stop")
        for thread in threads:
            thread.join(timeout=30)
