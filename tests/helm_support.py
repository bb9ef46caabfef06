"""Render Sadeem's Helm charts offline and validate what they render.

No Kubernetes API server runs here, so a chart is proven by `helm lint --strict`, `helm template`
and strict schema validation of every rendered object (`kubernetes-validate`, and `kubeconform`
when Go could build it). The tools come from `scripts/k8s_tools.py` (pinned, checksummed, cached
outside the repository); `tools()` installs them on first use so a lone `pytest tests/helm...`
works too.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHARTS = ROOT / "infra" / "helm"
# The Kubernetes version the charts are validated against (kubernetes-validate bundles 1.25-1.37).
KUBERNETES_VERSION = "1.33.0"


@dataclass(frozen=True)
class Tools:
    helm: Path
    kubeconform: Path | None
    helm_unittest: Path | None


@functools.cache
def tools() -> Tools:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "k8s_tools.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    bin_dir = Path(result.stdout.strip().splitlines()[-1])

    def found(name: str) -> Path | None:
        path = bin_dir / name
        return path if path.exists() else None

    helm = found("helm")
    assert helm is not None, f"helm was not installed: {result.stderr}"
    return Tools(helm=helm, kubeconform=found("kubeconform"), helm_unittest=found("helm-unittest"))


@functools.cache
def _helm_home() -> Path:
    # helm writes caches and config under these; keep them out of the user's home.
    return Path(tempfile.mkdtemp(prefix="sadeem-helm-"))


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    home = _helm_home()
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    return subprocess.run(
        [str(tools().helm), *args], capture_output=True, text=True, env=env, check=check, timeout=300
    )


def chart_path(chart: str) -> Path:
    return CHARTS / chart


def values_args(values_files: Iterable[Path | str], values: Mapping[str, Any] | None) -> list[str]:
    """`-f` for each file, plus `values` written to a temporary file (not `--set`: helm v4 compares
    `--set` integers as float64 against int64 in templates and fails)."""
    args: list[str] = []
    for path in values_files:
        args += ["-f", str(path)]
    if values:
        with tempfile.NamedTemporaryFile(
            "w", suffix=".yaml", prefix="values-", dir=_helm_home(), delete=False
        ) as handle:
            yaml.safe_dump(dict(values), handle)
        args += ["-f", handle.name]
    return args


def render(
    chart: str,
    values_files: Iterable[Path | str] = (),
    values: Mapping[str, Any] | None = None,
    *,
    release: str = "sadeem",
    namespace: str = "sadeem",
) -> list[dict[str, Any]]:
    """`helm template` of a chart: the rendered objects (hooks included), in order."""
    result = helm(
        "template",
        release,
        str(chart_path(chart)),
        "--namespace",
        namespace,
        "--kube-version",
        KUBERNETES_VERSION,
        *values_args(values_files, values),
    )
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def render_error(chart: str, values: Mapping[str, Any], values_files: Iterable[Path | str] = ()) -> str:
    """The error `helm template` gives for values it must refuse (fails the test if it renders)."""
    result = helm(
        "template", "sadeem", str(chart_path(chart)), *values_args(values_files, values), check=False
    )
    assert result.returncode != 0, f"{chart} rendered values it should refuse: {values}"
    return result.stderr


def validate_strict(objects: Iterable[Mapping[str, Any]]) -> list[str]:
    """Strict schema errors of built-in kinds (unknown fields included); CRs are checked elsewhere."""
    errors: list[str] = []
    for obj in objects:
        try:
            kubernetes_validate.validate(dict(obj), KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            continue  # a custom resource (SparkApplication...): validated against its CRD
        except kubernetes_validate.ValidationError as error:
            name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
            errors.append(f"{name}: {error.message} at {'.'.join(map(str, error.path))}")
    return errors


def by_kind(objects: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [obj for obj in objects if obj.get("kind") == kind]


def pod_specs(objects: Iterable[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """(kind/name, pod spec) of every workload, Jobs and CronJobs included."""
    found: list[tuple[str, Mapping[str, Any]]] = []
    for obj in objects:
        kind, spec = obj.get("kind"), obj.get("spec") or {}
        name = f"{kind}/{obj.get('metadata', {}).get('name')}"
        if kind in {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}:
            found.append((name, spec["template"]["spec"]))
        elif kind == "CronJob":
            found.append((name, spec["jobTemplate"]["spec"]["template"]["spec"]))
        elif kind == "Pod":
            found.append((name, spec))
    return found


SHARED_DEFINITIONS = '"/api/_definitions.json#/$defs/'


@functools.cache
def _schema_bundle() -> tuple[Path, dict[str, Any]]:
    """kubernetes-validate's bundled strict schemas and their shared definitions."""
    source = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    source = source / f"v{KUBERNETES_VERSION}-local-strict"
    definitions: dict[str, Any] = json.loads((source / "_definitions.json").read_text())["$defs"]
    return source, definitions


def _kubeconform_schemas(objects: Iterable[Mapping[str, Any]]) -> Path:
    """The schemas of the objects' kinds, laid out as kubeconform looks them up. The bundle's
    files refer to one shared `/api/_definitions.json` (4 MB), which kubeconform would compile
    for every kind; each kind's file here carries just the definitions it reaches instead."""
    source, definitions = _schema_bundle()
    root = _helm_home() / "kubeconform-schemas"
    target = root / f"v{KUBERNETES_VERSION}-standalone-strict"
    target.mkdir(parents=True, exist_ok=True)
    for obj in objects:
        name = _schema_file_name(obj)
        if (target / name).exists() or not (source / name).exists():
            continue  # done, or an unknown kind (kubeconform then reports it)
        schema = json.loads((source / name).read_text().replace(SHARED_DEFINITIONS, '"#/$defs/'))
        schema.pop("$id", None)
        reached: set[str] = set()
        pending = _references(schema)
        while pending:
            reached.add(found := pending.pop())
            pending |= _references(definitions[found]) - reached
        local = json.dumps({d: definitions[d] for d in reached}).replace(SHARED_DEFINITIONS, '"#/$defs/')
        schema["$defs"] = json.loads(local)
        (target / name).write_text(json.dumps(schema))
    return root


def _schema_file_name(obj: Mapping[str, Any]) -> str:
    """`<kind>-<first label of the group>-<version>.json`, as kubeconform's KindSuffix has it."""
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    suffix = f"-{group.split('.')[0]}-{version}" if group else f"-{version}"
    return f"{str(obj.get('kind', '')).lower()}{suffix}.json"


def _references(node: object) -> set[str]:
    """The names of the definitions a schema refers to."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value.rsplit("/", 1)[-1])
            else:
                found |= _references(value)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value)
    return found


def kubeconform_errors(objects: Iterable[Mapping[str, Any]], skip_kinds: Iterable[str] = ()) -> list[str]:
    """kubeconform's strict verdict on the objects (offline, with the schemas above); its error
    lines, empty when every object is valid. Custom resources are skipped by kind."""
    binary = tools().kubeconform
    assert binary is not None, "kubeconform is not installed"
    objects = list(objects)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", dir=_helm_home(), delete=False) as handle:
        yaml.safe_dump_all(list(map(dict, objects)), handle)
    pattern = (
        "{{.NormalizedKubernetesVersion}}-standalone{{.StrictSuffix}}/{{.ResourceKind}}{{.KindSuffix}}.json"
    )
    location = f"{_kubeconform_schemas(objects)}/{pattern}"
    args = [str(binary), "-strict", "-summary", "-kubernetes-version", KUBERNETES_VERSION]
    args += ["-schema-location", location]
    if skip := ",".join(skip_kinds):
        args += ["-skip", skip]
    result = subprocess.run([*args, handle.name], capture_output=True, text=True, timeout=120)
    if result.returncode == 0:
        return []
    return [line for line in result.stdout.splitlines() + result.stderr.splitlines() if "Summary" not in line]
