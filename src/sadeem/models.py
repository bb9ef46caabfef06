"""Every domain's tables, imported in one place for Alembic and the drift test."""

from sadeem.audit.models import AuditChainHead, AuditEvent
from sadeem.auth.models import ApiToken, User, UserSession
from sadeem.connections.models import Connection
from sadeem.workspaces.models import Membership, Workspace

__all__ = [
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "Connection",
    "Membership",
    "User",
    "UserSession",
    "Workspace",
]
