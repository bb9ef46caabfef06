"""Datasets: registering a workspace's Iceberg tables with an owner, a description and tags,
and finding them again. Registration is metadata only: the table itself is never touched."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sadeem.audit import service as audit
from sadeem.auth.models import User
from sadeem.auth.principal import Principal
from sadeem.catalog import explorer
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.core.clock import utcnow
from sadeem.core.errors import Conflict, InvalidInput, NotFound
from sadeem.core.pagination import PageRequest, keyset_page
from sadeem.datasets.models import Dataset, DatasetTag
from sadeem.db.search import contains_text
from sadeem.db.unique import add_unique
from sadeem.workspaces.models import Membership, Workspace


@dataclass(frozen=True)
class DatasetView:
    dataset: Dataset
    owner: str | None
    created_by: str | None


@dataclass(frozen=True)
class TableState:
    row_count: int
    total_size_bytes: int
    current_snapshot_id: int | None
    last_updated_ms: int


def _audit(session: Session, actor: Actor, workspace: Workspace, dataset: Dataset, **details: Any) -> None:
    audit.record(
        session,
        actor,
        target_type="dataset",
        target_id=dataset.identifier,
        workspace=workspace.slug,
        details=details,
    )


def _views(session: Session, datasets: Sequence[Dataset]) -> list[DatasetView]:
    user_ids = {d.owner_id for d in datasets} | {d.created_by for d in datasets}
    names: dict[int | None, str] = dict(
        session.execute(select(User.id, User.username).where(User.id.in_(user_ids - {None}))).all()
    )
    return [DatasetView(d, names.get(d.owner_id), names.get(d.created_by)) for d in datasets]


def view(session: Session, dataset: Dataset) -> DatasetView:
    (found,) = _views(session, [dataset])
    return found


def _member_id(session: Session, workspace: Workspace, username: str) -> int:
    user_id = session.scalar(
        select(User.id)
        .join(Membership, Membership.user_id == User.id)
        .where(User.username == username, Membership.workspace_id == workspace.id)
    )
    if user_id is None:
        raise InvalidInput(
            f"The owner must be a member of workspace '{workspace.slug}'; '{username}' is not."
        )
    return user_id


def _clean_tags(tags: Sequence[str]) -> list[str]:
    return sorted(set(tags))


@dataclass(frozen=True)
class DatasetFilters:
    text: str | None = None
    tag: str | None = None
    owner: str | None = None


def list_datasets(
    session: Session, workspace: Workspace, filters: DatasetFilters, page: PageRequest
) -> tuple[list[DatasetView], str | None]:
    """Registration order; `text` matches part of the namespace, table name or description."""
    stmt: Select[Any] = select(Dataset).where(Dataset.workspace_id == workspace.id)
    if filters.text:
        stmt = stmt.where(
            contains_text(filters.text, Dataset.table_name, Dataset.namespace, Dataset.description)
        )
    if filters.tag is not None:
        stmt = stmt.where(Dataset.id.in_(select(DatasetTag.dataset_id).where(DatasetTag.tag == filters.tag)))
    if filters.owner is not None:
        stmt = stmt.where(
            Dataset.owner_id == select(User.id).where(User.username == filters.owner).scalar_subquery()
        )
    rows, cursor = keyset_page(session, stmt, Dataset.id, page)
    return _views(session, rows), cursor


def get_dataset(session: Session, workspace: Workspace, namespace: str, table: str) -> Dataset:
    found = session.scalar(
        select(Dataset).where(
            Dataset.workspace_id == workspace.id, Dataset.namespace == namespace, Dataset.table_name == table
        )
    )
    if found is None:
        raise NotFound(f"No dataset '{namespace}.{table}' in workspace '{workspace.slug}'.")
    return found


def table_state(
    session: Session, settings: Settings, principal: Principal, workspace: Workspace, dataset: Dataset
) -> TableState | None:
    """The registered table as it is now; None if it was dropped (or renamed) since."""
    try:
        table = explorer.load_table(
            session, settings, principal, workspace, dataset.namespace, dataset.table_name
        )
    except NotFound:
        return None
    totals = explorer.totals(table)
    return TableState(
        row_count=totals.row_count,
        total_size_bytes=totals.total_size_bytes,
        current_snapshot_id=table.metadata.current_snapshot_id,
        last_updated_ms=table.metadata.last_updated_ms,
    )


def register_dataset(
    session: Session,
    actor: Actor,
    workspace: Workspace,
    namespace: str,
    table: str,
    owner: str | None,
    description: str,
    tags: Sequence[str],
) -> DatasetView:
    """Register an existing table (404 if there is none) of the workspace."""
    explorer.require_table(session, workspace, namespace, table)
    if owner is None:
        if actor.user_id is None or actor.username is None:
            raise InvalidInput("Name the dataset's owner.")
        owner = actor.username
    owner_id = _member_id(session, workspace, owner)
    taken = f"Table {namespace}.{table} is already registered as a dataset of workspace '{workspace.slug}'."
    exists = session.scalar(
        select(Dataset.id).where(
            Dataset.workspace_id == workspace.id, Dataset.namespace == namespace, Dataset.table_name == table
        )
    )
    if exists is not None:
        raise Conflict(taken)
    cleaned = _clean_tags(tags)
    dataset = Dataset(
        workspace_id=workspace.id,
        namespace=namespace,
        table_name=table,
        owner_id=owner_id,
        description=description,
        created_by=actor.user_id,
        tag_rows=[DatasetTag(tag=tag) for tag in cleaned],
    )
    add_unique(session, dataset, taken)
    _audit(session, actor, workspace, dataset, owner=owner, description=description, tags=cleaned)
    return view(session, dataset)


def update_dataset(
    session: Session,
    actor: Actor,
    workspace: Workspace,
    dataset: Dataset,
    owner: str | None,
    description: str | None,
    tags: Sequence[str] | None,
) -> DatasetView:
    """Change what is given; the audit event says what changed, from what to what."""
    before = view(session, dataset)
    changed: dict[str, Any] = {}
    if owner is not None and owner != before.owner:
        dataset.owner_id = _member_id(session, workspace, owner)
        changed["owner"] = {"from": before.owner, "to": owner}
    if description is not None and description != dataset.description:
        changed["description"] = {"from": dataset.description, "to": description}
        dataset.description = description
    if tags is not None:
        old, new = set(dataset.tags), set(_clean_tags(tags))
        if old != new:
            changed["tags"] = {"added": sorted(new - old), "removed": sorted(old - new)}
            dataset.tag_rows = [row for row in dataset.tag_rows if row.tag in new] + [
                DatasetTag(tag=tag) for tag in sorted(new - old)
            ]
            dataset.tag_rows.sort(key=lambda row: row.tag)
    if changed:  # also when only tags changed: they live in their own table
        dataset.updated_at = utcnow()
    _audit(session, actor, workspace, dataset, changed=changed)
    return view(session, dataset)


def unregister_dataset(session: Session, actor: Actor, workspace: Workspace, dataset: Dataset) -> None:
    """Forget the registration; the table stays as it is."""
    before = view(session, dataset)
    _audit(
        session,
        actor,
        workspace,
        dataset,
        owner=before.owner,
        description=dataset.description,
        tags=dataset.tags,
    )
    session.delete(dataset)
