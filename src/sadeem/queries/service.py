"""Saved queries: a workspace's named worksheet queries. Every edit appends an immutable version;
a query is private to its owner until shared with the workspace (workspace admins see every
one); "run as job" turns its current version into a SQL job (through the jobs service, which
validates it) and queues a run (through the runs service).

A query's content is validated exactly as the SQL job it would become: its SQL parses (400 with
line and column), uses only declared parameters, is not something the fenced DuckDB refuses, and
a trino engine names a trino connection of the workspace."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from sadeem.audit import service as audit
from sadeem.auth import service as auth_service
from sadeem.auth.models import User
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.core.clock import utcnow
from sadeem.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from sadeem.core.pagination import PageRequest, keyset_page
from sadeem.db.search import contains_text
from sadeem.db.unique import add_unique
from sadeem.jobs import parameters
from sadeem.jobs import service as jobs
from sadeem.jobs.models import Job
from sadeem.jobs.schemas import JobDefinition, Schedule
from sadeem.queries.models import SavedQuery, SavedQueryJob, SavedQueryTag, SavedQueryVersion
from sadeem.queries.schemas import SavedQueryContent
from sadeem.runs import service as runs
from sadeem.runs.models import RunTrigger
from sadeem.workspaces.access import WorkspaceAccess
from sadeem.workspaces.models import Workspace, WorkspaceRole, WorkspaceStatus

# Statement text kept in an audit event: enough to recognise the query, bounded.
AUDIT_SQL_CHARS = 2000


@dataclass(frozen=True)
class QueryView:
    query: SavedQuery
    owner: str | None
    created_by: str | None
    can_edit: bool
    parameters: list[dict[str, Any]]  # the current version's declarations


def _is_admin(access: WorkspaceAccess) -> bool:
    return access.role.at_least(WorkspaceRole.admin)


def _can_edit(access: WorkspaceAccess, query: SavedQuery) -> bool:
    return _is_admin(access) or query.owner_id == access.principal.user_id


def _views(session: Session, access: WorkspaceAccess, rows: Sequence[SavedQuery]) -> list[QueryView]:
    names = auth_service.usernames(session, {q.owner_id for q in rows} | {q.created_by for q in rows})
    contents: dict[int, dict[str, Any]] = dict(
        session.execute(
            select(SavedQueryVersion.query_id, SavedQueryVersion.content).where(
                SavedQueryVersion.query_id.in_([q.id for q in rows]),
                SavedQueryVersion.version
                == select(SavedQuery.current_version)
                .where(SavedQuery.id == SavedQueryVersion.query_id)
                .scalar_subquery(),
            )
        ).all()
    )
    return [
        QueryView(
            q,
            names.get(q.owner_id),
            names.get(q.created_by),
            _can_edit(access, q),
            list(contents[q.id]["parameters"]),
        )
        for q in rows
    ]


def view(session: Session, access: WorkspaceAccess, query: SavedQuery) -> QueryView:
    (found,) = _views(session, access, [query])
    return found


def canonical(content: SavedQueryContent) -> dict[str, Any]:
    """What a version stores; tags as a set (sorted, no duplicates), like datasets keep them."""
    value = content.model_dump(mode="json", include=set(SavedQueryContent.model_fields))
    value["tags"] = sorted(set(value["tags"]))
    return value


def content_of(version: SavedQueryVersion) -> SavedQueryContent:
    return SavedQueryContent.model_validate(version.content)


def job_definition(
    content: SavedQueryContent,
    schedule: Schedule | None = None,
    base: JobDefinition | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> JobDefinition:
    """The SQL job a query's content makes: `base` (an existing job's definition: its retry
    policy, timeout, notifications...) with the query's task, parameters and description; each
    parameter named in `defaults` gets that value as its default."""
    values: dict[str, Any] = base.model_dump(mode="json") if base is not None else {}
    given = defaults or {}
    values.update(
        description=content.description,
        task={"type": "sql", "engine": content.engine, "connection": content.connection, "sql": content.sql},
        parameters=[
            {**p.model_dump(mode="json"), **({"default": given[p.name]} if p.name in given else {})}
            for p in content.parameters
        ],
    )
    if schedule is not None:
        values["schedule"] = schedule.model_dump(mode="json")
    return JobDefinition.model_validate(values)


def validate_content(
    session: Session, settings: Settings, workspace: Workspace, content: SavedQueryContent
) -> None:
    """The rules of the SQL job the query would become (jobs.validate_definition): syntax with
    line and column, declared parameters, the DuckDB fence, the engine's connection."""
    jobs.validate_definition(session, settings, workspace, job_definition(content))


def _writable(workspace: Workspace) -> None:
    # Saving queries needs only the viewer role, whose dependency does not refuse archived workspaces.
    if workspace.status is WorkspaceStatus.archived:
        raise Conflict(f"Workspace '{workspace.slug}' is archived; unarchive it to make changes.")


def _audit(session: Session, actor: Actor, workspace: Workspace, query: SavedQuery, **details: Any) -> None:
    audit.record(
        session,
        actor,
        target_type="saved_query",
        target_id=query.name,
        workspace=workspace.slug,
        details=details,
    )


def _sql_details(sql: str) -> dict[str, Any]:
    return {"sql": sql[:AUDIT_SQL_CHARS], "sql_chars": len(sql), "sql_truncated": len(sql) > AUDIT_SQL_CHARS}


def _apply(query: SavedQuery, content: dict[str, Any]) -> None:
    """Copy a version's content onto the query row (what list and search read)."""
    query.description = content["description"]
    query.sql = content["sql"]
    query.engine = content["engine"]
    query.connection = content["connection"]
    wanted = set(content["tags"])
    query.tag_rows = [row for row in query.tag_rows if row.tag in wanted] + [
        SavedQueryTag(tag=tag) for tag in sorted(wanted - set(query.tags))
    ]
    query.tag_rows.sort(key=lambda row: row.tag)


@dataclass(frozen=True)
class QueryFilters:
    text: str | None = None
    tag: str | None = None
    owner: str | None = None  # a username, or "me"
    shared: bool | None = None


def _visible(stmt: Select[Any], access: WorkspaceAccess) -> Select[Any]:
    if _is_admin(access):
        return stmt
    return stmt.where(or_(SavedQuery.owner_id == access.principal.user_id, SavedQuery.shared.is_(True)))


def list_queries(
    session: Session, access: WorkspaceAccess, filters: QueryFilters, page: PageRequest
) -> tuple[list[QueryView], str | None]:
    """Creation order; what the caller may see only. `text` matches part of the name, the
    description or the SQL, case-insensitively."""
    stmt = _visible(select(SavedQuery).where(SavedQuery.workspace_id == access.workspace.id), access)
    if filters.text:
        stmt = stmt.where(
            contains_text(filters.text, SavedQuery.name, SavedQuery.description, SavedQuery.sql)
        )
    if filters.tag is not None:
        stmt = stmt.where(
            SavedQuery.id.in_(select(SavedQueryTag.query_id).where(SavedQueryTag.tag == filters.tag))
        )
    if filters.owner == "me":
        stmt = stmt.where(SavedQuery.owner_id == access.principal.user_id)
    elif filters.owner is not None:
        stmt = stmt.where(
            SavedQuery.owner_id == select(User.id).where(User.username == filters.owner).scalar_subquery()
        )
    if filters.shared is not None:
        stmt = stmt.where(SavedQuery.shared.is_(filters.shared))
    rows, cursor = keyset_page(session, stmt, SavedQuery.id, page)
    return _views(session, access, rows), cursor


def get_query(
    session: Session, access: WorkspaceAccess, name: str, *, for_update: bool = False
) -> SavedQuery:
    """The query, if the caller may see it; a query they may not see is as absent as a missing one."""
    stmt = _visible(
        select(SavedQuery).where(SavedQuery.workspace_id == access.workspace.id, SavedQuery.name == name),
        access,
    )
    found = session.scalar(stmt.with_for_update() if for_update else stmt)
    if found is None:
        raise NotFound(f"No saved query '{name}' in workspace '{access.workspace.slug}'.")
    return found


def _editable(session: Session, access: WorkspaceAccess, name: str) -> SavedQuery:
    query = get_query(session, access, name, for_update=True)
    if not _can_edit(access, query):
        raise PermissionDenied(
            f"Only the owner of saved query '{name}' or a workspace admin may change or delete it."
        )
    _writable(access.workspace)
    return query


def get_version(session: Session, query: SavedQuery, version: int) -> SavedQueryVersion:
    found = session.scalar(
        select(SavedQueryVersion).where(
            SavedQueryVersion.query_id == query.id, SavedQueryVersion.version == version
        )
    )
    if found is None:
        raise NotFound(
            f"Saved query '{query.name}' has no version {version}; its latest is {query.current_version}."
        )
    return found


def create_query(
    session: Session,
    actor: Actor,
    settings: Settings,
    access: WorkspaceAccess,
    name: str,
    shared: bool,
    content: SavedQueryContent,
) -> QueryView:
    workspace, user_id = access.workspace, access.principal.user_id
    _writable(workspace)
    validate_content(session, settings, workspace, content)
    exists = f"Workspace '{workspace.slug}' already has a saved query '{name}'."
    # Existence is a conflict even for a private query of someone else: names are per workspace.
    if (
        session.scalar(
            select(SavedQuery.id).where(SavedQuery.workspace_id == workspace.id, SavedQuery.name == name)
        )
        is not None
    ):
        raise Conflict(exists)
    value = canonical(content)
    query = SavedQuery(
        workspace_id=workspace.id,
        name=name,
        owner_id=user_id,
        shared=shared,
        current_version=1,
        created_by=user_id,
        tag_rows=[],
    )
    _apply(query, value)
    add_unique(session, query, exists)
    session.add(SavedQueryVersion(query_id=query.id, version=1, content=value, created_by=user_id))
    _audit(
        session,
        actor,
        workspace,
        query,
        version=1,
        shared=shared,
        engine=content.engine,
        connection=content.connection,
        tags=value["tags"],
        **_sql_details(content.sql),
    )
    return view(session, access, query)


def update_query(
    session: Session,
    actor: Actor,
    settings: Settings,
    access: WorkspaceAccess,
    name: str,
    content: SavedQueryContent,
    message: str,
) -> QueryView:
    """A new version when the content changed; an identical content changes nothing."""
    query = _editable(session, access, name)
    validate_content(session, settings, access.workspace, content)
    value = canonical(content)
    if get_version(session, query, query.current_version).content == value:
        return view(session, access, query)
    query.current_version += 1
    session.add(
        SavedQueryVersion(
            query_id=query.id,
            version=query.current_version,
            content=value,
            message=message,
            created_by=access.principal.user_id,
        )
    )
    _apply(query, value)
    query.updated_at = utcnow()
    _audit(
        session,
        actor,
        access.workspace,
        query,
        version=query.current_version,
        message=message,
        engine=content.engine,
        connection=content.connection,
        tags=value["tags"],
        **_sql_details(content.sql),
    )
    return view(session, access, query)


def set_shared(session: Session, actor: Actor, access: WorkspaceAccess, name: str, shared: bool) -> QueryView:
    """Share with the workspace, or make private again: the owner's decision only."""
    query = get_query(session, access, name, for_update=True)
    if query.owner_id != access.principal.user_id:
        raise PermissionDenied(f"Only the owner of saved query '{name}' may share it or make it private.")
    _writable(access.workspace)
    if query.shared == shared:
        return view(session, access, query)
    query.shared = shared
    query.updated_at = utcnow()
    _audit(session, actor, access.workspace, query, shared=shared)
    return view(session, access, query)


def delete_query(session: Session, actor: Actor, access: WorkspaceAccess, name: str) -> None:
    """Deletes its versions too; jobs made from it stay (they only lose the link)."""
    query = _editable(session, access, name)
    _audit(session, actor, access.workspace, query, version=query.current_version)
    session.delete(query)


def list_versions(
    session: Session, query: SavedQuery, page: PageRequest
) -> tuple[list[tuple[SavedQueryVersion, str | None]], str | None]:
    """Newest first."""
    rows, cursor = keyset_page(
        session,
        select(SavedQueryVersion).where(SavedQueryVersion.query_id == query.id),
        SavedQueryVersion.version,
        page,
        descending=True,
    )
    names = auth_service.usernames(session, {v.created_by for v in rows})
    return [(v, names.get(v.created_by)) for v in rows], cursor


@dataclass(frozen=True)
class RunAsJobResult:
    job: jobs.JobView
    job_created: bool
    query_version: int
    run: runs.RunView | None


def run_as_job(
    session: Session,
    actor: Actor,
    settings: Settings,
    access: WorkspaceAccess,
    name: str,
    *,
    job_name: str | None,
    schedule: Schedule | None,
    given_parameters: dict[str, Any],
    submit: bool,
    message: str,
) -> RunAsJobResult:
    """The query's current version as a SQL job named `job_name` (default: the query's name),
    created, or, when that job was made from this query before, updated (a new job version when
    anything changed); then, with `submit`, a run of it (of the current version, which runs as its
    run-as user: the caller, when the caller's update made that version). A job with a schedule
    takes the given parameter values as its parameters' defaults, so its scheduled runs use them.

    Everything that can be refused is checked before anything is written: the job definition
    (jobs.validate_definition), the run's parameter values, and a job of that name that was not
    made from this query (409). The job (written by the jobs service, with its audit event), the
    link, the run and this query's audit event are one unit of work: all of them or none."""
    query = get_query(session, access, name)
    workspace, principal = access.workspace, access.principal
    target = job_name or query.name
    query_version = query.current_version
    content = content_of(get_version(session, query, query_version))
    existing = session.scalar(select(Job).where(Job.workspace_id == workspace.id, Job.name == target))
    if existing is not None:
        linked = session.scalar(
            select(SavedQueryJob.job_id).where(
                SavedQueryJob.job_id == existing.id, SavedQueryJob.query_id == query.id
            )
        )
        if linked is None:
            raise Conflict(
                f"Workspace '{workspace.slug}' already has a job '{target}' that was not made from "
                f"saved query '{name}'; choose another `job_name`."
            )
        base: JobDefinition | None = jobs.definition_of(
            jobs.get_version(session, existing, existing.current_version)
        )
    else:
        base = None
    definition = job_definition(content, schedule, base)
    if given_parameters and definition.schedule is not None:
        parameters.resolve(definition.parameters, given_parameters)  # a bad value: 400, nothing written
        definition = job_definition(content, schedule, base, defaults=given_parameters)
    jobs.validate_definition(session, settings, workspace, definition)
    if submit:
        parameters.resolve(definition.parameters, given_parameters)  # a bad value: 400, nothing written
    elif given_parameters and definition.schedule is None:
        raise InvalidInput(
            "`parameters` are values for the run (or, for a scheduled job, its defaults); with "
            "`submit: false` and no schedule there is no run."
        )

    update_message = message or f"From saved query '{name}' version {query_version}"
    if existing is None:
        job_view = jobs.create_job(
            session, actor, settings, principal, workspace, target, definition, role=access.role
        )
        session.add(SavedQueryJob(job_id=job_view.job.id, query_id=query.id))
        job_changed = True
    else:
        version_before = existing.current_version
        job_view = jobs.update_job(
            session,
            actor,
            settings,
            principal,
            workspace,
            target,
            definition,
            update_message,
            role=access.role,
        )
        job_changed = job_view.job.current_version != version_before
    job = job_view.job
    run = None
    if submit:
        run = runs.new_run(
            session,
            actor,
            workspace,
            job,
            version=job.current_version,
            triggered_by=principal.user_id,
            given_parameters=given_parameters,
            trigger=RunTrigger.manual,
        )
    if job_changed or run is not None:
        _audit(
            session,
            actor,
            workspace,
            query,
            query_version=query_version,
            job=target,
            job_created=existing is None,
            job_version=job.current_version,
            run_id=run.id if run is not None else None,
        )
    return RunAsJobResult(
        job=jobs.view(session, job),
        job_created=existing is None,
        query_version=query_version,
        run=runs.view(session, run) if run is not None else None,
    )
