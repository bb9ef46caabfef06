from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from sadeem.api.context import Ctx
from sadeem.api.pagination import PageParams
from sadeem.api.responses import errors
from sadeem.api.schemas import IsoDateTime
from sadeem.auth.permissions import PlatformAdmin, WorkspaceViewer
from sadeem.core.pagination import Page
from sadeem.db import unit_of_work
from sadeem.db.session import DbSession, UnitOfWorkRoute, database_of
from sadeem.jobs.schemas import SqlEngine
from sadeem.results.schemas import ResultColumn
from sadeem.statements import service
from sadeem.statements.executor import StatementExecutor
from sadeem.statements.models import StatementState
from sadeem.statements.schemas import (
    MAX_WAIT_SECONDS,
    ExplainOut,
    ExplainRequest,
    ResultManifest,
    ResultPage,
    StatementError,
    StatementOut,
    StatementSubmit,
    StatementTransitionOut,
)

router = APIRouter(
    prefix="/api/v1/workspaces/{workspace}/statements", tags=["statements"], route_class=UnitOfWorkRoute
)
admin_router = APIRouter(prefix="/api/v1/statements", tags=["statements"], route_class=UnitOfWorkRoute)

StatementId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The statement's id.")]
WaitQuery = Annotated[
    float, Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait for it to end (long poll).")
]
TextQuery = Annotated[
    str | None, Query(max_length=200, description="Only statements whose SQL contains this.")
]
StateQuery = Annotated[StatementState | None, Query(description="Only statements in this state.")]
EngineQuery = Annotated[SqlEngine | None, Query(description="Only this engine's statements.")]
UserQuery = Annotated[str | None, Query(max_length=64, description="Only this user's statements.")]
SinceQuery = Annotated[
    IsoDateTime | None, Query(description="Only statements created at or after this time.")
]


async def history_filters(
    q: TextQuery = None,
    state: StateQuery = None,
    engine: EngineQuery = None,
    user: UserQuery = None,
    since: SinceQuery = None,
) -> service.HistoryFilters:
    return service.HistoryFilters(text=q, state=state, engine=engine, user=user, since=since)


HistoryParams = Annotated[service.HistoryFilters, Depends(history_filters)]


def _executor(request: Request) -> StatementExecutor:
    executor: StatementExecutor = request.app.state.statements
    return executor


def statement_out(found: service.StatementView, first_page: service.ResultRows | None = None) -> StatementOut:
    s = found.statement
    error = None
    if s.error_message is not None:
        error = StatementError(message=s.error_message, line=s.error_line, column=s.error_column)
    manifest = None
    if s.state is StatementState.SUCCEEDED and s.columns is not None:
        manifest = ResultManifest(
            columns=[ResultColumn(**c) for c in s.columns],
            total_rows=s.result_rows or 0,
            truncated=s.truncated,
            row_limit=s.row_limit,
            size_bytes=s.result_bytes or 0,
            expired=s.result_expired,
        )
    return StatementOut(
        id=s.public_id,
        workspace=found.workspace,
        state=s.state,
        sql=s.sql,
        engine=s.engine,
        connection=s.connection_name,
        parameters=s.parameters,
        user=found.user,
        created_at=s.created_at,
        started_at=s.started_at,
        ended_at=s.ended_at,
        duration_ms=s.duration_ms,
        error=error,
        cancel_requested=s.cancel_requested_at is not None,
        result=manifest,
        first_page=_page_out(first_page) if first_page is not None else None,
    )


def _page_out(page: service.ResultRows) -> ResultPage:
    return ResultPage(
        columns=[ResultColumn(**c) for c in page.columns],
        rows=page.rows,
        row_offset=page.row_offset,
        next_cursor=page.next_cursor,
        complete=page.complete,
    )


@router.post("", operation_id="statements:execute", responses=errors(400, 403, 404, 409, 429))
def submit_statement(
    body: StatementSubmit, access: WorkspaceViewer, db: DbSession, ctx: Ctx, request: Request
) -> StatementOut:
    """Run SQL as yourself (the engine sees what you may see). Answers when it ends or after
    `wait_timeout`, whichever is first; a finished statement comes with its first rows."""
    executor = _executor(request)
    statement = service.submit(
        db, ctx.actor, access, request.app.state.settings, request.app.state.keyring, executor, body
    )
    statement = service.wait(db, executor, statement, body.wait_timeout)
    if (
        statement.state in (StatementState.QUEUED, StatementState.RUNNING)
        and body.on_wait_timeout == "CANCEL"
    ):
        statement = service.cancel(db, ctx.actor, access, executor, statement.public_id)
    first_page = None
    if statement.state is StatementState.SUCCEEDED and body.first_page_rows:
        first_page = service.page(db, executor, statement, None, body.first_page_rows, 0)
    return statement_out(service.view(db, statement), first_page)


@router.post("/explain", operation_id="statements:explain", responses=errors(400, 403, 404, 409, 429))
def explain_statement(
    body: ExplainRequest, access: WorkspaceViewer, db: DbSession, ctx: Ctx, request: Request
) -> ExplainOut:
    """The engine's plan for one statement, and the SQL the engine runs (for DuckDB, transpiled
    from Trino's dialect). Runs `EXPLAIN`, so it is in your history like any statement."""
    found = service.explain(
        db, ctx.actor, access, request.app.state.settings, request.app.state.keyring, _executor(request), body
    )
    return ExplainOut(engine=body.engine, engine_sql=found.engine_sql, plan=found.plan)


@router.get("", operation_id="statements:list")
def list_statements(
    access: WorkspaceViewer,
    db: DbSession,
    page: PageParams,
    filters: HistoryParams,
    all_users: Annotated[bool, Query(description="Every user's statements (workspace admins).")] = False,
) -> Page[StatementOut]:
    """Your statement history, newest first: text, engine, state, duration, rows, error. Workspace
    admins pass `all_users=true` (with `state=RUNNING`: what runs now, to cancel any)."""
    found, cursor = service.history(db, access, filters, page, all_users)
    return Page(items=[statement_out(v) for v in found], next_cursor=cursor)


@router.get("/{statement_id}", operation_id="statements:get", responses=errors(404))
def get_statement(
    statement_id: StatementId, access: WorkspaceViewer, db: DbSession, request: Request, wait: WaitQuery = 0
) -> StatementOut:
    """A statement's state (yours, or anyone's for workspace admins); with `wait`, answers as soon
    as it ends or after `wait` seconds."""
    statement = service.get(db, access, statement_id, of_anyone=True)
    statement = service.wait(db, _executor(request), statement, wait)
    return statement_out(service.view(db, statement))


@router.get("/{statement_id}/timeline", operation_id="statements:getTimeline", responses=errors(404))
def statement_timeline(
    statement_id: StatementId, access: WorkspaceViewer, db: DbSession
) -> list[StatementTransitionOut]:
    """Every state change of a statement (yours, or anyone's for workspace admins), oldest first:
    when, from which state to which, why, and by whom."""
    statement = service.get(db, access, statement_id, of_anyone=True)
    return [StatementTransitionOut.model_validate(t) for t in service.timeline(db, statement)]


@router.post("/{statement_id}/cancel", operation_id="statements:cancel", responses=errors(404))
def cancel_statement(
    statement_id: StatementId, access: WorkspaceViewer, db: DbSession, ctx: Ctx, request: Request
) -> StatementOut:
    """Stop a queued or running statement (the engine's query really stops): yours, or anyone's
    for workspace admins. A finished one is returned unchanged."""
    statement = service.cancel(db, ctx.actor, access, _executor(request), statement_id)
    return statement_out(service.view(db, statement))


@router.get(
    "/{statement_id}/result",
    operation_id="statements:getResult",
    response_model=ResultPage,
    responses=errors(400, 404, 409, 410),
)
def statement_result(
    statement_id: StatementId,
    access: WorkspaceViewer,
    db: DbSession,
    request: Request,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100_000, description="Rows per page.")] = 1_000,
    wait: WaitQuery = 10,
) -> Response:
    """One page of your statement's rows, as JSON arrays. The cursor is stable: the result never
    changes. Rows a running statement has already produced are served before it ends."""
    statement = service.get(db, access, statement_id)
    page = service.page(db, _executor(request), statement, cursor, limit, wait)
    # Serialized straight from the rows (already JSON-ready): a response model would validate and
    # copy up to 100,000 rows a second time.
    return Response(page.to_json(), media_type="application/json")


_DOWNLOAD_DOC = {
    "csv": "CSV with a header row",
    "parquet": "one Parquet file (zstd)",
    "arrow": "an Arrow IPC stream (`pyarrow.ipc.open_stream`, `arrow::ipc::RecordBatchStreamReader`)",
}


def _download_route(kind: str) -> None:
    media_type, _ = service.DOWNLOAD_FORMATS[kind]

    def download_result(
        statement_id: StatementId, access: WorkspaceViewer, db: DbSession, ctx: Ctx, request: Request
    ) -> StreamingResponse:
        statement = service.get(db, access, statement_id)
        executor = _executor(request)
        stored = service.downloadable(db, executor, statement, kind)
        unit_of_work.release(db)  # no transaction held while the result streams
        body = service.download(
            database_of(request), executor, ctx.actor, statement, access.workspace.slug, stored, kind
        )
        headers = {"Content-Disposition": f'attachment; filename="statement-{statement_id}.{kind}"'}
        if statement.state is StatementState.SUCCEEDED:
            headers["Sadeem-Result-Rows"] = str(statement.result_rows or 0)
            headers["Sadeem-Result-Truncated"] = str(statement.truncated).lower()
        return StreamingResponse(body, media_type=media_type, headers=headers)

    download_result.__name__ = f"download_result_{kind}"
    download_result.__doc__ = (
        f"Your statement's whole result as {_DOWNLOAD_DOC[kind]}, streamed with constant memory. "
        "Every download is audited (rows, bytes). "
        + (
            "A running statement's rows stream as they are produced (no `Sadeem-Result-Rows` header "
            "then); if it ends without succeeding, the response is cut off before the end-of-stream."
            if kind == "arrow"
            else "The statement must have SUCCEEDED (409 before)."
        )
    )
    router.get(
        f"/{{statement_id}}/result.{kind}",
        operation_id=f"statements:downloadResult{kind.capitalize()}",
        responses={200: {"content": {media_type.split(";")[0]: {}}}, **errors(404, 409, 410)},
        response_class=StreamingResponse,
    )(download_result)


for _kind in service.DOWNLOAD_FORMATS:
    _download_route(_kind)


@admin_router.get("", operation_id="statements:listAll")
def list_all_statements(
    principal: PlatformAdmin,
    db: DbSession,
    page: PageParams,
    filters: HistoryParams,
) -> Page[StatementOut]:
    """Every workspace's statements, newest first (platform admins); `state=RUNNING` shows what
    runs now. Cancel one with `POST /api/v1/workspaces/{workspace}/statements/{id}/cancel`."""
    found, cursor = service.history(db, None, filters, page, all_users=True)
    return Page(items=[statement_out(v) for v in found], next_cursor=cursor)
