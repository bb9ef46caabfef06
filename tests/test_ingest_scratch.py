"""Security issue #10, item 10: an ingest killed with kill -9 leaves its upload in the scratch
space; the next start removes it (and only what dead processes left), then serves as before.
(The data files such an ingest already wrote into the table's location are orphans for table
maintenance: no snapshot names them.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from sadeem.app import create_app
from sadeem.config import Settings
from sadeem.db.engine import Database
from sadeem.ingest.scratch import STALE_AFTER_SECONDS, scratch_directory, scratch_root
from tests.conftest import World

KILLED_MID_UPLOAD = """
import os, signal, sys
from pathlib import Path
from sadeem.config import Settings
from sadeem.ingest.scratch import scratch_directory
with scratch_directory(Settings(home=Path(sys.argv[1]))) as directory:
    (directory / "upload.csv").write_bytes(b"x" * 1_000_000)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_start_removes_what_a_killed_ingest_left_and_nothing_else(
    settings: Settings, db: Database, world: World
) -> None:
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_UPLOAD, str(settings.home)], check=False)
    assert killed.returncode == -signal.SIGKILL
    root = scratch_root(settings)
    (left,) = root.iterdir()
    assert (left / "upload.csv").stat().st_size == 1_000_000
    # Another live process's upload stays, unless untouched for very long (its id may be reused).
    busy = root / f"{os.getppid()}-busy"
    busy.mkdir()
    (busy / "upload.csv").write_bytes(b"still arriving")
    forgotten = root / f"{os.getppid()}-forgotten"
    forgotten.mkdir()
    long_ago = time.time() - STALE_AFTER_SECONDS - 60
    os.utime(forgotten, (long_ago, long_ago))

    with TestClient(create_app(settings, db)) as client:
        assert sorted(p.name for p in root.iterdir()) == [busy.name]
        assert client.get("/health").status_code == 200
        ingested = client.post(
            "/api/v1/workspaces/alpha/ingest/alpha/readings",
            params={"format": "csv", "mode": "create"},
            content=b"id,kwh\n1,1.5\n2,2.5\n",
            headers=world.headers("ws_editor"),
        )
        assert ingested.status_code == 201, ingested.text
        assert ingested.json()["rows"] == 2
    assert sorted(p.name for p in root.iterdir()) == [busy.name]  # the upload's own is gone too


def test_an_upload_directory_is_under_the_home_and_names_its_process(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    with scratch_directory(settings) as directory:
        assert directory.parent == tmp_path / "work" / "ingest"
        assert directory.name.startswith(f"{os.getpid()}-")
    assert not directory.exists()
