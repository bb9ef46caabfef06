"""Request bodies of the Iceberg REST catalog, built from pyiceberg's own models (schema,
partition spec, sort order, table updates and requirements). pyiceberg's client-side request
classes make every field required; the spec makes many optional, so the server declares its own."""

from __future__ import annotations

from pydantic import Field, field_validator
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import TableIdentifier
from pyiceberg.table.sorting import SortOrder
from pyiceberg.table.update import TableRequirement, TableUpdate
from pyiceberg.typedef import IcebergBaseModel


def _stringified(properties: dict[str, object] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (properties or {}).items()}


class CreateNamespaceBody(IcebergBaseModel):
    namespace: list[str]
    properties: dict[str, str] = Field(default_factory=dict)


class UpdatePropertiesBody(IcebergBaseModel):
    removals: list[str] = Field(default_factory=list)
    updates: dict[str, str] = Field(default_factory=dict)


class CreateTableBody(IcebergBaseModel):
    name: str
    location: str | None = None
    table_schema: Schema = Field(alias="schema")
    partition_spec: PartitionSpec | None = Field(alias="partition-spec", default=None)
    write_order: SortOrder | None = Field(alias="write-order", default=None)
    stage_create: bool = Field(alias="stage-create", default=False)
    properties: dict[str, str] = Field(default_factory=dict)

    @field_validator("properties", mode="before")
    @classmethod
    def _as_strings(cls, value: dict[str, object] | None) -> dict[str, str]:
        return _stringified(value)


class RegisterTableBody(IcebergBaseModel):
    name: str
    metadata_location: str = Field(alias="metadata-location")
    overwrite: bool = False


class CommitTableBody(IcebergBaseModel):
    identifier: TableIdentifier | None = None
    requirements: tuple[TableRequirement, ...] = Field(default_factory=tuple)
    updates: tuple[TableUpdate, ...] = Field(default_factory=tuple)


class RenameBody(IcebergBaseModel):
    source: TableIdentifier
    destination: TableIdentifier


class TransactionBody(IcebergBaseModel):
    table_changes: list[CommitTableBody] = Field(alias="table-changes")
