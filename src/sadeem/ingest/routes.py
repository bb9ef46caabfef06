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
from sadeem.core.errors import InvalidInput
from sadeem.db import unit_of_work
from sadeem.db.engine import Database
from sadeem.db.session import AppDatabase, DbSession, UnitOfWorkRoute
from sadeem.ingest import kept, scratch, service, uploads
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
KeepQuery = Annotated[
    bool,
    Query(
        description="Keep the checked file for the commit (`upload_id` in the answer), so it is not sent "
        f"twice. A kept upload expires after {kept.KEEP_SECONDS // 60} minutes."
    ),
]
UploadQuery = Annotated[
    str | None,
    Query(
        pattern=kept.ID_PATTERN,
        description="Commit the file a check kept (`…/preview?keep=true`), with the same user, table, format "
        "and mode, sending no body.",
    ),
]


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
    upload: UploadQuery = None,
) -> IngestOut:
    """Stream the request body (the file, up to `SADEEM_INGEST_MAX_BYTES`) into the table `namespace.table`:
    `create` makes it with the file's inferred schema, `append`/`overwrite` need it to exist with
    fitting columns (400 listing the differences, also as `mismatches`: one `{column, kind, file_type,
    table_type}` per column, `kind` being `missing`, `type` or `not_in_table`). One snapshot per
    ingest; concurrent commits are retried with backoff. With `upload`, the file a check kept."""
    identifier = (namespace, table)
    if upload is None:
        result, received, _ = await _on_received_file(
            request, db, database, ctx, access.workspace, identifier, source_format, mode, service.ingest
        )
    else:
        result, received = await _on_kept_file(
            request, db, database, ctx, access.workspace, identifier, source_format, mode, upload
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
    keep: KeepQuery = False,
) -> IngestPreviewOut:
    """A dry run of the upload with the same body and parameters: the same checks and refusals
    (400 with `mismatches` for columns that do not fit), the table's columns after it, the file's
    row count and first rows; nothing is written, and the file is kept only when asked (`keep`)."""
    keep_for = _kept_for(ctx, access.workspace, (namespace, table), source_format, mode) if keep else None
    result, received, upload_id = await _on_received_file(
        request,
        db,
        database,
        ctx,
        access.workspace,
        (namespace, table),
        source_format,
        mode,
        service.preview,
        keep_for,
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
        upload_id=upload_id,
    )


def _kept_for(
    ctx: RequestContext, workspace: Workspace, identifier: tuple[str, str], source_format: str, mode: str
) -> kept.KeptFor:
    return kept.KeptFor(ctx.actor.user_id, workspace.id, *identifier, source_format, mode)


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
    keep_for: kept.KeptFor | None = None,
) -> tuple[T, int, str | None]:
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
        upload_id = None if keep_for is None else kept.keep(settings, upload, keep_for)
    return result, received, upload_id


async def _on_kept_file(
    request: Request,
    db: Session,
    database: Database,
    ctx: RequestContext,
    workspace: Workspace,
    identifier: tuple[str, str],
    source_format: SourceFormat,
    mode: IngestMode,
    upload_id: str,
) -> tuple[service.IngestResult, int]:
    """The ingest of a file a check kept (the request has no body)."""
    settings: Settings = request.app.state.settings
    await run_in_threadpool(unit_of_work.release, db)
    uploads.check_target(workspace, *identifier)
    if int(request.headers.get("content-length") or 0) > 0:
        raise InvalidInput("Send either the file or `upload` (a checked file kept for its commit), not both.")
    with kept.taken(settings, upload_id, _kept_for(ctx, workspace, identifier, source_format, mode)) as path:
        result = await run_in_threadpool(
            uploads.on_workspace,
            service.ingest,
            database,
            settings,
            ctx.actor,
            ctx.action,
            workspace,
            identifier,
            path,
            source_format,
            mode,
        )
        return result, path.stat().st_size
