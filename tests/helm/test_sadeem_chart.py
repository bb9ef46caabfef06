"""The control plane chart (infra/helm/sadeem), proven offline: `helm lint --strict` and `helm template`
with every ci/ values file, every rendered object validated strictly (kubernetes-validate and
kubeconform), and the rules the chart promises checked on what it renders (Airflow's helm-tests style):
secrets only by reference, probes, limits and a locked-down security context on every container, one
scheduler, the migration hook ahead of the Deployments, and bad values refused naming the key."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from sadeem.config import Settings
from tests.helm_support import (
    by_kind,
    chart_path,
    helm,
    kubeconform_errors,
    pod_specs,
    render,
    render_error,
    tools,
    validate_strict,
)

CHART = "sadeem"
CI_VALUES = sorted((chart_path(CHART) / "ci").glob("*.yaml"))
CI_IDS = [path.stem for path in CI_VALUES]
# Custom resources: no built-in schema (the ServiceMonitor is the Prometheus Operator's).
CUSTOM_KINDS = ("ServiceMonitor",)
# Settings that hold a secret: rendered only as a secretKeyRef (scripts/chart_settings.py).
SECRET_ENV = {
    "SADEEM_DATABASE_URL",
    "SADEEM_SECRET_KEY",
    "SADEEM_ADMIN_PASSWORD",
    "SADEEM_S3_ACCESS_KEY_ID",
    "SADEEM_S3_SECRET_ACCESS_KEY",
}


@functools.cache
def rendered(values_file: Path) -> list[dict[str, Any]]:
    return render(CHART, [values_file])


def containers(objects: list[dict[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    return [
        (f"{name}/{container['name']}", container)
        for name, spec in pod_specs(objects)
        for container in [*spec.get("initContainers", []), *spec["containers"]]
    ]


def test_the_ci_values_cover_dev_production_and_external_services() -> None:
    assert set(CI_IDS) >= {"dev-values", "production-values", "external-catalog-values"}


@pytest.mark.parametrize("values_file", CI_VALUES, ids=CI_IDS)
def test_lint_strict(values_file: Path) -> None:
    result = helm("lint", "--strict", str(chart_path(CHART)), "-f", str(values_file), check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("values_file", CI_VALUES, ids=CI_IDS)
def test_every_object_is_valid_in_strict_mode(values_file: Path) -> None:
    objects = rendered(values_file)
    assert validate_strict(objects) == []
    if tools().kubeconform is None:
        pytest.skip("kubeconform is not installed (no Go here); kubernetes-validate ran")
    assert kubeconform_errors(objects, skip_kinds=CUSTOM_KINDS) == []


def test_kubeconform_catches_an_unknown_field() -> None:
    """The offline kubeconform set-up really validates (a misspelt field fails)."""
    if tools().kubeconform is None:
        pytest.skip("kubeconform is not installed (no Go here)")
    deployment = dict(by_kind(rendered(CI_VALUES[0]), "Deployment")[0])
    deployment["spec"] = {**deployment["spec"], "replicaz": 2}
    errors = kubeconform_errors([deployment])
    assert errors and "replicaz" in " ".join(errors)


@pytest.mark.parametrize("values_file", CI_VALUES, ids=CI_IDS)
def test_secrets_are_never_inline(values_file: Path) -> None:
    objects = rendered(values_file)
    for name, container in containers(objects):
        for variable in container.get("env", []):
            if variable["name"] in SECRET_ENV and variable["name"] != "SADEEM_DATABASE_URL":
                assert set(variable) == {"name", "valueFrom"}, f"{name}: {variable['name']} is inline"
                assert "secretKeyRef" in variable["valueFrom"], name
            if variable["name"] == "SADEEM_DATABASE_URL" and "value" in variable:
                # The bundled dev PostgreSQL: the URL around a password taken from the Secret.
                assert "$(POSTGRES_PASSWORD)" in variable["value"], name
                password = next(v for v in container["env"] if v["name"] == "POSTGRES_PASSWORD")
                assert "secretKeyRef" in password["valueFrom"], name
    # The chart creates no Secret with content: only the ServiceAccount token Kubernetes fills in.
    for secret in by_kind(objects, "Secret"):
        assert secret["type"] == "kubernetes.io/service-account-token"
        assert not secret.get("data") and not secret.get("stringData")
    assert not by_kind(objects, "ConfigMap") or all(
        "secret" not in key.lower() and "password" not in key.lower()
        for config_map in by_kind(objects, "ConfigMap")
        for key in config_map.get("data", {})
    )


@pytest.mark.parametrize("values_file", CI_VALUES, ids=CI_IDS)
def test_every_container_has_limits_probes_and_a_locked_down_context(values_file: Path) -> None:
    objects = rendered(values_file)
    jobs = {f"Job/{job['metadata']['name']}" for job in by_kind(objects, "Job")}
    for name, spec in pod_specs(objects):
        security = spec["securityContext"]
        assert security["runAsNonRoot"] is True and security["runAsUser"] != 0, name
        assert spec.get("automountServiceAccountToken") is False, name
        for container in spec["containers"]:
            where = f"{name}/{container['name']}"
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), f"{where}: no {kind}"
            context = container["securityContext"]
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            if name not in jobs:  # a Job's container runs to completion: no probes
                assert "livenessProbe" in container and "readinessProbe" in container, where


@pytest.mark.parametrize("values_file", CI_VALUES, ids=CI_IDS)
def test_the_api_probes_its_health_and_readiness_endpoints(values_file: Path) -> None:
    api = next(
        d for d in by_kind(rendered(values_file), "Deployment") if d["metadata"]["name"].endswith("-api")
    )
    container = api["spec"]["template"]["spec"]["containers"][0]
    workers = str(yaml.safe_load(values_file.read_text())["api"].get("workers", 2))
    assert container["args"] == ["api", "--workers", workers]  # several server processes per pod
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["ports"][0]["containerPort"] == 8000


def _gib(quantity: str) -> float:
    units = {"Mi": 1 / 1024, "Gi": 1, "Ti": 1024}
    return float(quantity[:-2]) * units[quantity[-2:]]


@pytest.mark.parametrize("values_file", CI_VALUES, ids=CI_IDS)
def test_memory_limits_hold_the_engine_processes(values_file: Path) -> None:
    """An API pod holds workers x statement slots DuckDB processes, a worker pod its run slots, each
    up to duckdb_process_memory_mb (its RLIMIT_AS), plus about 1 GiB per server process."""
    defaults = yaml.safe_load((chart_path(CHART) / "values.yaml").read_text())
    over = yaml.safe_load(values_file.read_text())
    values = {key: {**defaults[key], **over.get(key, {})} for key in ("api", "worker")}
    given = {**defaults["config"], **(over.get("config") or {})}
    config = {**Settings.model_construct().model_dump(), **{k: v for k, v in given.items() if v is not None}}
    process_gib = config["duckdb_process_memory_mb"] / 1024
    api, worker = values["api"], values["worker"]
    api_needs = api["workers"] * (config["statement_slots"] * process_gib + 1)
    assert _gib(api["resources"]["limits"]["memory"]) >= api_needs, values_file.name
    worker_needs = config["worker_slots"] * process_gib + 1
    assert _gib(worker["resources"]["limits"]["memory"]) >= worker_needs, values_file.name


@pytest.mark.parametrize("values_file", CI_VALUES, ids=CI_IDS)
def test_one_scheduler_is_active(values_file: Path) -> None:
    (scheduler,) = [
        d
        for d in by_kind(rendered(values_file), "Deployment")
        if d["metadata"]["name"].endswith("-scheduler")
    ]
    assert scheduler["spec"]["replicas"] == 1
    # Recreate: a rollout stops the old scheduler before the new one starts.
    assert scheduler["spec"]["strategy"] == {"type": "Recreate"}
    assert scheduler["spec"]["template"]["spec"]["containers"][0]["args"] == ["scheduler"]
    assert not [
        h
        for h in by_kind(rendered(values_file), "HorizontalPodAutoscaler")
        if h["spec"]["scaleTargetRef"]["name"] == scheduler["metadata"]["name"]
    ]


@pytest.mark.parametrize("values_file", CI_VALUES, ids=CI_IDS)
def test_the_migration_hook_runs_before_the_deployments(values_file: Path) -> None:
    objects = rendered(values_file)
    hooks = [o for o in objects if "helm.sh/hook" in (o["metadata"].get("annotations") or {})]
    (job,) = by_kind(hooks, "Job")
    (account,) = by_kind(hooks, "ServiceAccount")
    bundled_postgres = bool(by_kind(objects, "StatefulSet"))
    expected = "post-install,pre-upgrade" if bundled_postgres else "pre-install,pre-upgrade"
    for hook in (job, account):
        assert hook["metadata"]["annotations"]["helm.sh/hook"] == expected
    # Helm runs a phase's hooks by ascending weight: the ServiceAccount exists before the Job.
    weight = {o["kind"]: int(o["metadata"]["annotations"]["helm.sh/hook-weight"]) for o in (job, account)}
    assert weight["ServiceAccount"] < weight["Job"]
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert pod["restartPolicy"] == "Never"
    assert pod["containers"][0]["args"] == ["db", "upgrade"]
    # Nothing else is a hook: the Deployments are applied after the pre-install/pre-upgrade hooks.
    assert {o["kind"] for o in hooks} == {"Job", "ServiceAccount"}


def test_the_production_values_scale_the_api_with_a_shared_result_volume() -> None:
    objects = rendered(chart_path(CHART) / "ci" / "production-values.yaml")
    (hpa,) = by_kind(objects, "HorizontalPodAutoscaler")
    assert hpa["spec"]["minReplicas"] >= 2
    (claim,) = by_kind(objects, "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert {p["metadata"]["name"] for p in by_kind(objects, "PodDisruptionBudget")} == {
        "sadeem-api",
        "sadeem-worker",
    }
    assert by_kind(objects, "ServiceMonitor") and by_kind(objects, "Ingress")


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"api": {"replicas": -1}}, "/api/replicas"),
        ({"worker": {"replicas": -2}}, "/worker/replicas"),
        ({"api": {"workers": 0}}, "/api/workers"),
        ({"secrets": {"existingSecret": ""}}, "/secrets/existingSecret"),
        ({"api": {"replicaz": 2}}, "'replicaz'"),
        ({"scheduler": {"replicas": 2}}, "'replicas'"),
        ({"config": {"worker_slotz": 2}}, "'worker_slotz'"),
        ({"config": {"worker_slots": 0}}, "/config/worker_slots"),
        ({"config": {"log_level": "TRACE"}}, "/config/log_level"),
        ({"config": {"duckdb_memory_limit": "lots"}}, "/config/duckdb_memory_limit"),
        ({"config": {"warehouse": "file:///data"}}, "config.warehouse"),
        ({"api": {"replicas": 3}}, "statementResults.persistence.enabled"),
        ({"image": {"digest": "latest"}}, "/image/digest"),
    ],
    ids=lambda value: str(value),
)
def test_bad_values_are_refused_naming_the_key(values: dict[str, Any], named: str) -> None:
    dev = chart_path(CHART) / "ci" / "dev-values.yaml"
    assert named in render_error(CHART, values, [dev])


def test_the_secret_name_is_required() -> None:
    """Without any values file the chart does not render: it must be told which Secret to read."""
    result = helm("template", "sadeem", str(chart_path(CHART)), check=False)
    assert result.returncode != 0 and "/secrets/existingSecret" in result.stderr


def test_the_helm_unittest_suites_pass() -> None:
    binary = tools().helm_unittest
    if binary is None:
        pytest.skip("helm-unittest is not installed (no Go here)")
    result = subprocess.run(
        [str(binary), str(chart_path(CHART))], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Test Suites:" in result.stdout and "failed" not in result.stdout
