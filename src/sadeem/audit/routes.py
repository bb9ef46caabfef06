from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from sadeem.api.pagination import PageParams
from sadeem.api.schemas import IsoDateTime
from sadeem.audit import service
from sadeem.audit.schemas import AuditEventOut
from sadeem.auth.permissions import PlatformAdmin, WorkspaceAdmin
from sadeem.core.pagination import Page
from sadeem.db.session import DbSession, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1", tags=["audit"], route_class=UnitOfWorkRoute)

_Short = Annotated[str | None, Query(max_length=200)]


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


def _page(db: DbSession, filters: service.AuditFilters, page: PageParams) -> Page[AuditEventOut]:
    rows, cursor = service.query(db, filters, page)
    return Page(items=[AuditEventOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/audit/events", operation_id="audit:listEvents")
def list_audit_events(
    _: PlatformAdmin,
    db: DbSession,
    filters: Filters,
    page: PageParams,
    workspace: Annotated[str | None, Query(max_length=63)] = None,
) -> Page[AuditEventOut]:
    """The whole audit trail, newest first (platform admins)."""
    return _page(db, service.AuditFilters(**{**vars(filters), "workspace": workspace}), page)


@router.get("/workspaces/{workspace}/audit/events", operation_id="audit:listWorkspaceEvents")
def list_workspace_audit_events(
    access: WorkspaceAdmin, db: DbSession, filters: Filters, page: PageParams
) -> Page[AuditEventOut]:
    """The workspace's audit trail, newest first (workspace admins)."""
    return _page(db, service.AuditFilters(**{**vars(filters), "workspace": access.workspace.slug}), page)
