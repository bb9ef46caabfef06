from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse

from sadeem.api.context import Ctx
from sadeem.api.pagination import PageParams
from sadeem.api.responses import errors
from sadeem.api.schemas import IsoDateTime
from sadeem.audit import service
from sadeem.audit.schemas import AuditEventOut, ChainVerificationOut
from sadeem.auth.permissions import PlatformAdmin, WorkspaceAdmin
from sadeem.core.actor import Actor
from sadeem.core.clock import utcnow
from sadeem.core.pagination import Page
from sadeem.db.engine import Database
from sadeem.db.session import DbSession, UnitOfWorkRoute, database_of

router = APIRouter(prefix="/api/v1", tags=["audit"], route_class=UnitOfWorkRoute)

_Short = Annotated[str | None, Query(max_length=200)]
Seq = Annotated[int, Path(ge=1, le=2**31 - 1, description="The event's position in the hash chain.")]
WorkspaceFilter = Annotated[str | None, Query(max_length=63, description="Only this workspace's events.")]


async def audit_filters(
    actor: _Short = None,
    action: _Short = None,
    outcome: Annotated[Literal["success", "failure", "denied"] | None, Query()] = None,
    target_type: _Short = None,
    target_id: _Short = None,
    since: Annotated[
        IsoDateTime | None,
        Query(description="Inclusive lower bound (ISO 8601; UTC when no offset is given)."),
    ] = None,
    until: Annotated[
        IsoDateTime | None,
        Query(description="Exclusive upper bound (ISO 8601; UTC when no offset is given)."),
    ] = None,
) -> service.AuditFilters:
    return service.AuditFilters(
        actor=actor,
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )


Filters = Annotated[service.AuditFilters, Depends(audit_filters)]


def _in(filters: service.AuditFilters, workspace: str | None) -> service.AuditFilters:
    return service.AuditFilters(**{**vars(filters), "workspace": workspace})


def _page(db: DbSession, filters: service.AuditFilters, page: PageParams) -> Page[AuditEventOut]:
    rows, cursor = service.query(db, filters, page)
    return Page(items=[AuditEventOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/audit/events", operation_id="audit:listEvents")
def list_audit_events(
    _: PlatformAdmin,
    db: DbSession,
    filters: Filters,
    page: PageParams,
    workspace: WorkspaceFilter = None,
) -> Page[AuditEventOut]:
    """The whole audit trail, newest first (platform admins)."""
    return _page(db, _in(filters, workspace), page)


@router.get("/workspaces/{workspace}/audit/events", operation_id="audit:listWorkspaceEvents")
def list_workspace_audit_events(
    access: WorkspaceAdmin, db: DbSession, filters: Filters, page: PageParams
) -> Page[AuditEventOut]:
    """The workspace's audit trail, newest first (workspace admins)."""
    return _page(db, _in(filters, access.workspace.slug), page)


# --- CSV export --------------------------------------------------------------------------------

_CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "CSV with a header row; columns: " + ", ".join(service.CSV_COLUMNS) + ".",
    }
}


def _export(
    db: Database, actor: Actor, filters: service.AuditFilters, route_workspace: str | None
) -> StreamingResponse:
    progress = service.ExportProgress()

    def body() -> Iterator[bytes]:
        try:
            yield from service.export_csv(db, filters, progress)
        finally:  # audited when the stream ends, completely or not: who, which filters, how much
            chosen = {k: v for k, v in vars(filters).items() if v is not None}
            with db.unit_of_work("export_audit_events") as session:
                service.record(
                    session,
                    actor,
                    target_type="audit_events",
                    workspace=route_workspace,
                    outcome="success" if progress.complete else "failure",
                    details={
                        "format": "csv",
                        "filters": {k: str(v) for k, v in chosen.items()},
                        "rows": progress.rows,
                        "bytes": progress.bytes,
                        "complete": progress.complete,
                    },
                )

    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    name = f"audit-{filters.workspace}-{stamp}.csv" if filters.workspace else f"audit-{stamp}.csv"
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


_EXPORT_DOC = (
    " Takes the same filters as the list, newest first, streamed in keyset batches (constant "
    "memory, however long the trail). Cells that a spreadsheet would run as a formula (starting "
    "with = + - @) get a leading apostrophe. The export itself is audited (filters, rows, bytes)."
)


@router.get(
    "/audit/events.csv",
    operation_id="audit:exportEvents",
    response_class=StreamingResponse,
    responses=_CSV_RESPONSE,
)
def export_audit_events(
    _: PlatformAdmin, request: Request, ctx: Ctx, filters: Filters, workspace: WorkspaceFilter = None
) -> StreamingResponse:
    return _export(database_of(request), ctx.actor, _in(filters, workspace), None)


export_audit_events.__doc__ = "The whole audit trail as CSV (platform admins)." + _EXPORT_DOC


@router.get(
    "/workspaces/{workspace}/audit/events.csv",
    operation_id="audit:exportWorkspaceEvents",
    response_class=StreamingResponse,
    responses=_CSV_RESPONSE,
)
def export_workspace_audit_events(
    access: WorkspaceAdmin, request: Request, ctx: Ctx, filters: Filters
) -> StreamingResponse:
    slug = access.workspace.slug
    return _export(database_of(request), ctx.actor, _in(filters, slug), slug)


export_workspace_audit_events.__doc__ = "The workspace's audit trail as CSV (workspace admins)." + _EXPORT_DOC


# --- one event, and the chain's verification ---------------------------------------------------


@router.get("/audit/events/{seq}", operation_id="audit:getEvent", responses=errors(404))
def get_audit_event(_: PlatformAdmin, db: DbSession, seq: Seq) -> AuditEventOut:
    """One event of the trail, by its sequence number (platform admins)."""
    return AuditEventOut.model_validate(service.get_event(db, seq))


@router.get(
    "/workspaces/{workspace}/audit/events/{seq}",
    operation_id="audit:getWorkspaceEvent",
    responses=errors(404),
)
def get_workspace_audit_event(access: WorkspaceAdmin, db: DbSession, seq: Seq) -> AuditEventOut:
    """One of the workspace's events, by its sequence number (workspace admins)."""
    return AuditEventOut.model_validate(service.get_event(db, seq, access.workspace.slug))


@router.get("/audit/verification", operation_id="audit:verifyChain")
def verify_audit_chain(
    _: PlatformAdmin,
    db: DbSession,
    time_limit: Annotated[
        float,
        Query(ge=1, le=300, description="Stop after this many seconds (`status` is then `incomplete`)."),
    ] = 10,
) -> ChainVerificationOut:
    """Recompute the hash chain from its first event, as `sadeem audit verify` does (platform
    admins): whether any event was edited, removed or reordered. It reads every event, about
    25,000 a second; a longer chain than the time limit allows is reported `incomplete` with how
    far it got, and `sadeem audit verify` checks it whole."""
    started = time.perf_counter()
    report = service.verify_chain(db, time_limit=time_limit)
    status: Literal["ok", "broken", "incomplete"] = (
        "broken" if not report.ok else "ok" if report.complete else "incomplete"
    )
    return ChainVerificationOut(
        status=status,
        events_checked=report.events_checked,
        chain_length=report.chain_length,
        first_broken_seq=report.first_bad_seq,
        problem=report.problem,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
        time_limit_seconds=time_limit,
        checked_at=utcnow(),
    )
