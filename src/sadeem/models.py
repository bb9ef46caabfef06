"""Every domain's tables, imported in one place for Alembic and the drift test."""

from pyiceberg.catalog.sql import IcebergNamespaceProperties, IcebergTables, SqlCatalogBaseTable

from sadeem.audit.models import AuditChainHead, AuditEvent
from sadeem.auth.models import ApiToken, User, UserSession
from sadeem.connections.models import Connection
from sadeem.datasets.models import Dataset, DatasetTag
from sadeem.db.base import Base
from sadeem.workspaces.models import Membership, Workspace

# Sadeem's own tables, and the catalog's: pyiceberg's `SqlCatalog` tables (Java's `JdbcCatalog`
# schema), created by Sadeem's migrations like any other.
ALL_METADATA = (Base.metadata, SqlCatalogBaseTable.metadata)

__all__ = [
    "ALL_METADATA",
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "Connection",
    "Dataset",
    "DatasetTag",
    "IcebergNamespaceProperties",
    "IcebergTables",
    "Membership",
    "User",
    "UserSession",
    "Workspace",
]
