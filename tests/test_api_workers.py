"""`sadeem api --workers N`: several server processes on one port (what the chart runs per API pod),
whose Prometheus counters a scrape of any one of them adds up."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from tests.connection_doubles import free_port


def _health_count(metrics: str) -> float:
    match = re.search(
        r'sadeem_http_requests_total\{method="GET",route="/health",status="200"\} (\S+)', metrics
    )
    return float(match.group(1)) if match else 0.0


def test_two_server_processes_share_the_port_and_their_metrics(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SADEEM_")},
        "SADEEM_HOME": str(tmp_path),
        "SADEEM_SECRET_KEY": Fernet.generate_key().decode(),
        "SADEEM_LOG_LEVEL": "WARNING",
    }
    sadeem = [str(Path(sys.executable).with_name("sadeem"))]
    subprocess.run([*sadeem, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    server = subprocess.Popen(
        [*sadeem, "api", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        served = 0
        while True:  # until both processes have started (each writes its own metric files)
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            with contextlib.suppress(httpx.TransportError):
                served += httpx.get(f"{base}/health", timeout=5).status_code == 200
            files = {p.name.split("_")[-1] for p in tmp_path.glob("metrics-*/counter_*.db")}
            if len(files) == 2 and served:
                break
            assert time.monotonic() < deadline, "the server processes did not start"
            time.sleep(0.2)
        for _ in range(40):
            assert httpx.get(f"{base}/health", timeout=5).status_code == 200
            served += 1
        # Every scrape, whichever process answers it, counts every process's requests.
        for _ in range(6):
            assert _health_count(httpx.get(f"{base}/metrics", timeout=5).text) == served
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert not list(tmp_path.glob("metrics-*")), "the metric files of this start are removed at exit"
