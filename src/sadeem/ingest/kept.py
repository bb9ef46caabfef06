"""An upload checked and kept for its commit, so the file crosses the network once: the check
(`…/preview?keep=true`) leaves it in the ingest scratch space as `kept-<id>`, and the commit
(`…?upload=<id>`, without a body) ingests that file and removes it.

A kept upload belongs to the user, workspace, table, format and mode it was checked for; asked
for by anyone or for anything else it is not there (404). One never committed is removed by the
next keep once older than `KEEP_SECONDS`, or by the scratch clean-up at start."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from sadeem.config import Settings
from sadeem.core.errors import NotFound
from sadeem.ingest.scratch import scratch_root

KEEP_SECONDS = 3600
PREFIX = "kept-"
ID_PATTERN = r"^[A-Za-z0-9_-]{32}$"


@dataclass(frozen=True)
class KeptFor:
    user_id: int | None
    workspace_id: int
    namespace: str
    table: str
    format: str
    mode: str


def sweep(settings: Settings, now: float | None = None) -> None:
    """Remove kept uploads nobody committed within `KEEP_SECONDS`."""
    root = scratch_root(settings)
    cutoff = (now or time.time()) - KEEP_SECONDS
    for entry in root.glob(f"{PREFIX}*") if root.is_dir() else []:
        try:
            if entry.lstat().st_mtime < cutoff:
                shutil.rmtree(entry)
        except FileNotFoundError:  # committed meanwhile
            continue


def keep(settings: Settings, upload: Path, owner: KeptFor) -> str:
    """Move the checked file out of its scratch directory, for `owner`'s commit; its id."""
    sweep(settings)
    upload_id = secrets.token_urlsafe(24)  # 32 characters
    directory = scratch_root(settings) / f"{PREFIX}{upload_id}"
    directory.mkdir(parents=True)
    shutil.move(upload, directory / "upload")
    (directory / "owner.json").write_text(json.dumps(asdict(owner)))
    return upload_id


@contextmanager
def taken(settings: Settings, upload_id: str, owner: KeptFor) -> Iterator[Path]:
    """The kept file for the commit (claimed first, so one upload is committed once), removed after."""
    missing = NotFound(
        f"No checked upload '{upload_id}' for {owner.namespace}.{owner.table}: it was committed, "
        "has expired or was checked for another table; check the file again."
    )
    directory = scratch_root(settings) / f"{PREFIX}{upload_id}"
    try:
        found = json.loads((directory / "owner.json").read_text())
    except (FileNotFoundError, ValueError):
        raise missing from None
    if found != asdict(owner):
        raise missing
    # Named like a scratch directory of this process: the start-up clean-up knows what to do with it.
    claimed = directory.with_name(f"{os.getpid()}-taken-{upload_id}")
    try:
        directory.rename(claimed)
    except FileNotFoundError:
        raise missing from None
    try:
        yield claimed / "upload"
    finally:
        shutil.rmtree(claimed, ignore_errors=True)
