"""The one Settings object: `SADEEM_*` environment variables, then an optional TOML file.

Nothing else in Sadeem reads `os.environ`; everything that can be configured is a field here
and is documented in docs/overview.md (Configuration Map).
"""

from __future__ import annotations

import os
from functools import cached_property
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class ResultLimit(BaseModel):
    rows: int = Field(ge=1)
    bytes: int = Field(ge=1)


class StatementLimits(BaseModel):
    """Per workspace role (JSON in SADEEM_STATEMENT_LIMITS)."""

    viewer: ResultLimit = ResultLimit(rows=1_000_000, bytes=1 << 30)
    editor: ResultLimit = ResultLimit(rows=20_000_000, bytes=8 << 30)
    admin: ResultLimit = ResultLimit(rows=100_000_000, bytes=32 << 30)

    def of(self, role: str) -> ResultLimit:
        limit: ResultLimit = getattr(self, role)
        return limit


# Bounds of a workspace's Trino resource-group limits (the API's request bodies use the same).
Concurrency = Annotated[int, Field(ge=1, le=1000)]
QueueLength = Annotated[int, Field(ge=0, le=100_000)]
MemoryPercent = Annotated[int, Field(ge=1, le=100)]
SchedulingWeight = Annotated[int, Field(ge=1, le=1000)]


class WorkClassLimits(BaseModel):
    """One class of a workspace's Trino queries (`interactive`: the worksheet; `batch`: runs)."""

    model_config = ConfigDict(extra="forbid")

    hard_concurrency: Concurrency
    max_queued: QueueLength
    soft_memory_percent: MemoryPercent
    scheduling_weight: SchedulingWeight


class EngineLimits(BaseModel):
    """A workspace's share of a Trino cluster: its resource group (`soft_memory_percent` of the
    cluster's query memory) and the subgroup of each class of work (JSON in SADEEM_ENGINE_LIMITS)."""

    model_config = ConfigDict(extra="forbid")

    soft_memory_percent: MemoryPercent = 50
    interactive: WorkClassLimits = WorkClassLimits(
        hard_concurrency=4, max_queued=100, soft_memory_percent=60, scheduling_weight=2
    )
    batch: WorkClassLimits = WorkClassLimits(
        hard_concurrency=2, max_queued=100, soft_memory_percent=60, scheduling_weight=1
    )


def _config_file() -> Path | None:
    # The TOML file location is itself the one setting that has to be known before the others.
    path = os.environ.get("SADEEM_CONFIG_FILE")
    return Path(path) if path else None


def user_cache_dir() -> Path:
    """`${XDG_CACHE_HOME:-$HOME/.cache}/sadeem`: downloads (the pinned Spark jars) kept outside any
    checkout, so every clone on a machine shares them."""
    cache_home = os.environ.get("XDG_CACHE_HOME")
    return (Path(cache_home) if cache_home else Path.home() / ".cache") / "sadeem"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SADEEM_", extra="forbid", frozen=True)

    home: Path = Field(
        default=Path(".sadeem"), description="State directory (SQLite file, key file, warehouse)."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is SQLite at $SADEEM_HOME/sadeem.db."
    )
    warehouse: str | None = Field(
        default=None,
        description="Base storage location for workspaces; default file://$SADEEM_HOME/warehouse.",
    )
    public_url: str | None = Field(default=None, description="External base URL, when behind a proxy.")

    # Object storage for an s3:// warehouse (the catalog writes metadata there; provisioning
    # creates the bucket and each workspace's prefix)
    s3_endpoint_url: str | None = Field(default=None, description="S3 endpoint, e.g. http://minio:9000.")
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_path_style: bool = Field(default=True, description="Path-style addressing (MinIO, SeaweedFS).")

    # Ingest
    ingest_max_bytes: int = Field(
        default=10 * 1024**3, ge=1, description="Largest file an upload may carry, in bytes."
    )

    # Catalog explorer: bounds on the work one request does for a very wide table
    preview_max_columns: int = Field(
        default=200, ge=1, le=10_000, description="Columns a table preview reads at most (the first ones)."
    )
    schema_tree_max_columns: int = Field(
        default=1000, ge=1, le=100_000, description="Columns listed per table in the SQL editor's schema."
    )

    # Jobs and runs: workers, scheduler, engines
    worker_slots: int = Field(
        default=4, ge=1, le=256, description="Runs one worker process executes at once."
    )
    lease_seconds: float = Field(
        default=30.0, ge=1, description="A claimed run's lease; the worker renews it every third of this."
    )
    reaper_interval_seconds: float = Field(
        default=5.0, gt=0, description="How often expired leases are looked for (and schedules checked)."
    )
    worker_poll_seconds: float = Field(
        default=2.0, gt=0, description="Fallback poll when no wake-up (NOTIFY / in-process signal) arrives."
    )
    embedded_workers: bool = Field(
        default=True, description="`sadeem up` runs a worker and the scheduler in-process."
    )
    catalog_url: str | None = Field(
        default=None,
        description="The built-in Iceberg catalog as engines reach it; "
        "default http://$SADEEM_HOST:$SADEEM_PORT/iceberg.",
    )
    spark_local_enabled: bool = Field(
        default=True,
        description="Allow Spark local jobs: their code runs on this host as Sadeem's own OS user.",
    )
    spark_jars_dir: Path | None = Field(
        default=None,
        description="Iceberg Spark jars for Spark local runs; default: the pinned official jars "
        "`make spark` fetches into ${XDG_CACHE_HOME:-~/.cache}/sadeem/spark-jars/.",
    )
    run_result_preview_rows: int = Field(
        default=100, ge=1, le=10000, description="Rows of a SQL run's result kept with the run."
    )

    # The embedded DuckDB engine: every statement and run attempt runs in a process of its own
    duckdb_threads: int = Field(
        default=2, ge=1, le=64, description="DuckDB threads per statement or attempt."
    )
    duckdb_memory_limit: str = Field(
        default="2GB",
        pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="DuckDB's own memory limit per statement or attempt (its buffer manager).",
    )
    duckdb_process_memory_mb: int = Field(
        default=3072,
        ge=256,
        description="Address space (RLIMIT_AS) an engine process may map beyond what it had mapped when "
        "it took the work: DuckDB's memory limit plus what lives outside it (strings, Arrow buffers).",
    )
    duckdb_process_cpu_seconds: int = Field(
        default=3600,
        ge=1,
        description="CPU time (RLIMIT_CPU) an engine process may use before the OS ends it.",
    )
    duckdb_warm_processes: int = Field(
        default=1,
        ge=0,
        le=16,
        description="Engine processes kept started ahead, so a statement need not wait.",
    )

    # SQL worksheet (statements)
    statement_slots: int = Field(
        default=8, ge=1, le=256, description="Statements one server process runs at once; more wait QUEUED."
    )
    statement_timeout_seconds: float = Field(
        default=900, gt=0, le=86400, description="A statement's longest run (and the most a caller may ask)."
    )
    statement_result_retention_hours: float = Field(
        default=24, gt=0, description="How long a statement's result stays downloadable."
    )
    statement_results_dir: Path | None = Field(
        default=None,
        description="Where statement results are kept (Arrow chunks); default "
        "$SADEEM_HOME/statement-results. Several API replicas must share it.",
    )
    statement_limits: StatementLimits = Field(
        default_factory=lambda: StatementLimits(),
        description="Per workspace role: the most rows and Arrow bytes a statement keeps (and so pages and "
        "downloads); larger results are cut there and flagged `truncated`.",
    )
    # Sized against the default 8 slots of one server: one user may hold at most half of them, one
    # workspace three quarters, so neither can shut the others out of the worksheet. They count
    # across all API processes (replicas add slots, not allowance); keep them below
    # `statement_slots` when lowering that.
    statement_max_concurrent_per_user: int = Field(
        default=4,
        ge=1,
        le=10_000,
        description="Statements (queued or running) one user may have at once, over all workspaces and "
        "API processes; one more is refused with 429.",
    )
    statement_max_concurrent_per_workspace: int = Field(
        default=6,
        ge=1,
        le=10_000,
        description="Statements (queued or running) all users of one workspace may have at once, over all "
        "API processes; one more is refused with 429.",
    )
    statement_orphan_after_seconds: float = Field(
        default=30,
        ge=3,  # at least three missed heartbeats (one a second), so a slow round fails nothing alive
        le=3600,
        description="A queued or running statement whose server process has not heartbeated for this "
        "long is failed (that process died) and its catalog token revoked.",
    )
    statement_reap_interval_seconds: float = Field(
        default=5,
        ge=1,
        le=600,
        description="How often every API process, from its start, looks for such orphaned statements.",
    )

    # Trino resource groups (sadeem.resource_groups)
    engine_limits: EngineLimits = Field(
        default_factory=lambda: EngineLimits(),
        description="Each workspace's Trino limits unless a platform admin set its own: concurrency, "
        "queue, memory share and weight of its interactive and batch queries.",
    )
    trino_resource_groups_environment: str = Field(
        default="sadeem",
        min_length=1,
        max_length=128,
        description="The Trino coordinator's node.environment: on PostgreSQL Sadeem keeps each workspace's "
        "resource groups for it in the schema trino_resource_groups, which Trino's database "
        "resource-group manager reads.",
    )

    # Secrets and bootstrap
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s), comma-separated, newest first. Default: $SADEEM_HOME/secret.key (0600).",
    )
    admin_password: SecretStr | None = Field(
        default=None, description="Password of the first admin; generated and printed once when unset."
    )
    demo: bool = Field(default=True, description="Create the demo workspace on first start.")

    # Sessions, tokens, login throttling
    session_idle_timeout_seconds: int = Field(default=30 * 60, ge=60)
    session_absolute_timeout_seconds: int = Field(default=12 * 3600, ge=300)
    cookie_secure: bool = Field(default=False, description="Send cookies only over HTTPS.")
    cookie_samesite: Literal["lax", "strict"] = "strict"
    token_default_ttl_days: int = Field(default=90, ge=1, le=3650)
    token_max_ttl_days: int = Field(default=365, ge=1, le=3650)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=15 * 60, ge=1)
    users_can_create_workspaces: bool = True

    # Connections
    connection_test_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    connection_test_denied_networks: tuple[IPvAnyNetwork, ...] = Field(
        # Link-local holds the metadata service of AWS, GCP, Azure and OCI (169.254.169.254);
        # then AWS's and GCP's IPv6 metadata, Alibaba's, and Azure's WireServer.
        default=tuple(
            ip_network(network)
            for network in (
                "169.254.0.0/16",
                "fe80::/10",
                "fd00:ec2::254/128",
                "fd20:ce::254/128",
                "100.100.100.200/32",
                "168.63.129.16/32",
            )
        ),
        description="Networks a connection test never connects to (judged after DNS resolution): "
        "link-local and cloud metadata addresses. Sadeem's own port on this host is refused too.",
    )
    connection_test_allowed_networks: tuple[IPvAnyNetwork, ...] = Field(
        default=(),
        description="Networks a connection test may reach even when denied (including Sadeem's own port).",
    )

    # Serving
    max_concurrent_requests: int = Field(
        default=16,
        ge=1,
        le=1000,
        description="Client requests handled at once per process (others wait their turn); the DB pool "
        "has a connection pair for each of these and each catalog request.",
    )
    catalog_max_concurrent_requests: int = Field(
        default=8,
        ge=1,
        le=1000,
        description="Iceberg REST catalog (/iceberg) requests handled at once per process, in a pool of "
        "their own: the engines' catalog calls never wait behind the client requests waiting for them.",
    )
    max_waiting_requests: int = Field(
        default=128,
        ge=0,
        le=10_000,
        description="Long polls (wait_timeout, ?wait=) that wait at once without holding a request slot "
        "(each blocks a thread, no DB connection); with this many waiting, the next one keeps its slot.",
    )

    # Observability
    health_check_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="How long each check of GET /api/v1/health/components may take; one that takes longer "
        "(a hung S3, a locked database) is reported down.",
    )
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_enabled: bool = True

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'sadeem.db'}"

    @cached_property
    def resolved_warehouse(self) -> str:
        return (self.warehouse or (self.home / "warehouse").as_uri()).rstrip("/")

    @cached_property
    def resolved_catalog_url(self) -> str:
        # A server bound to every interface is reached on loopback by its own engines.
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return (self.catalog_url or f"http://{host}:{self.port}/iceberg").rstrip("/")

    @property
    def resolved_statement_results_dir(self) -> Path:
        return self.statement_results_dir or self.home / "statement-results"

    @property
    def key_file(self) -> Path:
        return self.home / "secret.key"


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
