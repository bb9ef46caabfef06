"""Who may do what in the catalog: namespaces belong to workspaces.

A workspace owns the top-level namespace recorded at its creation (its slug) and every namespace
under it. A caller reads a workspace's namespaces as a viewer, changes them as an editor, and
drops tables and namespaces as an admin; platform admins act as admins everywhere. Another
workspace's namespace is refused with 403. The catalog `prefix` (what `/v1/config` answers for a
`warehouse`) is either one workspace's slug, which narrows the view to that workspace, or
`ALL_WORKSPACES`: every workspace the caller belongs to.

An engine credential (a run's or a worksheet statement's token, auth/principal.py) reaches one
workspace only, whatever its user's memberships: its own warehouse is served with that user's
role there, `ALL_WORKSPACES` is narrowed to it, and any other warehouse is refused with 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sadeem.auth.principal import Principal
from sadeem.catalog.errors import Forbidden, NoSuchNamespace, NoSuchWarehouse
from sadeem.core.errors import InvalidInput
from sadeem.workspaces.models import Membership, Workspace, WorkspaceRole, WorkspaceStatus

ALL_WORKSPACES = "all-workspaces"  # has a '-': never a workspace slug
Namespace = tuple[str, ...]
_WRITE_VERB = {WorkspaceRole.viewer: "read", WorkspaceRole.editor: "change", WorkspaceRole.admin: "drop"}


@dataclass(frozen=True)
class Grant:
    workspace: Workspace
    role: WorkspaceRole


@dataclass(frozen=True)
class CatalogScope:
    principal: Principal
    prefix: str
    grants: dict[str, Grant]  # by the workspace's top-level namespace

    @property
    def visible_roots(self) -> list[str]:
        return sorted(self.grants)

    def require(self, session: Session, namespace: Namespace, role: WorkspaceRole) -> Workspace:
        """The workspace owning `namespace`, if the caller holds `role` there; else 403 (another
        workspace's namespace, or too small a role) or 404 (no workspace owns such a namespace)."""
        if not namespace:
            raise InvalidInput("A namespace is required.")
        root = namespace[0]
        grant = self.grants.get(root)
        if grant is None:
            owner = session.scalar(select(Workspace.slug).where(Workspace.namespace == root))
            if owner is None and self.prefix == ALL_WORKSPACES:
                raise NoSuchNamespace(f"Namespace does not exist: {'.'.join(namespace)}")
            raise Forbidden(f"Namespace '{'.'.join(namespace)}' is not in a workspace of yours here.")
        if not grant.role.at_least(role):
            raise Forbidden(
                f"To {_WRITE_VERB[role]} in '{grant.workspace.slug}' you need the workspace role "
                f"'{role}' or higher; yours is '{grant.role}'."
            )
        if role is not WorkspaceRole.viewer and grant.workspace.status is WorkspaceStatus.archived:
            raise Forbidden(f"Workspace '{grant.workspace.slug}' is archived; unarchive it to make changes.")
        return grant.workspace


def scope_for(session: Session, principal: Principal, prefix: str) -> CatalogScope:
    """The caller's grants under `prefix`, in one query."""
    stmt = select(Workspace, Membership.role).outerjoin(
        Membership, (Membership.workspace_id == Workspace.id) & (Membership.user_id == principal.user_id)
    )
    if not principal.is_platform_admin:
        stmt = stmt.where(Membership.user_id == principal.user_id)
    if principal.scope is not None:
        # None for a scope that names no workspace: then nothing is granted.
        stmt = stmt.where(Workspace.id == principal.catalog_workspace_id)
    if prefix != ALL_WORKSPACES:
        stmt = stmt.where(Workspace.slug == prefix)
    grants = {
        workspace.namespace: Grant(workspace, WorkspaceRole.admin if principal.is_platform_admin else role)
        for workspace, role in session.execute(stmt).all()
    }
    if prefix != ALL_WORKSPACES and not grants:
        found = session.scalar(select(Workspace.id).where(Workspace.slug == prefix))
        if principal.scope is not None and found != principal.catalog_workspace_id:
            # Checked before existence: an engine credential learns nothing about other warehouses.
            raise Forbidden(
                f"This engine credential is good only for its own workspace's warehouse, not '{prefix}'."
            )
        if found is None:
            raise NoSuchWarehouse(f"No warehouse '{prefix}': use a workspace's slug, or none at all.")
        raise Forbidden(f"You are not a member of workspace '{prefix}'.")
    return CatalogScope(principal, prefix, grants)
