from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from sadeem.api.schemas import RequestModel, ResponseModel
from sadeem.auth.schemas import Username
from sadeem.workspaces.models import WorkspaceRole, WorkspaceStatus

Slug = Annotated[
    str,
    Field(
        min_length=2,
        max_length=63,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Lower-case letters, digits and '_', starting with a letter. Also the Iceberg namespace.",
        examples=["water_utility_prod"],
    ),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=2000)]


class WorkspaceCreate(RequestModel):
    slug: Slug
    name: Name | None = Field(default=None, description="Display name; defaults to the slug.")
    description: Description = ""


class WorkspaceUpdate(RequestModel):
    name: Name | None = None
    description: Description | None = None


class WorkspaceOut(ResponseModel):
    slug: str
    name: str
    description: str
    namespace: str = Field(description="Iceberg namespace the workspace owns.")
    storage_location: str = Field(description="Storage location (bucket/prefix or directory) it owns.")
    status: WorkspaceStatus
    created_at: datetime
    updated_at: datetime
    my_role: WorkspaceRole | None = Field(default=None, description="Your effective role in it.")


class ProvisioningStepOut(ResponseModel):
    name: str = Field(description="`namespace`, `storage` or (on PostgreSQL) `resource_groups`.")
    ok: bool
    detail: str


class ProvisioningOut(ResponseModel):
    ok: bool = Field(description="Whether every step succeeded; if not, fix the cause and provision again.")
    steps: list[ProvisioningStepOut]


class WorkspaceCreated(WorkspaceOut):
    provisioning: ProvisioningOut


class DeletionBlockerOut(ResponseModel):
    kind: str = Field(
        description="What the workspace still owns: `tables`, `files`, `jobs`, or `storage` when its "
        "storage could not be checked (unknown counts as not empty)."
    )
    count: int | None = Field(description="How many, when they can be counted.")
    detail: str = Field(description="The same in plain words.", examples=["3 table(s) in namespace sales"])
    names: list[str] = Field(description="The first few of them by name, when they have one.")


class DeletionBlockersOut(ResponseModel):
    blockers: list[DeletionBlockerOut] = Field(
        description="What deleting the workspace would destroy; empty: it can be deleted without "
        "`purge`. A refused deletion (409) carries the same list as its problem's `blockers`."
    )


class MemberAdd(RequestModel):
    username: Username
    role: WorkspaceRole


class MemberUpdate(RequestModel):
    role: WorkspaceRole


class MemberOut(ResponseModel):
    username: str
    display_name: str
    role: WorkspaceRole
    created_at: datetime
