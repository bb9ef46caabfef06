"""Workspace provisioning for the built-in catalog: the workspace's namespace (in the catalog's
tables, in the creating transaction), its storage location (a directory or an S3 prefix) and, on
PostgreSQL, its Trino resource groups (sadeem.resource_groups, in the creating transaction)."""

from __future__ import annotations

import logging

from pyiceberg.catalog.sql import IcebergNamespaceProperties, IcebergTables
from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Mapped, Session

from sadeem.catalog import service, storage
from sadeem.catalog.store import CATALOG_NAME
from sadeem.config import Settings
from sadeem.core.redaction import redact_secrets
from sadeem.resource_groups import service as resource_groups
from sadeem.workspaces.models import Workspace
from sadeem.workspaces.provisioning import (
    NAMED_BLOCKERS,
    DeletionBlocker,
    Placement,
    ProvisioningReport,
    ProvisioningStep,
    domain_blockers,
)

log = logging.getLogger("sadeem.provisioning")


def _owned(column: Mapped[str], root: str) -> ColumnElement[bool]:
    """A namespace column's rows that belong to the workspace: its root and everything under it."""
    return or_(column == root, column.startswith(root + ".", autoescape=True))


class CatalogProvisioner:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.warehouse = settings.resolved_warehouse.rstrip("/")

    def plan(self, slug: str) -> Placement:
        return Placement(namespace=slug, storage_location=f"{self.warehouse}/{slug}")

    def provision(self, session: Session, workspace: Workspace) -> ProvisioningReport:
        steps = []
        try:
            created = service.ensure_workspace_namespace(session, self.settings, workspace)
            steps.append(
                ProvisioningStep(
                    "namespace", True, f"namespace {workspace.namespace} {'created' if created else 'exists'}"
                )
            )
        except Exception as e:
            log.warning("namespace of %s not provisioned: %s", workspace.slug, type(e).__name__)
            steps.append(ProvisioningStep("namespace", False, f"{type(e).__name__}: {e}"))
        try:
            done = storage.ensure_location(self.settings, workspace.storage_location, workspace.slug)
            steps.append(ProvisioningStep("storage", True, f"{workspace.storage_location}: {done}"))
        except Exception as e:  # reported to the caller, who can run provisioning again
            reason = self._reason(e)
            log.warning("storage of %s not provisioned: %s", workspace.slug, reason)
            steps.append(ProvisioningStep("storage", False, f"{workspace.storage_location}: {reason}"))
        try:
            with session.begin_nested():  # a failure must not abort the creating transaction
                written = resource_groups.provision(session, self.settings, workspace)
            if written is not None:
                steps.append(ProvisioningStep("resource_groups", True, written))
        except Exception as e:
            log.warning("resource groups of %s not provisioned: %s", workspace.slug, type(e).__name__)
            steps.append(ProvisioningStep("resource_groups", False, type(e).__name__))
        return ProvisioningReport(steps)

    def _reason(self, error: Exception) -> str:
        """Why a step failed, in one line the caller can act on (e.g. 'Could not connect to the
        endpoint URL'), with the configured secret removed should any library echo it."""
        secret = self.settings.s3_secret_access_key
        message = " ".join(str(error).split())
        message = redact_secrets(message, [secret.get_secret_value()] if secret else [])[:300]
        return f"{type(error).__name__}: {message}" if message else type(error).__name__

    def blockers(self, session: Session, workspace: Workspace) -> list[DeletionBlocker]:
        found = domain_blockers(session, workspace)
        owned = (
            IcebergTables.catalog_name == CATALOG_NAME,
            _owned(IcebergTables.table_namespace, workspace.namespace),
        )
        tables = session.scalar(select(func.count()).select_from(IcebergTables).where(*owned))
        if tables:
            names = session.execute(
                select(IcebergTables.table_namespace, IcebergTables.table_name)
                .where(*owned)
                .order_by(IcebergTables.table_namespace, IcebergTables.table_name)
                .limit(NAMED_BLOCKERS)
            ).all()
            found.append(
                DeletionBlocker(
                    "tables",
                    tables,
                    f"{tables} table(s) in namespace {workspace.namespace}",
                    tuple(f"{namespace}.{name}" for namespace, name in names),
                )
            )
        try:
            files = storage.count_files(self.settings, workspace.storage_location)
        except Exception as e:  # unknown is not empty: refuse rather than lose data
            found.append(
                DeletionBlocker(
                    "storage",
                    None,
                    f"storage {workspace.storage_location} could not be checked ({type(e).__name__})",
                )
            )
        else:
            if files:
                found.append(
                    DeletionBlocker(
                        "files", files, f"{files} data file(s) under {workspace.storage_location}"
                    )
                )
        return found

    def deprovision(self, session: Session, workspace: Workspace, purge: bool) -> None:
        del purge  # the catalog entries go either way: without purge there were none left
        resource_groups.deprovision(session, self.settings, workspace)
        session.execute(
            delete(IcebergTables).where(
                IcebergTables.catalog_name == CATALOG_NAME,
                _owned(IcebergTables.table_namespace, workspace.namespace),
            )
        )
        session.execute(
            delete(IcebergNamespaceProperties).where(
                IcebergNamespaceProperties.catalog_name == CATALOG_NAME,
                _owned(IcebergNamespaceProperties.namespace, workspace.namespace),
            )
        )

    def release_storage(self, workspace: Workspace, purge: bool) -> None:
        try:
            storage.delete_location(self.settings, workspace.storage_location, purge)
        except Exception as e:  # the workspace is gone; leftovers are orphans, logged for the operator
            log.warning(
                "storage %s of deleted workspace %s not removed: %s",
                workspace.storage_location,
                workspace.slug,
                type(e).__name__,
            )
