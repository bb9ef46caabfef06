"""kubeconform over rendered manifests, with the schemas kubernetes-validate bundles (no network).

kubeconform looks schemas up as `<kind>-<group>-<version>.json`, which is the layout of
kubernetes-validate's bundle, but the bundle's files refer to a shared `/api/_definitions.json`
that kubeconform cannot resolve. So, per kind rendered, a self-contained copy (the kind's schema
plus the definitions it reaches) is written once into the tools' cache, outside the repository.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from tests.helm_support import KUBERNETES_VERSION, tools

SHARED_REF = '"/api/_definitions.json#/$defs/'
LOCAL_REF = '"#/$defs/'


def _bundle() -> Path:
    return (
        Path(kubernetes_validate.__file__).parent
        / "kubernetes-json-schema"
        / f"v{KUBERNETES_VERSION}-local-strict"
    )


def _schema_dir() -> Path:
    helm = tools().helm.resolve()
    return helm.parent.parent / f"kubeconform-schemas-v{KUBERNETES_VERSION}-strict"


def _file_name(obj: Mapping[str, Any]) -> str:
    group, _, version = str(obj["apiVersion"]).rpartition("/")
    suffix = f"-{group.split('.')[0]}-{version}" if group else f"-{version}"
    return f"{str(obj['kind']).lower()}{suffix}.json"


def _references(node: object, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value.rsplit("/$defs/", 1)[-1])
            else:
                _references(value, found)
    elif isinstance(node, list):
        for value in node:
            _references(value, found)


def _write_schema(name: str, target: Path) -> None:
    source = _bundle() / name
    if not source.exists():
        return  # an unknown kind: kubeconform then reports it (no schema is an error below)
    definitions = json.loads((_bundle() / "_definitions.json").read_text())["$defs"]
    schema = json.loads(source.read_text().replace(SHARED_REF, LOCAL_REF))
    pending: set[str] = set()
    _references(schema, pending)
    reached: set[str] = set()
    while pending:
        name_ = pending.pop()
        if name_ not in reached:
            reached.add(name_)
            more: set[str] = set()
            _references(definitions[name_], more)
            pending |= more - reached
    schema["$defs"] = {
        d: json.loads(json.dumps(definitions[d]).replace(SHARED_REF, LOCAL_REF)) for d in reached
    }
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(schema))
    partial.replace(target)


def kubeconform(objects: Iterable[Mapping[str, Any]], skip_kinds: Iterable[str] = ()) -> str:
    """Run kubeconform -strict on the objects; its output when something is wrong, else ''."""
    binary = tools().kubeconform
    assert binary is not None
    skipped = set(skip_kinds)
    wanted = [obj for obj in objects if obj.get("kind") not in skipped]
    directory = _schema_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for obj in wanted:
        target = directory / _file_name(obj)
        if not target.exists():
            _write_schema(target.name, target)
    result = subprocess.run(
        [
            str(binary),
            "-strict",
            "-summary",
            "-schema-location",
            str(directory / "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
            "-",
        ],
        input=yaml.safe_dump_all([dict(obj) for obj in wanted]),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr
