"""The one gate every statement-state change passes, as `runs/transitions.py` is for runs: an
explicit transition table, and `transition()`, which checks it, timestamps the change, keeps the
error message, and writes the timeline row, all in the caller's transaction. Nothing else assigns
`Statement.state`.

A statement is changed by several hands at once (its executor thread, the server's watchdog, a
reaper in any process), so a change is a compare-and-set on the state the caller read: when
another hand moved the statement first, `transition()` changes nothing and says so."""

from __future__ import annotations

import re
from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from sadeem.core.clock import utcnow
from sadeem.core.errors import Conflict
from sadeem.statements.models import Statement, StatementState, StatementTransition

S = StatementState
ALLOWED: dict[StatementState | None, frozenset[StatementState]] = {
    None: frozenset({S.QUEUED}),
    # Cancelled while waiting for a slot; failed when its server died before it started.
    S.QUEUED: frozenset({S.RUNNING, S.CANCELLED, S.FAILED}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED, S.TIMED_OUT}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.TIMED_OUT: frozenset(),
}

# The DuckDB engine names the failed statement's first line: "Statement 2 of 3 (line 7 of the SQL)".
_FAILED_AT_LINE = re.compile(r"\(line (\d+) of the SQL\)")


def transition(
    session: Session,
    statement: Statement,
    to: StatementState,
    *,
    actor: str,
    reason: str | None = None,
    message: str | None = None,
) -> bool:
    """Move `statement` from the state it was read in to `to`; False (nothing written) when another
    hand changed its state since. Raises Conflict when the table does not allow the change."""
    before = statement.state if statement.id is not None else None
    if to not in ALLOWED[before]:
        raise Conflict(f"Statement {statement.public_id} is {before}; it cannot become {to}.")
    now = utcnow()
    if before is None:
        statement.state, statement.created_at = to, now
        session.add(statement)
        session.flush()  # the statement's id, for the timeline
    else:
        # Compare-and-set: "RUNNING only if still QUEUED", "FAILED only if still RUNNING"… in one
        # UPDATE, so a reaper and the executor finishing the same statement cannot both win.
        moved = session.execute(
            update(Statement)
            .where(Statement.id == statement.id, Statement.state == before)
            .values(state=to)
            .execution_options(synchronize_session=False)
        )
        if cast(CursorResult[Any], moved).rowcount == 0:
            return False
        set_committed_value(statement, "state", to)
    if to is S.RUNNING:
        statement.started_at = now
    if to.finished:
        statement.ended_at = now
    if message is not None:
        statement.error_message, statement.error_line = message, _error_line(message)
    session.add(
        StatementTransition(
            statement_id=statement.id, from_state=before, to_state=to, reason=reason, actor=actor, at=now
        )
    )
    return True


def _error_line(message: str) -> int | None:
    found = _FAILED_AT_LINE.search(message)
    return int(found.group(1)) if found else None
