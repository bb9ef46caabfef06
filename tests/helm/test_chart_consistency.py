"""The charts and the code agree: a renamed setting, catalog path, bucket, Secret, namespace or
Kubernetes call breaks a test here instead of an installation.

- Every SADEEM_* variable a chart sets is a Settings field, and every Settings field is reachable from
  the control plane's values: values -> rendered env -> Settings round-trips every field.
- The chart's `config` schema is the one generated from Settings (scripts/chart_settings.py).
- The catalog URL the chart gives the engines is the API Service's /iceberg, where the code serves it.
- The Role the chart grants is exactly what the spark_k8s engine and its connection test call.
- The commands the chart runs exist in the `sadeem` CLI.
- With the data plane chart present: the catalog URI, bucket, S3 Secret, S3 endpoint, job namespace and
  Spark driver service account match across the two charts.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import yaml

from sadeem.cli import app as cli_app
from sadeem.config import Settings
from sadeem.connections import checks
from sadeem.engines import spark_k8s
from tests.helm_support import ROOT, by_kind, chart_path, pod_specs, render

CONTROL = "sadeem"
DATA = "dataplane"
PRODUCTION = chart_path(CONTROL) / "ci" / "production-values.yaml"
CONTROL_RELEASE, NAMESPACE = "sadeem", "sadeem"


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("chart_settings", ROOT / "scripts" / "chart_settings.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


chart_settings = _load_generator()

# A value for every setting whose default is unset (or whose default is what the chart sets anyway),
# so the round trip below shows each one arriving.
SAMPLES: dict[str, Any] = {
    "home": "/var/lib/sadeem-test",
    "host": "0.0.0.0",  # noqa: S104
    "port": 8080,
    "warehouse": "s3://bucket-from-values/prefix",
    "public_url": "https://sadeem.example.com",
    "s3_endpoint_url": "http://s3.example.com:9000",
    "s3_region": "eu-west-3",
    "catalog_url": "http://catalog.example.com/iceberg",
    "statement_results_dir": "/var/lib/sadeem-test/results",
    "spark_jars_dir": "/opt/spark-jars",
    "embedded_workers": False,
    "spark_local_enabled": False,
    "log_format": "json",
    "connection_test_allowed_networks": ["10.0.0.0/8", "fd00::/8"],
    "statement_limits": {
        "viewer": {"rows": 5, "bytes": 6},
        "editor": {"rows": 7, "bytes": 8},
        "admin": {"rows": 9, "bytes": 34359738368},
    },
    "worker_slots": 7,
    "lease_seconds": 45.5,
    "ingest_max_bytes": 21474836480,
}
SECRET_SAMPLES = {
    "SADEEM_DATABASE_URL": "postgresql+psycopg://sadeem:pw@db:5432/sadeem",
    "SADEEM_SECRET_KEY": "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg=",
    "SADEEM_ADMIN_PASSWORD": "an-admin-password",
    "SADEEM_S3_ACCESS_KEY_ID": "access",
    "SADEEM_S3_SECRET_ACCESS_KEY": "secret",
}


def env_names(setting: str) -> str:
    return f"SADEEM_{setting.upper()}"


def full_values() -> dict[str, Any]:
    """Every non-secret setting set (to a sample or its default, as JSON), every secret key named."""
    defaults = Settings.model_construct().model_dump(mode="json")
    config = {
        name: SAMPLES.get(name, defaults[name])
        for name in Settings.model_fields
        if name not in chart_settings.SECRET_SETTINGS
    }
    return {"config": config, "secrets": {"adminPasswordKey": "admin-password"}}


@functools.cache
def rendered_full() -> list[dict[str, Any]]:
    return render(CONTROL, [PRODUCTION], full_values(), release=CONTROL_RELEASE, namespace=NAMESPACE)


def sadeem_containers(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{name}/{c['name']}", c)
        for name, spec in pod_specs(objects)
        for c in spec["containers"]
        if c["name"] in {"api", "worker", "scheduler", "migrate"}
    ]


def test_every_variable_the_control_plane_sets_is_a_setting() -> None:
    known = {env_names(name) for name in Settings.model_fields}
    for where, container in sadeem_containers(rendered_full()):
        for variable in container["env"]:
            if variable["name"].startswith("SADEEM_"):
                assert variable["name"] in known, f"{where}: {variable['name']} is no Settings field"


def test_every_setting_is_reachable_from_values_and_arrives_intact(monkeypatch: pytest.MonkeyPatch) -> None:
    """values -> helm template -> container env -> Settings gives back exactly the values."""
    wanted = full_values()["config"]
    unset = sorted(name for name, value in wanted.items() if value is None)
    assert not unset, f"give these settings (default unset) a value in SAMPLES: {unset}"
    for where, container in sadeem_containers(rendered_full()):
        env: dict[str, str] = {}
        for variable in container["env"]:
            if "value" in variable:
                env[variable["name"]] = variable["value"]
            else:
                assert variable["name"] in SECRET_SAMPLES, f"{where}: {variable['name']} from a Secret"
                env[variable["name"]] = SECRET_SAMPLES[variable["name"]]
        missing = {env_names(n) for n in Settings.model_fields} - set(env)
        assert not missing, f"{where}: not reachable from values: {sorted(missing)}"
        for name in list(__import__("os").environ):
            if name.startswith("SADEEM_"):
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = Settings().model_dump(mode="json")
        for name, value in wanted.items():
            assert settings[name] == value, f"{where}: {name} arrived as {settings[name]!r}, not {value!r}"
        assert settings["admin_password"] == "**********"  # came from the (sample) Secret


def test_the_values_file_lists_every_setting_and_the_schema_is_generated_from_settings() -> None:
    values = yaml.safe_load((chart_path(CONTROL) / "values.yaml").read_text())
    expected = {name for name in Settings.model_fields if name not in chart_settings.SECRET_SETTINGS}
    assert set(values["config"]) == expected
    schema = json.loads((chart_path(CONTROL) / "values.schema.json").read_text())
    assert schema["properties"]["config"] == chart_settings.config_schema(), (
        "values.schema.json is out of date: run scripts/chart_settings.py"
    )
    # Each secret setting has its Secret key in values (the path scripts/chart_settings.py names).
    for path in chart_settings.SECRET_SETTINGS.values():
        section, key = path.split(".")
        assert key in values[section], path


def test_the_catalog_url_is_the_api_service_where_the_code_serves_the_catalog() -> None:
    objects = render(CONTROL, [PRODUCTION], release=CONTROL_RELEASE, namespace=NAMESPACE)
    (api,) = [d for d in by_kind(objects, "Deployment") if d["metadata"]["name"].endswith("-api")]
    env = {v["name"]: v.get("value") for v in api["spec"]["template"]["spec"]["containers"][0]["env"]}
    url = urlsplit(env["SADEEM_CATALOG_URL"])
    service_name, service_namespace = url.hostname.split(".")[:2]  # type: ignore[union-attr]
    (service,) = [s for s in by_kind(objects, "Service") if s["metadata"]["name"] == service_name]
    assert service_namespace == NAMESPACE
    assert url.port == service["spec"]["ports"][0]["port"]
    assert url.path == "/iceberg"
    from sadeem.catalog.rest import router

    assert any(getattr(route, "path", "").startswith("/iceberg/v1/") for route in router.routes)
    # What the code reads from it: the same URL.
    assert Settings(catalog_url=env["SADEEM_CATALOG_URL"]).resolved_catalog_url == env["SADEEM_CATALOG_URL"]


# Each Kubernetes call of the spark_k8s engine (and its connection test) -> the RBAC it needs.
ENGINE_CALLS: dict[str, tuple[str, str, str]] = {
    "create_namespaced_custom_object": (spark_k8s.API_GROUP, spark_k8s.PLURAL, "create"),
    "get_namespaced_custom_object": (spark_k8s.API_GROUP, spark_k8s.PLURAL, "get"),
    "delete_namespaced_custom_object": (spark_k8s.API_GROUP, spark_k8s.PLURAL, "delete"),
    "create_namespaced_secret": ("", "secrets", "create"),
    "delete_namespaced_secret": ("", "secrets", "delete"),
    "create_namespaced_config_map": ("", "configmaps", "create"),
    "delete_namespaced_config_map": ("", "configmaps", "delete"),
    "read_namespaced_pod_log": ("", "pods/log", "get"),
}


def test_the_spark_role_grants_exactly_what_the_engine_calls() -> None:
    source = inspect.getsource(spark_k8s)
    called = set(re.findall(r"self\._(?:custom|core)\.(\w+)", source))
    unknown = called - set(ENGINE_CALLS)
    assert not unknown, f"spark_k8s calls {unknown}: add their RBAC to the chart's Role and to ENGINE_CALLS"
    needed = {ENGINE_CALLS[call] for call in called}
    check = inspect.getsource(checks.check_spark_k8s)
    assert '/sparkapplications"' in check and "listing" in check
    assert f"/apis/{spark_k8s.API_GROUP}/{spark_k8s.API_VERSION}" == checks.SPARK_OPERATOR_API
    needed.add((spark_k8s.API_GROUP, spark_k8s.PLURAL, "list"))  # the connection test lists them

    objects = render(CONTROL, [PRODUCTION], release=CONTROL_RELEASE, namespace=NAMESPACE)
    values = (
        yaml.safe_load(PRODUCTION.read_text()).get("spark", {})
        | yaml.safe_load((chart_path(CONTROL) / "values.yaml").read_text())["spark"]
    )
    (role,) = by_kind(objects, "Role")
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert granted == needed
    assert role["metadata"]["namespace"] == values["namespace"]
    (binding,) = by_kind(objects, "RoleBinding")
    (account,) = [a for a in by_kind(objects, "ServiceAccount") if not a["metadata"].get("annotations")]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": NAMESPACE}
    ]
    (token,) = by_kind(objects, "Secret")
    assert (
        token["metadata"]["annotations"]["kubernetes.io/service-account.name"] == account["metadata"]["name"]
    )
    assert not by_kind(objects, "ClusterRole") and not by_kind(objects, "ClusterRoleBinding")


def test_the_commands_the_chart_runs_exist() -> None:
    command = typer.main.get_command(cli_app)
    objects = render(CONTROL, [chart_path(CONTROL) / "ci" / "dev-values.yaml"])
    runs: set[tuple[str, ...]] = set()
    for _, spec in pod_specs(objects):
        for container in spec["containers"]:
            if "args" in container:
                runs.add(tuple(container["args"]))
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                exec_command = (container.get(probe) or {}).get("exec", {}).get("command", [])
                if exec_command[:1] == ["sadeem"]:
                    runs.add(tuple(exec_command[1:]))
    words = {tuple(word for word in args if not word.startswith("-") and not word.isdigit()) for args in runs}
    assert {("api",), ("worker",), ("scheduler",), ("db", "upgrade"), ("db", "current")} <= words
    for args in runs:
        current: Any = command
        for word in args:
            if word.startswith("-"):
                options = {name for parameter in current.params for name in parameter.opts}
                assert word in options, f"`sadeem {' '.join(args)}`: no option {word}"
            elif not word.isdigit():
                found = getattr(current, "commands", {}).get(word)
                assert found is not None, f"`sadeem {' '.join(args)}`: no command {word!r}"
                current = found
        assert not hasattr(current, "commands"), f"`sadeem {' '.join(args)}` is a group, not a command"


# --- the two charts together --------------------------------------------------------------------
# The data plane publishes what the control plane needs in its `<release>-connection-settings`
# ConfigMap; each pair of values files installed together must agree with it.

needs_dataplane = pytest.mark.skipif(
    not (chart_path(DATA) / "Chart.yaml").exists(), reason="infra/helm/dataplane is not in this tree"
)
PAIRS = [
    pytest.param(name, marks=needs_dataplane, id=name or "defaults")
    for name in ("", "dev-values", "production-values")
]


def values_files(chart: str, name: str) -> list[Path]:
    return [chart_path(chart) / "ci" / f"{name}.yaml"] if name else []


def merged_values(chart: str, name: str) -> dict[str, Any]:
    """The chart's values.yaml with a ci file over it (maps merged, as helm does)."""

    def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
        out = dict(base)
        for key, value in over.items():
            both_maps = isinstance(value, dict) and isinstance(base.get(key), dict)
            out[key] = merge(base[key], value) if both_maps else value
        return out

    values: dict[str, Any] = yaml.safe_load((chart_path(chart) / "values.yaml").read_text())
    for path in values_files(chart, name):
        values = merge(values, yaml.safe_load(path.read_text()) or {})
    return values


@functools.cache
def dataplane(name: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    objects = render(DATA, values_files(DATA, name), release="dataplane", namespace=NAMESPACE)
    (settings,) = [
        m for m in by_kind(objects, "ConfigMap") if m["metadata"]["name"].endswith("-connection-settings")
    ]
    return objects, settings["data"]


def control_env(name: str) -> dict[str, str]:
    objects = render(CONTROL, values_files(CONTROL, name), release=CONTROL_RELEASE, namespace=NAMESPACE)
    (api,) = [d for d in by_kind(objects, "Deployment") if d["metadata"]["name"].endswith("-api")]
    container = api["spec"]["template"]["spec"]["containers"][0]
    return {v["name"]: v.get("value") or v["valueFrom"]["secretKeyRef"]["name"] for v in container["env"]}


def _control_values_for_defaults(name: str) -> str:
    # The control plane's values.yaml cannot render alone (it must be told its Secret).
    return name or "production-values"


@pytest.mark.parametrize("name", PAIRS)
def test_the_data_plane_uses_the_control_planes_catalog(name: str) -> None:
    env = control_env(_control_values_for_defaults(name))
    assert dataplane(name)[1]["catalog.uri"] == env["SADEEM_CATALOG_URL"]


@pytest.mark.parametrize("name", PAIRS)
def test_object_storage_bucket_and_secret_agree(name: str) -> None:
    control = _control_values_for_defaults(name)
    env = control_env(control)
    published = dataplane(name)[1]
    settings = {"s3_path_style": True} | {
        k: v for k, v in merged_values(CONTROL, control)["config"].items() if v is not None
    }
    assert published["s3.endpoint_url"] == env["SADEEM_S3_ENDPOINT_URL"]
    assert published["s3.region"] == env["SADEEM_S3_REGION"]
    assert published["s3.path_style"] == str(settings["s3_path_style"]).lower()
    assert published["s3.bucket"] == urlsplit(env["SADEEM_WAREHOUSE"]).netloc
    # The same Secret and keys on both sides.
    assert (
        published["s3.existing_secret"]
        == env["SADEEM_S3_ACCESS_KEY_ID"]
        == env["SADEEM_S3_SECRET_ACCESS_KEY"]
    )
    ours, theirs = merged_values(CONTROL, control)["objectStorage"], merged_values(DATA, name)["objectStore"]
    assert (ours["accessKeyIdKey"], ours["secretAccessKeyKey"]) == (
        theirs["accessKeyIdKey"],
        theirs["secretAccessKeyKey"],
    )
    assert published["s3.bucket"] in theirs["buckets"]  # the bucket Job creates it


@pytest.mark.parametrize("name", PAIRS)
def test_the_s3_endpoint_is_a_data_plane_service(name: str) -> None:
    endpoint = urlsplit(dataplane(name)[1]["s3.endpoint_url"])
    service_name, namespace = endpoint.hostname.split(".")[:2]  # type: ignore[union-attr]
    services = {s["metadata"]["name"]: s for s in by_kind(dataplane(name)[0], "Service")}
    assert service_name in services, f"no Service {service_name} in the data plane: {sorted(services)}"
    assert namespace == NAMESPACE
    assert endpoint.port in {p["port"] for p in services[service_name]["spec"]["ports"]}


@pytest.mark.parametrize("name", PAIRS)
def test_the_job_namespace_and_driver_service_account_agree(name: str) -> None:
    spark = merged_values(CONTROL, _control_values_for_defaults(name))["spark"]
    objects, published = dataplane(name)
    assert published["spark_k8s.namespace"] == spark["namespace"]
    assert published["spark_k8s.service_account"] == spark["driverServiceAccount"]
    accounts = {
        (a["metadata"].get("namespace"), a["metadata"]["name"]) for a in by_kind(objects, "ServiceAccount")
    }
    assert (spark["namespace"], spark["driverServiceAccount"]) in accounts


def test_the_control_plane_does_not_set_unknown_secret_settings() -> None:
    assert set(chart_settings.SECRET_SETTINGS) <= set(Settings.model_fields)
    secret_fields = {
        name for name, field in Settings.model_fields.items() if "SecretStr" in str(field.annotation)
    }
    assert secret_fields <= set(chart_settings.SECRET_SETTINGS)


def test_schema_generator_is_current_for_a_clean_checkout(tmp_path: Path) -> None:
    """The script's --check agrees (the same check a developer runs after changing Settings)."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "chart_settings.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")},
        check=False,
    )
    assert result.returncode == 0, result.stderr
