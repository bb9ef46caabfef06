"""Where an upload waits while it is ingested: a directory per upload under
`$SADEEM_HOME/work/ingest`, named after the process that made it.

A process killed mid-ingest (kill -9, OOM, power loss) leaves its directory behind, and an upload
may be gigabytes. Each start cleans up what dead processes left: a directory whose process is
gone is removed at once; one of a live process only when untouched for `STALE_AFTER_SECONDS`
(its process id may have been reused since). Another server process sharing the home keeps its
uploads, and nothing outside Sadeem's own directory is touched.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sadeem.config import Settings

log = logging.getLogger("sadeem.ingest")
STALE_AFTER_SECONDS = 6 * 3600  # far beyond an upload's longest quiet spell (reading it back)


def scratch_root(settings: Settings) -> Path:
    return settings.home / "work" / "ingest"


@contextmanager
def scratch_directory(settings: Settings) -> Iterator[Path]:
    """A fresh directory for one upload, removed when the block ends."""
    root = scratch_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{os.getpid()}-", dir=root) as scratch:
        yield Path(scratch)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _last_touched(entry: Path) -> float:
    times = [entry.lstat().st_mtime]
    if entry.is_dir() and not entry.is_symlink():
        times.extend(p.lstat().st_mtime for p in entry.rglob("*"))
    return max(times)


def _abandoned(entry: Path, now: float) -> bool:
    owner, _, _ = entry.name.partition("-")
    if owner.isdigit() and int(owner) != os.getpid() and not _process_alive(int(owner)):
        return True
    return now - _last_touched(entry) > STALE_AFTER_SECONDS


def clean_scratch(settings: Settings) -> int:
    """Remove what earlier processes left in the ingest scratch space; returns how many entries."""
    root = scratch_root(settings)
    if not root.is_dir():
        return 0
    now = time.time()
    removed = 0
    for entry in root.iterdir():
        try:
            if not _abandoned(entry, now):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except FileNotFoundError:  # its owner finished meanwhile
            continue
        removed += 1
    if removed:
        log.info("removed %d abandoned ingest scratch entries from %s", removed, root)
    return removed
