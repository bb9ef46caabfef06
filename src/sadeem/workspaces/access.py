"""What a caller may do in one workspace: the value the workspace permission dependencies
(auth/permissions.py) hand to routes, and routes to the services that need the caller's role."""

from __future__ import annotations

from dataclasses import dataclass

from sadeem.auth.principal import Principal
from sadeem.workspaces.models import Workspace, WorkspaceRole


@dataclass(frozen=True)
class WorkspaceAccess:
    principal: Principal
    workspace: Workspace
    role: WorkspaceRole  # effective role; platform admins act as workspace admins
