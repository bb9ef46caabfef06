"""Real Iceberg tables for tests, made in-process: pyiceberg through the built-in catalog's
`PlatformCatalog`, in one database transaction (no HTTP server needed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, SortOrder
from pyiceberg.types import LongType, NestedField, StringType

from sadeem.catalog.store import PlatformCatalog
from sadeem.config import Settings
from sadeem.db.engine import Database

SIMPLE_SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=True),
    NestedField(2, "name", StringType(), required=False),
)


@contextmanager
def catalog(db: Database, settings: Settings) -> Iterator[PlatformCatalog]:
    """pyiceberg's catalog in one write transaction, committed at the end of the block."""
    with db.writes() as session:
        yield PlatformCatalog.in_session(session, settings)
        session.commit()


def arrow(schema: Schema, columns: dict[str, list[Any]]) -> pa.Table:
    return pa.table(columns, schema=schema_to_pyarrow(schema, include_field_ids=False))


def append(table: Table, schema: Schema, columns: dict[str, list[Any]]) -> int:
    """Append rows as one snapshot; returns its id. Waits a moment first, so consecutive
    snapshots never share a millisecond (time travel tells them apart by their timestamps)."""
    time.sleep(0.005)
    table.append(arrow(schema, columns))
    snapshot = table.current_snapshot()
    assert snapshot is not None
    return snapshot.snapshot_id


def make_table(
    db: Database,
    settings: Settings,
    identifier: tuple[str, ...],
    rows: dict[str, list[Any]] | None = None,
    schema: Schema = SIMPLE_SCHEMA,
    partition_spec: PartitionSpec = UNPARTITIONED_PARTITION_SPEC,
    sort_order: SortOrder = UNSORTED_SORT_ORDER,
) -> Table:
    """A table (its namespaces created as needed), with `rows` appended if given."""
    with catalog(db, settings) as cat:
        root = cat.load_namespace_properties(identifier[:1])["location"]
        for depth in range(2, len(identifier)):
            # Under the workspace's storage, as the REST catalog would place it.
            location = "/".join([root, *identifier[1:depth]])
            cat.create_namespace_if_not_exists(identifier[:depth], {"location": location})
        table = cat.create_table(identifier, schema, partition_spec=partition_spec, sort_order=sort_order)
        if rows is not None:
            append(table, schema, rows)
        return table
