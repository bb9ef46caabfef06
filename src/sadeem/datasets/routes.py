from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from sadeem.api.context import Ctx
from sadeem.api.pagination import PageParams
from sadeem.api.responses import errors
from sadeem.auth.permissions import WorkspaceEditor, WorkspaceViewer
from sadeem.config import Settings
from sadeem.core.pagination import Page
from sadeem.datasets import service
from sadeem.datasets.schemas import (
    DatasetCreate,
    DatasetDetail,
    DatasetOut,
    DatasetUpdate,
    OwnerQuery,
    TableSummary,
    TagQuery,
)
from sadeem.db.session import DbSession, UnitOfWorkRoute

router = APIRouter(
    prefix="/api/v1/workspaces/{workspace}/datasets", tags=["datasets"], route_class=UnitOfWorkRoute
)

NamespaceParam = Annotated[
    str, Path(max_length=255, description="The table's full namespace, dotted (`alpha.sales`).")
]
TableParam = Annotated[str, Path(max_length=255, description="The table's name.")]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _out(view: service.DatasetView) -> DatasetOut:
    d = view.dataset
    return DatasetOut(
        namespace=d.namespace,
        table=d.table_name,
        identifier=d.identifier,
        owner=view.owner,
        description=d.description,
        tags=d.tags,
        created_by=view.created_by,
        created_at=d.created_at,
        updated_at=d.updated_at,
    )


def _summary(state: service.TableState | None) -> TableSummary | None:
    if state is None:
        return None
    snapshot = state.current_snapshot_id
    return TableSummary(
        row_count=state.row_count,
        total_size_bytes=state.total_size_bytes,
        current_snapshot_id=None if snapshot is None else str(snapshot),
        last_updated=_EPOCH + timedelta(milliseconds=state.last_updated_ms),
    )


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post(
    "", operation_id="datasets:register", status_code=status.HTTP_201_CREATED, responses=errors(400, 404, 409)
)
def register_dataset(body: DatasetCreate, access: WorkspaceEditor, db: DbSession, ctx: Ctx) -> DatasetOut:
    """Register one of the workspace's tables (it must exist) with an owner, a description and
    tags. The owner must be a member of the workspace."""
    view = service.register_dataset(
        db, ctx.actor, access.workspace, body.namespace, body.table, body.owner, body.description, body.tags
    )
    return _out(view)


@router.get("", operation_id="datasets:list")
def list_datasets(
    access: WorkspaceViewer,
    db: DbSession,
    page: PageParams,
    q: Annotated[
        str | None, Query(max_length=255, description="Part of the namespace, table name or description.")
    ] = None,
    tag: Annotated[TagQuery | None, Query(description="Only datasets with this tag.")] = None,
    owner: Annotated[OwnerQuery | None, Query(description="Only datasets this user owns.")] = None,
) -> Page[DatasetOut]:
    filters = service.DatasetFilters(text=q, tag=tag, owner=owner)
    views, cursor = service.list_datasets(db, access.workspace, filters, page)
    return Page(items=[_out(v) for v in views], next_cursor=cursor)


@router.get("/{namespace}/{table}", operation_id="datasets:get", responses=errors(409))
def get_dataset(
    namespace: NamespaceParam, table: TableParam, access: WorkspaceViewer, request: Request, db: DbSession
) -> DatasetDetail:
    """The registration and a summary of the table now (rows, size, current snapshot)."""
    dataset = service.get_dataset(db, access.workspace, namespace, table)
    state = service.table_state(db, _settings(request), access.principal, access.workspace, dataset)
    return DatasetDetail(**_out(service.view(db, dataset)).model_dump(), table_summary=_summary(state))


@router.patch("/{namespace}/{table}", operation_id="datasets:update", responses=errors(400))
def update_dataset(
    namespace: NamespaceParam,
    table: TableParam,
    body: DatasetUpdate,
    access: WorkspaceEditor,
    db: DbSession,
    ctx: Ctx,
) -> DatasetOut:
    """Change the owner (a member), the description or the tags (the whole list)."""
    dataset = service.get_dataset(db, access.workspace, namespace, table)
    view = service.update_dataset(
        db, ctx.actor, access.workspace, dataset, body.owner, body.description, body.tags
    )
    return _out(view)


@router.delete(
    "/{namespace}/{table}", operation_id="datasets:unregister", status_code=status.HTTP_204_NO_CONTENT
)
def unregister_dataset(
    namespace: NamespaceParam, table: TableParam, access: WorkspaceEditor, db: DbSession, ctx: Ctx
) -> None:
    """Forget the registration. The table itself stays as it is."""
    service.unregister_dataset(
        db, ctx.actor, access.workspace, service.get_dataset(db, access.workspace, namespace, table)
    )
