"""The built-in catalog for writers inside Sadeem (ingest, the demo data set), as a pyiceberg
`Catalog` they can use like any other.

An ingest can take minutes; holding one database transaction (on SQLite: the write lock) for all
of it would stall every other writer. Here each catalog operation gets its own short
unit of work instead (pyiceberg's own sessions on the engine), and every commit, including the
one that creates a table, is audited in the transaction that makes it, as through the REST API.
The caller has already checked that its principal may write to `workspace`.
"""

from __future__ import annotations

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import CommitTableResponse, CreateTableTransaction, Table
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortOrder
from pyiceberg.table.update import TableRequirement, TableUpdate
from pyiceberg.typedef import EMPTY_DICT, Identifier, Properties

from sadeem.catalog.errors import Forbidden
from sadeem.catalog.service import _require_within, audit_table
from sadeem.catalog.store import CATALOG_NAME, PlatformCatalog, file_io_properties
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.db.engine import Database
from sadeem.workspaces.models import Workspace


class WorkspaceWriterCatalog(PlatformCatalog):
    def __init__(
        self, db: Database, settings: Settings, actor: Actor, action: str | None, workspace: Workspace
    ) -> None:
        """`actor` does `action` (its name in the audit trail) in `workspace`."""
        Catalog.__init__(
            self, CATALOG_NAME, warehouse=settings.resolved_warehouse, **file_io_properties(settings)
        )
        self.engine = db.engine  # reads: one short session per operation (pyiceberg's own)
        self._schema_version = "v1"
        self._db = db
        self._settings = settings
        self._actor = actor
        self._action = action
        self._workspace = workspace

    def commit_table(
        self, table: Table, requirements: tuple[TableRequirement, ...], updates: tuple[TableUpdate, ...]
    ) -> CommitTableResponse:
        # A table of a nested namespace is named ("ws.raw", "t") when it is being created (as the
        # caller spelled it) but ("ws", "raw", "t") once loaded: compare the namespace as a string.
        identifier = table.name()
        namespace = Catalog.namespace_to_string(Catalog.namespace_from(identifier))
        own = self._workspace.namespace
        if namespace != own and not namespace.startswith(own + "."):
            raise Forbidden(f"{'.'.join(identifier)} is not in workspace '{self._workspace.slug}'.")
        with self._db.unit_of_work(self._action) as session:
            bound = PlatformCatalog.in_session(session, self._settings)
            response = bound.commit_table(table, requirements, updates)
            _require_within(self._workspace, response.metadata.location, "table")
            audit_table(
                session,
                self._actor,
                self._workspace,
                identifier,
                response.metadata,
                metadata_location=response.metadata_location,
                updates=[str(update.action) for update in updates],
            )
        return response

    def create_table_transaction(
        self,
        identifier: str | Identifier,
        schema: Schema | pa.Schema,
        location: str | None = None,
        partition_spec: PartitionSpec = UNPARTITIONED_PARTITION_SPEC,
        sort_order: SortOrder = UNSORTED_SORT_ORDER,
        properties: Properties = EMPTY_DICT,
    ) -> CreateTableTransaction:
        """Refuse a location outside the workspace now, not at the commit: a writer puts its data
        files under the location before it commits."""
        transaction = super().create_table_transaction(
            identifier, schema, location, partition_spec, sort_order, properties
        )
        _require_within(self._workspace, transaction.table_metadata.location, "table")
        return transaction

    def create_table(
        self,
        identifier: str | Identifier,
        schema: Schema | pa.Schema,
        location: str | None = None,
        partition_spec: PartitionSpec = UNPARTITIONED_PARTITION_SPEC,
        sort_order: SortOrder = UNSORTED_SORT_ORDER,
        properties: Properties = EMPTY_DICT,
    ) -> Table:
        """Through a create transaction, so the creation is a commit (audited) like any other;
        pyiceberg's direct create would insert the row itself."""
        self.create_table_transaction(
            identifier, schema, location, partition_spec, sort_order, properties
        ).commit_transaction()
        return self.load_table(identifier)
