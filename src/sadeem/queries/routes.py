from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from sadeem.api.context import Ctx
from sadeem.api.pagination import PageParams
from sadeem.api.responses import errors
from sadeem.audit.middleware import unaudited_when_unchanged
from sadeem.auth import service as auth_service
from sadeem.auth.permissions import WorkspaceEditor, WorkspaceViewer
from sadeem.config import Settings
from sadeem.core.pagination import Page
from sadeem.datasets.schemas import OwnerQuery, TagQuery
from sadeem.db.session import DbSession, UnitOfWorkRoute
from sadeem.jobs.routes import job_out
from sadeem.queries import service
from sadeem.queries.schemas import (
    RunAsJob,
    RunAsJobOut,
    SavedQueryContent,
    SavedQueryCreate,
    SavedQueryOut,
    SavedQueryUpdate,
    SavedQueryVersionOut,
)
from sadeem.runs.routes import run_out

router = APIRouter(
    prefix="/api/v1/workspaces/{workspace}/queries", tags=["queries"], route_class=UnitOfWorkRoute
)

QueryParam = Annotated[str, Path(max_length=100, description="The saved query's name.")]
VersionParam = Annotated[int, Path(ge=1, le=2**31 - 1, description="A version number.")]


def _out(found: service.QueryView) -> SavedQueryOut:
    query = found.query
    return SavedQueryOut(
        name=query.name,
        owner=found.owner,
        shared=query.shared,
        current_version=query.current_version,
        description=query.description,
        tags=query.tags,
        sql=query.sql,
        engine=query.engine,
        connection=query.connection,
        parameters=found.parameters,
        can_edit=found.can_edit,
        created_by=found.created_by,
        created_at=query.created_at,
        updated_at=query.updated_at,
    )


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _content(body: SavedQueryContent) -> SavedQueryContent:
    return SavedQueryContent.model_validate(body.model_dump(include=set(SavedQueryContent.model_fields)))


@router.post(
    "", operation_id="queries:create", status_code=status.HTTP_201_CREATED, responses=errors(400, 409)
)
def create_query(
    body: SavedQueryCreate, access: WorkspaceViewer, db: DbSession, ctx: Ctx, request: Request
) -> SavedQueryOut:
    """Save a query (version 1), private to you unless `shared`. Any member may save queries. The
    SQL is checked as a SQL job's would be: syntax (with line and column), declared parameters,
    and the engine's connection."""
    found = service.create_query(
        db, ctx.actor, _settings(request), access, body.name, body.shared, _content(body)
    )
    return _out(found)


@router.get("", operation_id="queries:list")
def list_queries(
    access: WorkspaceViewer,
    db: DbSession,
    page: PageParams,
    q: Annotated[
        str | None, Query(max_length=100, description="Part of the name, description or SQL (any case).")
    ] = None,
    tag: Annotated[TagQuery | None, Query(description="Only queries with this tag.")] = None,
    owner: Annotated[
        OwnerQuery | None, Query(description="Only queries owned by this user; `me` for your own.")
    ] = None,
    shared: Annotated[bool | None, Query(description="Only shared (true) or private (false) ones.")] = None,
) -> Page[SavedQueryOut]:
    """The saved queries you may see: your own, the shared ones, and (workspace admins) all."""
    views, cursor = service.list_queries(
        db, access, service.QueryFilters(text=q, tag=tag, owner=owner, shared=shared), page
    )
    return Page(items=[_out(v) for v in views], next_cursor=cursor)


@router.get("/{query}", operation_id="queries:get", responses=errors(404))
def get_query(query: QueryParam, access: WorkspaceViewer, db: DbSession) -> SavedQueryOut:
    return _out(service.view(db, access, service.get_query(db, access, query)))


@router.put("/{query}", operation_id="queries:update", responses=errors(400, 404, 409))
@unaudited_when_unchanged
def update_query(
    query: QueryParam,
    body: SavedQueryUpdate,
    access: WorkspaceViewer,
    db: DbSession,
    ctx: Ctx,
    request: Request,
) -> SavedQueryOut:
    """Save a new version (the whole content); its owner or a workspace admin only. An identical
    content makes no new version."""
    found = service.update_query(
        db, ctx.actor, _settings(request), access, query, _content(body), body.message
    )
    return _out(found)


@router.delete(
    "/{query}",
    operation_id="queries:delete",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(404, 409),
)
def delete_query(query: QueryParam, access: WorkspaceViewer, db: DbSession, ctx: Ctx) -> None:
    """Delete the query and its versions; its owner or a workspace admin only. Jobs made from it
    are kept."""
    service.delete_query(db, ctx.actor, access, query)


@router.post("/{query}/share", operation_id="queries:share", responses=errors(404, 409))
@unaudited_when_unchanged
def share_query(query: QueryParam, access: WorkspaceViewer, db: DbSession, ctx: Ctx) -> SavedQueryOut:
    """Make it visible to every member of the workspace; its owner only."""
    return _out(service.set_shared(db, ctx.actor, access, query, True))


@router.post("/{query}/unshare", operation_id="queries:unshare", responses=errors(404, 409))
@unaudited_when_unchanged
def unshare_query(query: QueryParam, access: WorkspaceViewer, db: DbSession, ctx: Ctx) -> SavedQueryOut:
    """Make it private to its owner again (workspace admins still see it); its owner only."""
    return _out(service.set_shared(db, ctx.actor, access, query, False))


@router.get("/{query}/versions", operation_id="queries:listVersions", responses=errors(404))
def list_versions(
    query: QueryParam, access: WorkspaceViewer, db: DbSession, page: PageParams
) -> Page[SavedQueryVersionOut]:
    """Newest first."""
    rows, cursor = service.list_versions(db, service.get_query(db, access, query), page)
    return Page(
        items=[
            SavedQueryVersionOut(
                version=v.version,
                content=v.content,
                message=v.message,
                created_by=by,
                created_at=v.created_at,
            )
            for v, by in rows
        ],
        next_cursor=cursor,
    )


@router.get("/{query}/versions/{version}", operation_id="queries:getVersion", responses=errors(404))
def get_version(
    query: QueryParam, version: VersionParam, access: WorkspaceViewer, db: DbSession
) -> SavedQueryVersionOut:
    found = service.get_query(db, access, query)
    v = service.get_version(db, found, version)
    names = auth_service.usernames(db, {v.created_by})
    return SavedQueryVersionOut(
        version=v.version,
        content=v.content,
        message=v.message,
        created_by=names.get(v.created_by),
        created_at=v.created_at,
    )


@router.post(
    "/{query}/run-as-job",
    operation_id="queries:runAsJob",
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 404, 409),
)
@unaudited_when_unchanged
def run_as_job(
    query: QueryParam, body: RunAsJob, access: WorkspaceEditor, db: DbSession, ctx: Ctx, request: Request
) -> RunAsJobOut:
    """In one call: the query's current version as a SQL job (created, or — when that job was made
    from this query before — updated to a new version), and with `submit` (the default) a run of
    it as you. A job of that name not made from this query is a 409."""
    result = service.run_as_job(
        db,
        ctx.actor,
        _settings(request),
        access,
        query,
        job_name=body.job_name,
        schedule=body.schedule,
        given_parameters=body.parameters,
        submit=body.submit,
        message=body.message,
    )
    return RunAsJobOut(
        job=job_out(result.job),
        job_created=result.job_created,
        query_version=result.query_version,
        run=run_out(result.run) if result.run is not None else None,
    )
