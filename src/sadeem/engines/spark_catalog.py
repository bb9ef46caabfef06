"""How Spark reaches Sadeem's built-in Iceberg catalog as a run's owner: one Iceberg `SparkCatalog`
of type `rest`, Spark's default catalog, with the owner's short-lived token. Both Spark engines
(local and Kubernetes) start every run with this configuration (on Kubernetes the token reaches
the driver another way, see spark_k8s), and refuse user settings that would change it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sadeem.config import Settings
from sadeem.engines.base import CatalogAccess, EngineRefused, WorkspaceStorage

ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
DEFAULT_CATALOG_NAME = "iceberg"


def catalog_conf(
    catalog: CatalogAccess, storage: WorkspaceStorage, name: str = DEFAULT_CATALOG_NAME
) -> dict[str, str]:
    """The Spark settings of the catalog `name`: unqualified table names resolve to
    `<name>.<workspace root namespace>.<table>`. The token is among them: never put these on a
    command line or in a log line."""
    prefix = f"spark.sql.catalog.{name}"
    return {
        "spark.sql.extensions": ICEBERG_EXTENSIONS,
        "spark.sql.defaultCatalog": name,
        prefix: "org.apache.iceberg.spark.SparkCatalog",
        f"{prefix}.type": "rest",
        f"{prefix}.uri": catalog.uri,
        f"{prefix}.warehouse": catalog.warehouse,
        f"{prefix}.default-namespace": storage.namespace,
        # Sent as `Authorization: Bearer <token>` as it is: never refreshed or exchanged (the
        # token lives as long as the attempt).
        f"{prefix}.rest.auth.type": "oauth2",
        token_key(name): catalog.token,
        f"{prefix}.token-refresh-enabled": "false",
    }


def s3_conf(
    settings: Settings, storage: WorkspaceStorage, name: str = DEFAULT_CATALOG_NAME
) -> dict[str, str]:
    """For a workspace on `s3://`: the endpoint and credentials of Sadeem's object store as
    catalog `name`'s properties, which Iceberg hands to the S3FileIO its default ResolvingFileIO
    picks for `s3://` paths (the built-in catalog does not vend credentials). Empty for `file://`.
    The secret key is among them: never on a command line or in a log line."""
    if not storage.location.startswith("s3://"):
        return {}
    prefix = f"spark.sql.catalog.{name}"
    conf = {
        f"{prefix}.client.region": settings.s3_region or "us-east-1",
        f"{prefix}.s3.path-style-access": str(settings.s3_path_style).lower(),
    }
    if settings.s3_endpoint_url:
        conf[f"{prefix}.s3.endpoint"] = settings.s3_endpoint_url
    if settings.s3_access_key_id and settings.s3_secret_access_key:
        conf[f"{prefix}.s3.access-key-id"] = settings.s3_access_key_id
        conf[f"{prefix}.s3.secret-access-key"] = settings.s3_secret_access_key.get_secret_value()
    return conf


def token_key(name: str = DEFAULT_CATALOG_NAME) -> str:
    return f"spark.sql.catalog.{name}.token"


def refuse_catalog_overrides(
    conf_sources: Iterable[tuple[str, Mapping[str, str]]],
    name: str = DEFAULT_CATALOG_NAME,
    also_reserved: Iterable[str] = (),
) -> None:
    """Raise EngineRefused when a connection's or a task's Spark conf sets a key of the catalog
    configuration (anything under `spark.sql.catalog.<name>.`, the default catalog, the SQL
    extensions) or one of `also_reserved`: a run may not point its catalog elsewhere or act as
    someone else. `conf_sources` are (where from, conf) pairs, for the message."""
    reserved = {
        "spark.sql.extensions",
        "spark.sql.defaultCatalog",
        f"spark.sql.catalog.{name}",
        *also_reserved,
    }
    prefix = f"spark.sql.catalog.{name}."
    for source, conf in conf_sources:
        refused = sorted(key for key in conf if key in reserved or key.startswith(prefix))
        if refused:
            raise EngineRefused(
                f"{source} may not set {', '.join(refused)}: Sadeem sets the catalog '{name}' itself"
            )
