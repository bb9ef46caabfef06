"""A Kubernetes API server double for the spark_k8s engine: no API server can run here.

It speaks the real protocol over real TLS (a CA made per test) on 127.0.0.1, for what the engine
uses: SparkApplications (create, get, delete), ConfigMaps and Secrets (create, delete) in one
namespace, and a pod's log (`timestamps`, `sinceSeconds`). Like an API server, it refuses with 422
a SparkApplication that does not validate against the Spark Operator's CRD schema
(specs/sparkoperator.k8s.io_sparkapplications.yaml), unknown fields included when asked for
`fieldValidation=Strict`. There is no operator: the test moves an application through its states
(`set_state`) and writes the driver's log (`write_log`); nor a garbage collector: deleted means
deleted, nothing else.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from tests.connection_doubles import Request, Tls, serve

CRD_FILE = Path(__file__).resolve().parent.parent / "specs" / "sparkoperator.k8s.io_sparkapplications.yaml"
APPLICATIONS = re.compile(
    r"^/apis/sparkoperator\.k8s\.io/v1beta2/namespaces/(?P<ns>[^/]+)/sparkapplications(?:/(?P<name>[^/]+))?$"
)
CORE_OBJECTS = re.compile(
    r"^/api/v1/namespaces/(?P<ns>[^/]+)/(?P<kind>configmaps|secrets)(?:/(?P<name>[^/]+))?$"
)
POD_LOG = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<pod>[^/]+)/log$")
KINDS = {"sparkapplications": "SparkApplication", "configmaps": "ConfigMap", "secrets": "Secret"}


def strict(schema: Any) -> Any:
    """The schema with unknown fields refused where the CRD does not allow them explicitly, as
    the API server does with `fieldValidation=Strict` (kubectl's default)."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


@cache
def spark_application_validator(strict_fields: bool = True) -> jsonschema_rs.Validator:
    """The CRD's schema; with `strict_fields`, unknown fields are errors too."""
    crd = yaml.load(CRD_FILE.read_text(), Loader=yaml.CSafeLoader)  # 0.8 MB: the C loader
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta2"]
    schema = version["schema"]["openAPIV3Schema"]
    return jsonschema_rs.Draft4Validator(strict(schema) if strict_fields else schema)


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _rfc3339_nano(moment: datetime) -> str:
    """As Go's time.RFC3339Nano writes it (and kubelet): trailing zeros of the fraction dropped."""
    fraction = f"{moment.microsecond:06d}000".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


@dataclass
class KubernetesApiDouble:
    token: str
    namespace: str
    url: str = ""
    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (plural, name)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    logs: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)  # pod → lines
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what the test does, as the operator and the driver would ---

    def application(self, name: str) -> dict[str, Any] | None:
        with self.lock:
            return self.objects.get(("sparkapplications", name))

    def set_state(
        self, name: str, state: str, *, driver_pod: str | None = None, error_message: str | None = None
    ) -> None:
        with self.lock:
            status = self.objects[("sparkapplications", name)].setdefault("status", {})
            status["applicationState"] = {
                "state": state,
                **({"errorMessage": error_message} if error_message else {}),
            }
            if driver_pod:
                status["driverInfo"] = {"podName": driver_pod}
                self.logs.setdefault(driver_pod, [])

    def write_log(self, pod: str, *lines: str) -> None:
        with self.lock:
            self.logs.setdefault(pod, []).extend((datetime.now(UTC), line) for line in lines)

    def calls(self, method: str, pattern: str) -> list[Request]:
        return [r for r in list(self.requests) if r.method == method and re.search(pattern, r.path)]

    # --- the API ---

    def handle(self, request: Request) -> tuple[int, Any]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token != self.token:
            return 401, _status(401, "Unauthorized", "Unauthorized")
        for pattern in (APPLICATIONS, CORE_OBJECTS, POD_LOG):
            match = pattern.match(request.path)
            if match:
                break
        else:
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        if match["ns"] != self.namespace:
            plural = match.groupdict().get("kind") or "sparkapplications"
            return 403, _status(
                403,
                "Forbidden",
                f'{plural} is forbidden: User "system:serviceaccount:{self.namespace}:sadeem" cannot '
                f'access resource "{plural}" in namespace "{match["ns"]}"',
            )
        if pattern is POD_LOG:
            return self._log(match["pod"], request.query)
        plural = "sparkapplications" if pattern is APPLICATIONS else match["kind"]
        return self._object(request, plural, match["name"])

    def _object(self, request: Request, plural: str, name: str | None) -> tuple[int, Any]:
        with self.lock:
            if request.method == "POST" and name is None:
                body = request.json()
                if plural == "sparkapplications":
                    validator = spark_application_validator(request.query.get("fieldValidation") == "Strict")
                    errors = [e.message for e in validator.iter_errors(body)]
                    if errors:
                        return 422, _status(
                            422, "Invalid", f"SparkApplication is invalid: {'; '.join(errors)}"
                        )
                name = body["metadata"]["name"]
                if (plural, name) in self.objects:
                    return 409, _status(409, "AlreadyExists", f'{plural} "{name}" already exists')
                body["metadata"] |= {"uid": str(uuid.uuid4()), "resourceVersion": "1"}
                self.objects[(plural, name)] = body
                return 201, body
            if name is None:
                return 405, _status(405, "MethodNotAllowed", "the server does not allow this method")
            found = self.objects.get((plural, name))
            if found is None:
                return 404, _status(404, "NotFound", f'{plural} "{name}" not found')
            if request.method == "GET":
                return 200, found
            if request.method == "DELETE":
                del self.objects[(plural, name)]
                self.deleted.append((KINDS[plural], name))
                return 200, {**_status(200, "", ""), "status": "Success"}
            return 405, _status(405, "MethodNotAllowed", "the server does not allow this method")

    def _log(self, pod: str, query: dict[str, str]) -> tuple[int, Any]:
        with self.lock:
            if pod not in self.logs:
                return 400, _status(
                    400,
                    "BadRequest",
                    f'container "spark-kubernetes-driver" in pod "{pod}" is waiting to start',
                )
            lines = list(self.logs[pod])
        if "sinceSeconds" in query:
            since = datetime.now(UTC) - timedelta(seconds=int(query["sinceSeconds"]))
            lines = [(moment, line) for moment, line in lines if moment >= since]
        stamped = query.get("timestamps") == "true"
        return 200, "".join(f"{_rfc3339_nano(m)} {line}\n" if stamped else f"{line}\n" for m, line in lines)


@contextmanager
def kubernetes_api_double(tls: Tls, *, token: str, namespace: str) -> Iterator[KubernetesApiDouble]:
    double = KubernetesApiDouble(token=token, namespace=namespace)
    with serve(double.handle, tls) as served:
        double.url, double.requests = served.url, served.requests
        yield double
