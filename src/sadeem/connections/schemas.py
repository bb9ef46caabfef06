"""Connection configs, one pydantic model per type, and the request and response bodies.

Secret fields are `SecretStr`, write-only in the JSON schema, and never part of a response:
a response names the secrets that are set (`secrets_set`), never their values. In an update an
omitted secret keeps its stored value and an explicit `null` clears it, unless the update moves
the connection's endpoint (see `ConnectionConfigBase.endpoint_fields`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, get_args
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, SecretStr, StrictBool, TypeAdapter
from pydantic.config import JsonDict

from sadeem.api.schemas import JSON_INTEGER, RequestModel, ResponseModel
from sadeem.connections.types import ConnectionType

_CREDENTIAL_LIKE = re.compile(r"pass(word)?|secret|token|credential|private|api_?key|access\.key", re.I)

# Every rule is a pattern in the JSON schema, so the OpenAPI document says exactly what is accepted.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = _LABEL + r"(\." + _LABEL + r")*\.?"  # IPv4 addresses included
_IPV6 = r"[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*"
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_PATH = r"(/[^\x00-\x20\x7f?#]*)?"


def _url_pattern(schemes: str) -> str:
    # No user:password@ (credentials belong in secret fields), no query, no fragment.
    return rf"^({schemes})://({_HOSTNAME}|\[{_IPV6}\])(:{_PORT})?{_PATH}$"


def _url_endpoint(url: str) -> Endpoint:
    parts = urlsplit(url)  # validated by the patterns above: a host is always there
    assert parts.hostname is not None
    https = parts.scheme == "https"
    return Endpoint(parts.hostname, parts.port or (443 if https else 80), tls=https)


@dataclass(frozen=True)
class Endpoint:
    """Where a check connects: a host, a port, and whether TLS is spoken there from the start."""

    host: str
    port: int
    tls: bool = False


def _without_trailing_slash(value: str) -> str:
    return value.rstrip("/") or "/"


def _exact_keys(schema: JsonDict) -> None:
    """pydantic describes constrained dict keys with `patternProperties`, which lets any other
    key through in JSON schema terms; say exactly what is accepted instead."""
    patterns = schema.pop("patternProperties")
    assert isinstance(patterns, dict)
    ((pattern, value),) = patterns.items()
    names = schema.get("propertyNames")
    schema["propertyNames"] = {**(names if isinstance(names, dict) else {}), "pattern": pattern}
    schema["additionalProperties"] = value


Host = Annotated[
    str,
    Field(
        max_length=253,
        pattern=rf"^({_HOSTNAME}|{_IPV6})$",
        description="A host name or an IP address (no scheme, port or path).",
        examples=["db.internal"],
    ),
]
Port = Annotated[int, Field(ge=1, le=65535), JSON_INTEGER]
HttpUrl = Annotated[
    str,
    Field(max_length=2048, pattern=_url_pattern("http|https"), examples=["https://catalog.internal:8181"]),
    AfterValidator(_without_trailing_slash),
]
HttpsUrl = Annotated[
    str,
    Field(max_length=2048, pattern=_url_pattern("https"), examples=["https://k8s.internal:6443"]),
    AfterValidator(_without_trailing_slash),
]
PemCertificates = Annotated[
    str,
    Field(
        max_length=65536,
        pattern=r"^[^\x00]*-----BEGIN CERTIFICATE-----[^\x00]+-----END CERTIFICATE-----[^\x00]*$",
    ),
]
AbsolutePath = Annotated[
    str, Field(max_length=1024, pattern=r"^/[^\x00-\x1f\x7f]*$"), AfterValidator(_without_trailing_slash)
]
SparkConfKey = Annotated[str, Field(max_length=256, pattern=r"^spark\.[A-Za-z0-9._-]+$")]
# One line of printable text: these go into HTTP headers and connection strings.
Line = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]
Token = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[!-~]+$")]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z_][A-Za-z0-9_$-]*$")]
DnsLabel = Annotated[str, Field(max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
Secret = Annotated[
    SecretStr | None,
    Field(
        default=None,
        min_length=1,
        max_length=16384,
        description="Write-only: never returned. In an update, omit it to keep the stored value; "
        "null clears it.",
        json_schema_extra={"writeOnly": True},
    ),
]


class ConnectionConfigBase(RequestModel):
    type: str  # each type narrows it to its literal, the union's discriminator
    secret_field_names: ClassVar[tuple[str, ...]] = ()
    # The settings that decide who receives the secrets: where the connection points and how that
    # peer is authenticated (TLS). Secrets belong to the endpoint they were entered for, so an
    # update that changes one of these drops the stored secrets it does not supply again; otherwise
    # whoever may edit a connection could send its secrets anywhere (issue #10).
    endpoint_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.secret_field_names = tuple(
            name for name, field in cls.model_fields.items() if SecretStr in get_args(field.annotation)
        )
        if unknown := set(cls.endpoint_fields) - set(cls.model_fields):
            raise TypeError(f"{cls.__name__}.endpoint_fields names no field: {sorted(unknown)}")
        if cls.secret_field_names and not cls.endpoint_fields:
            raise TypeError(f"{cls.__name__} has secrets, so it must name its endpoint_fields")

    @property
    def connection_type(self) -> ConnectionType:
        return ConnectionType(self.type)

    def plain_text_problems(self) -> list[str]:
        """Reasons why the non-secret settings must not be stored as they are (a credential
        where only plain-text settings go)."""
        return []

    def public_values(self) -> dict[str, Any]:
        """The non-secret settings, as stored and shown."""
        return self.model_dump(mode="json", by_alias=True, exclude={"type", *self.secret_field_names})

    def secret_values(self) -> dict[str, str]:
        """The secrets that are set, in plain text (server side only)."""
        values = {name: getattr(self, name) for name in self.secret_field_names}
        return {name: value.get_secret_value() for name, value in values.items() if value is not None}

    def endpoint_changes(self, stored: Mapping[str, Any]) -> list[str]:
        """The endpoint fields whose value differs from `stored` (public values, as stored)."""
        public = self.public_values()
        fields = type(self).model_fields
        keys = {name: fields[name].alias or name for name in self.endpoint_fields}
        return [name for name, key in keys.items() if public.get(key) != stored.get(key)]

    def endpoints(self) -> list[Endpoint]:
        """Where a check connects, in order: vetted, then probed (DNS, TCP, TLS) before it starts."""
        return []

    def destinations(self) -> list[tuple[str, int]]:
        """The (host, port) pairs a check connects to first, vetted before it starts."""
        return [(endpoint.host, endpoint.port) for endpoint in self.endpoints()]


class S3Config(ConnectionConfigBase):
    """S3-compatible object storage (MinIO, SeaweedFS, AWS S3, ...)."""

    # Without an endpoint the region picks AWS's; without path style the bucket is in the host name.
    endpoint_fields = ("endpoint_url", "region", "bucket", "path_style", "verify_tls")
    type: Literal["s3"]
    endpoint_url: HttpUrl | None = Field(default=None, description="Omit for AWS S3.")
    region: str = Field(default="us-east-1", max_length=32, pattern=r"^[a-z0-9-]+$")
    bucket: str | None = Field(
        default=None,
        max_length=63,
        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        description="Checked by the test when set; otherwise the test lists buckets.",
    )
    access_key_id: Token | None = Field(default=None, description="Without keys, requests are anonymous.")
    secret_access_key: Secret
    path_style: StrictBool = Field(default=True, description="Path-style addressing (MinIO, SeaweedFS).")
    verify_tls: StrictBool = True

    def endpoints(self) -> list[Endpoint]:
        # Without an endpoint, boto3 picks AWS's; the resolution it makes is still vetted.
        return [_url_endpoint(self.endpoint_url)] if self.endpoint_url else []


class IcebergRestConfig(ConnectionConfigBase):
    """An Iceberg REST catalog. Authenticates with a bearer `token`, or with the OAuth2 client
    credentials `client_id` + `client_secret`, or not at all."""

    endpoint_fields = ("uri", "oauth2_server_uri", "verify_tls")
    type: Literal["iceberg_rest"]
    uri: HttpUrl
    warehouse: Line | None = None
    token: Secret
    client_id: Token | None = None
    client_secret: Secret
    oauth2_server_uri: HttpUrl | None = Field(
        default=None, description="Token endpoint; default `{uri}/v1/oauth/tokens`."
    )
    scope: Token = "catalog"
    verify_tls: StrictBool = True

    def endpoints(self) -> list[Endpoint]:
        return [_url_endpoint(url) for url in (self.uri, self.oauth2_server_uri) if url]


class TrinoConfig(ConnectionConfigBase):
    """A Trino coordinator. A password needs `http_scheme: https`."""

    endpoint_fields = ("host", "port", "http_scheme", "verify_tls")
    type: Literal["trino"]
    host: Host
    port: Port = 8080
    http_scheme: Literal["http", "https"] = "http"
    user: Line
    catalog: Identifier | None = None
    schema_: Identifier | None = Field(default=None, alias="schema")
    password: Secret
    verify_tls: StrictBool = True

    def endpoints(self) -> list[Endpoint]:
        return [Endpoint(self.host, self.port, tls=self.http_scheme == "https")]


class SparkLocalConfig(ConnectionConfigBase):
    """Spark in local mode on the Sadeem host (`spark-submit --master local[*]`)."""

    type: Literal["spark_local"]
    spark_home: AbsolutePath | None = Field(
        default=None, description="Default: the installed pyspark package, else spark-submit on PATH."
    )
    java_home: AbsolutePath | None = Field(default=None, description="Default: java on PATH.")
    master: str = Field(default="local[*]", max_length=32, pattern=r"^local(\[(\*|[1-9][0-9]{0,3})\])?$")
    conf: dict[SparkConfKey, Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=dict,
        max_length=200,
        description="Spark properties. Stored and shown in plain text: no credentials here.",
        json_schema_extra=_exact_keys,
    )

    def plain_text_problems(self) -> list[str]:
        return [
            f"Spark conf '{key}' looks like a credential; it would be stored in plain text."
            for key in self.conf
            if _CREDENTIAL_LIKE.search(key)
        ]


# The Spark of the operator's default image; a connection naming another image says its version.
DEFAULT_K8S_SPARK_VERSION = "3.5.9"


class SparkK8sConfig(ConnectionConfigBase):
    """Spark on Kubernetes through the Spark Operator (SparkApplication resources)."""

    endpoint_fields = ("api_server", "ca_cert", "verify_tls")
    type: Literal["spark_k8s"]
    api_server: HttpsUrl
    namespace: DnsLabel
    service_account: str | None = Field(
        default=None, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
    )
    token: Secret
    ca_cert: PemCertificates | None = Field(
        default=None, description="PEM CA bundle that signed the API server's certificate."
    )
    image: str | None = Field(default=None, max_length=512, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$")
    spark_version: str = Field(
        default=DEFAULT_K8S_SPARK_VERSION,
        pattern=r"^(3\.5|4\.[0-9]{1,2})\.[0-9]{1,3}$",
        description="The image's Spark version (3.5.x or 4.x), as the operator expects it; "
        "the image must carry the matching iceberg-spark-runtime and iceberg-aws-bundle jars.",
    )
    verify_tls: StrictBool = True

    def endpoints(self) -> list[Endpoint]:
        return [_url_endpoint(self.api_server)]


class PostgresConfig(ConnectionConfigBase):
    """A PostgreSQL database."""

    # sslmode: below verify-full, another server can pose as this one and ask for the password.
    endpoint_fields = ("host", "port", "sslmode")
    type: Literal["postgres"]
    host: Host
    port: Port = 5432
    database: Line
    user: Line
    password: Secret
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"

    def endpoints(self) -> list[Endpoint]:
        # Not tls=True even with sslmode: PostgreSQL negotiates TLS inside its own protocol.
        return [Endpoint(self.host, self.port)]


ConnectionConfig = Annotated[
    S3Config | IcebergRestConfig | TrinoConfig | SparkLocalConfig | SparkK8sConfig | PostgresConfig,
    Field(discriminator="type"),
]
config_adapter: TypeAdapter[ConnectionConfigBase] = TypeAdapter(ConnectionConfig)
CONFIG_MODELS: dict[ConnectionType, type[ConnectionConfigBase]] = {
    ConnectionType(get_args(model.model_fields["type"].annotation)[0]): model
    for model in (S3Config, IcebergRestConfig, TrinoConfig, SparkLocalConfig, SparkK8sConfig, PostgresConfig)
}

ConnectionName = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_-]{0,62}$",
        description="Lower-case letters, digits, '_' and '-', starting with a letter; "
        "unique in the workspace.",
        examples=["warehouse_s3"],
    ),
]
Description = Annotated[str, Field(max_length=2000)]


class ConnectionCreate(RequestModel):
    name: ConnectionName
    description: Description = ""
    config: ConnectionConfig


class ConnectionUpdate(RequestModel):
    description: Description | None = None
    config: ConnectionConfig | None = Field(
        default=None,
        description="The whole new config (its `type` cannot change). Omitted secrets keep their "
        "stored value, except when the config changes where the connection points (its host, URL, "
        "port, bucket or TLS trust): then only the secrets given again are kept. A secret set to "
        "null is cleared.",
    )


class ConnectionTestRequest(RequestModel):
    config: ConnectionConfig


CheckStepKind = Literal["dns", "tcp", "tls", "auth", "version", "privilege", "query", "program", "check"]


class ConnectionTestStep(ResponseModel):
    kind: CheckStepKind = Field(
        description="What the step checked: `dns` (name resolution), `tcp` (reaching the port), "
        "`tls` (the handshake and certificate), `auth` (signing in), `version` (what answered), "
        "`privilege` (what the credentials may do), `query` (a trivial query), `program` (a local "
        "program is there), `check` (a failure outside any named step)."
    )
    ok: bool
    latency_ms: float = Field(description="How long the step took.")
    detail: str = Field(description="What the step found, or why it failed (never a secret).")
    host: str | None = Field(default=None, description="The host the step reached, when it reached one.")
    port: int | None = Field(default=None, description="The port the step reached, when it reached one.")


class ConnectionTestResult(ResponseModel):
    ok: bool
    latency_ms: float = Field(description="How long the check took.")
    detail: str = Field(description="What was checked, or why it failed.")
    checked_at: datetime
    host: str | None = Field(default=None, description="Where the check connects first, if anywhere.")
    port: int | None = Field(default=None, description="The port at `host`.")
    steps: list[ConnectionTestStep] = Field(
        default_factory=list,
        description="The check step by step, in order; on failure the last one is the one that failed.",
    )


class ConnectionTypeOut(ResponseModel):
    type: ConnectionType
    description: str = Field(description="What the type connects to.")
    config_schema: dict[str, Any] = Field(
        description="JSON Schema of the type's config (without `type`). Secret fields carry "
        "`writeOnly: true` and `format: password`: never returned, only named in `secrets_set`."
    )
    secret_fields: list[str] = Field(description="The write-only fields, in schema order.")
    endpoint_fields: list[str] = Field(
        description="The fields that say where the connection points: changing one drops the stored "
        "secrets not given again."
    )


class ConnectionUse(ResponseModel):
    kind: Literal["job"] = Field(description="What uses the connection.")
    name: str


class ConnectionOut(ResponseModel):
    name: str
    type: ConnectionType
    description: str
    config: dict[str, Any] = Field(description="The settings, without secrets (see `secrets_set`).")
    secrets_set: list[str] = Field(description="Names of the write-only fields that have a value.")
    created_at: datetime
    updated_at: datetime
    last_test: ConnectionTestResult | None = None
    used_by: list[ConnectionUse] = Field(
        default_factory=list,
        description="The workspace's jobs whose current version names this connection: they fail "
        "while it is missing or broken.",
    )
