from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from sadeem.api.context import Ctx
from sadeem.api.pagination import PageParams
from sadeem.api.responses import errors
from sadeem.audit.middleware import unaudited_when_unchanged
from sadeem.auth.permissions import CurrentUser, WorkspaceEditor, WorkspaceViewer
from sadeem.config import Settings
from sadeem.core.clock import utcnow
from sadeem.core.pagination import Page
from sadeem.db.session import DbSession, UnitOfWorkRoute
from sadeem.jobs import service, slots
from sadeem.jobs.schemas import (
    FieldChange,
    JobCreate,
    JobDefinition,
    JobOut,
    JobUpdate,
    JobVersionDiff,
    JobVersionOut,
    Repair,
    Rollback,
    RunSubmit,
    Schedule,
    SchedulePreview,
)
from sadeem.runs import service as runs
from sadeem.runs.routes import run_out
from sadeem.runs.schemas import RunOut, RunSubmitted

# Tagged per route: submitting and repairing runs of a job are operations on runs.
router = APIRouter(prefix="/api/v1/workspaces/{workspace}/jobs", route_class=UnitOfWorkRoute)

# Outside any workspace: a schedule's fire times depend on nothing but the cron and the zone.
schedule_router = APIRouter(prefix="/api/v1/schedule-preview", route_class=UnitOfWorkRoute)

JobParam = Annotated[str, Path(max_length=100, description="The job's name.")]
VersionParam = Annotated[int, Path(ge=1, le=2**31 - 1, description="A version number.")]


def job_out(view: service.JobView) -> JobOut:
    job = view.job
    return JobOut(
        name=job.name,
        current_version=job.current_version,
        definition=view.definition,
        paused=job.paused,
        next_fire_at=job.next_fire_at,
        author=view.author,
        run_as=view.run_as,
        created_by=view.created_by,
        created_at=job.created_at,
        updated_at=job.updated_at,
    )


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _definition(body: JobDefinition) -> JobDefinition:
    return JobDefinition.model_validate(body.model_dump(include=set(JobDefinition.model_fields)))


@router.post(
    "",
    operation_id="jobs:create",
    tags=["jobs"],
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 409),
)
def create_job(body: JobCreate, access: WorkspaceEditor, db: DbSession, ctx: Ctx, request: Request) -> JobOut:
    """Create a job (version 1), whose runs act as you (or `run_as`, if you are a workspace admin).
    SQL is checked (syntax with line and column, parameters), and so are the schedule, the engine's
    connection and a local Spark program's file."""
    view = service.create_job(
        db,
        ctx.actor,
        _settings(request),
        access.principal,
        access.workspace,
        body.name,
        _definition(body),
        run_as=body.run_as,
        role=access.role,
    )
    return job_out(view)


@router.get("", operation_id="jobs:list", tags=["jobs"])
def list_jobs(
    access: WorkspaceViewer,
    db: DbSession,
    page: PageParams,
    q: Annotated[str | None, Query(max_length=100, description="Part of the job's name.")] = None,
) -> Page[JobOut]:
    views, cursor = service.list_jobs(db, access.workspace, q, page)
    return Page(items=[job_out(v) for v in views], next_cursor=cursor)


@router.get("/{job}", operation_id="jobs:get", tags=["jobs"], responses=errors(404))
def get_job(job: JobParam, access: WorkspaceViewer, db: DbSession) -> JobOut:
    return job_out(service.view(db, service.get_job(db, access.workspace, job)))


@router.put("/{job}", operation_id="jobs:update", tags=["jobs"], responses=errors(400, 404))
@unaudited_when_unchanged
def update_job(
    job: JobParam, body: JobUpdate, access: WorkspaceEditor, db: DbSession, ctx: Ctx, request: Request
) -> JobOut:
    """Save a new version (the whole definition), whose runs act as you (or `run_as`, if you are a
    workspace admin) — never as an earlier version's user. An identical definition makes no new
    version."""
    view = service.update_job(
        db,
        ctx.actor,
        _settings(request),
        access.principal,
        access.workspace,
        job,
        _definition(body),
        body.message,
        run_as=body.run_as,
        role=access.role,
    )
    return job_out(view)


@router.delete(
    "/{job}",
    operation_id="jobs:delete",
    tags=["jobs"],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(404, 409),
)
def delete_job(job: JobParam, access: WorkspaceEditor, db: DbSession, ctx: Ctx) -> None:
    """Delete the job, its versions and its finished runs. Refused while a run is unfinished."""
    runs.delete_job(db, ctx.actor, access.workspace, job)


@router.get("/{job}/versions", operation_id="jobs:listVersions", tags=["jobs"], responses=errors(404))
def list_versions(
    job: JobParam, access: WorkspaceViewer, db: DbSession, page: PageParams
) -> Page[JobVersionOut]:
    """Newest first."""
    rows, cursor = service.list_versions(db, service.get_job(db, access.workspace, job), page)
    return Page(
        items=[
            JobVersionOut(
                version=v.version,
                definition=v.definition,
                message=v.message,
                created_by=by,
                run_as=run_as,
                created_at=v.created_at,
            )
            for v, by, run_as in rows
        ],
        next_cursor=cursor,
    )


@router.get(
    "/{job}/versions/{version}/diff/{other}",
    operation_id="jobs:diffVersions",
    tags=["jobs"],
    responses=errors(404),
)
def diff_versions(
    job: JobParam, version: VersionParam, other: VersionParam, access: WorkspaceViewer, db: DbSession
) -> JobVersionDiff:
    """What changed from `version` to `other`: field by field, and as a unified diff."""
    found = service.get_job(db, access.workspace, job)
    before, after = service.get_version(db, found, version), service.get_version(db, found, other)
    result = service.diff(before, after)
    return JobVersionDiff(
        from_version=version,
        to_version=other,
        changes=[FieldChange(path=p, before=b, after=a) for p, b, a in result.changes],
        unified=result.unified,
    )


@router.post("/{job}/rollback", operation_id="jobs:rollback", tags=["jobs"], responses=errors(400, 404))
def rollback_job(
    job: JobParam, body: Rollback, access: WorkspaceEditor, db: DbSession, ctx: Ctx, request: Request
) -> JobOut:
    """Make an earlier version's definition current again, as a new version that runs as you (or
    `run_as`, if you are a workspace admin)."""
    return job_out(
        service.rollback(
            db,
            ctx.actor,
            _settings(request),
            access.principal,
            access.workspace,
            job,
            body.version,
            body.message,
            run_as=body.run_as,
            role=access.role,
        )
    )


@router.post("/{job}/pause", operation_id="jobs:pause", tags=["jobs"], responses=errors(400, 404))
@unaudited_when_unchanged
def pause_job(job: JobParam, access: WorkspaceEditor, db: DbSession, ctx: Ctx) -> JobOut:
    """Stop firing the schedule (runs already queued are not touched)."""
    return job_out(service.set_paused(db, ctx.actor, access.workspace, job, True))


@router.post("/{job}/resume", operation_id="jobs:resume", tags=["jobs"], responses=errors(400, 404))
@unaudited_when_unchanged
def resume_job(job: JobParam, access: WorkspaceEditor, db: DbSession, ctx: Ctx) -> JobOut:
    """Fire the schedule again from the next slot after now (paused slots are not caught up)."""
    return job_out(service.set_paused(db, ctx.actor, access.workspace, job, False))


@router.post(
    "/{job}/runs",
    operation_id="runs:submit",
    tags=["runs"],
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": RunSubmitted, "description": "The run this idempotency key already submitted."},
        **errors(400, 404),
    },
)
@unaudited_when_unchanged
def submit_run(
    job: JobParam, body: RunSubmit, access: WorkspaceEditor, db: DbSession, ctx: Ctx, response: Response
) -> RunSubmitted:
    """Queue a run (of the current version, or `version`), with parameters checked against their
    types. It acts as the version's `run_as` user (its author unless an admin named another), not
    as the caller: a job behaves the same however it is started, and whoever clicks "run" lends it
    no rights of their own. With `idempotency_key`, repeating the call returns the same run (200)."""
    view, created = runs.submit(
        db,
        ctx.actor,
        access.principal,
        access.workspace,
        job,
        body.version,
        body.parameters,
        body.idempotency_key,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return RunSubmitted(**run_out(view).model_dump(), created=created)


@router.post("/{job}/repair", operation_id="runs:repair", tags=["runs"], responses=errors(404))
@unaudited_when_unchanged
def repair_job(job: JobParam, body: Repair, access: WorkspaceEditor, db: DbSession, ctx: Ctx) -> list[RunOut]:
    """Rerun failed: every FAILED or TIMED_OUT run of the job (since `since`) gets a new attempt,
    with its own version and parameters."""
    return [run_out(v) for v in runs.repair(db, ctx.actor, access.workspace, job, body.since)]


@schedule_router.get("", operation_id="jobs:previewSchedule", tags=["jobs"], responses=errors(400))
def preview_schedule(
    _: CurrentUser,
    cron: Annotated[str, Query(min_length=1, max_length=120, description="Five-field cron.")],
    timezone: Annotated[str, Query(min_length=1, max_length=64, description="IANA time zone.")] = "UTC",
    count: Annotated[int, Query(ge=1, le=50, description="How many fire times.")] = 5,
) -> SchedulePreview:
    """The next fire times of a schedule (what the scheduler would fire), in its own time zone:
    for a schedule editor to show before saving. A bad cron or zone is a 400 naming it."""
    schedule = Schedule.model_construct(cron=cron, timezone=timezone, catch_up="skip")
    return SchedulePreview(cron=cron, timezone=timezone, fire_times=slots.upcoming(schedule, utcnow(), count))
