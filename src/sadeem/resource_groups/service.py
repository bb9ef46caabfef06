"""A workspace's Trino limits: what they are (its own, else Settings.engine_limits), who may
change them (a platform admin: the limits protect the other workspaces), and keeping Trino's
resource groups in step (on PostgreSQL, in the caller's transaction, see trino_tables.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sadeem.audit import service as audit
from sadeem.config import EngineLimits, Settings
from sadeem.core.actor import Actor
from sadeem.resource_groups import trino_tables
from sadeem.resource_groups.models import WorkspaceEngineLimits
from sadeem.workspaces.models import Workspace


@dataclass(frozen=True)
class WorkspaceLimits:
    limits: EngineLimits
    own: bool  # set for this workspace; False: Settings.engine_limits
    updated_by: str | None
    updated_at: datetime | None
    in_trino_tables: bool  # written where Trino's database resource-group manager reads them


def limits_of(session: Session, settings: Settings, workspace: Workspace) -> WorkspaceLimits:
    row = session.get(WorkspaceEngineLimits, workspace.id)
    applied = trino_tables.applies(session)
    if row is None:
        return WorkspaceLimits(settings.engine_limits, False, None, None, applied)
    return WorkspaceLimits(
        EngineLimits.model_validate(row.limits), True, row.updated_by, row.updated_at, applied
    )


def set_limits(
    session: Session, actor: Actor, settings: Settings, workspace: Workspace, limits: EngineLimits
) -> WorkspaceLimits:
    previous = limits_of(session, settings, workspace)
    row = session.get(WorkspaceEngineLimits, workspace.id)
    if row is None:
        row = WorkspaceEngineLimits(workspace_id=workspace.id)
        session.add(row)
    row.limits = limits.model_dump(mode="json")
    row.updated_by = actor.username or "system"
    session.flush()
    _audit(session, actor, workspace, limits, previous)
    _write_groups(session, settings, workspace, limits)
    return limits_of(session, settings, workspace)


def reset_limits(session: Session, actor: Actor, settings: Settings, workspace: Workspace) -> WorkspaceLimits:
    """Back to Settings.engine_limits."""
    previous = limits_of(session, settings, workspace)
    row = session.get(WorkspaceEngineLimits, workspace.id)
    if row is not None:
        session.delete(row)
        session.flush()
    _audit(session, actor, workspace, settings.engine_limits, previous)
    _write_groups(session, settings, workspace, settings.engine_limits)
    return limits_of(session, settings, workspace)


def provision(session: Session, settings: Settings, workspace: Workspace) -> str | None:
    """Write the workspace's groups for Trino (idempotent); what was done, or None on SQLite."""
    if not trino_tables.applies(session):
        return None
    limits = limits_of(session, settings, workspace).limits
    _write_groups(session, settings, workspace, limits)
    return f"Trino resource group {workspace.slug} (interactive, batch) written"


def write_all(session: Session, settings: Settings) -> int:
    """Every workspace's groups, written again (at each server start, PostgreSQL only): workspaces
    from before these tables get theirs, and a changed Settings.engine_limits reaches Trino."""
    if not trino_tables.applies(session):
        return 0
    trino_tables.ensure_untagged_group(session, settings.trino_resource_groups_environment)
    workspaces = session.scalars(select(Workspace).order_by(Workspace.id)).all()
    for workspace in workspaces:
        _write_groups(session, settings, workspace, limits_of(session, settings, workspace).limits)
    return len(workspaces)


def deprovision(session: Session, settings: Settings, workspace: Workspace) -> None:
    if trino_tables.applies(session):
        trino_tables.remove_workspace_groups(
            session, settings.trino_resource_groups_environment, workspace.slug
        )


def _write_groups(session: Session, settings: Settings, workspace: Workspace, limits: EngineLimits) -> None:
    if trino_tables.applies(session):
        trino_tables.write_workspace_groups(
            session, settings.trino_resource_groups_environment, workspace.slug, limits
        )


def _audit(
    session: Session, actor: Actor, workspace: Workspace, limits: EngineLimits, previous: WorkspaceLimits
) -> None:
    audit.record(
        session,
        actor,
        target_type="engine_limits",
        target_id=workspace.slug,
        workspace=workspace.slug,
        details={
            "limits": limits.model_dump(mode="json"),
            "previous": previous.limits.model_dump(mode="json"),
            "previous_own": previous.own,
        },
    )
