"""The SQL worksheet's statements while they run: cancel (here, queued, on wait timeout, by an
admin, from another server process), timeouts, orphans, the admins' view of what runs, a Trino
statement refused before anything reaches Trino (the real Trino path: test_trino_server.py), JSON
pages equal to the Arrow stream, paging a running statement, and a 10-million-row download whose
server memory stays flat. A real uvicorn, the built-in catalog and the fenced DuckDB engine, on
SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import math
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from sadeem.app import create_app
from sadeem.auth import service as auth_service
from sadeem.auth.models import ApiToken, User
from sadeem.config import Settings
from sadeem.core.clock import utcnow
from sadeem.db.engine import Database
from sadeem.statements.models import Statement, StatementState
from sadeem.worker import reaper
from sadeem.workspaces.models import Workspace
from tests.conftest import World, bearer, live_uvicorn
from tests.engine_processes import engine_cpu_seconds
from tests.jobs_support import Platform, platform  # noqa: F401
from tests.statements_support import all_rows, get, run_sql, statements_url, submit
from tests.trino_fault_double import TrinoFaultDouble

# Runs for hours on DuckDB unless stopped; the aggregate keeps DuckDB inside `execute`.
ENDLESS = "SELECT sum(hash(range)) AS s FROM range(10000000000)"
# Rows over time: DuckDB streams this, a batch of 65,536 rows every few tenths of a second.
SLOW_ROWS = (
    "SELECT n, list_sum(list_transform(range(50), x -> hash(x + n) % 7)) AS s FROM range(5000000) AS t(n)"
)
TEN_MILLION = (
    "SELECT range AS id, range % 97 AS bucket, 'row-' || CAST(range AS VARCHAR) AS label FROM range(10000000)"
)


# --- helpers -----------------------------------------------------------------------------------


def statement_row(db: Database, public_id: str) -> Statement:
    with db.reads() as session:
        found = session.scalars(select(Statement).where(Statement.public_id == public_id)).one()
        session.expunge(found)
        return found


def engine_threads(db: Database, public_id: str) -> list[str]:
    """The live threads of the statement: its executor thread and DuckDB's (named by its row id)."""
    row_id = statement_row(db, public_id).id
    names = {f"statement-{row_id}", f"duckdb-run-{row_id}-1", f"trino-run-{row_id}-1"}
    return [t.name for t in threading.enumerate() if t.name in names and t.is_alive()]


def wait_until(condition: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"not within {within} s: {what}"
        time.sleep(0.02)


def statement(
    p: Platform, statement_id: str, who: str = "ws_editor", workspace: str = "alpha"
) -> dict[str, Any]:
    response = httpx.get(
        f"{statements_url(p, workspace)}/{statement_id}", headers=bearer(p.world.tokens[who]), timeout=60
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def start(p: Platform, sql: str, who: str = "ws_editor", workspace: str = "alpha", **body: Any) -> str:
    """Submit without waiting; the statement's id once DuckDB runs it."""
    response = submit(p, sql, who, workspace, wait_timeout=0, **body)
    assert response.status_code == 200, response.text
    statement_id: str = response.json()["id"]
    wait_until(
        lambda: statement(p, statement_id, who, workspace)["state"] == "RUNNING",
        15,
        f"{statement_id} RUNNING",
    )
    return statement_id


def cancel(
    p: Platform, statement_id: str, who: str = "ws_editor", workspace: str = "alpha"
) -> httpx.Response:
    return httpx.post(
        f"{statements_url(p, workspace)}/{statement_id}/cancel",
        headers=bearer(p.world.tokens[who]),
        timeout=60,
    )


def cpu_seconds(during: float) -> float:
    """CPU time this process (the server, the test) and its DuckDB engine processes use over
    `during` s."""
    before = engine_cpu_seconds()
    time.sleep(during)
    return engine_cpu_seconds() - before


def user_id(db: Database, username: str) -> int:
    with db.reads() as session:
        return session.scalars(select(User.id).where(User.username == username)).one()


def assert_engine_stopped(p: Platform, statement_id: str, within: float = 2.0) -> None:
    wait_until(lambda: not engine_threads(p.db, statement_id), within, f"{statement_id}'s threads gone")
    used = cpu_seconds(1.0)
    assert used < 0.15, f"something still computes after the cancel: {used:.2f} s of CPU in 1 s"


def _serve(app: FastAPI, world: World, settings: Settings, db: Database) -> Iterator[Platform]:
    with live_uvicorn(app) as base_url:
        app.state.statements.catalog_url = f"{base_url}/iceberg"
        yield Platform(base_url, world, settings, db)


@pytest.fixture
def one_slot(world: World, settings: Settings, db: Database) -> Iterator[Platform]:
    """A server that runs one statement at a time: the next waits QUEUED."""
    narrow = settings.model_copy(update={"statement_slots": 1})
    yield from _serve(create_app(narrow, db), world, narrow, db)


@dataclass
class TwoServers:
    a: Platform
    b: Platform


@pytest.fixture
def two_servers(app: FastAPI, world: World, settings: Settings, db: Database) -> Iterator[TwoServers]:
    """Two API server processes' worth (two apps, two executors) on one database: what runs on A
    is "elsewhere" for B."""
    for a in _serve(app, world, settings, db):
        for b in _serve(create_app(settings, db), world, settings, db):
            yield TwoServers(a, b)


# --- 1. cancel ---------------------------------------------------------------------------------


def test_cancel_mid_query_stops_duckdb(platform: Platform) -> None:  # noqa: F811
    statement_id = start(platform, ENDLESS)
    wait_until(lambda: len(engine_threads(platform.db, statement_id)) == 2, 10, "DuckDB runs it")
    busy = cpu_seconds(1.0)  # DuckDB computing (less than 2 cores' worth on a shared machine)

    began = time.monotonic()
    response = cancel(platform, statement_id)
    took = time.monotonic() - began
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["state"] == "CANCELLED", cancelled
    print(f"cancel mid-query: answered CANCELLED after {took:.2f} s")
    assert took < 2.0, f"cancel took {took:.2f} s"
    assert cancelled["cancel_requested"] and cancelled["error"]["message"] == "Cancelled."
    assert cancelled["ended_at"] is not None and cancelled["result"] is None
    assert_engine_stopped(platform, statement_id)
    idle = cpu_seconds(1.0)
    assert idle < busy / 3, f"{idle:.2f} s of CPU in the second after the cancel, {busy:.2f} s before"

    # It has no result, and cancelling again changes nothing.
    assert get(platform, f"/{statement_id}/result", params={"wait": 0}).status_code == 409
    assert get(platform, f"/{statement_id}/result.csv").status_code == 409
    again = cancel(platform, statement_id)
    assert again.status_code == 200 and again.json() == cancelled


def test_cancel_a_finished_statement_returns_it_unchanged(platform: Platform) -> None:  # noqa: F811
    done = run_sql(platform, "SELECT 42 AS answer")
    assert done["state"] == "SUCCEEDED", done
    response = cancel(platform, done["id"])
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["state"] == "SUCCEEDED" and not after["cancel_requested"]
    assert after["ended_at"] == done["ended_at"] and after["result"] == done["result"]
    assert all_rows(platform, done["id"]) == [[42]]


def test_on_wait_timeout_cancel_stops_the_statement(platform: Platform) -> None:  # noqa: F811
    began = time.monotonic()
    response = submit(platform, ENDLESS, wait_timeout=1, on_wait_timeout="CANCEL")
    took = time.monotonic() - began
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["state"] == "CANCELLED" and answer["cancel_requested"], answer
    assert answer["first_page"] is None
    assert took < 3.5, f"answered after {took:.2f} s"
    assert_engine_stopped(platform, answer["id"])


def test_cancel_while_queued(one_slot: Platform) -> None:
    p = one_slot
    running = start(p, ENDLESS)
    queued_response = submit(p, "SELECT 1 AS one", wait_timeout=1)
    assert queued_response.status_code == 200, queued_response.text
    queued = queued_response.json()
    assert queued["state"] == "QUEUED" and queued["started_at"] is None, queued
    time.sleep(0.5)
    assert statement(p, queued["id"])["state"] == "QUEUED"

    began = time.monotonic()
    response = cancel(p, queued["id"])
    assert response.status_code == 200, response.text
    assert time.monotonic() - began < 2.0
    cancelled = response.json()
    assert cancelled["state"] == "CANCELLED" and cancelled["started_at"] is None, cancelled
    assert cancelled["error"]["message"] == "Cancelled while queued."

    # A queued statement with on_wait_timeout=CANCEL is cancelled without ever running.
    gave_up = submit(p, "SELECT 2 AS two", wait_timeout=0.5, on_wait_timeout="CANCEL").json()
    assert gave_up["state"] == "CANCELLED" and gave_up["started_at"] is None, gave_up

    # The running one still runs; once it is cancelled the slot is free again.
    assert statement(p, running)["state"] == "RUNNING"
    assert cancel(p, running).json()["state"] == "CANCELLED"
    assert_engine_stopped(p, running)
    after = run_sql(p, "SELECT 3 AS three")
    assert after["state"] == "SUCCEEDED" and after["first_page"]["rows"] == [[3]]


# --- 2. timeout --------------------------------------------------------------------------------


def test_timeout_stops_the_query_and_says_so(platform: Platform) -> None:  # noqa: F811
    began = time.monotonic()
    response = submit(platform, ENDLESS, timeout_seconds=1, wait_timeout=10)
    took = time.monotonic() - began
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["state"] == "TIMED_OUT", answer
    assert "timeout of 1 seconds" in answer["error"]["message"], answer["error"]
    assert not answer["cancel_requested"]
    # On the server: stopped about a second after it started; the client's view adds HTTP and load.
    row = statement_row(platform.db, answer["id"])
    assert row.started_at is not None and row.ended_at is not None
    ran = (row.ended_at - row.started_at).total_seconds()
    print(f"timeout 1 s: ran {ran:.2f} s on the server, answered after {took:.2f} s")
    assert 1.0 <= ran < 2.5, f"ran {ran:.2f} s with a 1 s timeout"
    assert took < 4.0, f"timed out after {took:.2f} s"
    assert_engine_stopped(platform, answer["id"])
    listed = get(platform, "", params={"state": "TIMED_OUT"}).json()["items"]
    assert [item["id"] for item in listed] == [answer["id"]]


# --- 3. another server process, orphans --------------------------------------------------------


def test_cancel_through_another_server_stops_it_at_the_next_heartbeat(two_servers: TwoServers) -> None:
    a, b = two_servers.a, two_servers.b
    statement_id = start(a, ENDLESS)
    wait_until(lambda: len(engine_threads(a.db, statement_id)) == 2, 10, "DuckDB runs it on A")

    began = time.monotonic()
    response = cancel(b, statement_id)  # B does not run it: it marks the request in the database
    assert response.status_code == 200, response.text
    asked = response.json()
    assert asked["cancel_requested"] and asked["state"] in ("RUNNING", "CANCELLED"), asked
    assert statement_row(a.db, statement_id).cancel_requested_at is not None

    wait_until(lambda: statement(b, statement_id)["state"] == "CANCELLED", 3.0, "A's watchdog cancels it")
    took = time.monotonic() - began
    row = statement_row(a.db, statement_id)
    assert row.cancel_requested_at is not None and row.ended_at is not None
    stopped = (row.ended_at - row.cancel_requested_at).total_seconds()
    print(f"cross-process cancel: {stopped:.2f} s on the server, {took:.2f} s seen by the client")
    assert stopped < 2.5, f"A stopped it {stopped:.2f} s after B recorded the request"
    assert took < 4.0, f"cancelled {took:.2f} s after the request"
    assert_engine_stopped(a, statement_id)
    # Either server answers the same for it.
    assert statement(a, statement_id) == statement(b, statement_id)


def _orphan_row(db: Database, state: StatementState, heartbeat_age: float) -> str:
    """A statement of a server process that is gone, with its catalog token, last heartbeat
    `heartbeat_age` seconds ago."""
    public_id = secrets.token_hex(16)
    with db.writes() as session:
        workspace_id = session.scalars(select(Workspace.id).where(Workspace.slug == "alpha")).one()
        owner = session.scalars(select(User.id).where(User.username == "ws_editor")).one()
        token = auth_service.issue_run_token(
            session, owner, f"statement {public_id}", timedelta(hours=1), workspace_id=workspace_id
        )
        session.flush()
        started = utcnow() - timedelta(seconds=heartbeat_age + 5)
        session.add(
            Statement(
                public_id=public_id,
                workspace_id=workspace_id,
                user_id=owner,
                sql="SELECT 1",
                engine="duckdb",
                parameters={},
                timeout_seconds=900,
                state=state,
                executor_id="gone-host:4242:dead",
                created_at=started,
                started_at=started if state is StatementState.RUNNING else None,
                heartbeat_at=utcnow() - timedelta(seconds=heartbeat_age),
                token_id=token.token.id,
            )
        )
        session.commit()
    return public_id


def token_revoked(db: Database, public_id: str) -> bool:
    with db.reads() as session:
        token_id = session.scalars(select(Statement.token_id).where(Statement.public_id == public_id)).one()
        token = session.get(ApiToken, token_id)
        return token is not None and token.revoked_at is not None


ORPHANED = "The server process running this statement stopped; run it again."


def test_orphans_of_a_dead_server_are_failed(world: World, settings: Settings, db: Database) -> None:
    after = settings.statement_orphan_after_seconds
    dead_running = _orphan_row(db, StatementState.RUNNING, after + 30)
    dead_queued = _orphan_row(db, StatementState.QUEUED, after + 30)
    alive = _orphan_row(db, StatementState.RUNNING, 1)

    assert sorted(reaper.reap(db, "test", after).statements) == sorted([dead_running, dead_queued])
    for public_id in (dead_running, dead_queued):
        found = statement_row(db, public_id)
        assert found.state is StatementState.FAILED and found.error_message == ORPHANED
        assert found.ended_at is not None
        assert token_revoked(db, public_id)
    assert statement_row(db, alive).state is StatementState.RUNNING
    assert not token_revoked(db, alive)
    assert reaper.reap(db, "test", after).statements == []  # nothing twice


def test_a_starting_server_fails_orphans_on_its_own_schedule(
    world: World, settings: Settings, db: Database
) -> None:
    """Issue #10 item 8: nothing is submitted to the new server, yet what a dead server left
    RUNNING is failed once its heartbeat is older than the cutoff, within one reap interval."""
    after, every = 3.0, 1.0
    quick = settings.model_copy(
        update={"statement_orphan_after_seconds": after, "statement_reap_interval_seconds": every}
    )
    long_dead = _orphan_row(db, StatementState.RUNNING, 60)
    just_died = _orphan_row(db, StatementState.RUNNING, 0)
    began = time.monotonic()
    with TestClient(create_app(quick, db)):
        # The first watchdog round (after a heartbeat interval) reaps; a little slack for a busy machine.
        wait_until(
            lambda: statement_row(db, long_dead).state is StatementState.FAILED, 1 + every + 2, "long dead"
        )
        wait_until(
            lambda: statement_row(db, just_died).state is StatementState.FAILED,
            after + every + 2,
            "just died",
        )
        took = time.monotonic() - began
    print(
        f"orphan failed {took:.2f} s after its last heartbeat (cutoff {after:g} s, reaped every {every:g} s)"
    )
    for public_id in (long_dead, just_died):
        found = statement_row(db, public_id)
        assert found.error_message == ORPHANED and found.ended_at is not None
        assert token_revoked(db, public_id)
    row = statement_row(db, just_died)
    assert row.heartbeat_at is not None and row.ended_at is not None
    silent = (row.ended_at - row.heartbeat_at).total_seconds()
    assert after <= silent < after + every + 1.5, f"failed after {silent:.2f} s without a heartbeat"


# --- 4. admins ---------------------------------------------------------------------------------


def test_admins_see_running_statements_of_everyone_and_cancel_them(platform: Platform) -> None:  # noqa: F811
    p = platform
    mine = start(p, ENDLESS)  # ws_editor's, in alpha
    theirs = start(p, ENDLESS, who="outsider", workspace="beta")

    def ids(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    running = {"all_users": "true", "state": "RUNNING"}
    assert ids(get(p, "", "ws_admin", params=running)) == [mine]
    assert ids(get(p, "", "ws_admin", params={"state": "RUNNING"})) == []  # not theirs by default
    for who in ("ws_editor", "ws_viewer"):
        refused = get(p, "", who, params=running)
        assert refused.status_code == 403, refused.text
        assert "workspace admins" in refused.json()["detail"]
    assert ids(get(p, "", params={"state": "RUNNING"})) == [mine]

    everywhere = httpx.get(
        f"{p.base_url}/api/v1/statements",
        params={"state": "RUNNING"},
        headers=p.world.headers("root"),
        timeout=60,
    )
    assert set(ids(everywhere)) == {mine, theirs}
    workspaces = {item["id"]: (item["workspace"], item["user"]) for item in everywhere.json()["items"]}
    assert workspaces == {mine: ("alpha", "ws_editor"), theirs: ("beta", "outsider")}
    for who in ("ws_admin", "outsider"):
        not_admin = httpx.get(f"{p.base_url}/api/v1/statements", headers=p.world.headers(who), timeout=60)
        assert not_admin.status_code == 403, not_admin.text

    # Another member cannot cancel it (nor see it); the workspace admin can.
    assert cancel(p, mine, "ws_viewer").status_code == 404
    assert statement(p, mine)["state"] == "RUNNING"
    response = cancel(p, mine, "ws_admin")
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "CANCELLED" and response.json()["user"] == "ws_editor"
    assert statement_row(p.db, mine).cancelled_by == user_id(p.db, "ws_admin")
    assert get(p, f"/{mine}/result", "ws_admin", params={"wait": 0}).status_code == 404  # not their rows
    assert_engine_stopped_threads(p, mine)

    # A platform admin cancels in any workspace; beta's admin only in beta.
    assert cancel(p, theirs, "ws_admin", workspace="beta").status_code == 404
    response = cancel(p, theirs, "root", workspace="beta")
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "CANCELLED"
    assert_engine_stopped(p, theirs)
    assert ids(get(p, "", "ws_admin", params=running)) == []


def assert_engine_stopped_threads(p: Platform, statement_id: str) -> None:
    wait_until(lambda: not engine_threads(p.db, statement_id), 2.0, f"{statement_id}'s threads gone")


# --- 5. Trino: refused before anything is sent (the fault double records what arrives) ---------


@pytest.fixture
def trino(platform: Platform) -> Iterator[TrinoFaultDouble]:  # noqa: F811
    with TrinoFaultDouble.running() as double:
        created = platform.api(
            "POST",
            "/connections",
            "ws_admin",
            json={
                "name": "trino_main",
                "config": {"type": "trino", "host": double.host, "port": double.port, "user": "sadeem"},
            },
        )
        assert created.status_code == 201, created.text
        yield double


def test_trino_needs_a_trino_connection(platform: Platform, trino: TrinoFaultDouble) -> None:  # noqa: F811
    cases = [
        ({"engine": "trino"}, "needs `connection`"),
        ({"engine": "trino", "connection": "nowhere"}, "No connection 'nowhere'"),
        ({"engine": "duckdb", "connection": "trino_main"}, "takes no connection"),
    ]
    for body, message in cases:
        response = submit(platform, "SELECT 1", **body)
        assert response.status_code == 400, (body, response.text)
        assert message in response.json()["detail"], response.text
    assert trino.received == []
    assert get(platform, "").json()["items"] == []  # nothing was kept


# --- 6. JSON equals Arrow ----------------------------------------------------------------------

MANY_TYPES = """
SELECT * FROM (
  SELECT 1 AS k,
    CAST(9007199254740993 AS BIGINT) AS big,
    CAST(7 AS BIGINT) AS small,
    CAST(12345678901234567890123456789012345678 AS HUGEINT) AS huge,
    CAST('12345678901234567890.0123456789' AS DECIMAL(38, 10)) AS dec,
    CAST(1.5 AS DOUBLE) AS dbl,
    true AS flag,
    'quote '' double " newline
tab	backslash \\ snowman ☃ arabic سديم' AS text,
    DATE '2026-01-02' AS day,
    TIMESTAMP '2026-01-02 03:04:05.123456' AS ts,
    CAST('2026-01-02 03:04:05.123456+02:00' AS TIMESTAMP(6) WITH TIME ZONE) AS tstz,
    TIME '03:04:05.5' AS tm,
    X'00ff10' AS bin,
    ARRAY[CAST(1 AS BIGINT), NULL, CAST(9007199254740993 AS BIGINT)] AS list,
    CAST(ROW(1, 'a', DATE '2026-01-02', TIMESTAMP '2026-01-02 03:04:05.123456')
      AS ROW(x INTEGER, y VARCHAR, d DATE, t TIMESTAMP(6))) AS st,
    ARRAY[TIMESTAMP '2026-01-02 03:04:05', NULL] AS stamps,
    CAST('NaN' AS DOUBLE) AS special
  UNION ALL
  SELECT 2,
    CAST(-9223372036854775808 AS BIGINT),
    CAST(-7 AS BIGINT),
    CAST(-12345678901234567890123456789012345678 AS HUGEINT),
    CAST('-0.0000000001' AS DECIMAL(38, 10)),
    CAST(-0.25 AS DOUBLE),
    false,
    '',
    DATE '1969-12-31',
    TIMESTAMP '1969-12-31 23:59:59',
    CAST('1969-12-31 23:59:59+00:00' AS TIMESTAMP(6) WITH TIME ZONE),
    TIME '00:00:00',
    X'',
    ARRAY[],
    CAST(ROW(NULL, NULL, NULL, NULL) AS ROW(x INTEGER, y VARCHAR, d DATE, t TIMESTAMP(6))),
    ARRAY[],
    CAST('-Infinity' AS DOUBLE)
  UNION ALL
  SELECT 3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
) ORDER BY k
"""


def documented_json(value: Any) -> Any:
    """A value of the Arrow stream as the JSON pages are documented to carry it: integers beyond
    ±2^53 and decimals as text, dates and times ISO 8601 (a 'T' between date and time), binary
    as base64, lists and structs element by element."""
    if value is None or isinstance(value, bool | str | float):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, datetime | date | clock):
        return value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {key: documented_json(v) for key, v in value.items()}
    if isinstance(value, list):
        return [documented_json(v) for v in value]
    raise AssertionError(f"unexpected {type(value)}")


def json_matches(sent: Any, expected: Any) -> bool:
    """`sent` (from the JSON page) carries exactly `expected` (from Arrow, through documented_json)."""
    if isinstance(expected, Decimal):
        return isinstance(sent, str) and Decimal(sent) == expected
    if isinstance(expected, datetime):
        if not isinstance(sent, str) or "T" not in sent:
            return False
        parsed = datetime.fromisoformat(sent)
        return parsed == expected and (parsed.tzinfo is None) == (expected.tzinfo is None)
    if isinstance(expected, date):
        return sent == expected.isoformat()
    if isinstance(expected, clock):
        return isinstance(sent, str) and clock.fromisoformat(sent) == expected
    if isinstance(expected, dict):
        return (
            isinstance(sent, dict)
            and sent.keys() == expected.keys()
            and all(json_matches(sent[k], v) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(sent, list)
            and len(sent) == len(expected)
            and all(json_matches(s, e) for s, e in zip(sent, expected, strict=True))
        )
    if isinstance(expected, float) and not math.isfinite(expected):
        return sent == ("NaN" if math.isnan(expected) else ("Infinity" if expected > 0 else "-Infinity"))
    return type(sent) is type(expected) and sent == expected


def test_json_pages_carry_what_the_arrow_stream_carries(platform: Platform) -> None:  # noqa: F811
    done = run_sql(platform, MANY_TYPES)
    assert done["state"] == "SUCCEEDED", done
    pages = [row for limit in (1, 3) for row in all_rows(platform, done["id"], limit=limit)]
    assert pages[:3] == pages[3:]  # the same rows whatever the page size
    rows = pages[:3]
    assert done["first_page"]["rows"] == rows

    arrow = get(platform, f"/{done['id']}/result.arrow")
    assert arrow.status_code == 200, arrow.text
    assert arrow.headers["sadeem-result-rows"] == "3"
    table = pa.ipc.open_stream(arrow.content).read_all()
    assert [c["name"] for c in done["result"]["columns"]] == table.column_names
    assert [c["type"] for c in done["result"]["columns"]] == [str(f.type) for f in table.schema]

    mismatches = []
    for r, (sent_row, arrow_row) in enumerate(zip(rows, table.to_pylist(), strict=True)):
        for name, sent in zip(table.column_names, sent_row, strict=True):
            expected = documented_json(arrow_row[name])
            if not json_matches(sent, expected):
                mismatches.append(f"row {r} {name}: JSON {sent!r} vs Arrow {arrow_row[name]!r}")
    assert not mismatches, "\n".join(mismatches)

    # The exact texts a JavaScript client gets.
    first, second, nulls = rows
    names = table.column_names
    by_name = dict(zip(names, first, strict=True))
    assert by_name["big"] == "9007199254740993" and by_name["small"] == 7
    assert by_name["huge"] == "12345678901234567890123456789012345678"
    assert by_name["dec"] == "12345678901234567890.0123456789"
    assert by_name["day"] == "2026-01-02" and by_name["ts"] == "2026-01-02T03:04:05.123456"
    assert by_name["bin"] == "AP8Q"
    assert by_name["list"] == [1, None, "9007199254740993"]
    assert by_name["st"] == {"x": 1, "y": "a", "d": "2026-01-02", "t": "2026-01-02T03:04:05.123456"}
    assert by_name["stamps"] == ["2026-01-02T03:04:05.000000", None]
    assert by_name["special"] == "NaN" and dict(zip(names, second, strict=True))["special"] == "-Infinity"
    assert dict(zip(names, second, strict=True))["big"] == "-9223372036854775808"
    assert nulls[1:] == [None] * (len(names) - 1)


def test_json_numbers_exact_at_the_edges(platform: Platform) -> None:  # noqa: F811
    """Integers just inside ±2^53 stay numbers; just outside become text, in the same column."""
    done = run_sql(
        platform,
        "SELECT CAST(v AS BIGINT) AS v FROM (VALUES (9007199254740991), (-9007199254740991), "
        "(9007199254740992), (-9007199254740992), (0)) AS t(v)",
    )
    assert done["state"] == "SUCCEEDED", done
    assert done["first_page"]["rows"] == [
        [9007199254740991],
        [-9007199254740991],
        ["9007199254740992"],
        ["-9007199254740992"],
        [0],
    ]


def test_json_small_decimals_are_plain_text(platform: Platform) -> None:  # noqa: F811
    done = run_sql(
        platform, "SELECT CAST('-0.0000000001' AS DECIMAL(38, 10)) AS d, CAST(0 AS DECIMAL(10, 4)) AS z"
    )
    assert done["state"] == "SUCCEEDED", done
    assert done["first_page"]["rows"] == [["-0.0000000001", "0.0000"]]


def test_json_non_finite_doubles(platform: Platform) -> None:  # noqa: F811
    done = run_sql(
        platform,
        "SELECT CAST('NaN' AS DOUBLE) AS nan, CAST('Infinity' AS DOUBLE) AS inf, "
        "CAST('-Infinity' AS DOUBLE) AS ninf",
    )
    assert done["state"] == "SUCCEEDED", done
    page = get(platform, f"/{done['id']}/result")
    assert page.status_code == 200, page.text
    assert json.loads(page.text)["rows"] == [["NaN", "Infinity", "-Infinity"]]


# --- 7. ten million rows, bounded memory -------------------------------------------------------


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class RssSampler:
    """The process's resident memory every 50 ms, from a thread, while the block runs."""

    def __init__(self) -> None:
        self.baseline = _rss_bytes()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, _rss_bytes())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


@dataclass
class Downloaded:
    status: int
    headers: httpx.Headers
    size: int
    lines: int
    growth: int
    seconds: float
    head: bytes
    tail: bytes


def download(p: Platform, statement_id: str, kind: str, who: str = "ws_editor") -> Downloaded:
    """Stream the download, counting bytes and newlines without keeping them; the server's (this
    process's) memory growth meanwhile."""
    url = f"{statements_url(p)}/{statement_id}/result.{kind}"
    size = lines = 0
    head = tail = b""
    began = time.monotonic()
    with (
        RssSampler() as rss,
        httpx.stream("GET", url, headers=bearer(p.world.tokens[who]), timeout=120) as response,
    ):
        for data in response.iter_raw(1 << 16):
            size += len(data)
            lines += data.count(b"\n")
            if len(head) < 4096:
                head += data[: 4096 - len(head)]
            tail = (tail + data)[-4096:]
    return Downloaded(
        response.status_code, response.headers, size, lines, rss.growth, time.monotonic() - began, head, tail
    )


@pytest.mark.slow
def test_ten_million_rows_download_with_bounded_memory(platform: Platform) -> None:  # noqa: F811
    p = platform
    began = time.monotonic()
    done = run_sql(p, TEN_MILLION, timeout_seconds=120)
    assert done["state"] == "SUCCEEDED", done
    assert done["result"]["total_rows"] == 10_000_000 and not done["result"]["truncated"]
    figures = {
        "run_s": round(time.monotonic() - began, 1),
        "arrow_on_disk_mb": done["result"]["size_bytes"] >> 20,
    }

    csv = download(p, done["id"], "csv")
    assert csv.status == 200
    assert csv.lines == 10_000_001  # the header and every row
    assert csv.head.startswith(b'"id","bucket","label"\n0,0,"row-0"\n1,1,"row-1"\n')
    assert csv.tail.endswith(b'\n9999998,74,"row-9999998"\n9999999,75,"row-9999999"\n')
    assert csv.headers["sadeem-result-rows"] == "10000000"
    assert csv.headers["sadeem-result-truncated"] == "false"
    assert csv.size > 200 << 20  # 235 MB

    arrow = download(p, done["id"], "arrow")
    assert arrow.status == 200 and arrow.size >= done["result"]["size_bytes"]
    parquet = download(p, done["id"], "parquet")
    assert parquet.status == 200 and parquet.head.startswith(b"PAR1") and parquet.tail.endswith(b"PAR1")

    for kind, got in (("csv", csv), ("arrow", arrow), ("parquet", parquet)):
        figures[f"{kind}_mb"] = got.size >> 20
        figures[f"{kind}_s"] = round(got.seconds, 1)
        figures[f"{kind}_rss_growth_mb"] = got.growth >> 20
    print("ten million rows:", figures)
    for kind, got in (("csv", csv), ("arrow", arrow), ("parquet", parquet)):
        assert got.growth < 100 << 20, (
            f"{kind}: the server's memory grew by {got.growth >> 20} MB ({figures})"
        )

    # Every download is audited: who, which statement, format, rows and bytes sent.
    def downloads() -> list[dict[str, Any]]:
        response = httpx.get(
            f"{p.base_url}/api/v1/audit/events",
            params={"action": "statement.download", "target_id": done["id"]},
            headers=p.world.headers("root"),
            timeout=60,
        )
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["items"]
        return found

    wait_until(lambda: len(downloads()) == 3, 5, "three audited downloads")
    audited = {event["details"]["format"]: event for event in downloads()}
    for kind, got in (("csv", csv), ("arrow", arrow), ("parquet", parquet)):
        event = audited[kind]
        assert (
            event["actor"] == "ws_editor" and event["workspace"] == "alpha" and event["outcome"] == "success"
        )
        assert event["details"] == {
            "format": kind,
            "rows": 10_000_000,
            "bytes": got.size,
            "complete": True,
            "truncated": False,
        }


@pytest.mark.slow
def test_viewer_result_is_cut_at_a_million_rows(platform: Platform) -> None:  # noqa: F811
    done = run_sql(platform, TEN_MILLION, who="ws_viewer", timeout_seconds=120)
    assert done["state"] == "SUCCEEDED", done
    result = done["result"]
    assert result["truncated"] and result["total_rows"] == 1_000_000 and result["row_limit"] == 1_000_000
    csv = download(platform, done["id"], "csv", who="ws_viewer")
    assert csv.status == 200 and csv.lines == 1_000_001
    assert csv.headers["sadeem-result-truncated"] == "true"
    assert csv.headers["sadeem-result-rows"] == "1000000"
    assert csv.tail.endswith(b'\n999999,26,"row-999999"\n')
    # An editor asking for more than the viewer's cap is held to its own ask.
    asked = run_sql(platform, TEN_MILLION, row_limit=12_345)
    assert asked["result"]["truncated"] and asked["result"]["total_rows"] == 12_345


# --- 8. paging while it runs -------------------------------------------------------------------


def test_first_page_is_served_while_the_statement_runs(platform: Platform) -> None:  # noqa: F811
    p = platform
    submitted = submit(p, SLOW_ROWS, wait_timeout=0, timeout_seconds=120)
    assert submitted.status_code == 200, submitted.text
    statement_id = submitted.json()["id"]

    response = get(p, f"/{statement_id}/result", params={"limit": 500, "wait": 20})
    assert response.status_code == 200, response.text
    page = response.json()
    state = statement(p, statement_id)["state"]
    assert state == "RUNNING", "the statement should still run after its first page"
    assert page["row_offset"] == 0 and len(page["rows"]) == 500
    assert not page["complete"] and page["next_cursor"] is not None
    assert [row[0] for row in page["rows"]] == list(range(500))
    assert [c["name"] for c in page["columns"]] == ["n", "s"]

    # The cursor is stable: the same cursor twice gives the same rows, while it still runs.
    cursor = page["next_cursor"]
    pages = [
        get(p, f"/{statement_id}/result", params={"cursor": cursor, "limit": 700, "wait": 20}) for _ in "ab"
    ]
    assert all(r.status_code == 200 for r in pages), [r.text for r in pages]
    first, second = (r.json() for r in pages)
    assert first["rows"] == second["rows"] and first["next_cursor"] == second["next_cursor"]
    assert first["row_offset"] == 500 and [row[0] for row in first["rows"]] == list(range(500, 1200))

    # Downloads wait for the end.
    assert get(p, f"/{statement_id}/result.csv").status_code == 409
    for bad in ("garbage", "eyJ4IjogMX0", "-1", "x" * 200):
        refused = get(p, f"/{statement_id}/result", params={"cursor": bad, "wait": 0})
        assert refused.status_code == 400, (bad, refused.text)

    assert cancel(p, statement_id).json()["state"] == "CANCELLED"
    assert get(p, f"/{statement_id}/result", params={"cursor": cursor, "wait": 0}).status_code == 409
    assert_engine_stopped_threads(p, statement_id)


def test_result_of_a_failed_statement_is_a_conflict(platform: Platform) -> None:  # noqa: F811
    failed = run_sql(platform, "SELECT CAST('abc' AS INTEGER) AS n")
    assert failed["state"] == "FAILED", failed
    assert "Could not convert string 'abc'" in failed["error"]["message"]
    for path in ("/result", "/result.csv", "/result.arrow", "/result.parquet"):
        response = get(platform, f"/{failed['id']}{path}", params={"wait": 0} if path == "/result" else None)
        assert response.status_code == 409, (path, response.text)
        assert "FAILED" in response.json()["detail"]


def test_the_cursor_of_a_finished_result_is_stable_and_ends(platform: Platform) -> None:  # noqa: F811
    done = run_sql(platform, "SELECT range AS n FROM range(2500)", first_page_rows=0)
    assert done["state"] == "SUCCEEDED" and done["first_page"] is None, done
    one = get(platform, f"/{done['id']}/result", params={"limit": 1000}).json()
    cursor = one["next_cursor"]
    twice = [
        get(platform, f"/{done['id']}/result", params={"cursor": cursor, "limit": 1000}).json() for _ in "ab"
    ]
    assert twice[0] == twice[1] and twice[0]["row_offset"] == 1000
    last = get(
        platform, f"/{done['id']}/result", params={"cursor": twice[0]["next_cursor"], "limit": 1000}
    ).json()
    assert last["complete"] and last["next_cursor"] is None and len(last["rows"]) == 500
    assert last["rows"][-1] == [2499]
