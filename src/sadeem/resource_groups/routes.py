from __future__ import annotations

from fastapi import APIRouter, Request

from sadeem.api.context import Ctx
from sadeem.api.responses import errors
from sadeem.auth.permissions import PlatformAdmin, WorkspaceSlug, WorkspaceViewer
from sadeem.config import EngineLimits, Settings, WorkClassLimits
from sadeem.core.errors import NotFound
from sadeem.db.session import DbSession, UnitOfWorkRoute
from sadeem.resource_groups import service
from sadeem.resource_groups.schemas import EngineLimitsBody, EngineLimitsOut, WorkClassLimitsOut
from sadeem.workspaces.models import Workspace

router = APIRouter(prefix="/api/v1/workspaces", tags=["workspaces"], route_class=UnitOfWorkRoute)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _class_out(limits: WorkClassLimits, group: str) -> WorkClassLimitsOut:
    return WorkClassLimitsOut(**limits.model_dump(), resource_group=group)


def _out(workspace: Workspace, found: service.WorkspaceLimits) -> EngineLimitsOut:
    limits = found.limits
    return EngineLimitsOut(
        soft_memory_percent=limits.soft_memory_percent,
        interactive=_class_out(limits.interactive, f"{workspace.slug}.interactive"),
        batch=_class_out(limits.batch, f"{workspace.slug}.batch"),
        resource_group=workspace.slug,
        source="workspace" if found.own else "default",
        updated_by=found.updated_by,
        updated_at=found.updated_at,
        enforced_by_trino_tables=found.in_trino_tables,
    )


def _workspace(db: DbSession, slug: str) -> Workspace:
    found = db.query(Workspace).filter(Workspace.slug == slug).one_or_none()
    if found is None:
        raise NotFound(f"No workspace '{slug}'.")
    return found


@router.get("/{workspace}/engine-limits", operation_id="workspaces:getEngineLimits")
def get_engine_limits(access: WorkspaceViewer, request: Request, db: DbSession) -> EngineLimitsOut:
    """The workspace's Trino limits: its resource group's memory share and, per class of work
    (`interactive`: the worksheet, `batch`: runs), how many queries run and wait at once."""
    return _out(access.workspace, service.limits_of(db, _settings(request), access.workspace))


@router.put("/{workspace}/engine-limits", operation_id="workspaces:setEngineLimits", responses=errors(404))
def set_engine_limits(
    workspace: WorkspaceSlug,
    body: EngineLimitsBody,
    _: PlatformAdmin,
    request: Request,
    db: DbSession,
    ctx: Ctx,
) -> EngineLimitsOut:
    """Set the workspace's own Trino limits (platform admins: they protect the other workspaces).
    Trino applies them within seconds to queries that start afterwards."""
    found = _workspace(db, workspace)
    limits = EngineLimits.model_validate(body.model_dump())
    return _out(found, service.set_limits(db, ctx.actor, _settings(request), found, limits))


@router.delete(
    "/{workspace}/engine-limits", operation_id="workspaces:resetEngineLimits", responses=errors(404)
)
def reset_engine_limits(
    workspace: WorkspaceSlug, _: PlatformAdmin, request: Request, db: DbSession, ctx: Ctx
) -> EngineLimitsOut:
    """Back to the server's default limits (`SADEEM_ENGINE_LIMITS`)."""
    found = _workspace(db, workspace)
    return _out(found, service.reset_limits(db, ctx.actor, _settings(request), found))
