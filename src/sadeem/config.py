"""The one Settings object: `SADEEM_*` environment variables, then an optional TOML file.

Nothing else in Sadeem reads `os.environ`; everything that can be configured is a field here
and is documented in docs/overview.md (Configuration Map).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _config_file() -> Path | None:
    # The TOML file location is itself the one setting that has to be known before the others.
    path = os.environ.get("SADEEM_CONFIG_FILE")
    return Path(path) if path else None


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

    # Serving
    max_concurrent_requests: int = Field(
        default=16,
        ge=1,
        le=1000,
        description="Requests handled at once per process (others wait their turn); also the DB pool size.",
    )

    # Observability
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

    @property
    def key_file(self) -> Path:
        return self.home / "secret.key"


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
