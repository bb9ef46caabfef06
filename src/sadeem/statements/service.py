"""The SQL worksheet's statements: submit (checked before any engine sees them), wait, read the
result in pages or whole, cancel, and the history.

What is refused with a 4xx before anything runs (and nothing is stored): SQL that does not parse
(line and column), a construct DuckDB cannot run after transpiling, statements outside the fence
(ATTACH, COPY, SET, INSTALL, file-reading functions, paths as table names…), a `:name` without a
value or a value for no `:name`, a write by a workspace viewer (or in an archived workspace), a
missing or wrong connection. What fails while running (an unknown table, a type error, a timeout)
is a FAILED or TIMED_OUT statement with the engine's message, kept in the history.

A statement and its result belong to the user who ran it. Workspace admins (and platform
admins) see and cancel every user's statements, but read no one else's rows.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sadeem.api import admission
from sadeem.audit import service as audit
from sadeem.auth import service as auth_service
from sadeem.auth.models import ApiToken, User
from sadeem.config import Settings
from sadeem.connections.keyring import Keyring
from sadeem.connections.models import Connection
from sadeem.connections.service import engine_config
from sadeem.core.actor import Actor
from sadeem.core.clock import utcnow
from sadeem.core.errors import Conflict, Gone, InvalidInput, NotFound, PermissionDenied, TooManyRequests
from sadeem.core.pagination import PageRequest, decode_cursor, encode_cursor, keyset_page
from sadeem.db import unit_of_work
from sadeem.db.engine import Database
from sadeem.db.search import contains_text
from sadeem.engines import registry, sql_text
from sadeem.engines.base import WorkspaceStorage
from sadeem.jobs.service import check_engine_connection, enabled_engine
from sadeem.results import json_cells
from sadeem.statements import results
from sadeem.statements.executor import StatementExecutor, StatementJob
from sadeem.statements.models import ACTIVE_STATES, Statement, StatementState, StatementTransition
from sadeem.statements.schemas import ExplainRequest, StatementSubmit
from sadeem.statements.transitions import transition
from sadeem.workspaces.access import WorkspaceAccess
from sadeem.workspaces.models import Workspace, WorkspaceRole, WorkspaceStatus

AUDITED_SQL_CHARS = 4_000
# What a caller at a concurrency limit is told to wait: when a statement ends is unknown, and a few
# seconds is about how long a short one takes to make room.
_RETRY_AFTER_SECONDS = 5
_TOKEN_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class StatementView:
    statement: Statement
    workspace: str
    user: str


# --- submit ------------------------------------------------------------------------------------


def submit(
    session: Session,
    actor: Actor,
    access: WorkspaceAccess,
    settings: Settings,
    keyring: Keyring,
    executor: StatementExecutor,
    body: StatementSubmit,
) -> Statement:
    workspace, principal = access.workspace, access.principal
    engine = enabled_engine(settings, body.engine)
    check_engine_connection(session, workspace, body.engine, body.connection)
    parsed = sql_text.parse_statements(body.sql)
    for one in parsed:
        if engine.validate is not None:
            engine.validate(one)
        if not sql_text.is_read_only(one):
            _check_may_write(access, one)
    _check_parameters(parsed, body.parameters)
    _check_concurrency(session, settings, access)

    limit = settings.statement_limits.of(str(access.role))
    row_limit = min(body.row_limit or limit.rows, limit.rows)
    timeout = min(
        body.timeout_seconds or settings.statement_timeout_seconds, settings.statement_timeout_seconds
    )
    public_id = secrets.token_hex(16)
    token = auth_service.issue_run_token(
        session,
        principal.user_id,
        f"statement {public_id}",
        timedelta(seconds=timeout) + _TOKEN_MARGIN,
        workspace_id=workspace.id,
    )
    connection = None
    if body.connection is not None:
        found = session.scalars(
            select(Connection).where(
                Connection.workspace_id == workspace.id, Connection.name == body.connection
            )
        ).one()
        connection = engine_config(keyring, found)
    statement = Statement(
        public_id=public_id,
        workspace_id=workspace.id,
        user_id=principal.user_id,
        sql=body.sql,
        engine=body.engine,
        connection_name=body.connection,
        parameters=dict(body.parameters),
        row_limit=row_limit,
        byte_limit=limit.bytes,
        timeout_seconds=timeout,
        executor_id=executor.id,
        heartbeat_at=utcnow(),
    )
    transition(session, statement, StatementState.QUEUED, actor=principal.username)
    statement.token_id = token.token.id
    audit.record(
        session,
        actor,
        target_type="statement",
        target_id=public_id,
        workspace=workspace.slug,
        details={
            "engine": body.engine,
            "connection": body.connection,
            "sql": body.sql[:AUDITED_SQL_CHARS],
            "sql_truncated": len(body.sql) > AUDITED_SQL_CHARS,
            # The catalog token's id (not its secret); a key naming a token would be redacted.
            "catalog_access_id": token.token.public_id,
        },
    )
    # A submission is a unit of work of its own, committed before its engine starts: the engine's
    # thread records the statement's progress in its own transactions (which must see it, and which
    # SQLite's single writer would block), while the request goes on to wait for it.
    session.commit()
    executor.start(
        StatementJob(
            id=statement.id,
            public_id=public_id,
            owner=principal.username,
            sql=body.sql,
            engine=body.engine,
            connection=connection,
            parameters=dict(body.parameters),
            workspace=WorkspaceStorage(workspace.slug, workspace.namespace, workspace.storage_location),
            token=token.secret,
            token_id=token.token.id,
            row_limit=row_limit,
            byte_limit=limit.bytes,
            timeout_seconds=timeout,
        )
    )
    return statement


def _check_concurrency(session: Session, settings: Settings, access: WorkspaceAccess) -> None:
    """Refuse a statement beyond the caller's or the workspace's limit of statements queued or
    running at once, so that no one user or workspace can take every slot. Counted in the database,
    so over all API processes. The workspace's row and then the user's are locked first
    (PostgreSQL; SQLite serializes writers), so two submits at once cannot both take the last place;
    FOR NO KEY UPDATE leaves inserts that reference those rows unblocked."""
    workspace, user_id = access.workspace, access.principal.user_id
    session.execute(select(Workspace.id).where(Workspace.id == workspace.id).with_for_update(key_share=True))
    session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))
    active = select(func.count()).select_from(Statement).where(Statement.state.in_(ACTIVE_STATES))
    per_user = settings.statement_max_concurrent_per_user
    mine = session.scalar(active.where(Statement.user_id == user_id)) or 0
    if mine >= per_user:
        raise TooManyRequests(
            f"You have {mine} statements queued or running (in all workspaces), and one user may have at "
            f"most {per_user} at once (statement_max_concurrent_per_user). Wait for one to end, or cancel "
            "one, and submit again.",
            retry_after_seconds=_RETRY_AFTER_SECONDS,
            limit=per_user,
            active=mine,
        )
    per_workspace = settings.statement_max_concurrent_per_workspace
    in_workspace = session.scalar(active.where(Statement.workspace_id == workspace.id)) or 0
    if in_workspace >= per_workspace:
        raise TooManyRequests(
            f"Workspace '{workspace.slug}' has {in_workspace} statements queued or running, and one "
            f"workspace may have at most {per_workspace} at once (statement_max_concurrent_per_workspace). "
            "Wait for one to end and submit again.",
            retry_after_seconds=_RETRY_AFTER_SECONDS,
            limit=per_workspace,
            active=in_workspace,
        )


def _check_may_write(access: WorkspaceAccess, statement: Any) -> None:
    kind = sql_text.statement_kind(statement)
    where = sql_text.statement_line(statement)
    at = f" (line {where})" if where is not None else ""
    if access.role is WorkspaceRole.viewer:
        raise PermissionDenied(
            f"{kind}{at} changes data, and your role in workspace '{access.workspace.slug}' is viewer, which "
            "may only read (SELECT, WITH, VALUES, EXPLAIN, DESCRIBE, SHOW). Ask for the editor role."
        )
    if access.workspace.status is WorkspaceStatus.archived:
        raise Conflict(f"Workspace '{access.workspace.slug}' is archived: {kind}{at} would change it.")


def _check_parameters(statements: Sequence[Any], given: dict[str, Any]) -> None:
    used = sql_text.parameter_names(statements)
    missing = sorted(used - set(given))
    if missing:
        raise InvalidInput(f"No value was given for {', '.join(f':{name}' for name in missing)}.")
    unused = sorted(set(given) - used)
    if unused:
        raise InvalidInput(f"The SQL has no parameter {', '.join(f':{name}' for name in unused)}.")


# --- read --------------------------------------------------------------------------------------


def get(session: Session, access: WorkspaceAccess, public_id: str, *, of_anyone: bool = False) -> Statement:
    """The caller's statement; with `of_anyone`, any user's statement for workspace admins."""
    statement = session.scalar(
        select(Statement).where(
            Statement.public_id == public_id, Statement.workspace_id == access.workspace.id
        )
    )
    mine = statement is not None and statement.user_id == access.principal.user_id
    admin = of_anyone and access.role is WorkspaceRole.admin
    if statement is None or not (mine or admin):
        raise NotFound(f"No statement '{public_id}' of yours in workspace '{access.workspace.slug}'.")
    return statement


def wait(session: Session, executor: StatementExecutor, statement: Statement, seconds: float) -> Statement:
    """Wait up to `seconds` for the statement to end, holding no database connection meanwhile."""
    deadline = time.monotonic() + seconds
    unit_of_work.release(session)
    while statement.state in ACTIVE_STATES and (left := deadline - time.monotonic()) > 0:
        # Here: woken the moment it ends. Elsewhere (another server runs it): polled.
        with admission.waiting():
            ended = executor.wait(statement.public_id, min(left, 0.25))
        if ended:
            session.refresh(statement)
            unit_of_work.release(session)
            if statement.state in ACTIVE_STATES:
                with admission.waiting():
                    time.sleep(min(0.05, max(deadline - time.monotonic(), 0)))
    if statement.state in ACTIVE_STATES:  # QUEUED may have become RUNNING meanwhile
        session.refresh(statement)
        unit_of_work.release(session)
    return statement


def timeline(session: Session, statement: Statement) -> list[StatementTransition]:
    """Every state change of `statement`, oldest first."""
    return list(
        session.scalars(
            select(StatementTransition)
            .where(StatementTransition.statement_id == statement.id)
            .order_by(StatementTransition.id)
        )
    )


def view(session: Session, statement: Statement) -> StatementView:
    return views(session, [statement])[0]


def views(session: Session, statements: Sequence[Statement]) -> list[StatementView]:
    users = auth_service.usernames(session, {s.user_id for s in statements})
    slugs = dict(
        session.execute(
            select(Workspace.id, Workspace.slug).where(Workspace.id.in_({s.workspace_id for s in statements}))
        ).all()
    )
    return [StatementView(s, slugs.get(s.workspace_id, "?"), users.get(s.user_id, "?")) for s in statements]


@dataclass(frozen=True)
class HistoryFilters:
    text: str | None = None
    state: StatementState | None = None
    engine: str | None = None
    user: str | None = None
    since: datetime | None = None


def history(
    session: Session,
    access: WorkspaceAccess | None,
    filters: HistoryFilters,
    page: PageRequest,
    all_users: bool,
) -> tuple[list[StatementView], str | None]:
    """Newest first. Without `all_users`, the caller's own; with it, everyone's (workspace admins;
    platform admins across workspaces when `access` is None)."""
    stmt = select(Statement)
    if access is not None:
        stmt = stmt.where(Statement.workspace_id == access.workspace.id)
        if all_users and access.role is not WorkspaceRole.admin:
            raise PermissionDenied("Only workspace admins see other users' statements.")
        if not all_users:
            stmt = stmt.where(Statement.user_id == access.principal.user_id)
    if filters.text:
        stmt = stmt.where(contains_text(filters.text, Statement.sql))
    if filters.state is not None:
        stmt = stmt.where(Statement.state == filters.state)
    if filters.engine is not None:
        stmt = stmt.where(Statement.engine == filters.engine)
    if filters.user is not None:
        stmt = stmt.where(
            Statement.user_id == select(User.id).where(User.username == filters.user).scalar_subquery()
        )
    if filters.since is not None:
        stmt = stmt.where(Statement.created_at >= filters.since)
    rows, cursor = keyset_page(session, stmt, Statement.id, page, descending=True)
    return views(session, rows), cursor


# --- cancel ------------------------------------------------------------------------------------


def cancel(
    session: Session,
    actor: Actor,
    access: WorkspaceAccess,
    executor: StatementExecutor,
    public_id: str,
) -> Statement:
    """Stop a queued or running statement: your own, or anyone's as a workspace admin. One running
    in this process stops at once; one running in another server process stops at that process's
    next heartbeat (about a second). A finished statement is returned unchanged."""
    statement = get(session, access, public_id, of_anyone=True)
    if statement.state not in ACTIVE_STATES:
        return statement
    if statement.cancel_requested_at is None:
        statement.cancel_requested_at = utcnow()
        statement.cancelled_by = access.principal.user_id
    audit.record(
        session,
        actor,
        target_type="statement",
        target_id=public_id,
        workspace=access.workspace.slug,
        details={"owner_id": statement.user_id, "state": str(statement.state)},
    )
    # The cancel request is a unit of work of its own (as a submission is), committed before the
    # engine is stopped and waited for: the engine's thread records the end in its own.
    session.commit()
    if executor.cancel(public_id):
        return wait(session, executor, statement, 5)
    return statement


# --- orphans -----------------------------------------------------------------------------------

ORPHANED = "The server process running this statement stopped; run it again."


def fail_orphans(session: Session, actor: str, silent_since: datetime) -> list[str]:
    """Fail the queued or running statements whose server process has not said it runs them since
    `silent_since`, and revoke their catalog tokens (for the reaper, worker/reaper.py); their ids."""
    # Locked as read (skipping rows another reaper holds): a heartbeat written meanwhile waits for
    # this transaction and then finds the statement ended, so it cannot revive it.
    orphans = session.scalars(
        select(Statement)
        .where(Statement.state.in_(ACTIVE_STATES), Statement.heartbeat_at < silent_since)
        .order_by(Statement.id)
        .with_for_update(skip_locked=True)
    ).all()
    failed = [
        statement
        for statement in orphans
        if transition(
            session, statement, StatementState.FAILED, actor=actor, reason="server_lost", message=ORPHANED
        )
    ]
    tokens = [statement.token_id for statement in failed if statement.token_id is not None]
    if tokens:
        session.execute(update(ApiToken).where(ApiToken.id.in_(tokens)).values(revoked_at=utcnow()))
    return [statement.public_id for statement in failed]


# --- results -----------------------------------------------------------------------------------


def stored_result(
    executor: StatementExecutor, statement: Statement, *, finished: bool
) -> results.StoredResult:
    """The statement's result on disk. `finished`: only a SUCCEEDED statement's (downloads);
    otherwise also the part a RUNNING statement has written so far (pages)."""
    if statement.result_expired:
        raise Gone(f"The result of statement '{statement.public_id}' has expired; run it again.")
    if statement.state in (StatementState.FAILED, StatementState.CANCELLED, StatementState.TIMED_OUT):
        raise Conflict(f"Statement '{statement.public_id}' is {statement.state}: it has no result.")
    if finished and statement.state is not StatementState.SUCCEEDED:
        raise Conflict(
            f"Statement '{statement.public_id}' is {statement.state}; its result is not complete yet."
        )
    directory = executor.result_dir(statement.public_id)
    if not results.StoredResult.exists(directory):
        if statement.state is StatementState.SUCCEEDED:
            raise Gone(f"The result of statement '{statement.public_id}' is no longer on this server.")
        raise _NotYet()
    return results.StoredResult(directory)


class _NotYet(Exception):
    """The statement has written no result yet."""


@dataclass(frozen=True)
class ResultRows:
    """A page of a statement's result, its rows already JSON (the API's `ResultPage`)."""

    columns: list[dict[str, str]]
    rows_json: bytes  # the rows as the inside of a JSON array, ready to send
    row_offset: int
    next_cursor: str | None
    complete: bool

    @property
    def rows(self) -> list[list[Any]]:
        rows: list[list[Any]] = orjson.loads(b"[" + self.rows_json + b"]")
        return rows

    def to_json(self) -> bytes:
        head = orjson.dumps({"columns": self.columns, "row_offset": self.row_offset})
        tail = orjson.dumps({"next_cursor": self.next_cursor, "complete": self.complete})
        return head[:-1] + b',"rows":[' + self.rows_json + b"]," + tail[1:]


def page(
    session: Session,
    executor: StatementExecutor,
    statement: Statement,
    cursor: str | None,
    limit: int,
    wait_seconds: float,
) -> ResultRows:
    """Rows [offset, offset + limit) as JSON-ready lists. While the statement runs, rows already
    written are served at once; otherwise the call waits up to `wait_seconds` for them."""
    offset = _offset(cursor)
    deadline = time.monotonic() + wait_seconds
    unit_of_work.release(session)
    while True:
        seen = executor.progress(statement.public_id)
        try:
            stored = stored_result(executor, statement, finished=False)
            available = stored.available_rows()
        except _NotYet:
            stored, available = None, 0
        finished = statement.state is StatementState.SUCCEEDED
        if stored is not None and (finished or available >= offset + limit):
            break
        if time.monotonic() >= deadline:
            if stored is None or available <= offset:
                raise Conflict(
                    f"Statement '{statement.public_id}' is {statement.state}: no rows from {offset} on yet; "
                    "ask again (with `wait`)."
                )
            break
        with admission.waiting():
            executor.wait_progress(statement.public_id, seen, min(deadline - time.monotonic(), 0.25))
        session.refresh(statement)
        unit_of_work.release(session)
    assert stored is not None
    end = min(offset + limit, available)
    rows = json_cells.json_rows_text(stored.batches(offset, max(end - offset, 0)))
    complete = finished and end >= (statement.result_rows or 0)
    return ResultRows(
        columns=json_cells.result_columns(stored.schema),
        rows_json=rows,
        row_offset=offset,
        next_cursor=None if complete else encode_cursor(end),
        complete=complete,
    )


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    offset = decode_cursor(cursor)
    if not isinstance(offset, int) or offset < 0:
        raise InvalidInput("The cursor is not valid; pass `next_cursor` from a previous page.")
    return offset


DOWNLOAD_FORMATS = {
    "csv": ("text/csv; charset=utf-8", results.csv_chunks),
    "parquet": ("application/vnd.apache.parquet", results.parquet_chunks),
    "arrow": ("application/vnd.apache.arrow.stream", None),
}


def downloadable(
    session: Session, executor: StatementExecutor, statement: Statement, kind: str
) -> results.StoredResult:
    """The result to download. CSV and Parquet: a SUCCEEDED statement's. Arrow: also a running
    one's, streamed as it is written (waiting, if need be, for its first rows)."""
    if kind != "arrow":
        return stored_result(executor, statement, finished=True)
    unit_of_work.release(session)
    while True:
        seen = executor.progress(statement.public_id)
        try:
            return stored_result(executor, statement, finished=False)
        except _NotYet:
            with admission.waiting():
                executor.wait_progress(statement.public_id, seen, 0.25)
            session.refresh(statement)
            unit_of_work.release(session)


class StreamAborted(Exception):
    """The statement whose result was being streamed ended without succeeding: the response is
    cut off (no end-of-stream), so the client cannot take it for a whole result."""


def _following(
    db: Database, executor: StatementExecutor, public_id: str, stored: results.StoredResult
) -> Iterator[results.Chunk]:
    """A running statement's chunks in order, as they are written, until it SUCCEEDED."""
    next_row = 0
    while True:
        seen = executor.progress(public_id)
        fresh = [chunk for chunk in stored.chunks() if chunk.first_row >= next_row]
        for chunk in fresh:
            yield chunk
            next_row = chunk.first_row + chunk.rows
        if fresh:
            continue
        with db.reads() as session:
            state = session.scalar(select(Statement.state).where(Statement.public_id == public_id))
        if state is StatementState.SUCCEEDED:
            yield from (chunk for chunk in stored.chunks() if chunk.first_row >= next_row)
            return
        if state not in ACTIVE_STATES:
            raise StreamAborted(f"statement {public_id} ended {state} while its result was streamed")
        with admission.waiting():
            executor.wait_progress(public_id, seen, 0.25)


def download(
    db: Database,
    executor: StatementExecutor,
    actor: Actor,
    statement: Statement,
    workspace: str,
    stored: results.StoredResult,
    kind: str,
) -> Iterator[bytes | memoryview]:
    """The whole result in `kind`, one chunk at a time, audited when the stream ends (completely
    or not): who, which statement, how many rows and bytes were sent."""
    _, convert = DOWNLOAD_FORMATS[kind]
    source: Iterator[bytes | memoryview]
    if convert is not None:
        source = convert(stored)
    elif statement.state is StatementState.SUCCEEDED:
        source = stored.arrow_stream()
    else:
        source = stored.arrow_stream(_following(db, executor, statement.public_id, stored))
    sent = 0
    complete = False
    try:
        for data in source:
            sent += len(data)
            yield data
        complete = True
    finally:
        with db.unit_of_work("statement.download") as session:
            final = session.get(Statement, statement.id)
            audit.record(
                session,
                actor,
                target_type="statement",
                target_id=statement.public_id,
                workspace=workspace,
                outcome="success" if complete else "failure",
                details={
                    "format": kind,
                    "rows": final.result_rows if complete and final is not None else None,
                    "bytes": sent,
                    "complete": complete,
                    "truncated": final.truncated if final is not None else None,
                },
            )


# --- explain -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Explained:
    engine_sql: str
    plan: str


EXPLAIN_WAIT_SECONDS = 30


def explain(
    session: Session,
    actor: Actor,
    access: WorkspaceAccess,
    settings: Settings,
    keyring: Keyring,
    executor: StatementExecutor,
    body: ExplainRequest,
) -> Explained:
    parsed = sql_text.parse_statements(body.sql)
    if len(parsed) != 1:
        raise InvalidInput(f"EXPLAIN takes one statement; the SQL has {len(parsed)}.")
    statement = sql_text.explained(parsed[0]) or parsed[0]
    as_engine_runs_it = registry.spec_of(body.engine).explain
    assert as_engine_runs_it is not None  # ExplainRequest admits only engines that explain
    engine_sql = as_engine_runs_it(statement)
    request = StatementSubmit(
        sql=f"EXPLAIN {statement.sql('trino')}",
        engine=body.engine,
        connection=body.connection,
        parameters=body.parameters,
        wait_timeout=0,
    )
    submitted = submit(session, actor, access, settings, keyring, executor, request)
    submitted = wait(session, executor, submitted, EXPLAIN_WAIT_SECONDS)
    if submitted.state is not StatementState.SUCCEEDED:
        if submitted.state in ACTIVE_STATES:
            cancel(session, actor, access, executor, submitted.public_id)
        raise InvalidInput(
            f"The engine could not explain it: {submitted.error_message or submitted.state}",
            statement=submitted.public_id,
        )
    found = page(session, executor, submitted, None, 10_000, 0)
    # DuckDB answers (explain_key, explain_value), Trino one "Query Plan" column: the plan is the last.
    plan = "\n".join(str(row[-1]) for row in found.rows if row and row[-1] is not None)
    return Explained(engine_sql=engine_sql, plan=plan)
