"""The hook through which a workspace gets (and gives back) its place in the data plane.

A workspace owns an Iceberg namespace and a storage location. At creation Sadeem records both
(`plan`), then asks the provisioner to create them (`provision`, in the creating transaction:
the namespace commits with the workspace; storage outside any transaction, so its failure is
reported, not hidden, and `provision` can be run again: every step is idempotent). Before
deletion it asks what the workspace still owns (`blockers`); deletion then removes the catalog
entries in the deleting transaction (`deprovision`) and, once that is committed, the storage
(`release_storage`, everything in it only with an explicit purge).

The implementation is `sadeem.catalog.provisioning.CatalogProvisioner`; other domains (jobs) add
blockers through `register_blocker`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session

from sadeem.workspaces.models import Workspace


@dataclass(frozen=True)
class DeletionBlocker:
    """Something a workspace still owns, which its deletion would destroy (so it needs purge)."""

    kind: str  # what it is: "tables", "files", "jobs", "storage" (could not be checked) ...
    count: int | None  # how many, when it can be counted
    detail: str  # in plain words, e.g. "3 jobs"
    names: tuple[str, ...] = ()  # some of them by name (at most NAMED_BLOCKERS), when they have one


NAMED_BLOCKERS = 10

Blocker = Callable[[Session, Workspace], list[DeletionBlocker]]
_blockers: list[Blocker] = []


def register_blocker(blocker: Blocker) -> Blocker:
    """Let a domain say what it still owns in a workspace (e.g. 3 jobs)."""
    _blockers.append(blocker)
    return blocker


def domain_blockers(session: Session, workspace: Workspace) -> list[DeletionBlocker]:
    return [found for blocker in _blockers for found in blocker(session, workspace)]


@dataclass(frozen=True)
class Placement:
    namespace: str
    storage_location: str


@dataclass(frozen=True)
class ProvisioningStep:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class ProvisioningReport:
    steps: list[ProvisioningStep] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)


class WorkspaceProvisioner(Protocol):
    def plan(self, slug: str) -> Placement: ...

    def provision(self, session: Session, workspace: Workspace) -> ProvisioningReport: ...

    def blockers(self, session: Session, workspace: Workspace) -> list[DeletionBlocker]: ...

    def deprovision(self, session: Session, workspace: Workspace, purge: bool) -> None: ...

    def release_storage(self, workspace: Workspace, purge: bool) -> None: ...
