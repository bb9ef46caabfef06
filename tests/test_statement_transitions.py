"""The statements' transition table and timeline (#11 item 3), like the runs': every change the
table refuses raises Conflict and writes nothing, a change made from a stale copy loses its race
and writes nothing, and the timeline endpoint shows every change a statement went through, with
who made it. On SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from sadeem.auth.models import User
from sadeem.core.errors import Conflict
from sadeem.db.engine import Database
from sadeem.statements.models import Statement, StatementState, StatementTransition
from sadeem.statements.transitions import ALLOWED, transition
from sadeem.workspaces.models import Workspace
from tests.conftest import World, bearer
from tests.jobs_support import Platform, platform  # noqa: F401
from tests.statements_support import run_sql, statements_url

S = StatementState
REFUSED = [(before, to) for before in S for to in S if to not in ALLOWED[before]]


def _new_statement(db: Database) -> int:
    with db.writes() as session:
        statement = Statement(
            public_id=secrets.token_hex(16),
            workspace_id=session.scalars(select(Workspace.id).where(Workspace.slug == "alpha")).one(),
            user_id=session.scalars(select(User.id).where(User.username == "ws_editor")).one(),
            sql="SELECT 1",
            engine="duckdb",
            parameters={},
            timeout_seconds=60,
        )
        transition(session, statement, S.QUEUED, actor="ws_editor")
        session.commit()
        return statement.id


def _move(db: Database, statement_id: int, *path: StatementState) -> None:
    for to in path:
        with db.writes() as session:
            found = session.get(Statement, statement_id)
            assert found is not None
            assert transition(session, found, to, actor="test")
            session.commit()


def _timeline(db: Database, statement_id: int) -> list[tuple[StatementState | None, StatementState]]:
    with db.reads() as session:
        rows = session.scalars(
            select(StatementTransition)
            .where(StatementTransition.statement_id == statement_id)
            .order_by(StatementTransition.id)
        )
        return [(row.from_state, row.to_state) for row in rows]


def _path_to(state: StatementState) -> list[StatementState]:
    return {
        S.QUEUED: [],
        S.RUNNING: [S.RUNNING],
        S.SUCCEEDED: [S.RUNNING, S.SUCCEEDED],
        S.FAILED: [S.RUNNING, S.FAILED],
        S.CANCELLED: [S.CANCELLED],
        S.TIMED_OUT: [S.RUNNING, S.TIMED_OUT],
    }[state]


@pytest.mark.parametrize(("before", "to"), REFUSED, ids=[f"{b}->{t}" for b, t in REFUSED])
def test_a_change_the_table_refuses_raises_conflict_and_writes_nothing(
    world: World, db: Database, before: StatementState, to: StatementState
) -> None:
    statement_id = _new_statement(db)
    _move(db, statement_id, *_path_to(before))
    timeline = _timeline(db, statement_id)
    with db.writes() as session:
        found = session.get(Statement, statement_id)
        assert found is not None and found.state is before
        with pytest.raises(Conflict, match=f"is {before}; it cannot become {to}"):
            transition(session, found, to, actor="test")
        session.commit()
    with db.reads() as session:
        assert session.get(Statement, statement_id).state is before
    assert _timeline(db, statement_id) == timeline


def test_a_change_from_a_stale_copy_loses_the_race_and_writes_nothing(world: World, db: Database) -> None:
    """Two hands read the same RUNNING statement (the executor finishing it, a reaper failing it):
    the first change wins, the second finds the state moved and writes nothing."""
    statement_id = _new_statement(db)
    _move(db, statement_id, S.RUNNING)
    with db.reads() as session:
        stale = session.get(Statement, statement_id)
        assert stale is not None
        session.expunge(stale)
    _move(db, statement_id, S.SUCCEEDED)
    with db.writes() as session:
        stale = session.merge(stale, load=False)
        assert not transition(session, stale, S.FAILED, actor="reaper:test", message="lost")
        session.commit()
    with db.reads() as session:
        found = session.get(Statement, statement_id)
        assert found is not None
        assert (found.state, found.error_message) == (S.SUCCEEDED, None)
    assert _timeline(db, statement_id) == [(None, S.QUEUED), (S.QUEUED, S.RUNNING), (S.RUNNING, S.SUCCEEDED)]


def test_every_state_of_the_table_is_reachable_and_timestamped(world: World, db: Database) -> None:
    for end in (S.SUCCEEDED, S.FAILED, S.CANCELLED, S.TIMED_OUT):
        statement_id = _new_statement(db)
        _move(db, statement_id, *_path_to(end))
        with db.reads() as session:
            found = session.get(Statement, statement_id)
            assert found is not None and found.state is end and found.ended_at is not None
            assert (found.started_at is not None) is (S.RUNNING in _path_to(end))
        expected: list[tuple[StatementState | None, StatementState]] = [(None, S.QUEUED)]
        before = S.QUEUED
        for to in _path_to(end):
            expected.append((before, to))
            before = to
        assert _timeline(db, statement_id) == expected


def _timeline_of(p: Platform, statement_id: str, who: str = "ws_editor") -> httpx.Response:
    return httpx.get(
        f"{statements_url(p)}/{statement_id}/timeline", headers=bearer(p.world.tokens[who]), timeout=60
    )


def test_the_timeline_endpoint_shows_every_change_and_who_made_it(platform: Platform) -> None:  # noqa: F811
    done = run_sql(platform, "SELECT 42 AS answer")
    failed = run_sql(platform, "SELECT * FROM no_such_table")
    assert (done["state"], failed["state"]) == ("SUCCEEDED", "FAILED")

    def changes(statement: dict[str, Any]) -> list[tuple[str | None, str, str]]:
        response = _timeline_of(platform, statement["id"])
        assert response.status_code == 200, response.text
        return [(t["from_state"], t["to_state"], t["actor"].split(":")[0]) for t in response.json()]

    for statement, end in ((done, "SUCCEEDED"), (failed, "FAILED")):
        assert changes(statement) == [
            (None, "QUEUED", "ws_editor"),
            ("QUEUED", "RUNNING", "executor"),
            ("RUNNING", end, "executor"),
        ]
    # Like the statement itself: a workspace admin sees anyone's, another user sees none.
    assert _timeline_of(platform, done["id"], "ws_admin").status_code == 200
    hidden = _timeline_of(platform, done["id"], "ws_viewer")
    assert hidden.status_code == 404, hidden.text
