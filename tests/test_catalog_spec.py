"""Property-based testing of the built-in Iceberg REST catalog against the official spec
(specs/iceberg-rest-catalog-open-api.yaml, a copy of ../shared/specs) with schemathesis, in-process: for every
operation Sadeem implements, no 5xx, and every response — status, content type, headers, body —
as the spec documents it.

Requests go to the test's own app under the base path `/iceberg`, as the platform admin `root`
with a bearer token; the catalog `prefix` is workspace `alpha`'s or `all-workspaces`, and the
`namespace` and `table` path parameters are pointed at things that exist (namespace `alpha`,
table `alpha.readings`) often enough to get past the 404 for a made-up name. That table is
re-created before each case if a case dropped or renamed it.

Like test_openapi_fuzz.py: one pytest item per operation and backend, derandomized (the same
cases on every run; SADEEM_FUZZ_EXPLORE=1 draws new ones), the spec loaded at collection time.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from sadeem.catalog.access import ALL_WORKSPACES
from tests.conftest import World
from tests.test_catalog_authorization import SCHEMA, spec

IMPLEMENTED = (
    "getConfig",
    "getToken",
    "listNamespaces",
    "createNamespace",
    "loadNamespaceMetadata",
    "namespaceExists",
    "dropNamespace",
    "updateProperties",
    "listTables",
    "createTable",
    "loadTable",
    "tableExists",
    "updateTable",
    "dropTable",
    "registerTable",
    "renameTable",
    "reportMetrics",
    "commitTransaction",
)
BASE_URL = "http://localhost/iceberg"
EXISTING_PATH_VALUES: dict[str, list[str]] = {
    "prefix": ["alpha", ALL_WORKSPACES],
    "namespace": ["alpha", "alpha\x1fsub"],
    "table": ["readings"],
}

EXPLORE = bool(os.environ.get("SADEEM_FUZZ_EXPLORE"))
# The coverage phase derives a case from every boundary of the schema. For the bodies built from
# pyiceberg's recursive schemas (a table schema, table updates, a scan report's predicate) that is
# thousands of cases and minutes per operation: there the fuzzing budget carries (what coverage
# found there is pinned in test_bad_input.py), unless SADEEM_FUZZ_EXPLORE=1.
RECURSIVE_BODIES = ["createTable", "updateTable", "commitTransaction", "reportMetrics"]

# Checks that hold for any server implementing the spec. `negative_data_rejection` is left out:
# the spec lets servers accept more than it describes (e.g. a commit without `requirements`).
# `positive_data_acceptance` also accepts what only the server can judge: 400 (a location
# outside the workspace's storage, a name with a '.'), 403 (a namespace of no workspace of the
# caller's), 404 and 409.
CONFIG = schemathesis.Config.from_dict(
    {
        "base-url": BASE_URL,
        "checks": {
            "negative_data_rejection": {"enabled": False},
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "406", "409"]
            },
        },
        "operations": []
        if EXPLORE
        else [{"include-operation-id": RECURSIVE_BODIES, "phases": {"coverage": {"enabled": False}}}],
    }
)


def _existing_or_generated(_context: schemathesis.HookContext, path_parameters: dict[str, Any] | None) -> Any:
    if not path_parameters:
        return st.just(path_parameters)
    choices = []
    for name, value in path_parameters.items():
        if name == "prefix":  # the catalog's own prefixes only: a made-up one is a 404 everywhere
            choices.append(st.sampled_from(EXISTING_PATH_VALUES[name]))
        elif name in EXISTING_PATH_VALUES and isinstance(value, str) and value:
            choices.append(st.sampled_from(EXISTING_PATH_VALUES[name]) | st.just(value))
        else:
            choices.append(st.just(value))
    return st.tuples(*choices).map(lambda values: dict(zip(path_parameters, values, strict=True)))


async def _each_test_passes_its_app(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("every case is sent to the test's own app (`app=`)")


HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def implemented_only(document: dict[str, Any]) -> dict[str, Any]:
    """The spec without the operations Sadeem does not implement (views, functions, scan
    planning, credentials, signing, unregistering), which /v1/config does not announce.
    (Filtering them out of the document rather than with `include`: schemathesis drops an
    `include` filter when the configuration has per-operation settings.)"""
    paths = {}
    for path, item in document["paths"].items():
        kept = {
            key: value
            for key, value in item.items()
            if key not in HTTP_METHODS or value.get("operationId") in IMPLEMENTED
        }
        if HTTP_METHODS & kept.keys():
            paths[path] = kept
    return {**document, "paths": paths}


def _schema() -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_dict(implemented_only(copy.deepcopy(spec())), config=CONFIG)
    # In-process, like a schema loaded from an ASGI app: the checks that re-send a case
    # (`ignored_auth`) pick their transport from the schema's app, the case from `app=`.
    loaded.app = _each_test_passes_its_app
    loaded.hook("flatmap_path_parameters")(_existing_or_generated)
    return loaded


schema = _schema()


def test_every_implemented_operation_is_tested() -> None:
    operations = {result.ok().definition.raw.get("operationId") for result in schema.get_all_operations()}
    assert operations == set(IMPLEMENTED)


def ensure_readings(client: TestClient, world: World) -> None:
    """Namespaces `alpha` and `alpha.sub`, and table `alpha.readings`, as the cases expect them."""
    root = world.headers("root")
    base = f"/iceberg/v1/{ALL_WORKSPACES}"
    for namespace in (["alpha"], ["alpha", "sub"]):
        if client.head(f"{base}/namespaces/{'%1F'.join(namespace)}", headers=root).status_code == 404:
            created = client.post(f"{base}/namespaces", json={"namespace": namespace}, headers=root)
            assert created.status_code == 200, created.text
    if client.head(f"{base}/namespaces/alpha/tables/readings", headers=root).status_code == 404:
        created = client.post(
            f"{base}/namespaces/alpha/tables", json={"name": "readings", "schema": SCHEMA}, headers=root
        )
        assert created.status_code == 200, created.text


@pytest.mark.slow
@schema.parametrize()
@hypothesis_settings(
    max_examples=15,
    deadline=None,
    derandomize=not EXPLORE,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_catalog_conforms_to_the_iceberg_rest_spec(
    case: schemathesis.Case, app: FastAPI, world: World
) -> None:
    with TestClient(app) as client:
        ensure_readings(client, world)
    case.call_and_validate(headers=world.headers("root"), app=app)
