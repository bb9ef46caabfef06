"""The built-in Iceberg catalog: authorization, location rules and audit around pyiceberg.

Every operation runs in the caller's transaction through `PlatformCatalog` (store.py). Changes
are audited in that transaction (actor, table, snapshot id), which the caller's unit of work
commits (a COMMIT that fails answers StateUnknown: whether it took effect is unknown); files are
only deleted after the commit that stops referencing them (a failed or unknown commit never deletes).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pyiceberg.catalog.sql import IcebergNamespaceProperties, IcebergTables
from pyiceberg.io import load_file_io
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC
from pyiceberg.table import Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER
from pyiceberg.table.update import (
    AddSnapshotUpdate,
    AssertCreate,
    SetLocationUpdate,
    SetPropertiesUpdate,
    TableRequirement,
    TableUpdate,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sadeem.audit import service as audit
from sadeem.catalog.access import CatalogScope, Namespace
from sadeem.catalog.errors import (
    AlreadyExists,
    Forbidden,
    NamespaceNotEmpty,
    NoSuchNamespace,
    NoSuchTable,
    translated,
)
from sadeem.catalog.schemas import CreateTableBody, RegisterTableBody
from sadeem.catalog.storage import inside_storage, local_path
from sadeem.catalog.store import CATALOG_NAME, PlatformCatalog, file_io_properties
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.core.errors import InvalidInput
from sadeem.db import unit_of_work
from sadeem.workspaces.models import Workspace, WorkspaceRole

log = logging.getLogger("sadeem.catalog")
LOCATION = "location"
MAX_PAGE_SIZE = 1000


# --- names and locations -----------------------------------------------------------------------


def parse_namespace(encoded: str) -> Namespace:
    """A namespace from its path form: parts separated by the unit separator (0x1F)."""
    parts = tuple(encoded.split("\x1f"))
    for part in parts:
        if not part or part != part.strip() or "." in part or len(part) > 255:
            raise InvalidInput(
                f"Invalid namespace part {part!r}: parts are 1-255 characters, without '.' "
                "or surrounding spaces (multi-level namespaces separate parts with %1F)."
            )
    return parts


def _table_name(name: str) -> str:
    if not name or name != name.strip() or "." in name or len(name) > 255:
        raise InvalidInput(f"Invalid table name {name!r}: 1-255 characters, without '.'.")
    return name


def _dotted(namespace: Namespace) -> str:
    return ".".join(namespace)


def default_location(workspace: Workspace, namespace: Namespace) -> str:
    """Where a namespace's tables go by default: its path under the workspace's storage."""
    return "/".join([workspace.storage_location.rstrip("/"), *namespace[1:]])


def _require_within(workspace: Workspace, location: str, what: str) -> str:
    """Refuse any location outside the workspace's own storage: a table pointed elsewhere could
    read or overwrite another workspace's files."""
    cleaned = inside_storage(workspace.storage_location, location)
    if cleaned is None:
        raise InvalidInput(
            f"The {what} location must be inside the workspace's storage "
            f"{workspace.storage_location.rstrip('/')}/; got {location}."
        )
    return cleaned


def _within(workspace: Workspace, location: str) -> bool:
    return inside_storage(workspace.storage_location, location) is not None


# Table properties that would steer the catalog server itself when it writes metadata or purges:
# which code it imports (`py-io-impl`, `write.py-location-provider.impl`) and which storage it
# reaches with which credentials (FileIO properties). Clients configure their own FileIO locally.
_SERVER_SIDE_PREFIXES = ("py-", "s3.", "gcs.", "adls.", "hdfs.", "client.", "oss.", "hf.", "pyarrow.")
# Table properties naming where files go: they must stay inside the workspace's storage.
_PATH_PROPERTIES = (
    "write.data.path",
    "write.metadata.path",
    "write.object-storage.path",
    "write.folder-storage.path",
)


def _check_table_properties(workspace: Workspace, properties: Mapping[str, str]) -> None:
    refused = sorted(
        key for key in properties if key.startswith(_SERVER_SIDE_PREFIXES) or key.endswith(("-impl", ".impl"))
    )
    if refused:
        raise InvalidInput(
            f"Table properties {refused} would configure the catalog server's own file access or "
            "code; set them in your client's catalog configuration instead."
        )
    for key in _PATH_PROPERTIES:
        if key in properties:
            _require_within(workspace, properties[key], key)


def _check_table_metadata(workspace: Workspace, metadata: TableMetadata) -> None:
    """Metadata the catalog did not write itself (a registered table): its location, file paths
    and properties follow the same rules as a table created here."""
    _require_within(workspace, metadata.location, "table")
    _check_table_properties(workspace, metadata.properties)
    for snapshot in metadata.snapshots:
        if snapshot.manifest_list:
            _require_within(workspace, snapshot.manifest_list, "manifest list")


# --- reading -----------------------------------------------------------------------------------


def _catalog(session: Session, settings: Settings) -> PlatformCatalog:
    return PlatformCatalog.in_session(session, settings)


def _namespace_exists(session: Session, namespace: Namespace) -> bool:
    with translated():
        dotted = _dotted(namespace)
        found = session.scalar(
            select(IcebergNamespaceProperties.namespace)
            .where(
                IcebergNamespaceProperties.catalog_name == CATALOG_NAME,
                IcebergNamespaceProperties.namespace == dotted,
            )
            .limit(1)
        )
        return found is not None


def _require_namespace(session: Session, namespace: Namespace) -> None:
    if not _namespace_exists(session, namespace):
        raise NoSuchNamespace(f"Namespace does not exist: {_dotted(namespace)}")


@dataclass(frozen=True)
class Listing:
    """A page of a REST catalog listing (namespaces or tables) and the token of the next one."""

    items: list[Any]
    next_token: str | None


def _page_size(size: int | None) -> int:
    if size is not None and size < 1:
        raise InvalidInput("pageSize must be at least 1.")
    return min(size or MAX_PAGE_SIZE, MAX_PAGE_SIZE)


def list_namespaces(
    session: Session, scope: CatalogScope, parent: Namespace, page_token: str | None, page_size: int | None
) -> Listing:
    """Namespaces one level under `parent` (top level: the caller's workspaces' namespaces)."""
    size = _page_size(page_size)
    if parent:
        scope.require(session, parent, WorkspaceRole.viewer)
        _require_namespace(session, parent)
        prefix = _dotted(parent) + "."
        rows = session.scalars(
            select(IcebergNamespaceProperties.namespace)
            .distinct()
            .where(
                IcebergNamespaceProperties.catalog_name == CATALOG_NAME,
                IcebergNamespaceProperties.namespace.startswith(prefix, autoescape=True),
            )
        ).all()
        children = sorted({(*parent, row[len(prefix) :].split(".")[0]) for row in rows})
    else:
        roots = scope.visible_roots
        existing = set(
            session.scalars(
                select(IcebergNamespaceProperties.namespace)
                .distinct()
                .where(
                    IcebergNamespaceProperties.catalog_name == CATALOG_NAME,
                    IcebergNamespaceProperties.namespace.in_(roots),
                )
            ).all()
        )
        children = [(root,) for root in roots if root in existing]
    if page_token:
        children = [c for c in children if _dotted(c) > page_token]
    page = children[:size]
    return Listing(page, _dotted(page[-1]) if len(children) > size else None)


def load_namespace(session: Session, scope: CatalogScope, namespace: Namespace) -> dict[str, str]:
    scope.require(session, namespace, WorkspaceRole.viewer)
    with translated():
        return _catalog_properties(session, namespace)


def _catalog_properties(session: Session, namespace: Namespace) -> dict[str, str]:
    rows = session.execute(
        select(IcebergNamespaceProperties.property_key, IcebergNamespaceProperties.property_value).where(
            IcebergNamespaceProperties.catalog_name == CATALOG_NAME,
            IcebergNamespaceProperties.namespace == _dotted(namespace),
        )
    ).all()
    if not rows:
        raise NoSuchNamespace(f"Namespace does not exist: {_dotted(namespace)}")
    return {key: value for key, value in rows if key != "exists"}


def list_tables(
    session: Session, scope: CatalogScope, namespace: Namespace, page_token: str | None, page_size: int | None
) -> Listing:
    scope.require(session, namespace, WorkspaceRole.viewer)
    _require_namespace(session, namespace)
    size = _page_size(page_size)
    stmt = (
        select(IcebergTables.table_name)
        .where(
            IcebergTables.catalog_name == CATALOG_NAME,
            IcebergTables.table_namespace == _dotted(namespace),
            (IcebergTables.iceberg_type == "TABLE") | IcebergTables.iceberg_type.is_(None),
        )
        .order_by(IcebergTables.table_name)
        .limit(size + 1)
    )
    if page_token:
        stmt = stmt.where(IcebergTables.table_name > page_token)
    names = list(session.scalars(stmt).all())
    page = names[:size]
    return Listing([(namespace, name) for name in page], page[-1] if len(names) > size else None)


def load_table(
    session: Session, settings: Settings, scope: CatalogScope, namespace: Namespace, name: str
) -> Table:
    scope.require(session, namespace, WorkspaceRole.viewer)
    with translated():
        return _catalog(session, settings).load_table((*namespace, _table_name(name)))


def _table_row_exists(session: Session, namespace: Namespace, name: str) -> bool:
    found = session.scalar(
        select(func.count())
        .select_from(IcebergTables)
        .where(
            IcebergTables.catalog_name == CATALOG_NAME,
            IcebergTables.table_namespace == _dotted(namespace),
            IcebergTables.table_name == name,
        )
    )
    return bool(found)


def table_exists(session: Session, scope: CatalogScope, namespace: Namespace, name: str) -> None:
    scope.require(session, namespace, WorkspaceRole.viewer)
    if not _table_row_exists(session, namespace, name):
        raise NoSuchTable(f"Table does not exist: {_dotted(namespace)}.{name}")


def accept_metrics(session: Session, scope: CatalogScope, namespace: Namespace) -> None:
    """A metrics report is accepted from whoever may read the namespace, also for a table that
    does not exist (yet): Spark reports on a staged table (CREATE/REPLACE TABLE … AS SELECT)
    before the commit that creates it, and Iceberg's own server does not look either."""
    scope.require(session, namespace, WorkspaceRole.viewer)


def referenced_snapshots_only(metadata: TableMetadata) -> TableMetadata:
    """The `snapshots=refs` view: only snapshots that a branch or tag points at."""
    referenced = {ref.snapshot_id for ref in metadata.refs.values()}
    return metadata.model_copy(
        update={"snapshots": [s for s in metadata.snapshots if s.snapshot_id in referenced]}
    )


# --- namespaces --------------------------------------------------------------------------------


def _audit_namespace(
    session: Session, actor: Actor, workspace: Workspace, namespace: Namespace, **details: Any
) -> None:
    audit.record(
        session,
        actor,
        target_type="namespace",
        target_id=_dotted(namespace),
        workspace=workspace.slug,
        details=details,
    )


def create_namespace(
    session: Session,
    actor: Actor,
    settings: Settings,
    scope: CatalogScope,
    namespace: Namespace,
    properties: dict[str, str],
) -> dict[str, str]:
    if len(namespace) == 1 and namespace[0] not in scope.grants:
        raise Forbidden(
            "Top-level namespaces belong to workspaces (a workspace's is its slug); create "
            "namespaces under your workspace's namespace."
        )
    workspace = scope.require(session, namespace, WorkspaceRole.editor)
    if len(namespace) > 1:
        _require_namespace(session, namespace[:-1])
    properties = dict(properties)
    properties[LOCATION] = _require_within(
        workspace, properties.get(LOCATION) or default_location(workspace, namespace), "namespace"
    )
    with translated():
        _catalog(session, settings).create_namespace(namespace, properties)
    _audit_namespace(session, actor, workspace, namespace, properties=properties)
    return properties


def ensure_workspace_namespace(session: Session, settings: Settings, workspace: Workspace) -> bool:
    """Create the workspace's own namespace if it is missing (provisioning; idempotent). The
    caller audits and commits. Returns whether it was created."""
    namespace = (workspace.namespace,)
    if _namespace_exists(session, namespace):
        return False
    with translated():
        _catalog(session, settings).create_namespace(
            namespace, {LOCATION: default_location(workspace, namespace)}
        )
    return True


def drop_namespace(
    session: Session, actor: Actor, settings: Settings, scope: CatalogScope, namespace: Namespace
) -> None:
    workspace = scope.require(session, namespace, WorkspaceRole.admin)
    _require_namespace(session, namespace)
    if len(namespace) == 1:
        raise Forbidden(
            f"Namespace {namespace[0]} is workspace {workspace.slug}'s own: it goes when the "
            "workspace is deleted."
        )
    children = session.scalar(
        select(func.count())
        .select_from(IcebergNamespaceProperties)
        .where(
            IcebergNamespaceProperties.catalog_name == CATALOG_NAME,
            IcebergNamespaceProperties.namespace.startswith(_dotted(namespace) + ".", autoescape=True),
        )
    )
    if children:
        raise NamespaceNotEmpty(f"Namespace {_dotted(namespace)} has child namespaces; drop them first.")
    with translated():
        _catalog(session, settings).drop_namespace(namespace)
    _audit_namespace(session, actor, workspace, namespace)


@dataclass(frozen=True)
class PropertiesChange:
    removed: list[str]
    updated: list[str]
    missing: list[str]


def update_namespace_properties(
    session: Session,
    actor: Actor,
    settings: Settings,
    scope: CatalogScope,
    namespace: Namespace,
    removals: set[str],
    updates: dict[str, str],
) -> PropertiesChange:
    workspace = scope.require(session, namespace, WorkspaceRole.editor)
    if removals & updates.keys():
        raise InvalidInput(f"Keys both removed and updated: {sorted(removals & updates.keys())}")
    if LOCATION in updates:
        updates = {**updates, LOCATION: _require_within(workspace, updates[LOCATION], "namespace")}
    if LOCATION in removals:
        raise InvalidInput("A namespace's location can be changed but not removed.")
    with translated():
        summary = _catalog(session, settings).update_namespace_properties(namespace, removals, updates)
    _audit_namespace(session, actor, workspace, namespace, removed=sorted(removals), updated=updates)
    return PropertiesChange(sorted(summary.removed), sorted(summary.updated), sorted(summary.missing))


# --- tables ------------------------------------------------------------------------------------


def audit_table(
    session: Session,
    actor: Actor,
    workspace: Workspace,
    identifier: tuple[str, ...],
    metadata: TableMetadata | None,
    **details: Any,
) -> None:
    """Record a table change in the caller's transaction, with the snapshot it made current."""
    if metadata is not None:
        snapshot = metadata.current_snapshot_id
        # Exact 64-bit ids as strings: JSON readers often hold numbers as doubles.
        details = {
            "snapshot_id": None if snapshot is None else str(snapshot),
            "table_uuid": str(metadata.table_uuid),
            **details,
        }
    audit.record(
        session,
        actor,
        target_type="table",
        target_id=".".join(identifier),
        workspace=workspace.slug,
        details=details,
    )


def _prepare_local_table_dirs(location: str) -> None:
    """A local warehouse needs the table's directories before a client that writes files itself
    (DuckDB) uses them; object stores have no directories."""
    path = local_path(location)
    if path is not None:
        (path / "metadata").mkdir(parents=True, exist_ok=True)
        (path / "data").mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class LoadedTable:
    metadata: TableMetadata
    metadata_location: str | None


def create_table(
    session: Session,
    actor: Actor,
    settings: Settings,
    scope: CatalogScope,
    namespace: Namespace,
    request: CreateTableBody,
) -> LoadedTable:
    workspace = scope.require(session, namespace, WorkspaceRole.editor)
    name = _table_name(request.name)
    _require_namespace(session, namespace)
    catalog = _catalog(session, settings)
    location = request.location
    if location:
        location = _require_within(workspace, location, "table")
    else:
        location = _require_within(
            workspace, f"{_namespace_location(session, workspace, namespace)}/{name}", "table"
        )
    _check_table_properties(workspace, request.properties)
    identifier = (*namespace, name)
    with translated():
        if request.stage_create:
            if _table_row_exists(session, namespace, name):
                raise AlreadyExists(f"Table already exists: {'.'.join(identifier)}")
            staged = catalog._create_staged_table(
                identifier,
                request.table_schema,
                location=location,
                partition_spec=request.partition_spec or UNPARTITIONED_PARTITION_SPEC,
                sort_order=request.write_order or UNSORTED_SORT_ORDER,
                properties=request.properties,
            )
            _prepare_local_table_dirs(location)
            session.rollback()  # nothing was written: the table exists once its creation is committed
            return LoadedTable(staged.metadata, None)
        table = catalog.create_table(
            identifier,
            request.table_schema,
            location=location,
            partition_spec=request.partition_spec or UNPARTITIONED_PARTITION_SPEC,
            sort_order=request.write_order or UNSORTED_SORT_ORDER,
            properties=request.properties,
        )
    _prepare_local_table_dirs(location)
    audit_table(
        session, actor, workspace, identifier, table.metadata, metadata_location=table.metadata_location
    )
    return LoadedTable(table.metadata, table.metadata_location)


def _namespace_location(session: Session, workspace: Workspace, namespace: Namespace) -> str:
    return _catalog_properties(session, namespace).get(LOCATION) or default_location(workspace, namespace)


class _Named:
    """pyiceberg's `commit_table` only asks its first argument for `name()`."""

    def __init__(self, identifier: tuple[str, ...]) -> None:
        self._identifier = identifier

    def name(self) -> tuple[str, ...]:
        return self._identifier


def _check_updates(workspace: Workspace, updates: Iterable[TableUpdate]) -> None:
    for update in updates:
        if isinstance(update, SetLocationUpdate):
            _require_within(workspace, update.location, "table")
        elif isinstance(update, SetPropertiesUpdate):
            _check_table_properties(workspace, update.updates)
        elif isinstance(update, AddSnapshotUpdate) and update.snapshot.manifest_list:
            _require_within(workspace, update.snapshot.manifest_list, "manifest list")


def _creation_updates(
    session: Session, workspace: Workspace, change: TableChange, identifier: tuple[str, ...]
) -> tuple[TableUpdate, ...]:
    """The updates to apply. A commit to a missing table creates it only with `assert-create`
    (else 404, as the spec says; pyiceberg alone would create it), and a creation without
    `set-location` gets the namespace's default location, as `create_table` would give it."""
    if _table_row_exists(session, change.namespace, change.name):
        return change.updates
    if not any(isinstance(r, AssertCreate) for r in change.requirements):
        raise NoSuchTable(f"Table does not exist: {'.'.join(identifier)}")
    if any(isinstance(u, SetLocationUpdate) for u in change.updates):
        return change.updates
    location = _require_within(
        workspace, f"{_namespace_location(session, workspace, change.namespace)}/{change.name}", "table"
    )
    return (SetLocationUpdate(location=location), *change.updates)


@dataclass(frozen=True)
class TableChange:
    namespace: Namespace
    name: str
    requirements: tuple[TableRequirement, ...]
    updates: tuple[TableUpdate, ...]


def commit_tables(
    session: Session,
    actor: Actor,
    settings: Settings,
    scope: CatalogScope,
    changes: Sequence[TableChange],
) -> list[LoadedTable]:
    """Commit changes to one or more tables in one database transaction: all or none.

    Each change is checked and applied by pyiceberg (requirements, updates, a new metadata file,
    compare-and-set of the metadata pointer); a requirement that no longer holds, or a lost race,
    fails the whole transaction with 409 CommitFailed and the client retries on fresh metadata.
    """
    if not changes:
        raise InvalidInput("A transaction needs at least one table change.")
    catalog = _catalog(session, settings)
    results: list[tuple[Workspace, tuple[str, ...], LoadedTable, list[str]]] = []
    seen: set[tuple[str, ...]] = set()
    for change in changes:
        namespace = change.namespace
        identifier = (*namespace, _table_name(change.name))
        if identifier in seen:
            raise InvalidInput(f"Table {'.'.join(identifier)} appears twice in one transaction.")
        seen.add(identifier)
        workspace = scope.require(session, namespace, WorkspaceRole.editor)
        _require_namespace(session, namespace)
        _check_updates(workspace, change.updates)
        updates = _creation_updates(session, workspace, change, identifier)
        with translated():
            response = catalog.commit_table(cast(Table, _Named(identifier)), change.requirements, updates)
        if response.metadata.location:
            _require_within(workspace, response.metadata.location, "table")
        actions: list[str] = [str(update.action) for update in updates]
        results.append(
            (workspace, identifier, LoadedTable(response.metadata, response.metadata_location), actions)
        )
    for workspace, identifier, loaded, actions in results:
        audit_table(
            session,
            actor,
            workspace,
            identifier,
            loaded.metadata,
            metadata_location=loaded.metadata_location,
            updates=actions,
        )
    return [loaded for *_, loaded, _actions in results]


def drop_table(
    session: Session,
    actor: Actor,
    settings: Settings,
    scope: CatalogScope,
    namespace: Namespace,
    name: str,
    purge: bool,
) -> None:
    workspace = scope.require(session, namespace, WorkspaceRole.admin)
    identifier = (*namespace, _table_name(name))
    catalog = _catalog(session, settings)
    with translated():
        table = catalog.load_table(identifier)
        catalog.drop_table(identifier)
    audit_table(session, actor, workspace, identifier, table.metadata, purge=purge)
    if purge:  # only once the drop is committed: a failed or unknown commit never deletes
        unit_of_work.after_commit(session, lambda: _delete_table_files(table, settings, workspace))


def _delete_table_files(table: Table, settings: Settings, workspace: Workspace) -> None:
    """After the drop is committed: the table's data, manifests and metadata, best effort. Only
    files inside the workspace's storage: a manifest may name any path, and the server must not
    delete another workspace's files with its own credentials."""
    from pyiceberg.catalog import delete_files

    def ours(paths: Iterable[str]) -> set[str]:
        return {path for path in paths if _within(workspace, path)}

    io = load_file_io(file_io_properties(settings), table.metadata.location)
    try:
        lists = ours(s.manifest_list for s in table.metadata.snapshots if s.manifest_list)
        manifests = {
            m.manifest_path: m
            for s in table.metadata.snapshots
            if s.manifest_list in lists
            for m in s.manifests(io)
            if _within(workspace, m.manifest_path)
        }
        data_files = {
            entry.data_file.file_path
            for manifest in manifests.values()
            for entry in manifest.fetch_manifest_entry(io, discard_deleted=False)
        }
        delete_files(io, ours(data_files), "data")
        delete_files(io, set(manifests), "manifest")
        delete_files(io, lists, "manifest list")
        delete_files(io, ours(log.metadata_file for log in table.metadata.metadata_log), "previous metadata")
        if table.metadata_location:
            delete_files(io, ours([table.metadata_location]), "metadata")
        path = local_path(table.metadata.location)
        if path is not None:
            for directory in sorted((p for p in path.rglob("*") if p.is_dir()), reverse=True):
                if not any(directory.iterdir()):
                    directory.rmdir()
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    except Exception as e:  # the drop is committed; leftovers are orphans, not lost data
        log.warning("purge of %s incomplete: %s", table.name(), type(e).__name__)


def rename_table(
    session: Session,
    actor: Actor,
    settings: Settings,
    scope: CatalogScope,
    source: tuple[Namespace, str],
    destination: tuple[Namespace, str],
) -> None:
    source_workspace = scope.require(session, source[0], WorkspaceRole.editor)
    destination_workspace = scope.require(session, destination[0], WorkspaceRole.editor)
    if source_workspace.id != destination_workspace.id:
        raise InvalidInput(
            "A table cannot move to another workspace: its files stay in its workspace's storage."
        )
    source_id = (*source[0], _table_name(source[1]))
    destination_id = (*destination[0], _table_name(destination[1]))
    with translated():
        renamed = _catalog(session, settings).rename_table(source_id, destination_id)
    audit_table(
        session, actor, source_workspace, source_id, renamed.metadata, renamed_to=".".join(destination_id)
    )


def register_table(
    session: Session,
    actor: Actor,
    settings: Settings,
    scope: CatalogScope,
    namespace: Namespace,
    request: RegisterTableBody,
) -> LoadedTable:
    workspace = scope.require(session, namespace, WorkspaceRole.editor)
    _require_namespace(session, namespace)
    name = _table_name(request.name)
    location = _require_within(workspace, request.metadata_location, "metadata")
    catalog = _catalog(session, settings)
    identifier = (*namespace, name)
    with translated():
        existing = session.scalar(
            select(IcebergTables).where(
                IcebergTables.catalog_name == CATALOG_NAME,
                IcebergTables.table_namespace == _dotted(namespace),
                IcebergTables.table_name == name,
            )
        )
        if existing is not None and not request.overwrite:
            raise AlreadyExists(f"Table already exists: {'.'.join(identifier)}")
        try:
            if existing is not None:
                existing.previous_metadata_location = existing.metadata_location
                existing.metadata_location = location
                session.flush()
                table = catalog.load_table(identifier)
            else:
                table = catalog.register_table(identifier, location)
        except OSError as e:
            # The caller named the file: its absence (or a directory there) is a bad request;
            # any other failure to read it is the storage's, not the caller's.
            path = local_path(location)
            if not isinstance(e, FileNotFoundError) and (path is None or path.is_file()):
                raise
            raise InvalidInput(f"No metadata file at {request.metadata_location}.") from e
        _check_table_metadata(workspace, table.metadata)
    audit_table(
        session,
        actor,
        workspace,
        identifier,
        table.metadata,
        registered=location,
        overwrite=request.overwrite,
    )
    return LoadedTable(table.metadata, table.metadata_location)
