"""The catalog explorer: a workspace's namespaces and tables as Sadeem's API shows them.

Reading goes through the built-in catalog (catalog/service.py: access rules, pyiceberg's
`SqlCatalog` in the request's transaction); what is shown is derived from pyiceberg's own
`Table` and `TableMetadata` by the pure functions below. Tables are named by their full dotted
namespace (`alpha.sales`) and name, as engines name them; a namespace outside the workspace's
own is as missing as one that does not exist (404), whoever asks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from pyiceberg.catalog.sql import IcebergNamespaceProperties, IcebergTables
from pyiceberg.io.pyarrow import ArrowScan, schema_to_pyarrow
from pyiceberg.manifest import DataFile as IcebergDataFile
from pyiceberg.manifest import DataFileContent, ManifestContent, ManifestFile
from pyiceberg.schema import Schema
from pyiceberg.table import DataScan, Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.refs import SnapshotRef, SnapshotRefType
from pyiceberg.table.snapshots import Snapshot as IcebergSnapshot
from pyiceberg.types import (
    IcebergType,
    ListType,
    MapType,
    NestedField,
    StructType,
)
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sadeem.auth.principal import Principal
from sadeem.catalog import service as catalog
from sadeem.catalog.access import Namespace, scope_for
from sadeem.catalog.errors import NoSuchNamespace, NoSuchTable
from sadeem.catalog.explorer_schemas import (
    DataFile,
    DataFiles,
    DatasetBrief,
    HistoryEntry,
    NamespaceNode,
    PartitionField,
    PartitionSpec,
    Preview,
    PreviewColumn,
    Ref,
    SchemaField,
    Snapshot,
    SortField,
    SortOrder,
    TableDetail,
    TableSchema,
    Totals,
)
from sadeem.catalog.store import CATALOG_NAME
from sadeem.config import Settings
from sadeem.core.errors import InvalidInput, NotFound
from sadeem.core.pagination import PageRequest, decode_cursor, encode_cursor
from sadeem.results.json_cells import json_rows, result_columns
from sadeem.workspaces.models import Workspace

DETAIL_FILES = 100  # data files shown with a table's detail; `…/files` pages through all
PREVIEW_FILES_AT_ONCE = 8  # files a preview reads in parallel (each up to the rows still missing)
COLUMNS_NAMED = 50  # columns an error names, of a table that may have thousands
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- names -------------------------------------------------------------------------------------


def namespace_of(workspace: Workspace, dotted: str) -> Namespace:
    """A namespace of the workspace from its dotted form; anything else does not exist here."""
    parts = tuple(dotted.split("."))
    if parts[0] != workspace.namespace or not all(parts):
        raise NoSuchNamespace(f"No namespace '{dotted}' in workspace '{workspace.slug}'.")
    return parts


def _dotted(namespace: Namespace) -> str:
    return ".".join(namespace)


def in_workspace(column: Any, workspace: Workspace) -> Any:
    return or_(column == workspace.namespace, column.startswith(workspace.namespace + ".", autoescape=True))


def is_table() -> Any:
    return (IcebergTables.iceberg_type == "TABLE") | IcebergTables.iceberg_type.is_(None)


def require_namespace(session: Session, workspace: Workspace, dotted: str) -> Namespace:
    namespace = namespace_of(workspace, dotted)
    found = session.scalar(
        select(IcebergNamespaceProperties.namespace)
        .where(
            IcebergNamespaceProperties.catalog_name == CATALOG_NAME,
            IcebergNamespaceProperties.namespace == dotted,
        )
        .limit(1)
    )
    if found is None:
        raise NoSuchNamespace(f"No namespace '{dotted}' in workspace '{workspace.slug}'.")
    return namespace


def require_table(session: Session, workspace: Workspace, dotted_namespace: str, name: str) -> Namespace:
    """The table's namespace, if the workspace has such a table (a cheap check: no metadata read)."""
    namespace = require_namespace(session, workspace, dotted_namespace)
    found = session.scalar(
        select(IcebergTables.table_name).where(
            IcebergTables.catalog_name == CATALOG_NAME,
            IcebergTables.table_namespace == dotted_namespace,
            IcebergTables.table_name == name,
            is_table(),
        )
    )
    if found is None:
        raise NoSuchTable(f"No table '{name}' in namespace '{dotted_namespace}'.")
    return namespace


def load_table(
    session: Session, settings: Settings, principal: Principal, workspace: Workspace, dotted: str, name: str
) -> Table:
    namespace = require_table(session, workspace, dotted, name)
    return catalog.load_table(
        session, settings, scope_for(session, principal, workspace.slug), namespace, name
    )


# --- namespaces --------------------------------------------------------------------------------


@dataclass
class _Node:
    namespace: Namespace
    table_count: int = 0
    children: dict[str, _Node] = field(default_factory=dict)

    def view(self) -> NamespaceNode:
        children = [self.children[name].view() for name in sorted(self.children)]
        return NamespaceNode(
            namespace=_dotted(self.namespace),
            name=self.namespace[-1],
            table_count=self.table_count,
            total_table_count=self.table_count + sum(c.total_table_count for c in children),
            children=children,
        )


def namespace_tree(session: Session, workspace: Workspace) -> NamespaceNode:
    """The workspace's namespace and every namespace under it, with their table counts."""
    names = session.scalars(
        select(IcebergNamespaceProperties.namespace)
        .distinct()
        .where(
            IcebergNamespaceProperties.catalog_name == CATALOG_NAME,
            in_workspace(IcebergNamespaceProperties.namespace, workspace),
        )
    ).all()
    if workspace.namespace not in names:
        raise NoSuchNamespace(
            f"Workspace '{workspace.slug}' has no namespace '{workspace.namespace}' in the catalog yet; "
            "provision the workspace again."
        )
    counts: dict[str, int] = dict(
        session.execute(
            select(IcebergTables.table_namespace, func.count())
            .where(
                IcebergTables.catalog_name == CATALOG_NAME,
                in_workspace(IcebergTables.table_namespace, workspace),
                is_table(),
            )
            .group_by(IcebergTables.table_namespace)
        ).all()
    )
    root = _Node((workspace.namespace,), counts.get(workspace.namespace, 0))
    for dotted in sorted(set(names) | counts.keys()):
        node = root
        parts = tuple(dotted.split("."))
        for depth in range(2, len(parts) + 1):
            name = parts[depth - 1]
            if name not in node.children:  # a missing parent is shown, as engines would list it
                node.children[name] = _Node(parts[:depth], counts.get(_dotted(parts[:depth]), 0))
            node = node.children[name]
    return root.view()


# --- tables ------------------------------------------------------------------------------------


# --- table metadata, as shown (pure) -----------------------------------------------------------


def type_string(field_type: IcebergType) -> str:
    if isinstance(field_type, StructType):
        return (
            "struct<" + ", ".join(f"{f.name}: {type_string(f.field_type)}" for f in field_type.fields) + ">"
        )
    if isinstance(field_type, ListType):
        return f"list<{type_string(field_type.element_type)}>"
    if isinstance(field_type, MapType):
        return f"map<{type_string(field_type.key_type)}, {type_string(field_type.value_type)}>"
    return str(field_type)


def _children(field_type: IcebergType) -> list[NestedField]:
    if isinstance(field_type, StructType):
        return list(field_type.fields)
    if isinstance(field_type, ListType):
        return [field_type.element_field]
    if isinstance(field_type, MapType):
        return [field_type.key_field, field_type.value_field]
    return []


def schema_field(field: NestedField) -> SchemaField:
    return SchemaField(
        id=field.field_id,
        name=field.name,
        type=type_string(field.field_type),
        required=field.required,
        doc=field.doc,
        children=[schema_field(child) for child in _children(field.field_type)],
    )


def table_schema(schema: Schema) -> TableSchema:
    return TableSchema(
        schema_id=schema.schema_id,
        identifier_field_ids=list(schema.identifier_field_ids),
        fields=[schema_field(f) for f in schema.fields],
    )


def _column_name(metadata: TableMetadata, field_id: int) -> str | None:
    """A source column's name in the current schema, or in the newest schema that had it."""
    for schema in [metadata.schema(), *reversed(metadata.schemas)]:
        name = schema.find_column_name(field_id)
        if name is not None:
            return name
    return None


def partition_spec(metadata: TableMetadata) -> PartitionSpec:
    spec = metadata.spec()
    return PartitionSpec(
        spec_id=spec.spec_id,
        fields=[
            PartitionField(
                field_id=f.field_id,
                name=f.name,
                source_id=f.source_id,
                source_name=_column_name(metadata, f.source_id),
                transform=str(f.transform),
            )
            for f in spec.fields
        ],
    )


def sort_order(metadata: TableMetadata) -> SortOrder:
    order = metadata.sort_order()
    return SortOrder(
        order_id=order.order_id,
        fields=[
            SortField(
                source_id=f.source_id,
                source_name=_column_name(metadata, f.source_id),
                transform=str(f.transform),
                direction=f.direction.value,
                null_order=f.null_order.value,
            )
            for f in order.fields
        ],
    )


def _moment(timestamp_ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=timestamp_ms)


def _id(snapshot_id: int | None) -> str | None:
    return None if snapshot_id is None else str(snapshot_id)


def snapshot_view(snapshot: IcebergSnapshot) -> Snapshot:
    summary = snapshot.summary
    return Snapshot(
        snapshot_id=str(snapshot.snapshot_id),
        parent_snapshot_id=_id(snapshot.parent_snapshot_id),
        sequence_number=snapshot.sequence_number,
        timestamp=_moment(snapshot.timestamp_ms),
        operation=summary.operation.value if summary is not None else None,
        summary=dict(summary.additional_properties) if summary is not None else {},
        schema_id=snapshot.schema_id,
        manifest_list=snapshot.manifest_list,
    )


def ref_view(name: str, ref: SnapshotRef) -> Ref:
    return Ref(
        name=name,
        type="tag" if ref.snapshot_ref_type is SnapshotRefType.TAG else "branch",
        snapshot_id=str(ref.snapshot_id),
        max_ref_age_ms=ref.max_ref_age_ms,
        max_snapshot_age_ms=ref.max_snapshot_age_ms,
        min_snapshots_to_keep=ref.min_snapshots_to_keep,
    )


_SUMMARY_TOTALS = ("total-records", "total-files-size", "total-data-files", "total-delete-files")


def totals(table: Table) -> Totals:
    """From the current snapshot's summary; from its manifests when a writer left no totals."""
    snapshot = table.current_snapshot()
    if snapshot is None:
        return Totals(row_count=0, total_size_bytes=0, data_files=0, delete_files=0, source="no-snapshot")
    summary = snapshot.summary.additional_properties if snapshot.summary is not None else {}
    try:
        rows, size, data_files, delete_files = (int(summary[key]) for key in _SUMMARY_TOTALS)
    except (KeyError, ValueError):
        pass
    else:
        return Totals(
            row_count=rows,
            total_size_bytes=size,
            data_files=data_files,
            delete_files=delete_files,
            source="snapshot-summary",
        )
    rows = size = data_files = delete_files = 0
    for manifest in snapshot.manifests(table.io):
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            size += entry.data_file.file_size_in_bytes
            if entry.data_file.content is DataFileContent.DATA:
                rows += entry.data_file.record_count
                data_files += 1
            else:
                delete_files += 1
    return Totals(
        row_count=rows,
        total_size_bytes=size,
        data_files=data_files,
        delete_files=delete_files,
        source="manifests",
    )


def table_detail(table: Table, dataset: DatasetBrief | None) -> TableDetail:
    metadata = table.metadata
    current = table.current_snapshot()
    namespace, name = table.name()[:-1], table.name()[-1]
    return TableDetail(
        namespace=_dotted(namespace),
        name=name,
        identifier=".".join(table.name()),
        table_uuid=str(metadata.table_uuid),
        location=metadata.location,
        metadata_location=table.metadata_location,
        format_version=metadata.format_version,
        last_updated=_moment(metadata.last_updated_ms),
        last_sequence_number=getattr(metadata, "last_sequence_number", None),  # v2 and later
        properties=dict(metadata.properties),
        schema=table_schema(metadata.schema()),
        partition_spec=partition_spec(metadata),
        sort_order=sort_order(metadata),
        current_snapshot_id=_id(metadata.current_snapshot_id),
        current_snapshot=snapshot_view(current) if current is not None else None,
        snapshots=[snapshot_view(s) for s in sorted(metadata.snapshots, key=lambda s: s.timestamp_ms)],
        history=[
            HistoryEntry(snapshot_id=str(e.snapshot_id), timestamp=_moment(e.timestamp_ms))
            for e in metadata.snapshot_log
        ],
        refs=[ref_view(ref_name, ref) for ref_name, ref in sorted(metadata.refs.items())],
        totals=totals(table),
        data_files=data_files(table, None, PageRequest(limit=DETAIL_FILES, cursor=None)),
        dataset=dataset,
    )


# --- data files --------------------------------------------------------------------------------


def _snapshot(table: Table, snapshot_id: int | None) -> IcebergSnapshot | None:
    if snapshot_id is None:
        return table.current_snapshot()
    snapshot = table.snapshot_by_id(snapshot_id)
    if snapshot is None:
        raise NotFound(f"Table {'.'.join(table.name())} has no snapshot {snapshot_id}.")
    return snapshot


def _files_cursor(cursor: str) -> tuple[int, int]:
    key = decode_cursor(cursor)
    snapshot, _, offset = str(key).partition(":")
    try:
        return int(snapshot), int(offset)
    except ValueError:
        raise InvalidInput("The cursor is not valid; pass `next_cursor` from a previous page.") from None


def _manifest_file_count(manifest: ManifestFile) -> int | None:
    if manifest.added_files_count is None or manifest.existing_files_count is None:
        return None
    return manifest.added_files_count + manifest.existing_files_count


def _partition(table: Table, spec_id: int, data_file: IcebergDataFile) -> dict[str, str | None]:
    spec = table.specs().get(spec_id)
    if spec is None:
        return {}
    schema = table.schema()
    values: dict[str, str | None] = {}
    for position, partition_field in enumerate(spec.fields):
        value = data_file.partition[position]
        try:
            source_type = schema.find_type(partition_field.source_id)
            values[partition_field.name] = (
                None if value is None else partition_field.transform.to_human_string(source_type, value)
            )
        except ValueError:  # the source column was dropped since
            values[partition_field.name] = None if value is None else str(value)
    return values


def data_files(table: Table, snapshot_id: int | None, page: PageRequest) -> DataFiles:
    """A snapshot's live data files (the current snapshot's by default), in manifest order. A
    snapshot never changes, so a page is an offset into it, and the cursor names the snapshot."""
    offset = 0
    if page.cursor is not None:
        cursor_snapshot, offset = _files_cursor(page.cursor)
        if snapshot_id is not None and snapshot_id != cursor_snapshot:
            raise InvalidInput("The cursor belongs to another snapshot than `snapshot_id`.")
        snapshot_id = cursor_snapshot
    snapshot = _snapshot(table, snapshot_id)
    if snapshot is None:
        return DataFiles(snapshot_id=None, total=0, items=[])
    items: list[DataFile] = []
    position = total = 0
    for manifest in snapshot.manifests(table.io):
        if manifest.content is not ManifestContent.DATA:
            continue
        known = _manifest_file_count(manifest)
        if known is not None and (position + known <= offset or len(items) > page.limit):
            position += known  # nothing of it on this page: count it without reading it
            total += known
            continue
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            if offset <= position and len(items) <= page.limit:
                f = entry.data_file
                items.append(
                    DataFile(
                        path=f.file_path,
                        format=f.file_format.value,
                        record_count=f.record_count,
                        size_bytes=f.file_size_in_bytes,
                        partition=_partition(table, manifest.partition_spec_id, f),
                    )
                )
            position += 1
            total += 1
    cursor = None
    if len(items) > page.limit:
        items = items[: page.limit]
        cursor = encode_cursor(f"{snapshot.snapshot_id}:{offset + page.limit}")
    return DataFiles(snapshot_id=str(snapshot.snapshot_id), total=total, items=items, next_cursor=cursor)


# --- data preview ------------------------------------------------------------------------------


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def snapshot_to_read(
    table: Table, snapshot_id: int | None, ref: str | None, as_of: datetime | None
) -> IcebergSnapshot | None:
    """The snapshot a time-travel request names (the current one if none), or a clear 4xx."""
    identifier = ".".join(table.name())
    if sum(x is not None for x in (snapshot_id, ref, as_of)) > 1:
        raise InvalidInput("Give at most one of `snapshot_id`, `ref` and `as_of`.")
    if ref is not None:
        snapshot = table.snapshot_by_name(ref)
        if snapshot is None:
            raise NotFound(f"Table {identifier} has no branch or tag '{ref}'.")
        return snapshot
    if as_of is None:
        return _snapshot(table, snapshot_id)
    moment = _as_utc(as_of)
    at_ms = (moment - _EPOCH) // timedelta(milliseconds=1)
    log = [(e.snapshot_id, e.timestamp_ms) for e in table.metadata.snapshot_log] or [
        (s.snapshot_id, s.timestamp_ms) for s in sorted(table.snapshots(), key=lambda s: s.timestamp_ms)
    ]
    if not log:
        raise InvalidInput(f"Table {identifier} has no snapshots yet: there is nothing to read as of a time.")
    earlier = [snapshot for snapshot, timestamp in log if timestamp <= at_ms]
    if not earlier:
        first = _moment(log[0][1]).isoformat()
        raise InvalidInput(
            f"{moment.isoformat()} is before the first snapshot of table {identifier}, "
            f"committed at {first}; there was no data then."
        )
    snapshot = table.snapshot_by_id(earlier[-1])
    if snapshot is None:
        raise InvalidInput(
            f"The snapshot of table {identifier} current at {moment.isoformat()} ({earlier[-1]}) has "
            "expired; its data is gone."
        )
    return snapshot


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _read_rows(table: Table, scan: DataScan, limit: int) -> pa.Table:
    """At most `limit` rows of the scan, reading a few files at a time. (A scan's own limit
    stops early too, but only after starting a read of every file of the table at once.)"""
    projection = scan.projection()
    parts: list[pa.Table] = []
    missing = limit
    for tasks in _chunks(scan.plan_files(), PREVIEW_FILES_AT_ONCE):
        part = ArrowScan(
            table.metadata, table.io, projection, scan.row_filter, scan.case_sensitive, missing
        ).to_table(tasks)
        parts.append(part)
        missing -= part.num_rows
        if missing <= 0:
            break
    if not parts:
        return schema_to_pyarrow(projection, include_field_ids=False).empty_table()
    return pa.concat_tables(parts, promote_options="permissive")


def _some(names: Sequence[str]) -> str:
    shown = ", ".join(names[:COLUMNS_NAMED])
    return shown if len(names) <= COLUMNS_NAMED else f"{shown}, … ({len(names)} in all)"


def preview(
    table: Table,
    columns: Sequence[str] | None,
    limit: int,
    max_columns: int,
    snapshot_id: int | None = None,
    ref: str | None = None,
    as_of: datetime | None = None,
) -> Preview:
    """The first `limit` rows of the table (or of the snapshot named), projected to `columns`
    (top-level columns, in the order given; all of them by default), at most `max_columns` of
    them: reading and typing every column of a table with tens of thousands costs minutes of CPU.

    The table now is read with its current schema (a column added since the last write reads as
    null); an earlier snapshot with the schema it was written with, as engines time-travel."""
    identifier = ".".join(table.name())
    traveled = any(x is not None for x in (snapshot_id, ref, as_of))
    snapshot = snapshot_to_read(table, snapshot_id, ref, as_of)
    schema = table.schema()
    if traveled and snapshot is not None and snapshot.schema_id is not None:
        schema = table.schemas().get(snapshot.schema_id, schema)
    known = [f.name for f in schema.fields]
    names = list(dict.fromkeys(columns)) if columns else known
    known_names = set(known)
    unknown = [name for name in names if name not in known_names]
    if unknown:
        quoted = ", ".join(f"'{name}'" for name in unknown)
        raise InvalidInput(
            f"Unknown column{'s' if len(unknown) > 1 else ''} {quoted} in table {identifier}"
            f"{' at that snapshot' if traveled else ''}; "
            f"its columns are: {_some(known)}.",
            unknown_columns=unknown,
        )
    columns_truncated = len(names) > max_columns
    names = names[:max_columns]
    fields = [schema.find_field(name) for name in names]
    if snapshot is None:
        data = schema_to_pyarrow(Schema(*fields), include_field_ids=False).empty_table()
        truncated = False
    else:
        scan = table.scan(
            selected_fields=tuple(names),
            snapshot_id=snapshot.snapshot_id if traveled else None,
            limit=limit + 1,
        )
        data = _read_rows(table, scan, limit + 1)
        truncated = data.num_rows > limit
        data = data.select(names).slice(0, limit)
    header = [
        PreviewColumn(field_id=f.field_id, **column)
        for f, column in zip(fields, result_columns(data.schema), strict=True)
    ]
    rows = json_rows(data.to_batches()) if names else [[] for _ in range(data.num_rows)]
    return Preview(
        identifier=identifier,
        snapshot_id=None if snapshot is None else str(snapshot.snapshot_id),
        columns=header,
        rows=rows,
        row_count=len(rows),
        truncated=truncated,
        columns_truncated=columns_truncated,
    )
