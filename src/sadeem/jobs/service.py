"""Jobs: versioned definitions. Every edit (and a rollback) appends an immutable version; runs
name the version they execute.

Run identity: a version's runs act as its `run_as` user — its author, unless a workspace admin
named someone else (Databricks' "run as"). An editor can name only themself, so editing a job
never borrows another user's rights: an editor's new version of an admin's job runs as the
editor, scheduled or manual, and the catalog allows it what the editor may do, no more."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sadeem.audit import service as audit
from sadeem.auth import service as auth_service
from sadeem.auth.models import PlatformRole, User
from sadeem.auth.principal import Principal
from sadeem.config import Settings
from sadeem.connections.models import Connection
from sadeem.core.actor import Actor
from sadeem.core.clock import utcnow
from sadeem.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from sadeem.core.pagination import PageRequest, keyset_page
from sadeem.db.search import contains_text
from sadeem.db.unique import add_unique
from sadeem.engines import registry, sql_text
from sadeem.engines.spec import EngineSpec
from sadeem.jobs import parameters, slots
from sadeem.jobs.models import Job, JobVersion
from sadeem.jobs.schemas import JobDefinition, NotificationEvent, SparkTaskSpec, SqlTaskSpec
from sadeem.workspaces.models import Membership, Workspace, WorkspaceRole
from sadeem.workspaces.provisioning import NAMED_BLOCKERS, DeletionBlocker, register_blocker

_SPARK_CONF_KEY = re.compile(r"spark\.[A-Za-z0-9._-]+")


@dataclass(frozen=True)
class JobView:
    job: Job
    definition: dict[str, Any]  # of the current version, as are `author` and `run_as`
    author: str | None
    run_as: str
    created_by: str | None


def _views(session: Session, jobs: Sequence[Job]) -> list[JobView]:
    current = {
        v.job_id: v
        for v in session.scalars(
            select(JobVersion).where(
                JobVersion.job_id.in_([j.id for j in jobs]),
                JobVersion.version
                == select(Job.current_version).where(Job.id == JobVersion.job_id).scalar_subquery(),
            )
        )
    }
    ids: set[int | None] = {j.created_by for j in jobs}
    ids |= {v.created_by for v in current.values()} | {v.run_as_id for v in current.values()}
    names = auth_service.usernames(session, ids)
    return [
        JobView(
            j,
            current[j.id].definition,
            names.get(current[j.id].created_by),
            names[current[j.id].run_as_id],
            names.get(j.created_by),
        )
        for j in jobs
    ]


def view(session: Session, job: Job) -> JobView:
    (found,) = _views(session, [job])
    return found


def _canonical(definition: JobDefinition) -> dict[str, Any]:
    return definition.model_dump(mode="json")


def validate_definition(
    session: Session, settings: Settings, workspace: Workspace, definition: JobDefinition
) -> None:
    """Everything knowable before a run: SQL syntax and parameter use, cron and time zone,
    parameter defaults, the engine's connection, a local Spark program's file."""
    engine = enabled_engine(settings, definition.task.engine)
    parameters.check_declarations(definition.parameters)
    declared = {p.name for p in definition.parameters}
    task = definition.task
    if isinstance(task, SqlTaskSpec):
        sql_text.check_job_sql(task.sql, declared)
        if engine.validate is not None:
            for statement in sql_text.parse_statements(task.sql):
                engine.validate(statement)
    else:
        _check_spark_task(engine, task, declared)
    check_engine_connection(session, workspace, task.engine, task.connection)
    if definition.schedule is not None:
        slots.validate(definition.schedule)
        # Scheduled runs are given no values: a run the scheduler cannot make would fail its pass.
        without_default = [p.name for p in definition.parameters if p.default is None]
        if without_default:
            raise InvalidInput(
                "Scheduled runs are given no parameter values; declare a default for: "
                f"{', '.join(without_default)}."
            )
    for notification in definition.notifications:
        if (NotificationEvent.duration_exceeded in notification.on) != (
            notification.duration_threshold_seconds is not None
        ):
            raise InvalidInput(
                "A notification's `duration_threshold_seconds` goes with the `duration_exceeded` event, "
                "and only with it."
            )


def enabled_engine(settings: Settings, engine: str) -> EngineSpec:
    """The engine's spec, unless this server switched the engine off."""
    spec = registry.spec_of(engine)
    if not spec.enabled(settings):
        raise InvalidInput(spec.disabled_reason)
    return spec


def check_engine_connection(
    session: Session, workspace: Workspace, engine: str, connection: str | None
) -> None:
    """The engine's connection exists in the workspace and is of the type the engine needs."""
    spec = registry.spec_of(engine)
    kind = spec.connection
    if kind is None:
        if connection is not None:
            raise InvalidInput(f"Engine '{engine}' is embedded and takes no connection.")
        return
    if connection is None:
        if spec.connection_required:
            raise InvalidInput(f"Engine '{engine}' needs `connection`: the name of a '{kind}' connection.")
        return
    found = session.scalar(
        select(Connection.type).where(Connection.workspace_id == workspace.id, Connection.name == connection)
    )
    if found is None:
        raise InvalidInput(f"No connection '{connection}' in workspace '{workspace.slug}'.")
    if found != kind:
        raise InvalidInput(
            f"Connection '{connection}' is a '{found}' connection; engine '{engine}' needs '{kind}'."
        )


def _check_spark_task(engine: EngineSpec, task: SparkTaskSpec, declared: set[str]) -> None:
    # Rules across fields are checked here, not in the schema, so breaking one is a 400 that says
    # which rule (a 422 is for a body that does not match the schema).
    if (task.source is None) == (task.file is None):
        raise InvalidInput("A Spark task gives exactly one of `source` (the program text) and `file`.")
    if task.kind == "jar" and (task.file is None or task.main_class is None):
        raise InvalidInput("A jar task needs `file` (the jar) and `main_class`.")
    if task.kind != "jar" and task.main_class is not None:
        raise InvalidInput("`main_class` is for jar tasks only.")
    not_spark = sorted(key for key in task.conf if not _SPARK_CONF_KEY.fullmatch(key))
    if not_spark:
        raise InvalidInput(
            f"Spark conf keys are `spark.*` properties; these are not: {', '.join(not_spark)}."
        )
    undeclared = sorted(parameters.arg_names(task.args) - declared)
    if undeclared:
        raise InvalidInput(f"Spark args use undeclared parameters: {', '.join(undeclared)}.")
    # Spark SQL is checked by Spark's own parser when it runs (Trino's would refuse `USING iceberg`).
    if task.kind == "sql" and task.args:
        raise InvalidInput("A Spark SQL task takes no args; use `:name` parameters in the SQL.")
    if task.file is not None and engine.check_program_file is not None:
        engine.check_program_file(task.file)


def list_jobs(
    session: Session, workspace: Workspace, text: str | None, page: PageRequest
) -> tuple[list[JobView], str | None]:
    stmt = select(Job).where(Job.workspace_id == workspace.id)
    if text:
        stmt = stmt.where(contains_text(text, Job.name))
    rows, cursor = keyset_page(session, stmt, Job.id, page)
    return _views(session, rows), cursor


def jobs_by_connection(session: Session, workspace: Workspace) -> dict[str, list[str]]:
    """The workspace's jobs whose current version names each connection, by connection name."""
    rows = session.execute(
        select(Job.name, JobVersion.definition)
        .join(JobVersion, (JobVersion.job_id == Job.id) & (JobVersion.version == Job.current_version))
        .where(Job.workspace_id == workspace.id)
        .order_by(Job.name)
    ).all()
    users: dict[str, list[str]] = {}
    for job, definition in rows:
        task = definition.get("task") if isinstance(definition, dict) else None
        connection = task.get("connection") if isinstance(task, dict) else None
        if isinstance(connection, str):
            users.setdefault(connection, []).append(job)
    return users


def get_job(session: Session, workspace: Workspace, name: str, *, for_update: bool = False) -> Job:
    stmt = select(Job).where(Job.workspace_id == workspace.id, Job.name == name)
    found = session.scalar(stmt.with_for_update() if for_update else stmt)
    if found is None:
        raise NotFound(f"No job '{name}' in workspace '{workspace.slug}'.")
    return found


def get_version(session: Session, job: Job, version: int) -> JobVersion:
    found = session.scalar(
        select(JobVersion).where(JobVersion.job_id == job.id, JobVersion.version == version)
    )
    if found is None:
        raise NotFound(f"Job '{job.name}' has no version {version}; its latest is {job.current_version}.")
    return found


def definition_of(version: JobVersion) -> JobDefinition:
    return JobDefinition.model_validate(version.definition)


def _schedule_next(job: Job, definition: JobDefinition) -> None:
    schedule = definition.schedule
    job.next_fire_at = None if schedule is None or job.paused else slots.next_after(schedule, utcnow())


def resolve_run_as(
    session: Session,
    principal: Principal,
    workspace: Workspace,
    role: WorkspaceRole | None,
    run_as: str | None,
) -> int:
    """The user a new version by `principal` runs as: themself unless `run_as` names another, which
    only a workspace admin (`role`; platform admins act as one) may do, and only for an enabled
    member of the workspace or a platform admin — a run as anyone else would fail in the catalog."""
    if run_as is None or run_as == principal.username:
        return principal.user_id
    if role is not WorkspaceRole.admin:
        raise PermissionDenied(
            f"Only a workspace admin may set a job to run as another user; your version runs as you "
            f"('{principal.username}'), not as '{run_as}'."
        )
    user = session.scalar(select(User).where(User.username == run_as))
    if user is None or user.disabled:
        raise InvalidInput(f"`run_as`: no enabled user named '{run_as}'.")
    member = session.scalar(
        select(Membership.user_id).where(
            Membership.workspace_id == workspace.id, Membership.user_id == user.id
        )
    )
    if member is None and user.role is not PlatformRole.admin:
        raise InvalidInput(f"`run_as`: '{run_as}' is not a member of workspace '{workspace.slug}'.")
    return user.id


def _audit(session: Session, actor: Actor, workspace: Workspace, job: Job, **details: Any) -> None:
    audit.record(
        session, actor, target_type="job", target_id=job.name, workspace=workspace.slug, details=details
    )


def create_job(
    session: Session,
    actor: Actor,
    settings: Settings,
    principal: Principal,
    workspace: Workspace,
    name: str,
    definition: JobDefinition,
    *,
    run_as: str | None = None,
    role: WorkspaceRole | None = None,
) -> JobView:
    """`role`: the author's effective role in the workspace, which decides whether `run_as` may
    name someone else (see `resolve_run_as`)."""
    validate_definition(session, settings, workspace, definition)
    run_as_id = resolve_run_as(session, principal, workspace, role, run_as)
    if session.scalar(select(Job.id).where(Job.workspace_id == workspace.id, Job.name == name)) is not None:
        raise Conflict(f"Workspace '{workspace.slug}' already has a job '{name}'.")
    job = Job(workspace_id=workspace.id, name=name, current_version=1, created_by=principal.user_id)
    _schedule_next(job, definition)
    add_unique(session, job, f"Workspace '{workspace.slug}' already has a job '{name}'.")
    session.add(
        JobVersion(
            job_id=job.id,
            version=1,
            definition=_canonical(definition),
            run_as_id=run_as_id,
            created_by=principal.user_id,
        )
    )
    _audit(
        session,
        actor,
        workspace,
        job,
        version=1,
        task_type=definition.task.type,
        engine=definition.task.engine,
        **_identity_details(session, principal, run_as_id),
    )
    return view(session, job)


def _identity_details(session: Session, principal: Principal, run_as_id: int) -> dict[str, Any]:
    """Who wrote a version and as whom it runs, for its audit event."""
    if run_as_id == principal.user_id:
        run_as = principal.username
    else:
        run_as = auth_service.usernames(session, [run_as_id])[run_as_id]
    return {"author": principal.username, "run_as": run_as}


def _append_version(
    session: Session, principal: Principal, job: Job, definition: JobDefinition, message: str, run_as_id: int
) -> int:
    job.current_version += 1
    session.add(
        JobVersion(
            job_id=job.id,
            version=job.current_version,
            definition=_canonical(definition),
            message=message,
            run_as_id=run_as_id,
            created_by=principal.user_id,
        )
    )
    _schedule_next(job, definition)
    job.updated_at = utcnow()
    return job.current_version


def update_job(
    session: Session,
    actor: Actor,
    settings: Settings,
    principal: Principal,
    workspace: Workspace,
    name: str,
    definition: JobDefinition,
    message: str,
    *,
    run_as: str | None = None,
    role: WorkspaceRole | None = None,
) -> JobView:
    """A new version, by `principal` and run as them (or `run_as`, see `create_job`), when the
    definition changed. An identical definition without `run_as`, or with the current version's,
    changes nothing: the current version, and whom it runs as, stay as they are."""
    job = get_job(session, workspace, name, for_update=True)
    validate_definition(session, settings, workspace, definition)
    run_as_id = resolve_run_as(session, principal, workspace, role, run_as)
    current = get_version(session, job, job.current_version)
    if current.definition == _canonical(definition) and (run_as is None or run_as_id == current.run_as_id):
        return view(session, job)
    version = _append_version(session, principal, job, definition, message, run_as_id)
    _audit(
        session,
        actor,
        workspace,
        job,
        version=version,
        message=message,
        **_identity_details(session, principal, run_as_id),
    )
    return view(session, job)


def rollback(
    session: Session,
    actor: Actor,
    settings: Settings,
    principal: Principal,
    workspace: Workspace,
    name: str,
    version: int,
    message: str,
    *,
    run_as: str | None = None,
    role: WorkspaceRole | None = None,
) -> JobView:
    """A new version with the definition of an earlier one (history is never rewritten). Like any
    new version it is `principal`'s and runs as them (or `run_as`), not as the earlier version's
    run-as: rolling back to an admin's version does not bring back the admin's rights."""
    job = get_job(session, workspace, name, for_update=True)
    earlier = definition_of(get_version(session, job, version))
    validate_definition(session, settings, workspace, earlier)  # a connection it names may be gone since
    run_as_id = resolve_run_as(session, principal, workspace, role, run_as)
    new = _append_version(
        session, principal, job, earlier, message or f"Rollback to version {version}", run_as_id
    )
    _audit(
        session,
        actor,
        workspace,
        job,
        version=new,
        rolled_back_to=version,
        **_identity_details(session, principal, run_as_id),
    )
    return view(session, job)


def set_paused(session: Session, actor: Actor, workspace: Workspace, name: str, paused: bool) -> JobView:
    job = get_job(session, workspace, name, for_update=True)
    definition = definition_of(get_version(session, job, job.current_version))
    if definition.schedule is None:
        raise InvalidInput(f"Job '{name}' has no schedule to pause or resume.")
    if job.paused != paused:
        job.paused = paused
        _schedule_next(job, definition)  # resuming starts from now: paused slots are not caught up
        _audit(session, actor, workspace, job, paused=paused)
    return view(session, job)


def delete_job(session: Session, actor: Actor, workspace: Workspace, job: Job) -> None:
    """Delete the job with its versions and runs; `runs.service.delete_job` first makes sure none
    of them is unfinished."""
    _audit(session, actor, workspace, job)
    session.delete(job)


def list_versions(
    session: Session, job: Job, page: PageRequest
) -> tuple[list[tuple[JobVersion, str | None, str]], str | None]:
    """Versions with their author's and their run-as user's names; newest first."""
    rows, cursor = keyset_page(
        session,
        select(JobVersion).where(JobVersion.job_id == job.id),
        JobVersion.version,
        page,
        descending=True,
    )
    names = auth_service.usernames(session, {v.created_by for v in rows} | {v.run_as_id for v in rows})
    return [(v, names.get(v.created_by), names[v.run_as_id]) for v in rows], cursor


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


@dataclass(frozen=True)
class VersionDiff:
    changes: list[tuple[str, Any, Any]]
    unified: str


def diff(before: JobVersion, after: JobVersion) -> VersionDiff:
    old, new = _flatten(before.definition), _flatten(after.definition)
    changes = [
        (path, old.get(path), new.get(path))
        for path in sorted(old.keys() | new.keys())
        if old.get(path) != new.get(path)
    ]
    unified = "".join(
        difflib.unified_diff(
            json.dumps(before.definition, indent=2, sort_keys=True).splitlines(keepends=True),
            json.dumps(after.definition, indent=2, sort_keys=True).splitlines(keepends=True),
            fromfile=f"version {before.version}",
            tofile=f"version {after.version}",
        )
    )
    return VersionDiff(changes, unified)


@register_blocker
def _jobs_blocker(session: Session, workspace: Workspace) -> list[DeletionBlocker]:
    """A workspace with jobs is deleted only with purge (which deletes the jobs and their runs)."""
    count = session.scalar(select(func.count()).select_from(Job).where(Job.workspace_id == workspace.id))
    if not count:
        return []
    names = session.scalars(
        select(Job.name).where(Job.workspace_id == workspace.id).order_by(Job.name).limit(NAMED_BLOCKERS)
    ).all()
    return [DeletionBlocker("jobs", count, f"{count} job(s) and their runs", tuple(names))]
