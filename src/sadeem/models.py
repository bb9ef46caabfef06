"""Every domain's tables, imported in one place for Alembic and the drift test."""

from pyiceberg.catalog.sql import IcebergNamespaceProperties, IcebergTables, SqlCatalogBaseTable

from sadeem.audit.models import AuditChainHead, AuditEvent
from sadeem.auth.models import ApiToken, User, UserSession
from sadeem.connections.models import Connection
from sadeem.datasets.models import Dataset, DatasetTag
from sadeem.db.base import Base
from sadeem.heartbeats.models import ServiceHeartbeat
from sadeem.jobs.models import Job, JobVersion
from sadeem.queries.models import SavedQuery, SavedQueryJob, SavedQueryTag, SavedQueryVersion
from sadeem.resource_groups.models import WorkspaceEngineLimits
from sadeem.runs.models import Run, RunAttempt, RunLogChunk, RunTransition
from sadeem.statements.models import Statement
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
    "Job",
    "JobVersion",
    "Membership",
    "Run",
    "RunAttempt",
    "RunLogChunk",
    "RunTransition",
    "SavedQuery",
    "SavedQueryJob",
    "SavedQueryTag",
    "SavedQueryVersion",
    "ServiceHeartbeat",
    "Statement",
    "User",
    "UserSession",
    "Workspace",
    "WorkspaceEngineLimits",
]
