"""Upload a CSV or Parquet file into a table of the workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
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
    result, received, _ = await _on_file(
        request,
        db,
        database,
        ctx,
        access.workspace,
        (namespace, table),
        source_format,
        mode,
        service.ingest,
        upload_id=upload,
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
    result, received, upload_id = await _on_file(
        request,
        db,
        database,
        ctx,
        access.workspace,
        (namespace, table),
        source_format,
        mode,
        service.preview,
        keep=keep,
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


@asynccontextmanager
async def _the_file(
    request: Request,
    settings: Settings,
    source_format: SourceFormat,
    owner: kept.KeptFor,
    upload_id: str | None,
) -> AsyncIterator[tuple[Path, int]]:
    """The file to work on and its size: the request body streamed to a scratch file, or, with
    `upload_id`, the file a check kept for `owner` (the request then has no body)."""
    if upload_id is not None:
        if int(request.headers.get("content-length") or 0) > 0:
            raise InvalidInput(
                "Send either the file or `upload` (a checked file kept for its commit), not both."
            )
        with kept.taken(settings, upload_id, owner) as path:
            yield path, path.stat().st_size
        return
    with scratch.scratch_directory(settings) as directory:
        path = directory / f"upload.{source_format}"
        yield path, await uploads.receive_upload(request, path, settings.ingest_max_bytes)


async def _on_file(
    request: Request,
    db: Session,
    database: Database,
    ctx: RequestContext,
    workspace: Workspace,
    identifier: tuple[str, str],
    source_format: SourceFormat,
    mode: IngestMode,
    work: Callable[[WorkspaceWriterCatalog, tuple[str, str], Path, SourceFormat, IngestMode], T],
    *,
    keep: bool = False,
    upload_id: str | None = None,
) -> tuple[T, int, str | None]:
    """`work` (ingest or preview) run on the file (see `_the_file`); the result, the bytes received
    and, with `keep`, the id the file is kept under for its commit. The permission check opened a
    transaction (on SQLite: the write lock); an upload can take minutes, so it ends before the body
    is read. Catalog commits get their own units of work."""
    settings: Settings = request.app.state.settings
    await run_in_threadpool(unit_of_work.release, db)
    uploads.check_target(workspace, *identifier)
    owner = _kept_for(ctx, workspace, identifier, source_format, mode)
    async with _the_file(request, settings, source_format, owner, upload_id) as (path, received):
        result = await run_in_threadpool(
            uploads.on_workspace,
            work,
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
        kept_id = kept.keep(settings, path, owner) if keep else None
    return result, received, kept_id
