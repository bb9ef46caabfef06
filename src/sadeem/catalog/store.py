"""pyiceberg's `SqlCatalog`, working inside the caller's database transaction.

Iceberg semantics stay pyiceberg's: its table rows (the same as Java's `JdbcCatalog`), its
requirement checks, metadata updates, metadata files and compare-and-set commits. What Sadeem
changes is where it runs: `SqlCatalog` opens `Session(self.engine)` for every operation; bound
to the request's *connection*, each of those sessions joins the request's transaction (its own
commits become no-ops and a failure rolls the whole transaction back). So a catalog change and
its audit event commit together, a multi-table commit is one transaction (all or none), and on
SQLite the request's write lock is never waited on by a second writer of the same request.

Metadata files are immutable, so parsed `TableMetadata` is cached by file location.

Every table it loads reads, writes and deletes files only inside the storage of the workspace that
owns the table's namespace (storage.WorkspaceFileIO), whatever its manifests name.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.io import FileIO, load_file_io
from pyiceberg.serializers import FromInputFile
from pyiceberg.table import Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.typedef import Properties
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from sadeem.catalog.storage import WorkspaceFileIO
from sadeem.config import Settings
from sadeem.workspaces.models import Workspace

CATALOG_NAME = "sadeem"  # stored in every catalog row: all clients must agree on it


class MetadataCache:
    """Parsed metadata by file location (a location is written once and never changes)."""

    def __init__(self, capacity: int = 512) -> None:
        self._items: OrderedDict[str, TableMetadata] = OrderedDict()
        self._capacity = capacity
        self._lock = Lock()

    def get(self, location: str) -> TableMetadata | None:
        with self._lock:
            found = self._items.get(location)
            if found is not None:
                self._items.move_to_end(location)
            return found

    def put(self, location: str, metadata: TableMetadata) -> None:
        with self._lock:
            self._items[location] = metadata
            self._items.move_to_end(location)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)


metadata_cache = MetadataCache()


def file_io_properties(settings: Settings) -> dict[str, str]:
    """What pyiceberg's FileIO needs to reach the warehouse (S3 endpoint and keys when set)."""
    properties: dict[str, str] = {}
    if settings.s3_endpoint_url:
        properties["s3.endpoint"] = settings.s3_endpoint_url
    if settings.s3_region:
        properties["s3.region"] = settings.s3_region
    elif settings.s3_endpoint_url:
        # Without a region pyarrow asks AWS where the bucket lives: a request to the internet,
        # naming the bucket, for a server (MinIO, SeaweedFS) that has no regions anyway.
        properties["s3.region"] = "us-east-1"
    if settings.s3_access_key_id:
        properties["s3.access-key-id"] = settings.s3_access_key_id
    if settings.s3_secret_access_key:
        properties["s3.secret-access-key"] = settings.s3_secret_access_key.get_secret_value()
    if settings.s3_path_style:
        properties["s3.force-virtual-addressing"] = "false"
    return properties


class PlatformCatalog(SqlCatalog):
    """A `SqlCatalog` bound to one database connection (see the module docstring)."""

    def __init__(self, connection: Connection, settings: Settings) -> None:
        Catalog.__init__(
            self, CATALOG_NAME, warehouse=settings.resolved_warehouse, **file_io_properties(settings)
        )
        self.engine: Any = connection  # SqlCatalog opens `Session(self.engine)`: it joins our transaction
        self._schema_version = "v1"  # the tables come from Sadeem's migrations, always v1

    @classmethod
    def in_session(cls, session: Session, settings: Settings) -> PlatformCatalog:
        return cls(session.connection(), settings)

    def _convert_orm_to_iceberg(self, orm_table: IcebergTables) -> Table:
        location = orm_table.metadata_location
        if not location:
            raise NoSuchTableError(
                f"Table {orm_table.table_namespace}.{orm_table.table_name} has no metadata"
            )
        metadata = metadata_cache.get(location)
        if metadata is None:
            io = load_file_io(properties=self.properties, location=location)
            metadata = FromInputFile.table_metadata(io.new_input(location))
            metadata_cache.put(location, metadata)
        identifier = (*Catalog.identifier_to_tuple(orm_table.table_namespace), orm_table.table_name)
        with Session(self.engine) as session:  # joins the caller's transaction when bound to one
            root = session.scalar(
                select(Workspace.storage_location).where(Workspace.namespace == identifier[0])
            )
        return Table(
            identifier=identifier,
            metadata=metadata,
            metadata_location=location,
            io=WorkspaceFileIO(self._load_file_io(metadata.properties, location), root, ".".join(identifier)),
            catalog=self,
        )

    def _load_file_io(self, properties: Properties | None = None, location: str | None = None) -> FileIO:
        """The server's own FileIO, whatever the table's properties say: pyiceberg would merge
        them in, letting a table choose the code (`py-io-impl`), endpoint and keys the server
        uses. Table properties configure clients, not the catalog."""
        del properties
        return load_file_io(self.properties, location)

    @staticmethod
    def _write_metadata(metadata: TableMetadata, io: Any, metadata_path: str) -> None:
        SqlCatalog._write_metadata(metadata, io, metadata_path)
        metadata_cache.put(metadata_path, metadata)
