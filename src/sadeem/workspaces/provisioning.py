"""The hook through which a workspace gets (and gives back) its place in the data plane.

A workspace owns an Iceberg namespace and a storage location. At creation Sadeem records both
(`plan`), then asks the provisioner to create them (`provision`). Before deletion it asks what
the workspace still owns (`blockers`) and, with an explicit purge, to remove it (`deprovision`).

`LocalProvisioner` is what runs until the catalog arrives: it creates and removes the
workspace's directory when the warehouse is a local `file://` path, and only records the
location for other schemes. The catalog issue replaces it with one that also creates the
namespace and S3 prefixes; other domains (jobs) add blockers through `register_blocker`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from sqlalchemy.orm import Session

from sadeem.workspaces.models import Workspace

Blocker = Callable[[Session, Workspace], list[str]]
_blockers: list[Blocker] = []


def register_blocker(blocker: Blocker) -> Blocker:
    """Let a domain say what it still owns in a workspace (e.g. '3 jobs')."""
    _blockers.append(blocker)
    return blocker


@dataclass(frozen=True)
class Placement:
    namespace: str
    storage_location: str


class WorkspaceProvisioner(Protocol):
    def plan(self, slug: str) -> Placement: ...

    def provision(self, workspace: Workspace) -> None: ...

    def blockers(self, session: Session, workspace: Workspace) -> list[str]: ...

    def deprovision(self, workspace: Workspace, purge: bool) -> None: ...


def local_path(location: str) -> Path | None:
    parsed = urlparse(location)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


class LocalProvisioner:
    def __init__(self, warehouse: str) -> None:
        self.warehouse = warehouse.rstrip("/")

    def plan(self, slug: str) -> Placement:
        return Placement(namespace=slug, storage_location=f"{self.warehouse}/{slug}")

    def provision(self, workspace: Workspace) -> None:
        path = local_path(workspace.storage_location)
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)

    def blockers(self, session: Session, workspace: Workspace) -> list[str]:
        found = [reason for blocker in _blockers for reason in blocker(session, workspace)]
        path = local_path(workspace.storage_location)
        if path is not None and path.is_dir():
            files = sum(1 for p in path.rglob("*") if p.is_file())
            if files:
                found.append(f"{files} data file(s) under {workspace.storage_location}")
        return found

    def deprovision(self, workspace: Workspace, purge: bool) -> None:
        path = local_path(workspace.storage_location)
        if path is not None and path.is_dir() and purge:
            shutil.rmtree(path)
        elif path is not None and path.is_dir() and not any(path.iterdir()):
            path.rmdir()
