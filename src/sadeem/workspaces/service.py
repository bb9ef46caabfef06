"""Workspaces and memberships: all logic and authorization decisions beyond the route's role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sadeem.audit import service as audit
from sadeem.auth import service as auth_service
from sadeem.auth.models import User
from sadeem.auth.principal import Principal
from sadeem.core.actor import Actor
from sadeem.core.errors import Conflict, NotFound
from sadeem.core.pagination import PageRequest, keyset_page
from sadeem.db import unit_of_work
from sadeem.db.search import contains_text
from sadeem.db.unique import add_unique
from sadeem.workspaces.models import Membership, Workspace, WorkspaceRole, WorkspaceStatus
from sadeem.workspaces.provisioning import DeletionBlocker, ProvisioningReport, WorkspaceProvisioner


@dataclass(frozen=True)
class WorkspaceView:
    workspace: Workspace
    my_role: WorkspaceRole | None


def _audit(session: Session, actor: Actor, workspace: Workspace, **details: Any) -> None:
    audit.record(
        session,
        actor,
        target_type="workspace",
        target_id=workspace.slug,
        workspace=workspace.slug,
        details=details,
    )


def list_workspaces(
    session: Session, principal: Principal, page: PageRequest, text: str | None = None
) -> tuple[list[WorkspaceView], str | None]:
    """Platform admins see every workspace; everybody else the ones they are a member of (only
    those whose slug or name contains `text`, when given)."""
    stmt = select(Workspace)
    if text:
        stmt = stmt.where(contains_text(text, Workspace.slug, Workspace.name))
    if not principal.is_platform_admin:
        stmt = stmt.join(Membership, Membership.workspace_id == Workspace.id).where(
            Membership.user_id == principal.user_id
        )
    rows, cursor = keyset_page(session, stmt, Workspace.id, page)
    if principal.is_platform_admin:
        return [WorkspaceView(w, WorkspaceRole.admin) for w in rows], cursor
    roles: dict[int, WorkspaceRole] = dict(
        session.execute(
            select(Membership.workspace_id, Membership.role).where(
                Membership.user_id == principal.user_id, Membership.workspace_id.in_([w.id for w in rows])
            )
        ).all()
    )
    views = [WorkspaceView(w, roles.get(w.id)) for w in rows]
    return views, cursor


@dataclass(frozen=True)
class CreatedWorkspace:
    workspace: Workspace
    provisioning: ProvisioningReport


def create_workspace(
    session: Session,
    actor: Actor,
    provisioner: WorkspaceProvisioner,
    owner: User,
    slug: str,
    name: str | None,
    description: str,
) -> CreatedWorkspace:
    """Create the workspace, make `owner` its admin, record and provision what it owns."""
    if session.scalar(select(Workspace.id).where(Workspace.slug == slug)) is not None:
        raise Conflict(f"A workspace '{slug}' already exists.")
    placement = provisioner.plan(slug)
    workspace = Workspace(
        slug=slug,
        name=name or slug,
        description=description,
        namespace=placement.namespace,
        storage_location=placement.storage_location,
        created_by=owner.id,
    )
    add_unique(session, workspace, f"A workspace '{slug}' or its namespace already exists.")
    session.add(Membership(workspace_id=workspace.id, user_id=owner.id, role=WorkspaceRole.admin))
    report = provisioner.provision(session, workspace)
    _audit(
        session,
        actor,
        workspace,
        namespace=workspace.namespace,
        storage_location=workspace.storage_location,
        provisioning=_report_details(report),
    )
    return CreatedWorkspace(workspace, report)


def _report_details(report: ProvisioningReport) -> dict[str, Any]:
    return {step.name: {"ok": step.ok, "detail": step.detail} for step in report.steps}


def provision_again(
    session: Session, actor: Actor, provisioner: WorkspaceProvisioner, workspace: Workspace
) -> ProvisioningReport:
    """Run provisioning again (every step is idempotent), e.g. after storage was unreachable."""
    report = provisioner.provision(session, workspace)
    _audit(session, actor, workspace, provisioning=_report_details(report))
    return report


def update_workspace(
    session: Session, actor: Actor, workspace: Workspace, name: str | None, description: str | None
) -> Workspace:
    changed = {k: v for k, v in {"name": name, "description": description}.items() if v is not None}
    for key, value in changed.items():
        setattr(workspace, key, value)
    _audit(session, actor, workspace, changed=changed)
    return workspace


def set_status(session: Session, actor: Actor, workspace: Workspace, status: WorkspaceStatus) -> Workspace:
    if workspace.status is status:
        raise Conflict(f"Workspace '{workspace.slug}' is already {status}.")
    workspace.status = status
    _audit(session, actor, workspace, status=status.value)
    return workspace


def deletion_blockers(
    provisioner: WorkspaceProvisioner, session: Session, workspace: Workspace
) -> list[DeletionBlocker]:
    """What deleting the workspace now would destroy: empty means it can go without purge."""
    return provisioner.blockers(session, workspace)


def blocker_details(blocker: DeletionBlocker) -> dict[str, Any]:
    """A blocker as the `blockers` member of the refusal's problem (the same shape as the API's)."""
    return {
        "kind": blocker.kind,
        "count": blocker.count,
        "detail": blocker.detail,
        "names": list(blocker.names),
    }


def delete_workspace(
    session: Session,
    actor: Actor,
    provisioner: WorkspaceProvisioner,
    workspace: Workspace,
    purge: bool,
) -> None:
    """Refuse while the workspace still owns anything, unless `purge` says to delete its data too."""
    blockers = provisioner.blockers(session, workspace)
    if blockers and not purge:
        raise Conflict(
            f"Workspace '{workspace.slug}' still owns: {'; '.join(b.detail for b in blockers)}. "
            "Remove them, or delete with purge=true to delete its data as well.",
            blockers=[blocker_details(b) for b in blockers],
        )
    _audit(session, actor, workspace, purge=purge, blockers=[b.detail for b in blockers])
    provisioner.deprovision(session, workspace, purge)
    session.delete(workspace)
    # Files cannot be rolled back: they go only once the deletion is committed.
    unit_of_work.after_commit(session, lambda: provisioner.release_storage(workspace, purge))


# --- members -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberView:
    username: str
    display_name: str
    role: WorkspaceRole
    created_at: Any


def list_members(
    session: Session, workspace: Workspace, page: PageRequest
) -> tuple[list[MemberView], str | None]:
    rows, cursor = keyset_page(
        session, select(Membership).where(Membership.workspace_id == workspace.id), Membership.id, page
    )
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_([m.user_id for m in rows])))}
    views = [
        MemberView(users[m.user_id].username, users[m.user_id].display_name, m.role, m.created_at)
        for m in rows
    ]
    return views, cursor


def _membership(session: Session, workspace: Workspace, username: str) -> tuple[User, Membership]:
    user = auth_service.get_user(session, username)
    membership = session.scalar(
        select(Membership).where(Membership.workspace_id == workspace.id, Membership.user_id == user.id)
    )
    if membership is None:
        raise NotFound(f"'{username}' is not a member of workspace '{workspace.slug}'.")
    return user, membership


def _ensure_other_admin(session: Session, workspace: Workspace, membership: Membership) -> None:
    if membership.role is not WorkspaceRole.admin:
        return
    admins = session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.workspace_id == workspace.id, Membership.role == WorkspaceRole.admin)
    )
    if (admins or 0) <= 1:
        raise Conflict(
            f"This is the last admin of workspace '{workspace.slug}'; make someone else admin first."
        )


def add_member(
    session: Session, actor: Actor, workspace: Workspace, username: str, role: WorkspaceRole
) -> MemberView:
    user = auth_service.get_user(session, username)
    if user.disabled:
        raise Conflict(f"User '{username}' is disabled.")
    exists = session.scalar(
        select(Membership.id).where(Membership.workspace_id == workspace.id, Membership.user_id == user.id)
    )
    if exists is not None:
        raise Conflict(f"'{username}' is already a member of workspace '{workspace.slug}'.")
    membership = Membership(workspace_id=workspace.id, user_id=user.id, role=role)
    add_unique(session, membership, f"'{username}' is already a member of workspace '{workspace.slug}'.")
    audit.record(
        session,
        actor,
        target_type="member",
        target_id=username,
        workspace=workspace.slug,
        details={"role": role.value},
    )
    return MemberView(user.username, user.display_name, role, membership.created_at)


def change_member_role(
    session: Session, actor: Actor, workspace: Workspace, username: str, role: WorkspaceRole
) -> MemberView:
    user, membership = _membership(session, workspace, username)
    if role is not WorkspaceRole.admin:
        _ensure_other_admin(session, workspace, membership)
    previous = membership.role
    membership.role = role
    audit.record(
        session,
        actor,
        target_type="member",
        target_id=username,
        workspace=workspace.slug,
        details={"role": role.value, "previous_role": previous.value},
    )
    return MemberView(user.username, user.display_name, role, membership.created_at)


def remove_member(session: Session, actor: Actor, workspace: Workspace, username: str) -> None:
    _user, membership = _membership(session, workspace, username)
    _ensure_other_admin(session, workspace, membership)
    session.delete(membership)
    audit.record(session, actor, target_type="member", target_id=username, workspace=workspace.slug)
