"""Response bodies of the catalog explorer (Sadeem's own view of a workspace's Iceberg tables).

Snapshot ids are 64-bit and often above 2^53, where a JSON reader holding numbers as doubles
(JavaScript, many others) silently rounds them: every snapshot id is a decimal string.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from sadeem.api.schemas import ResponseModel
from sadeem.results.schemas import ROWS_DESCRIPTION, ResultColumn

SnapshotId = str  # a 64-bit id in decimal, exact


class NamespaceNode(ResponseModel):
    namespace: str = Field(
        description="The full namespace, dotted (`alpha.sales`).", examples=["alpha.sales"]
    )
    name: str = Field(description="Its last part.")
    table_count: int = Field(description="Tables directly in this namespace.")
    total_table_count: int = Field(description="Tables in this namespace and every namespace under it.")
    children: list[NamespaceNode]


class DatasetBrief(ResponseModel):
    """What the table's dataset registration says (null when the table is not registered)."""

    owner: str | None
    description: str
    tags: list[str]


class TableListItem(ResponseModel):
    namespace: str = Field(examples=["alpha.sales"])
    name: str = Field(examples=["orders"])
    identifier: str = Field(description="`namespace.name`, as engines name the table.")
    dataset: DatasetBrief | None


class SchemaField(ResponseModel):
    id: int = Field(description="The Iceberg field id.")
    name: str
    type: str = Field(
        description="The Iceberg type; nested types in full (`struct<a: long>`, `list<string>`, "
        "`map<string, double>`), with their fields also in `children`.",
        examples=["decimal(10, 2)", "list<string>"],
    )
    required: bool
    doc: str | None = None
    children: list[SchemaField] = Field(
        default_factory=list,
        description="A struct's fields; a list's `element`; a map's `key` and `value`.",
    )


class TableSchema(ResponseModel):
    schema_id: int
    identifier_field_ids: list[int]
    fields: list[SchemaField]


class PartitionField(ResponseModel):
    field_id: int
    name: str
    source_id: int
    source_name: str | None = Field(description="The source column's name (null if it was dropped).")
    transform: str = Field(examples=["identity", "day", "bucket[16]", "truncate[4]"])


class PartitionSpec(ResponseModel):
    spec_id: int
    fields: list[PartitionField]


class SortField(ResponseModel):
    source_id: int
    source_name: str | None
    transform: str
    direction: Literal["asc", "desc"]
    null_order: Literal["nulls-first", "nulls-last"]


class SortOrder(ResponseModel):
    order_id: int
    fields: list[SortField]


class Snapshot(ResponseModel):
    snapshot_id: SnapshotId = Field(examples=["3051729675574597004"])
    parent_snapshot_id: SnapshotId | None
    sequence_number: int | None
    timestamp: datetime
    operation: str | None = Field(examples=["append", "overwrite", "delete", "replace"])
    summary: dict[str, str] = Field(description="The snapshot summary (counts and sizes as text).")
    schema_id: int | None
    manifest_list: str


class HistoryEntry(ResponseModel):
    """When a snapshot became the table's current one (the metadata's snapshot log)."""

    snapshot_id: SnapshotId
    timestamp: datetime


class Ref(ResponseModel):
    name: str = Field(examples=["main"])
    type: Literal["branch", "tag"]
    snapshot_id: SnapshotId
    max_ref_age_ms: int | None
    max_snapshot_age_ms: int | None = Field(description="Branches only.")
    min_snapshots_to_keep: int | None = Field(description="Branches only.")


class DataFile(ResponseModel):
    path: str
    format: str = Field(examples=["PARQUET"])
    record_count: int
    size_bytes: int
    partition: dict[str, str | None] = Field(
        description="The file's partition values by partition field, as Iceberg renders them "
        "(`2024-05-01`, `17`); empty for an unpartitioned table."
    )


class DataFiles(ResponseModel):
    snapshot_id: SnapshotId | None = Field(description="The snapshot whose files these are.")
    total: int = Field(description="How many data files the snapshot has.")
    items: list[DataFile]
    next_cursor: str | None = None


class Totals(ResponseModel):
    row_count: int = Field(description="Rows in the current snapshot (before row-level deletes).")
    total_size_bytes: int = Field(description="Bytes of its data and delete files.")
    data_files: int
    delete_files: int
    source: Literal["snapshot-summary", "manifests", "no-snapshot"] = Field(
        description="Where the figures come from: the current snapshot's summary, or (when the "
        "writer left it without totals) its manifests."
    )


class TableDetail(ResponseModel):
    namespace: str
    name: str
    identifier: str
    table_uuid: str
    location: str
    metadata_location: str | None
    format_version: int
    last_updated: datetime
    last_sequence_number: int | None = Field(description="Null for format version 1.")
    properties: dict[str, str]
    table_schema: TableSchema = Field(alias="schema", serialization_alias="schema")
    partition_spec: PartitionSpec
    sort_order: SortOrder
    current_snapshot_id: SnapshotId | None
    current_snapshot: Snapshot | None
    snapshots: list[Snapshot] = Field(description="Every snapshot the metadata keeps, oldest first.")
    history: list[HistoryEntry]
    refs: list[Ref] = Field(description="Branches and tags, by name.")
    totals: Totals
    data_files: DataFiles = Field(
        description="The current snapshot's first data files and their total; page through all of "
        "them with `GET …/files`."
    )
    dataset: DatasetBrief | None


class PreviewColumn(ResultColumn):
    """A column as every result describes it (its Arrow type, as read), plus its Iceberg field id;
    the table's Iceberg types are its schema's (`…/schema`)."""

    field_id: int


class Preview(ResponseModel):
    """The first rows of a table, as every JSON result shows rows (`sadeem.results.json_cells`)."""

    identifier: str
    snapshot_id: SnapshotId | None = Field(description="The snapshot read (null: the table has none).")
    columns: list[PreviewColumn]
    rows: list[list[Any]] = Field(description=ROWS_DESCRIPTION)
    row_count: int
    truncated: bool = Field(description="Whether the table has more rows than returned.")
    columns_truncated: bool = Field(
        default=False,
        description="Whether columns were left out: a preview reads at most `SADEEM_PREVIEW_MAX_COLUMNS` "
        "(the first ones, of the table or of those asked for).",
    )


# --- the SQL editor's autocomplete (catalog/schema_tree.py) ------------------------------------


class TreeColumn(ResponseModel):
    name: str
    type: str = Field(
        description="The Iceberg type, nested types in full.", examples=["long", "struct<x: double>"]
    )
    nullable: bool
    doc: str | None = None


class TreeTable(ResponseModel):
    name: str
    columns: list[TreeColumn] = Field(
        description="Top-level columns of the current schema, in order: the first "
        "`SADEEM_SCHEMA_TREE_MAX_COLUMNS` of them."
    )
    more_columns: bool = Field(default=False, description="Whether the table has more columns than listed.")


class TreeNamespace(ResponseModel):
    name: str = Field(description="The full namespace, dotted (`alpha.sales`).", examples=["alpha.sales"])
    sql_name: str = Field(
        description="How SQL names this namespace as a schema: the root as is, a nested one quoted "
        'as one identifier (`"alpha.sales"`), as DuckDB resolves it.',
        examples=["alpha", '"alpha.sales"'],
    )
    tables: list[TreeTable]


class SchemaTree(ResponseModel):
    """Everything the SQL editor completes, in one response: catalog → namespace → table →
    columns. Tables resolve as `table`, `namespace.table` or `catalog.namespace.table`."""

    catalog: str = Field(description="The catalog alias statements use.", examples=["iceberg"])
    default_namespace: str = Field(description="The namespace in force (`USE`): the workspace's root.")
    namespaces: list[TreeNamespace] = Field(description="The root and every namespace under it, by name.")
    fingerprint: str = Field(description="Changes whenever the tree does; also the response's ETag.")
