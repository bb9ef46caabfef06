"""The workspace's tables with their dataset registrations, for the catalog explorer's table list
(searchable by dataset tag and owner) and table detail. Here rather than in catalog: datasets
describe catalog tables, so they sit above the catalog."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from pyiceberg.catalog.sql import IcebergTables
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from sadeem.auth.models import User
from sadeem.catalog.explorer import in_workspace, is_table
from sadeem.catalog.explorer_schemas import DatasetBrief, TableListItem
from sadeem.catalog.store import CATALOG_NAME
from sadeem.core.errors import InvalidInput
from sadeem.core.pagination import PageRequest, decode_cursor, encode_cursor
from sadeem.datasets.models import Dataset, DatasetTag
from sadeem.db.search import contains_text
from sadeem.workspaces.models import Workspace


@dataclass(frozen=True)
class TableFilters:
    namespace: str | None = None
    name_contains: str | None = None
    tag: str | None = None
    owner: str | None = None


def _decode_table_cursor(cursor: str) -> tuple[str, str]:
    key = decode_cursor(cursor)
    try:
        namespace, name = json.loads(key) if isinstance(key, str) else (None, None)
    except (ValueError, TypeError):
        namespace = name = None
    if not isinstance(namespace, str) or not isinstance(name, str):
        raise InvalidInput("The cursor is not valid; pass `next_cursor` from a previous page.")
    return namespace, name


def _dataset_briefs(session: Session, datasets: Iterable[Dataset | None]) -> dict[int, DatasetBrief]:
    found = [d for d in datasets if d is not None]
    owners: dict[int | None, str] = dict(
        session.execute(
            select(User.id, User.username).where(User.id.in_({d.owner_id for d in found if d.owner_id}))
        ).all()
    )
    return {
        d.id: DatasetBrief(owner=owners.get(d.owner_id), description=d.description, tags=d.tags)
        for d in found
    }


def list_tables(
    session: Session, workspace: Workspace, filters: TableFilters, page: PageRequest
) -> tuple[list[TableListItem], str | None]:
    """The workspace's tables by namespace and name, each with its dataset registration; the
    tag and owner filters keep registered tables only."""
    on_dataset = and_(
        Dataset.workspace_id == workspace.id,
        Dataset.namespace == IcebergTables.table_namespace,
        Dataset.table_name == IcebergTables.table_name,
    )
    stmt = (
        select(IcebergTables.table_namespace, IcebergTables.table_name, Dataset)
        .outerjoin(Dataset, on_dataset)
        .where(
            IcebergTables.catalog_name == CATALOG_NAME,
            in_workspace(IcebergTables.table_namespace, workspace),
            is_table(),
        )
    )
    if filters.namespace is not None:
        stmt = stmt.where(IcebergTables.table_namespace == filters.namespace)
    if filters.name_contains:
        stmt = stmt.where(contains_text(filters.name_contains, IcebergTables.table_name))
    if filters.tag is not None:
        stmt = stmt.where(Dataset.id.in_(select(DatasetTag.dataset_id).where(DatasetTag.tag == filters.tag)))
    if filters.owner is not None:
        stmt = stmt.where(
            Dataset.owner_id == select(User.id).where(User.username == filters.owner).scalar_subquery()
        )
    if page.cursor is not None:
        after_namespace, after_name = _decode_table_cursor(page.cursor)
        stmt = stmt.where(
            or_(
                IcebergTables.table_namespace > after_namespace,
                and_(IcebergTables.table_namespace == after_namespace, IcebergTables.table_name > after_name),
            )
        )
    stmt = stmt.order_by(IcebergTables.table_namespace, IcebergTables.table_name).limit(page.limit + 1)
    rows = session.execute(stmt).all()
    cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        cursor = encode_cursor(json.dumps([rows[-1][0], rows[-1][1]]))
    briefs = _dataset_briefs(session, (row[2] for row in rows))
    items = [
        TableListItem(
            namespace=namespace,
            name=name,
            identifier=f"{namespace}.{name}",
            dataset=briefs[dataset.id] if dataset is not None else None,
        )
        for namespace, name, dataset in rows
    ]
    return items, cursor


def dataset_brief(session: Session, workspace: Workspace, dotted: str, name: str) -> DatasetBrief | None:
    dataset = session.scalar(
        select(Dataset).where(
            Dataset.workspace_id == workspace.id, Dataset.namespace == dotted, Dataset.table_name == name
        )
    )
    return _dataset_briefs(session, [dataset]).get(dataset.id) if dataset is not None else None
