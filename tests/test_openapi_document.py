"""The committed OpenAPI document, `openapi.json`, is the one the code renders, and it is fit for
generating the console's TypeScript client from it (openapi-typescript): every operation has one
described tag and a unique `<tag>:<verb>` id, pages and other schemas have names a client can
use, and a problem's `type` is an enum of every code the API can answer with.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from fastapi.routing import RouteContext
from typer.testing import CliRunner

from sadeem import cli
from sadeem.api.openapi import TAGS
from sadeem.api.problems import PROBLEM_CODES, problem_type
from sadeem.api.route_table import api_routes
from sadeem.core.errors import SadeemError
from tests.conftest import reference_app
from tests.test_catalog_authorization import spec_operation

COMMITTED = Path(__file__).resolve().parents[1] / "openapi.json"
OPERATION_ID = re.compile(r"(?P<tag>[a-z]+):[a-z][A-Za-z]*")
# What JSON Schema references and the OpenAPI spec allow in a component's name.
COMPONENT_NAME = re.compile(r"[A-Za-z0-9.\-_]+")


def _document() -> dict[str, Any]:
    with reference_app() as app:
        return app.openapi()


def _client_facing_routes() -> list[RouteContext]:
    """The routes of the document, and the Iceberg REST catalog's (left out of it, but named the
    same way); not the console's HTML page."""
    with reference_app() as app:
        return [
            r for r in api_routes(app) if r.include_in_schema or str(r.path_format).startswith("/iceberg/")
        ]


def test_the_committed_document_is_the_rendered_one() -> None:
    rendered = CliRunner().invoke(cli.app, ["openapi"])
    assert rendered.exit_code == 0, rendered.output
    committed = COMMITTED.read_text() if COMMITTED.is_file() else ""
    drift = list(
        difflib.unified_diff(
            committed.splitlines(), rendered.stdout.splitlines(), "openapi.json", "rendered", lineterm="", n=1
        )
    )
    assert not drift, (
        "openapi.json differs from the API's OpenAPI document; regenerate it with "
        "`.venv/bin/sadeem openapi > openapi.json` and commit it (the console's client is generated "
        "from it). First differences:\n" + "\n".join(drift[:60])
    )


def test_every_operation_has_one_described_tag_and_a_tag_verb_id() -> None:
    declared = [tag["name"] for tag in TAGS]
    assert len(set(declared)) == len(declared)
    assert all(tag["description"].strip() for tag in TAGS)
    seen: dict[str, str] = {}
    for route in _client_facing_routes():
        label = f"{sorted(route.methods or ())} {route.path_format}"
        assert len(route.tags) == 1 and route.tags[0] in declared, f"{label}: tags {route.tags}"
        assert route.operation_id is not None, f"{label} has no operation_id"
        match = OPERATION_ID.fullmatch(route.operation_id)
        assert match, f"{label}: operation id {route.operation_id!r} is not `<tag>:<camelCaseVerb>`"
        assert match["tag"] == route.tags[0], f"{label}: {route.operation_id} under tag {route.tags[0]}"
        assert route.operation_id not in seen, f"{label} and {seen[route.operation_id]}: {route.operation_id}"
        seen[route.operation_id] = label


def test_iceberg_operations_carry_the_spec_operation_ids() -> None:
    for route in _client_facing_routes():
        path = str(route.path_format)
        if path.startswith("/iceberg/"):
            for method in route.methods or ():
                expected = spec_operation(method, path)["operationId"]
                assert route.operation_id == f"iceberg:{expected}", f"{method} {path}"


def test_the_document_declares_its_tags_and_names_its_schemas() -> None:
    document = _document()
    assert document["tags"] == TAGS
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert len(operation["tags"]) == 1, f"{method} {path}"
    names = list(document["components"]["schemas"])
    assert [n for n in names if not COMPONENT_NAME.fullmatch(n)] == []
    # pydantic's name for a generic model (`Page_RunOut_`) is renamed after its title (`RunPage`).
    assert [n for n in names if n.endswith("_")] == []
    assert {"RunPage", "JobPage", "StatementPage", "WorkspacePage"} <= set(names)


def _subclasses(cls: type[SadeemError]) -> set[type[SadeemError]]:
    return {sub for direct in cls.__subclasses__() for sub in {direct, *_subclasses(direct)}}


def test_problem_types_are_an_enum_of_every_code() -> None:
    missing = {error.code for error in _subclasses(SadeemError)} - set(PROBLEM_CODES)
    assert not missing, f"add these codes to PROBLEM_CODES in api/problems.py: {sorted(missing)}"
    problem = _document()["components"]["schemas"]["Problem"]
    assert problem["properties"]["type"]["enum"] == [problem_type(code) for code in PROBLEM_CODES]
    assert "type" in problem["required"]
