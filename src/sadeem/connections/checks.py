""" "Test connection": one real check per type, bounded in time, reporting ok/error and latency.

Each network step waits at most `timeout` seconds and a whole check is abandoned after twice
that. A failed check is a result, not an error. Its message is one line without a traceback,
and every secret value of the connection is removed from it, whatever the remote side or a
client library put there. A check that would connect where the egress policy refuses (see
egress.py) is an error instead: `DestinationRefused`, and nothing is recorded.
"""

from __future__ import annotations

import base64
import importlib.util
import ipaddress
import logging
import math
import os
import re
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import certifi
import httpx

from sadeem.connections.egress import DestinationRefused, EgressPolicy, Guard
from sadeem.connections.schemas import (
    ConnectionConfigBase,
    Endpoint,
    IcebergRestConfig,
    PostgresConfig,
    S3Config,
    SparkK8sConfig,
    SparkLocalConfig,
    TrinoConfig,
)
from sadeem.connections.types import ConnectionType
from sadeem.core.clock import utcnow
from sadeem.core.redaction import redact_secrets

log = logging.getLogger("sadeem.connections")
MAX_DETAIL = 500
SPARK_OPERATOR_API = "/apis/sparkoperator.k8s.io/v1beta2"


class CheckFailed(Exception):
    """A check's own, already readable, reason for failing."""


@dataclass(frozen=True)
class CheckStep:
    """One step of a check: `kind` is one of schemas.CheckStepKind."""

    kind: str
    ok: bool
    latency_ms: float
    detail: str
    host: str | None = None
    port: int | None = None


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    latency_ms: float
    detail: str
    checked_at: datetime
    host: str | None = None
    port: int | None = None
    steps: tuple[CheckStep, ...] = ()


@dataclass
class _Note:
    """What a running step found; the check sets `detail` before the step ends."""

    detail: str = ""


@dataclass
class _Recorder:
    """The steps of the check running in this thread (see `step`)."""

    host: str | None = None
    port: int | None = None
    done: list[CheckStep] = field(default_factory=list)
    running: tuple[str, float, str | None, int | None] | None = None
    failure_recorded: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def finish(
        self, kind: str, ok: bool, started: float, detail: str, host: str | None, port: int | None
    ) -> None:
        latency = round((time.perf_counter() - started) * 1000, 1)
        with self.lock:
            self.done.append(CheckStep(kind, ok, latency, detail, host, port))
            self.running = None
            self.failure_recorded = self.failure_recorded or not ok

    def snapshot(self, abandoned_after: float | None) -> list[CheckStep]:
        """The steps so far; with `abandoned_after`, the running one as failed for lack of an answer."""
        with self.lock:
            steps = list(self.done)
            if abandoned_after is not None and self.running is not None:
                kind, started, host, port = self.running
                latency = round((time.perf_counter() - started) * 1000, 1)
                steps.append(
                    CheckStep(kind, False, latency, f"no answer within {abandoned_after:g} s", host, port)
                )
        return steps


_recording = threading.local()


@contextmanager
def step(kind: str, host: str | None = None, port: int | None = None) -> Iterator[_Note]:
    """Record what runs inside as one step of the current check: failed with the exception's
    message if one escapes (and re-raised), else done with the note's `detail`. Without a host,
    the step is about the connection's first endpoint."""
    recorder: _Recorder | None = getattr(_recording, "recorder", None)
    note = _Note()
    if recorder is None:  # a check called on its own
        yield note
        return
    if host is None:
        host, port = recorder.host, recorder.port
    started = time.perf_counter()
    with recorder.lock:
        recorder.running = (kind, started, host, port)
    try:
        yield note
    except BaseException as exc:
        recorder.finish(kind, False, started, _describe(exc), host, port)
        raise
    recorder.finish(kind, True, started, note.detail, host, port)


def _sensitive_values(config: ConnectionConfigBase) -> list[str]:
    """The secrets, and the HTTP basic-auth credentials made from them."""
    values = list(config.secret_values().values())
    user = getattr(config, "user", None)
    if isinstance(user, str):
        values += [base64.b64encode(f"{user}:{value}".encode()).decode() for value in values]
    return values


def _describe(exc: BaseException) -> str:
    message = str(exc).strip()
    if isinstance(exc, CheckFailed):
        return message
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _http_failure(response: httpx.Response, what: str) -> CheckFailed:
    reason = ""
    try:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else body.get("message")
        if isinstance(message, str):  # clipped only after redaction: never half a secret
            reason = f": {message}"
    except ValueError:
        pass
    return CheckFailed(f"{what} answered HTTP {response.status_code}{reason}")


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 400:
        raise _http_failure(response, what)
    try:
        body = response.json()
    except ValueError:
        raise CheckFailed(f"{what} did not answer with JSON") from None
    if not isinstance(body, dict):
        raise CheckFailed(f"{what} did not answer with a JSON object")
    return body


def _http_client(timeout: float, verify: bool | ssl.SSLContext, **kwargs: Any) -> httpx.Client:
    # trust_env=False: only the connection's own settings apply, never the server's proxies or .netrc.
    return httpx.Client(timeout=timeout, verify=verify, trust_env=False, follow_redirects=False, **kwargs)


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer (timed out)"
    return exc.strerror or str(exc) or type(exc).__name__


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _tls_context(config: ConnectionConfigBase) -> ssl.SSLContext:
    """Trust as the check's own clients do: the connection's CA bundle, else certifi's (httpx and
    botocore use it), never the server's environment; nothing verified with verify_tls off."""
    if not getattr(config, "verify_tls", True):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    ca_cert = getattr(config, "ca_cert", None)
    if ca_cert:
        return ssl.create_default_context(cadata=ca_cert)
    return ssl.create_default_context(cafile=certifi.where())


def probe(config: ConnectionConfigBase, endpoint: Endpoint, timeout: float) -> None:
    """The steps below any protocol: the name resolves (dns), the port accepts a connection (tcp),
    and, where TLS is spoken from the start, the handshake and certificate pass (tls)."""
    host, port = endpoint.host, endpoint.port
    where = _netloc(host, port)
    if not _is_ip_address(host):
        with step("dns", host, port) as note:
            try:
                answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except socket.gaierror as exc:
                raise CheckFailed(f"Could not resolve {host}: {exc.strerror or exc}") from None
            addresses = list(dict.fromkeys(str(answer[4][0]) for answer in answers))
            shown = ", ".join(addresses[:3]) + (
                f" and {len(addresses) - 3} more" if len(addresses) > 3 else ""
            )
            note.detail = f"{host} resolved to {shown}"
    with step("tcp", host, port) as note:
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            if isinstance(exc, socket.gaierror):
                raise CheckFailed(f"Could not resolve {host}: {exc.strerror or exc}") from None
            raise CheckFailed(f"Could not connect to {where}: {_os_reason(exc)}") from None
        peer = str(sock.getpeername()[0])
        note.detail = f"{where} accepted a connection" + (f" (at {peer})" if peer != host else "")
    with sock:
        if not endpoint.tls:
            return
        with step("tls", host, port) as note:
            try:
                with _tls_context(config).wrap_socket(sock, server_hostname=host) as tls:
                    version, certificate = tls.version(), tls.getpeercert()
            except ssl.SSLCertVerificationError as exc:
                reason = exc.verify_message or exc.reason or str(exc)
                raise CheckFailed(
                    f"TLS handshake with {where} failed: CERTIFICATE_VERIFY_FAILED: {reason}"
                ) from None
            except ssl.SSLError as exc:
                raise CheckFailed(f"TLS handshake with {where} failed: {exc.reason or exc}") from None
            except OSError as exc:
                raise CheckFailed(f"TLS handshake with {where} failed: {_os_reason(exc)}") from None
            if not getattr(config, "verify_tls", True):
                note.detail = f"{version} with {where}; certificate not verified (verify_tls is off)"
            else:
                until = certificate.get("notAfter") if certificate else None
                note.detail = f"{version} with {where}; certificate verified" + (
                    f", valid until {until}" if until else ""
                )


# --- one check per type; each returns what it verified ---------------------------------------


def check_postgres(config: PostgresConfig, timeout: float) -> str:
    import psycopg

    with step("auth") as note:
        connection = psycopg.connect(
            host=config.host,
            port=config.port,
            dbname=config.database,
            user=config.user,
            password=_secret(config.password) or "",
            passfile=os.devnull,  # never the server's own ~/.pgpass
            sslmode=config.sslmode,
            connect_timeout=max(2, math.ceil(timeout)),
            application_name="sadeem-connection-test",
            options=f"-c statement_timeout={int(timeout * 1000)}",
            autocommit=True,
        )
        tls = " over TLS" if connection.pgconn.ssl_in_use else ""
        note.detail = f"signed in to database '{config.database}' as '{config.user}'{tls}"
    with connection, step("query") as note:
        row = connection.execute("SELECT 1, current_setting('server_version')").fetchone()
        if row is None or row[0] != 1:
            raise CheckFailed("SELECT 1 did not return 1")
        note.detail = f"PostgreSQL {row[1]} answered SELECT 1"
    return note.detail


def check_s3(config: S3Config, timeout: float) -> str:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    anonymous = config.access_key_id is None
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=config.endpoint_url,
        region_name=config.region,
        aws_access_key_id=config.access_key_id,
        aws_secret_access_key=_secret(config.secret_access_key),
        verify=config.verify_tls,
        config=Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 1, "mode": "standard"},
            s3={"addressing_style": "path" if config.path_style else "auto"},
            # Without keys: anonymous, never the server's own credentials.
            signature_version=UNSIGNED if anonymous else None,
        ),
    )
    signed = "anonymously" if anonymous else f"as '{config.access_key_id}'"
    if config.bucket:
        with step("privilege") as note:
            client.head_bucket(Bucket=config.bucket)
            note.detail = f"HEAD bucket '{config.bucket}' {signed} answered"
        return f"bucket '{config.bucket}' is reachable"
    with step("auth") as note:
        buckets = client.list_buckets().get("Buckets", [])
        note.detail = f"ListBuckets {signed} listed {len(buckets)} bucket(s)"
    return f"listed {len(buckets)} bucket(s)"


def _iceberg_oauth_token(http: httpx.Client, config: IcebergRestConfig) -> str:
    endpoint = config.oauth2_server_uri or f"{config.uri}/v1/oauth/tokens"
    target = config.endpoints()[-1]
    with step("auth", target.host, target.port) as note:
        token = _iceberg_oauth_token_from(http, config, endpoint)
        note.detail = f"the OAuth2 token endpoint issued a token to client '{config.client_id or ''}'"
    return token


def _iceberg_oauth_token_from(http: httpx.Client, config: IcebergRestConfig, endpoint: str) -> str:
    response = http.post(
        endpoint,
        data={
            "grant_type": "client_credentials",
            "client_id": config.client_id or "",
            "client_secret": _secret(config.client_secret) or "",
            "scope": config.scope,
        },
    )
    token = _json_object(response, "the OAuth2 token endpoint").get("access_token")
    if not isinstance(token, str) or not token:
        raise CheckFailed("the OAuth2 token endpoint answered without an access_token")
    return token


def check_iceberg_rest(config: IcebergRestConfig, timeout: float) -> str:
    with _http_client(timeout, config.verify_tls) as http:
        token = _secret(config.token)
        if token is None and config.client_secret is not None:
            token = _iceberg_oauth_token(http, config)
        with step("query") as note:
            response = http.get(
                f"{config.uri}/v1/config",
                params={"warehouse": config.warehouse} if config.warehouse else None,
                headers={"Authorization": f"Bearer {token}"} if token else None,
            )
            body = _json_object(response, "GET /v1/config")
            overrides = body.get("overrides")
            prefix = overrides.get("prefix") if isinstance(overrides, dict) else None
            how = "with a bearer token" if token else "without credentials"
            note.detail = "catalog answered GET /v1/config " + how
    return "catalog answered GET /v1/config" + (f" (prefix '{prefix}')" if isinstance(prefix, str) else "")


def check_trino(config: TrinoConfig, timeout: float) -> str:
    import requests
    import trino
    from trino.auth import BasicAuthentication

    base = f"{config.http_scheme}://{_netloc(config.host, config.port)}"
    with step("version") as note, _http_client(timeout, config.verify_tls) as http:
        info = _json_object(http.get(f"{base}/v1/info"), "GET /v1/info")
        if info.get("starting"):
            raise CheckFailed("Trino is still starting")
        node_version = info.get("nodeVersion")
        version = node_version.get("version", "?") if isinstance(node_version, dict) else "?"
        note.detail = f"Trino {version} is running"
    password = _secret(config.password)
    session = requests.Session()
    session.trust_env = False
    session.verify = config.verify_tls
    connection = trino.dbapi.connect(
        host=config.host,
        port=config.port,
        user=config.user,
        catalog=config.catalog,
        schema=config.schema_,
        http_scheme=config.http_scheme,
        auth=BasicAuthentication(config.user, password) if password else None,
        http_session=session,
        request_timeout=timeout,
        max_attempts=1,
        heartbeat_interval=None,
        source="sadeem-connection-test",
    )
    with step("query") as note:
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            rows = cursor.fetchall()
        finally:
            connection.close()
            session.close()
        if rows != [[1]]:
            raise CheckFailed("SELECT 1 did not return 1")
        how = "with a password" if password else "without a password"
        note.detail = f"SELECT 1 as '{config.user}' ({how}) returned 1"
    return f"Trino {version} answered SELECT 1"


def _java_version(java_home: Path) -> str:
    release = java_home / "release"
    if release.is_file():
        match = re.search(r'^JAVA_VERSION="([^"]+)"', release.read_text(errors="replace"), re.M)
        if match:
            return match.group(1)
    return "(version unknown)"


def _spark_version(spark_home: Path) -> str:
    """From a Spark distribution's RELEASE file, or the pyspark package's version.py."""
    for name, pattern in (("RELEASE", r"^Spark (\S+)"), ("version.py", r'^__version__[^=]*=\s*"([^"]+)"')):
        path = spark_home / name
        if path.is_file() and (match := re.search(pattern, path.read_text(errors="replace"), re.M)):
            return match.group(1)
    return "(version unknown)"


def _executable(path: Path, what: str) -> Path:
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise CheckFailed(f"{what} not found: {path} is missing or not executable")
    return path


def check_spark_local(config: SparkLocalConfig, timeout: float) -> str:
    """Presence only: nothing a connection points at is executed by a test."""
    with step("program") as note:
        if config.java_home:
            java = _executable(Path(config.java_home) / "bin" / "java", "java")
        else:
            found = shutil.which("java")
            if found is None:
                raise CheckFailed("java not found: set java_home or put java on the PATH")
            java = Path(found).resolve()
        java_found = note.detail = f"java {_java_version(java.parent.parent)} at {java}"
    with step("program") as note:
        pyspark = importlib.util.find_spec("pyspark")
        if config.spark_home:
            spark_home = Path(config.spark_home)
        elif pyspark is not None and pyspark.origin:
            spark_home = Path(pyspark.origin).parent  # the pyspark package is a Spark distribution
        elif found_submit := shutil.which("spark-submit"):
            spark_home = Path(found_submit).resolve().parent.parent
        else:
            raise CheckFailed(
                "spark-submit not found: set spark_home, install pyspark, or put spark-submit on the PATH"
            )
        submit = _executable(spark_home / "bin" / "spark-submit", "spark-submit")
        note.detail = f"spark-submit {_spark_version(spark_home)} at {submit}"
    return f"{java_found}; {note.detail}"


def check_spark_k8s(config: SparkK8sConfig, timeout: float) -> str:
    verify: bool | ssl.SSLContext = config.verify_tls
    if config.verify_tls and config.ca_cert:
        verify = ssl.create_default_context(cadata=config.ca_cert)
    token = _secret(config.token)
    headers = {"Authorization": f"Bearer {token}"} if token else None
    with _http_client(timeout, verify, base_url=config.api_server, headers=headers) as http:
        with step("version") as note:
            version = _json_object(http.get("/version"), "GET /version").get("gitVersion", "?")
            note.detail = f"Kubernetes {version} answered GET /version"
        with step("privilege") as note:
            listing = http.get(
                f"{SPARK_OPERATOR_API}/namespaces/{config.namespace}/sparkapplications", params={"limit": 1}
            )
            if listing.status_code == 404:
                raise CheckFailed(
                    f"Kubernetes {version} answered, but has no SparkApplication resource: "
                    "is the Spark Operator installed?"
                )
            if listing.status_code in (401, 403):
                raise CheckFailed(
                    f"Kubernetes {version} answered, but refused to list SparkApplications in namespace "
                    f"'{config.namespace}' (HTTP {listing.status_code}): check the token and its RBAC role"
                )
            _json_object(listing, "listing SparkApplications")
            note.detail = f"SparkApplications in namespace '{config.namespace}' can be listed"
    return f"Kubernetes {version}; SparkApplications in namespace '{config.namespace}' can be listed"


CHECKS: dict[ConnectionType, Callable[[Any, float], str]] = {
    ConnectionType.postgres: check_postgres,
    ConnectionType.s3: check_s3,
    ConnectionType.iceberg_rest: check_iceberg_rest,
    ConnectionType.trino: check_trino,
    ConnectionType.spark_local: check_spark_local,
    ConnectionType.spark_k8s: check_spark_k8s,
}


def run_check(config: ConnectionConfigBase, timeout: float, policy: EgressPolicy) -> CheckResult:
    """Run the type's check in a worker thread that is abandoned after `2 * timeout`, so no
    client library that ignores its timeout can hold the request. Raises `DestinationRefused`
    when the check would connect where `policy` refuses."""
    check = CHECKS[config.connection_type]
    outcome: list[tuple[bool, str]] = []
    guard = Guard(policy)
    try:
        endpoints = config.endpoints()
    except ValueError:  # a host urlsplit cannot read (a bracketed non-address): the check says so
        endpoints = []
    first = endpoints[0] if endpoints else None
    recorder = _Recorder(host=first.host if first else None, port=first.port if first else None)

    def attempt() -> None:
        _recording.recorder = recorder
        started = time.perf_counter()
        with guard.active():
            try:
                guard.vet_destinations(config.destinations())
                for endpoint in dict.fromkeys(endpoints):
                    probe(config, endpoint, timeout)
                probed, started = len(recorder.done), time.perf_counter()
                detail = check(config, timeout)
                if len(recorder.done) == probed:  # a check without steps of its own is one step
                    recorder.finish("check", True, started, detail, recorder.host, recorder.port)
                outcome.append((True, detail))
            except Exception as exc:  # a failed check is a result: every failure becomes a message
                if not recorder.failure_recorded:
                    recorder.finish("check", False, started, _describe(exc), recorder.host, recorder.port)
                outcome.append((False, _describe(exc)))
            finally:
                _recording.recorder = None

    checked_at = utcnow()
    started = time.perf_counter()
    worker = threading.Thread(target=attempt, name=f"connection-check-{config.type}", daemon=True)
    worker.start()
    worker.join(2 * timeout)
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    if guard.refusal is not None:
        refusal = redact_secrets(guard.refusal, _sensitive_values(config))
        log.warning("connection check (%s) refused: %s", config.type, refusal)
        raise DestinationRefused(refusal)
    ok, detail = outcome[0] if outcome else (False, f"no answer within {2 * timeout:g} s")
    steps = recorder.snapshot(abandoned_after=None if outcome else 2 * timeout)
    if not outcome and (not steps or steps[-1].ok):
        steps.append(CheckStep("check", False, latency_ms, detail, recorder.host, recorder.port))
    sensitive = _sensitive_values(config)
    detail = _clean(detail, sensitive)
    log.info("connection check (%s): ok=%s in %.1f ms: %s", config.type, ok, latency_ms, detail)
    return CheckResult(
        ok=ok,
        latency_ms=latency_ms,
        detail=detail,
        checked_at=checked_at,
        host=recorder.host,
        port=recorder.port,
        steps=tuple(replace(s, detail=_clean(s.detail, sensitive)) for s in steps),
    )


def _clean(message: str, sensitive: list[str]) -> str:
    # Redacted before anything else touches it: whitespace folded or a clip could hide a secret's
    # match and leave part of it in the message.
    return " ".join(redact_secrets(message, sensitive).split())[:MAX_DETAIL]
