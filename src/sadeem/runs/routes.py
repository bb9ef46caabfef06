from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from sadeem.api.context import Ctx
from sadeem.api.pagination import PageParams
from sadeem.api.responses import errors
from sadeem.api.schemas import IsoDateTime
from sadeem.audit.middleware import unaudited_when_unchanged
from sadeem.auth.permissions import WorkspaceEditor, WorkspaceViewer
from sadeem.config import Settings
from sadeem.core.pagination import Page
from sadeem.db.engine import Database
from sadeem.db.session import AppDatabase, DbSession, UnitOfWorkRoute
from sadeem.results.schemas import ResultColumn
from sadeem.runs import events, service
from sadeem.runs.models import RunState, RunTrigger
from sadeem.runs.schemas import (
    AttemptOut,
    LogPageOut,
    RunDetailOut,
    RunOut,
    RunResultOut,
    TransitionOut,
)
from sadeem.workspaces.models import Workspace

router = APIRouter(prefix="/api/v1/workspaces/{workspace}/runs", tags=["runs"], route_class=UnitOfWorkRoute)

RunId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The run's id.")]
AttemptQuery = Annotated[
    int | None, Query(ge=1, le=10_000, description="An attempt number; default: the current attempt.")
]
DOWNLOAD_CHUNK_BYTES = 1024 * 1024


def run_out(view: service.RunView) -> RunOut:
    run = view.run
    return RunOut(
        id=run.id,
        job=view.job_name,
        job_version=run.job_version,
        state=run.state,
        state_reason=run.state_reason,
        state_message=run.state_message,
        trigger=run.trigger,
        owner=view.owner,
        version_author=view.version_author,
        triggered_by=view.triggered_by,
        parameters=run.parameters,
        idempotency_key=run.idempotency_key,
        scheduled_for=run.scheduled_for,
        attempt=run.attempt,
        max_attempts=run.max_attempts,
        next_attempt_at=run.not_before if run.state is RunState.WAITING_FOR_RETRY else None,
        created_at=run.created_at,
        started_at=run.started_at,
        ended_at=run.ended_at,
        run_time_seconds=view.run_time_seconds,
    )


@router.get("", operation_id="runs:list")
def list_runs(
    access: WorkspaceViewer,
    db: DbSession,
    page: PageParams,
    job: Annotated[str | None, Query(max_length=100, description="Only this job's runs.")] = None,
    state: Annotated[RunState | None, Query(description="Only runs in this state.")] = None,
    trigger: Annotated[RunTrigger | None, Query(description="Only runs started this way.")] = None,
    since: Annotated[
        IsoDateTime | None, Query(description="Only runs created at or after this time.")
    ] = None,
    until: Annotated[IsoDateTime | None, Query(description="Only runs created before this time.")] = None,
) -> Page[RunOut]:
    """Newest first."""
    filters = service.RunFilters(job=job, state=state, trigger=trigger, since=since, until=until)
    views, cursor = service.list_runs(db, access.workspace, filters, page)
    return Page(items=[run_out(v) for v in views], next_cursor=cursor)


@router.get("/{run_id}", operation_id="runs:get", responses=errors(404))
def get_run(run_id: RunId, access: WorkspaceViewer, db: DbSession) -> RunDetailOut:
    """The run with its attempts and its timeline (every state change, when and by whom)."""
    return run_detail_out(service.detail(db, access.workspace, run_id))


@router.post("/{run_id}/stop", operation_id="runs:stop", responses=errors(404))
@unaudited_when_unchanged
def stop_run(run_id: RunId, access: WorkspaceEditor, db: DbSession, ctx: Ctx) -> RunOut:
    """Queued or waiting for a retry: CANCELLED at once. Running: CANCELLING until the worker has
    stopped the engine work, then CANCELLED. A finished run is returned unchanged."""
    return run_out(service.stop(db, ctx.actor, access.workspace, run_id))


@router.post("/{run_id}/retry", operation_id="runs:retry", responses=errors(404, 409))
def retry_run(run_id: RunId, access: WorkspaceEditor, db: DbSession, ctx: Ctx) -> RunOut:
    """Queue a new attempt of a FAILED, CANCELLED or TIMED_OUT run (same version, same parameters)."""
    return run_out(service.retry(db, ctx.actor, access.workspace, run_id))


@router.get("/{run_id}/logs", operation_id="runs:getLogs", responses=errors(404))
def run_logs(
    run_id: RunId,
    access: WorkspaceViewer,
    db: DbSession,
    attempt: AttemptQuery = None,
    after: Annotated[int, Query(ge=0, le=2**31 - 1, description="`next_after` of the previous call.")] = 0,
    wait: Annotated[
        float,
        Query(ge=0, le=30, description="Seconds to wait for new lines when there are none (long poll)."),
    ] = 0,
    tail: Annotated[int | None, Query(ge=1, le=10_000, description="Only the last N lines.")] = None,
) -> LogPageOut:
    """The attempt's log from `after` on. To follow a running attempt, call again with
    `after=next_after` and `wait` until `complete` (what `sadeem runs logs -f` does)."""
    page = service.read_logs(db, access.workspace, run_id, attempt, after, wait)
    text = page.text
    if tail is not None:
        text = "".join(text.splitlines(keepends=True)[-tail:])
    return LogPageOut(attempt=page.attempt, text=text, next_after=page.next_seq, complete=page.complete)


def run_detail_out(found: service.RunDetail) -> RunDetailOut:
    return RunDetailOut(
        **run_out(found.view).model_dump(),
        attempts=[AttemptOut.model_validate(a) for a in found.attempts],
        transitions=[TransitionOut.model_validate(t) for t in found.transitions],
    )


def _sse(event: events.Event, position: events.Position) -> str:
    """One Server-Sent Event: `run` (RunDetailOut), `log` (LogPageOut), `end` or a keep-alive."""
    match event:
        case events.RunChanged(detail):
            name, data = "run", run_detail_out(detail).model_dump_json()
        case events.LogLines(page):
            name, data = (
                "log",
                LogPageOut(
                    attempt=page.attempt, text=page.text, next_after=page.next_seq, complete=page.complete
                ).model_dump_json(),
            )
        case events.Ended(state):
            name, data = "end", json.dumps({"state": state})
        case _:
            return ": keep-alive\n\n"
    return f"event: {name}\nid: {position.event_id()}\ndata: {data}\n\n"


@router.get(
    "/{run_id}/events",
    operation_id="runs:streamEvents",
    responses={
        **errors(404),
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "Event stream",
        },
    },
    response_class=StreamingResponse,
)
async def run_events(
    run_id: RunId,
    access: WorkspaceViewer,
    database: AppDatabase,
    attempt: AttemptQuery = None,
    after: Annotated[int, Query(ge=0, le=2**31 - 1, description="Log position to start after.")] = 0,
    last_event_id: Annotated[
        str | None, Header(max_length=64, description="Set by the browser on reconnect: where it was.")
    ] = None,
) -> StreamingResponse:
    """The run live, as Server-Sent Events (what the console's run page follows): `run` with the
    run's detail whenever it changes (the first at once), `log` with each new piece of the followed
    attempt's log (the current one, moving on to the next attempt, unless `attempt` is given),
    `end` once the run has finished and that log is complete. Polled every 0.25 s; a stream ends
    after 5 minutes and the browser reconnects with `Last-Event-ID` (the log position)."""
    start = events.Position.parse(last_event_id) or events.Position(attempt, after)
    workspace = access.workspace
    await run_in_threadpool(_exists, database, workspace, run_id)  # a 404 before the stream opens
    stream = (
        _sse(event, position)
        async for event, position in events.follow(database.reads, workspace, run_id, start)
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _exists(database: Database, workspace: Workspace, run_id: int) -> None:
    with database.reads() as session:
        service.get_run(session, workspace, run_id)


@router.get("/{run_id}/result", operation_id="runs:getResult", responses=errors(404))
def run_result(
    run_id: RunId, access: WorkspaceViewer, db: DbSession, attempt: AttemptQuery = None
) -> RunResultOut:
    """A SQL run's first rows (the full result: `…/result.parquet`)."""
    found = service.result_attempt(db, access.workspace, run_id, attempt)
    rows = found.result_preview or []
    return RunResultOut(
        attempt=found.number,
        columns=[ResultColumn(**c) for c in found.result_columns or []],
        rows=rows,
        total_rows=found.result_rows or 0,
        truncated=len(rows) < (found.result_rows or 0),
        size_bytes=found.result_bytes or 0,
    )


@router.get(
    "/{run_id}/result.parquet",
    operation_id="runs:downloadResult",
    responses={
        200: {"content": {"application/vnd.apache.parquet": {}}, "description": "The full result."},
        **errors(404, 409),
    },
    response_class=StreamingResponse,
)
def download_result(
    run_id: RunId, access: WorkspaceViewer, db: DbSession, request: Request, attempt: AttemptQuery = None
) -> StreamingResponse:
    """The full result of a SQL run as one Parquet file, streamed from the workspace's storage."""
    found = service.result_attempt(db, access.workspace, run_id, attempt)
    settings: Settings = request.app.state.settings
    source = service.open_result(settings, access.workspace, found)

    def chunks() -> Iterator[bytes]:
        with source:
            while chunk := source.read(DOWNLOAD_CHUNK_BYTES):
                yield chunk

    name = f"run-{run_id}-attempt-{found.number}.parquet"
    return StreamingResponse(
        chunks(),
        media_type="application/vnd.apache.parquet",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(found.result_bytes or 0),
        },
    )
