"""The SQL editor's autocomplete metadata: a workspace's catalog → namespaces → tables → columns
in one response, cached per workspace.

The catalog's state for a workspace is its namespace names and, per table, the location of the
current metadata file. Metadata files are written once and never change (catalog/store.py), so
those rows *are* the tree's inputs: their hash (the fingerprint) changes with every commit,
create, drop or rename, and an unchanged fingerprint means an unchanged tree. Each call reads the
rows (one query), and answers from the cache when the fingerprint matches — no metadata file is
read, nothing is serialized again. When it does not match, the tree is rebuilt, reusing the
columns of every table whose metadata location is unchanged, so a commit to one table reads one
metadata file. Several API processes each keep their own cache; each validates it the same way.

A table lists at most `schema_tree_max_columns` columns (the first ones) and says when it has
more: a table of 100,000 columns would otherwise make a tree of megabytes that every editor loads.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from threading import Lock

from pyiceberg.catalog.sql import IcebergNamespaceProperties, IcebergTables
from pyiceberg.io import load_file_io
from pyiceberg.serializers import FromInputFile
from pyiceberg.table.metadata import TableMetadata
from sqlalchemy import String, literal, select, union_all
from sqlalchemy.orm import Session

from sadeem.catalog import store
from sadeem.catalog.explorer import in_workspace, is_table, type_string
from sadeem.catalog.explorer_schemas import SchemaTree, TreeColumn, TreeNamespace, TreeTable
from sadeem.catalog.store import CATALOG_NAME
from sadeem.config import Settings
from sadeem.engines.base import CATALOG_ALIAS
from sadeem.workspaces.models import Workspace

CACHE_CAPACITY = 256  # workspaces whose tree is kept
LOAD_THREADS = 8  # metadata files read at once on a cold build (object storage is latency-bound)
_FORMAT = "2"  # part of every fingerprint: bump when the tree's shape changes
_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True)
class Columns:
    """A table's columns as the tree lists them."""

    listed: tuple[TreeColumn, ...]
    more: bool  # the table has more than are listed


@dataclass(frozen=True)
class CatalogRows:
    """What the tree is built from: namespace names and each table's metadata location."""

    namespaces: frozenset[str]
    tables: tuple[tuple[str, str, str | None], ...]  # (namespace, name, metadata location), sorted


@dataclass(frozen=True)
class CachedTree:
    fingerprint: str
    body: bytes  # the `SchemaTree` as JSON, ready to send
    columns: Mapping[str, Columns]  # by metadata location, for the next rebuild


class TreeCache:
    """Trees by workspace id, least recently used dropped first."""

    def __init__(self, capacity: int = CACHE_CAPACITY) -> None:
        self._items: OrderedDict[int, CachedTree] = OrderedDict()
        self._capacity = capacity
        self._lock = Lock()

    def get(self, workspace_id: int) -> CachedTree | None:
        with self._lock:
            found = self._items.get(workspace_id)
            if found is not None:
                self._items.move_to_end(workspace_id)
            return found

    def put(self, workspace_id: int, tree: CachedTree) -> None:
        with self._lock:
            self._items[workspace_id] = tree
            self._items.move_to_end(workspace_id)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


tree_cache = TreeCache()


# --- the catalog's state -----------------------------------------------------------------------


def catalog_rows(session: Session, workspace: Workspace) -> CatalogRows:
    """The workspace's namespace names and table rows, in one query (one consistent read)."""
    namespaces = (
        select(
            IcebergNamespaceProperties.namespace.label("namespace"),
            literal(None, String).label("name"),
            literal(None, String).label("location"),
        )
        .where(
            IcebergNamespaceProperties.catalog_name == CATALOG_NAME,
            in_workspace(IcebergNamespaceProperties.namespace, workspace),
        )
        .distinct()
    )
    tables = select(
        IcebergTables.table_namespace, IcebergTables.table_name, IcebergTables.metadata_location
    ).where(
        IcebergTables.catalog_name == CATALOG_NAME,
        in_workspace(IcebergTables.table_namespace, workspace),
        is_table(),
    )
    names: set[str] = set()
    found: list[tuple[str, str, str | None]] = []
    namespace: str
    name: str | None
    location: str | None
    for namespace, name, location in session.execute(union_all(namespaces, tables)).all():
        names.add(namespace)
        if name is not None:
            found.append((namespace, name, location))
    return CatalogRows(frozenset(names), tuple(sorted(found)))


def fingerprint(workspace: Workspace, rows: CatalogRows, max_columns: int) -> str:
    state = [_FORMAT, CATALOG_ALIAS, max_columns, workspace.namespace, sorted(rows.namespaces), rows.tables]
    return hashlib.blake2b(json.dumps(state).encode(), digest_size=16).hexdigest()


# --- building ----------------------------------------------------------------------------------


def load_metadata(settings: Settings, location: str) -> TableMetadata:
    """A table's metadata, through the catalog's cache of parsed metadata files."""
    cache = store.metadata_cache  # the one PlatformCatalog reads and writes through
    metadata = cache.get(location)
    if metadata is None:
        io = load_file_io(properties=store.file_io_properties(settings), location=location)
        metadata = FromInputFile.table_metadata(io.new_input(location))
        cache.put(location, metadata)
    return metadata


def _columns(metadata: TableMetadata, max_columns: int) -> Columns:
    fields = metadata.schema().fields
    return Columns(
        listed=tuple(
            TreeColumn(name=f.name, type=type_string(f.field_type), nullable=not f.required, doc=f.doc)
            for f in fields[:max_columns]
        ),
        more=len(fields) > max_columns,
    )


def _load_columns(settings: Settings, locations: Sequence[str]) -> dict[str, Columns]:
    def one(location: str) -> Columns:
        return _columns(load_metadata(settings, location), settings.schema_tree_max_columns)

    if len(locations) <= 1:
        return {location: one(location) for location in locations}
    with ThreadPoolExecutor(max_workers=min(LOAD_THREADS, len(locations))) as pool:
        return dict(zip(locations, pool.map(one, locations), strict=True))


def sql_name(namespace: str) -> str:
    """The namespace as one SQL identifier (a nested namespace is one schema whose name has dots)."""
    return namespace if _PLAIN.fullmatch(namespace) else '"' + namespace.replace('"', '""') + '"'


def build(
    settings: Settings,
    workspace: Workspace,
    rows: CatalogRows,
    known: Mapping[str, Columns] | None = None,
) -> tuple[SchemaTree, dict[str, Columns]]:
    """The tree, and the columns of its tables by metadata location. Columns in `known` (by
    location) are reused; the other tables' metadata is loaded."""
    known = known or {}
    locations = {location for _, _, location in rows.tables if location}
    missing = sorted(locations - known.keys())
    columns = {location: known[location] for location in locations & known.keys()}
    columns.update(_load_columns(settings, missing))
    by_namespace: dict[str, list[TreeTable]] = {name: [] for name in rows.namespaces}
    for namespace, name, location in rows.tables:  # a table without metadata shows no columns
        found = columns[location] if location else Columns(listed=(), more=False)
        table = TreeTable(name=name, columns=list(found.listed), more_columns=found.more)
        by_namespace.setdefault(namespace, []).append(table)
    tree = SchemaTree(
        catalog=CATALOG_ALIAS,
        default_namespace=workspace.namespace,
        namespaces=[
            TreeNamespace(name=name, sql_name=sql_name(name), tables=by_namespace[name])
            for name in sorted(by_namespace)
        ],
        fingerprint=fingerprint(workspace, rows, settings.schema_tree_max_columns),
    )
    return tree, columns


def schema_tree(session: Session, settings: Settings, workspace: Workspace) -> CachedTree:
    """The workspace's tree: from the cache while the catalog is unchanged, else rebuilt."""
    rows = catalog_rows(session, workspace)
    current = fingerprint(workspace, rows, settings.schema_tree_max_columns)
    cached = tree_cache.get(workspace.id)
    if cached is not None and cached.fingerprint == current:
        return cached
    tree, columns = build(settings, workspace, rows, cached.columns if cached is not None else None)
    fresh = CachedTree(fingerprint=current, body=tree.model_dump_json().encode(), columns=columns)
    tree_cache.put(workspace.id, fresh)
    return fresh


def etag(tree: CachedTree) -> str:
    return f'"{tree.fingerprint}"'


def matches(if_none_match: str | None, tree: CachedTree) -> bool:
    """Whether an `If-None-Match` header names the tree's current version (weak tags compare
    equal to strong ones, as RFC 9110 says for this header)."""
    if if_none_match is None:
        return False
    tags: Iterable[str] = (tag.strip() for tag in if_none_match.split(","))
    return any(tag == "*" or tag.removeprefix("W/") == etag(tree) for tag in tags)
