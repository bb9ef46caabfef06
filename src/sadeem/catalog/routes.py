"""The catalog explorer: Sadeem's own read-only API over a workspace's Iceberg tables (the
Iceberg REST catalog for engines is catalog/rest.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from pyiceberg.table import Table

from sadeem.api.pagination import PageParams
from sadeem.api.responses import errors
from sadeem.api.schemas import IsoDateTime
from sadeem.auth.permissions import WorkspaceViewer
from sadeem.catalog import explorer, schema_tree
from sadeem.catalog.explorer_schemas import (
    DataFiles,
    NamespaceNode,
    Preview,
    SchemaTree,
    TableDetail,
    TableListItem,
)
from sadeem.config import Settings
from sadeem.core.pagination import Page
from sadeem.datasets import tables
from sadeem.datasets.schemas import OwnerQuery, TagQuery
from sadeem.db.session import DbSession, UnitOfWorkRoute
from sadeem.workspaces.access import WorkspaceAccess

router = APIRouter(
    prefix="/api/v1/workspaces/{workspace}/catalog", tags=["catalog"], route_class=UnitOfWorkRoute
)

NamespaceParam = Annotated[
    str,
    Path(max_length=255, description="The full namespace, dotted (`alpha.sales`).", examples=["alpha"]),
]
TableParam = Annotated[str, Path(max_length=255, description="The table's name.")]
SnapshotIdQuery = Annotated[
    int | None,
    Query(
        ge=-(2**63),
        le=2**63 - 1,
        description="Read this snapshot instead of the current one (time travel).",
    ),
]
MAX_PREVIEW_ROWS = 10_000


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _table(request: Request, db: DbSession, access: WorkspaceAccess, namespace: str, table: str) -> Table:
    return explorer.load_table(db, _settings(request), access.principal, access.workspace, namespace, table)


@router.get("/namespaces", operation_id="catalog:getNamespaceTree")
def get_namespace_tree(access: WorkspaceViewer, db: DbSession) -> NamespaceNode:
    """The workspace's namespace and all namespaces under it, nested, with table counts."""
    return explorer.namespace_tree(db, access.workspace)


_ETAG_HEADER = {"ETag": {"description": "The tree's fingerprint, quoted.", "schema": {"type": "string"}}}


@router.get(
    "/schema-tree",
    operation_id="catalog:getSchemaTree",
    response_model=SchemaTree,
    responses={
        200: {"headers": _ETAG_HEADER},
        304: {"description": "Unchanged since the `If-None-Match` version.", "headers": _ETAG_HEADER},
    },
)
def get_schema_tree(
    access: WorkspaceViewer,
    request: Request,
    db: DbSession,
    if_none_match: Annotated[
        str | None, Header(max_length=1024, description="An ETag from an earlier answer.")
    ] = None,
) -> Response:
    """Catalog → namespaces → tables → columns, all at once, for the SQL editor's autocomplete.
    Cached per workspace until the catalog changes; revalidate with `If-None-Match`."""
    tree = schema_tree.schema_tree(db, _settings(request), access.workspace)
    headers = {"ETag": schema_tree.etag(tree), "Cache-Control": "private, no-cache"}
    if schema_tree.matches(if_none_match, tree):
        return Response(status_code=304, headers=headers)
    return Response(content=tree.body, media_type="application/json", headers=headers)


@router.get("/tables", operation_id="catalog:listTables")
def list_tables(
    access: WorkspaceViewer,
    db: DbSession,
    page: PageParams,
    q: Annotated[str | None, Query(max_length=255, description="Part of the table's name.")] = None,
    namespace: Annotated[
        str | None, Query(max_length=255, description="Only tables directly in this namespace.")
    ] = None,
    tag: Annotated[TagQuery | None, Query(description="Only registered datasets with this tag.")] = None,
    owner: Annotated[OwnerQuery | None, Query(description="Only registered datasets this user owns.")] = None,
) -> Page[TableListItem]:
    """The workspace's tables, by namespace and name, each with its dataset registration."""
    filters = tables.TableFilters(namespace=namespace, name_contains=q, tag=tag, owner=owner)
    items, cursor = tables.list_tables(db, access.workspace, filters, page)
    return Page(items=items, next_cursor=cursor)


@router.get("/tables/{namespace}/{table}", operation_id="catalog:getTable", responses=errors(409))
def get_table(
    namespace: NamespaceParam, table: TableParam, access: WorkspaceViewer, request: Request, db: DbSession
) -> TableDetail:
    """Schema, partitioning, sort order, snapshots, branches and tags, totals and the first data
    files of a table."""
    loaded = _table(request, db, access, namespace, table)
    return explorer.table_detail(loaded, tables.dataset_brief(db, access.workspace, namespace, table))


@router.get("/tables/{namespace}/{table}/files", operation_id="catalog:listDataFiles", responses=errors(409))
def list_data_files(
    namespace: NamespaceParam,
    table: TableParam,
    access: WorkspaceViewer,
    request: Request,
    db: DbSession,
    page: PageParams,
    snapshot_id: SnapshotIdQuery = None,
) -> DataFiles:
    """The data files of the current snapshot (or of `snapshot_id`), a page at a time."""
    return explorer.data_files(_table(request, db, access, namespace, table), snapshot_id, page)


@router.get(
    "/tables/{namespace}/{table}/preview", operation_id="catalog:previewTable", responses=errors(400, 409)
)
def preview_table(
    namespace: NamespaceParam,
    table: TableParam,
    access: WorkspaceViewer,
    request: Request,
    db: DbSession,
    limit: Annotated[int, Query(ge=1, le=MAX_PREVIEW_ROWS, description="Rows to return.")] = 100,
    columns: Annotated[
        str | None,
        Query(max_length=8192, description="Comma-separated top-level columns, in the order wanted."),
    ] = None,
    snapshot_id: SnapshotIdQuery = None,
    ref: Annotated[str | None, Query(max_length=255, description="Read this branch or tag.")] = None,
    as_of: Annotated[
        IsoDateTime | None,
        Query(description="Read the snapshot that was current at this time (UTC if no zone is given)."),
    ] = None,
) -> Preview:
    """The first rows of a table, typed for JSON (see the `Preview` schema), optionally as of an
    earlier snapshot. An unknown column, or a time before the first snapshot, is a 400; a table
    whose files lie outside the workspace's storage is a 409, and nothing of it is read. At most
    `SADEEM_PREVIEW_MAX_COLUMNS` columns are read, the first ones (`columns_truncated` says so)."""
    names = [c.strip() for c in columns.split(",") if c.strip()] if columns is not None else None
    loaded = _table(request, db, access, namespace, table)
    max_columns = _settings(request).preview_max_columns
    return explorer.preview(loaded, names, limit, max_columns, snapshot_id=snapshot_id, ref=ref, as_of=as_of)
