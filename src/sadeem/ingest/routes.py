"""Upload a CSV or Parquet file into a table of the workspace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request, status
from fastapi import Path as PathParam
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from sadeem.api.context import Ctx, RequestContext
from sadeem.api.responses import errors
from sadeem.audit.middleware import unaudited_when_unchanged
from sadeem.auth.permissions import WorkspaceEditor
from sadeem.catalog.writer import WorkspaceWriterCatalog
from sadeem.config import Settings
from sadeem.db import unit_of_work
from sadeem.db.engine import Database
from sadeem.db.session import AppDatabase, DbSession, UnitOfWorkRoute
from sadeem.ingest import scratch, service, uploads
from sadeem.ingest.reader import SourceFormat
from sadeem.ingest.schemas import IngestOut, IngestPreviewOut, PreviewColumnOut
from sadeem.ingest.service import IngestMode
from sadeem.results.json_cells import json_rows, result_columns
from sadeem.results.schemas import ResultColumn
from sadeem.workspaces.models import Workspace

T = TypeVar("T")

router = APIRouter(
    prefix="/api/v1/workspaces/{workspace}/ingest", tags=["ingest"], route_class=UnitOfWorkRoute
)


_FILE_BODY: dict[str, object] = {
    "requestBody": {
        "required": True,
        "description": "The file's bytes (not multipart).",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
Namespace = Annotated[str, PathParam(max_length=255)]
TableName = Annotated[str, PathParam(max_length=255)]
FormatQuery = Annotated[SourceFormat, Query(alias="format", description="Format of the uploaded file.")]
ModeQuery = Annotated[IngestMode, Query(description="create, append, overwrite or create_or_append.")]


@router.post(
    "/{namespace}/{table}",
    operation_id="ingest:uploadFile",
    status_code=status.HTTP_201_CREATED,
    responses=errors(409, 413),
    openapi_extra=_FILE_BODY,
)
async def ingest_file(
    access: WorkspaceEditor,
    request: Request,
    db: DbSession,
    database: AppDatabase,
    ctx: Ctx,
    namespace: Namespace,
    table: TableName,
    source_format: FormatQuery,
    mode: ModeQuery = "create_or_append",
) -> IngestOut:
    """Stream the request body (the file, up to `SADEEM_INGEST_MAX_BYTES`) into the table `namespace.table`:
    `create` makes it with the file's inferred schema, `append`/`overwrite` need it to exist with
    fitting columns (400 listing the differences, also as `mismatches`: one `{column, kind, file_type,
    table_type}` per column, `kind` being `missing`, `type` or `not_in_table`). One snapshot per
    ingest; concurrent commits are retried with backoff."""
    result, received = await _on_received_file(
        request, db, database, ctx, access.workspace, (namespace, table), source_format, mode, service.ingest
    )
    await run_in_threadpool(
        uploads.record_ingest, db, ctx.actor, access.workspace, result, received, source_format
    )
    return IngestOut(
        table=result.table,
        mode=result.mode,
        rows=result.rows,
        data_files=result.data_files,
        bytes_received=received,
        bytes_written=result.bytes_written,
        snapshot_id=str(result.snapshot_id),
        attempts=result.attempts,
        duration_s=round(result.duration_s, 3),
    )


@router.post(
    "/{namespace}/{table}/preview",
    operation_id="ingest:previewFile",
    responses=errors(404, 409, 413),
    openapi_extra=_FILE_BODY,
)
@unaudited_when_unchanged
async def preview_file(
    access: WorkspaceEditor,
    request: Request,
    db: DbSession,
    database: AppDatabase,
    ctx: Ctx,
    namespace: Namespace,
    table: TableName,
    source_format: FormatQuery,
    mode: ModeQuery = "create_or_append",
) -> IngestPreviewOut:
    """A dry run of the upload with the same body and parameters: the same checks and refusals
    (400 with `mismatches` for columns that do not fit), the table's columns after it, the file's
    row count and first rows; nothing is written and the file is not kept."""
    result, received = await _on_received_file(
        request, db, database, ctx, access.workspace, (namespace, table), source_format, mode, service.preview
    )
    return IngestPreviewOut(
        table=result.table,
        mode=result.mode,
        columns=[
            PreviewColumnOut(name=column.name, type=column.type, file_type=column.file_type)
            for column in result.columns
        ],
        rows=result.rows,
        bytes_received=received,
        sample_columns=[ResultColumn(**column) for column in result_columns(result.sample.schema)],
        sample_rows=json_rows(result.sample.to_batches()),
    )


async def _on_received_file(
    request: Request,
    db: Session,
    database: Database,
    ctx: RequestContext,
    workspace: Workspace,
    identifier: tuple[str, str],
    source_format: SourceFormat,
    mode: IngestMode,
    work: Callable[[WorkspaceWriterCatalog, tuple[str, str], Path, SourceFormat, IngestMode], T],
) -> tuple[T, int]:
    """The request body streamed to a scratch file, then `work` (ingest or preview) run on it; the
    result and the bytes received. The permission check opened a transaction (on SQLite: the write
    lock); an upload can take minutes, so it ends before the body is read. Catalog commits get their
    own units of work."""
    settings: Settings = request.app.state.settings
    await run_in_threadpool(unit_of_work.release, db)
    uploads.check_target(workspace, *identifier)
    with scratch.scratch_directory(settings) as directory:
        upload = directory / f"upload.{source_format}"
        received = await uploads.receive_upload(request, upload, settings.ingest_max_bytes)
        result = await run_in_threadpool(
            uploads.on_workspace,
            work,
            database,
            settings,
            ctx.actor,
            ctx.action,
            workspace,
            identifier,
            upload,
            source_format,
            mode,
        )
    return result, received
