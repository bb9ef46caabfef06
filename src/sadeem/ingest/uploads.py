"""Ingest as a workspace action: which tables an upload may target, receiving the file, running
the ingest through the workspace's writer catalog, and the audit event that sums it up."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from fastapi import Request
from sqlalchemy.orm import Session

from sadeem.audit import service as audit
from sadeem.catalog.service import _table_name as table_name
from sadeem.catalog.writer import WorkspaceWriterCatalog
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.core.errors import InvalidInput, NotFound, TooLarge
from sadeem.db.engine import Database
from sadeem.ingest.reader import SourceFormat
from sadeem.ingest.service import IngestMode, IngestResult
from sadeem.workspaces.models import Workspace

T = TypeVar("T")


def check_target(workspace: Workspace, namespace: str, table: str) -> None:
    """Uploads go into the workspace's own namespace(s); any other is not there for the caller.
    Names follow the catalog's rules, so every table an upload creates can be reached (and
    dropped) through it; a table named `..` would also put its files outside the workspace."""
    if namespace != workspace.namespace and not namespace.startswith(workspace.namespace + "."):
        raise NotFound(f"No namespace '{namespace}' in workspace '{workspace.slug}'.")
    if any(not part or part != part.strip() for part in namespace.split(".")):
        raise InvalidInput(
            f"Invalid namespace {namespace!r}: its parts, separated by '.', are 1-255 characters "
            "without surrounding spaces."
        )
    table_name(table)


async def receive_upload(request: Request, destination: Path, max_bytes: int) -> int:
    """Stream the request body to `destination`, refusing more than `max_bytes` (413) before
    reading it when the length is announced, and as soon as it is exceeded otherwise."""
    announced = request.headers.get("content-length")
    if announced and announced.isdigit() and int(announced) > max_bytes:
        raise TooLarge(f"The file is {int(announced):,} bytes; the limit is {max_bytes:,}.")
    received = 0
    with destination.open("wb") as out:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise TooLarge(f"The file is larger than the limit of {max_bytes:,} bytes.")
            out.write(chunk)
    return received


def on_workspace(
    work: Callable[[WorkspaceWriterCatalog, tuple[str, str], Path, SourceFormat, IngestMode], T],
    db: Database,
    settings: Settings,
    actor: Actor,
    action: str | None,
    workspace: Workspace,
    identifier: tuple[str, str],
    source: Path,
    fmt: SourceFormat,
    mode: IngestMode,
) -> T:
    """`work` (the service's `ingest` or `preview`) on the workspace's writer catalog."""
    return work(WorkspaceWriterCatalog(db, settings, actor, action, workspace), identifier, source, fmt, mode)


def record_ingest(
    session: Session,
    actor: Actor,
    workspace: Workspace,
    result: IngestResult,
    received: int,
    fmt: SourceFormat,
) -> None:
    audit.record(
        session,
        actor,
        target_type="table",
        target_id=result.table,
        workspace=workspace.slug,
        details={
            "mode": result.mode,
            "format": fmt,
            "rows": result.rows,
            "bytes_received": received,
            "snapshot_id": str(result.snapshot_id),
            "attempts": result.attempts,
        },
    )
