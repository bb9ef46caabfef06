"""The Iceberg REST catalog API (specs/iceberg-rest-catalog-open-api.yaml, a copy of ../shared/specs), under
`/iceberg`. Thin routes: parse with pyiceberg's own models, decide and commit in service.py.

These routes are left out of Sadeem's own OpenAPI document: their contract is the official spec
(tested with schemathesis against it), and their errors use its shape (catalog/errors.py). Their
operation ids are the spec's, in Sadeem's `<tag>:<verb>` form (`iceberg:loadTable`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from pyiceberg.typedef import IcebergBaseModel
from sqlalchemy import select

from sadeem.api.context import Ctx
from sadeem.api.text import NUL_MESSAGE, contains_nul
from sadeem.audit.middleware import unaudited_when_unchanged
from sadeem.auth import service as auth_service
from sadeem.auth.models import ApiToken
from sadeem.auth.permissions import CatalogUser, Public
from sadeem.catalog import service
from sadeem.catalog.access import ALL_WORKSPACES, CatalogScope, scope_for
from sadeem.catalog.schemas import (
    CommitTableBody,
    CreateNamespaceBody,
    CreateTableBody,
    RegisterTableBody,
    RenameBody,
    TransactionBody,
    UpdatePropertiesBody,
)
from sadeem.catalog.service import LoadedTable, TableChange, parse_namespace
from sadeem.config import Settings
from sadeem.core.clock import utcnow
from sadeem.core.errors import InvalidInput, NotAuthenticated, NotFound
from sadeem.db.session import DbSession, UnitOfWorkRoute

router = APIRouter(
    prefix="/iceberg/v1", tags=["iceberg"], include_in_schema=False, route_class=UnitOfWorkRoute
)

# What /v1/config announces (the spec's `endpoints`); clients skip what is not listed.
ENDPOINTS = [
    "GET /v1/{prefix}/namespaces",
    "POST /v1/{prefix}/namespaces",
    "GET /v1/{prefix}/namespaces/{namespace}",
    "HEAD /v1/{prefix}/namespaces/{namespace}",
    "DELETE /v1/{prefix}/namespaces/{namespace}",
    "POST /v1/{prefix}/namespaces/{namespace}/properties",
    "GET /v1/{prefix}/namespaces/{namespace}/tables",
    "POST /v1/{prefix}/namespaces/{namespace}/tables",
    "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}",
    "POST /v1/{prefix}/namespaces/{namespace}/register",
    "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics",
    "POST /v1/{prefix}/tables/rename",
    "POST /v1/{prefix}/transactions/commit",
]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _json(body: str | bytes, status: int = 200) -> Response:
    return Response(content=body, status_code=status, media_type="application/json")


def _no_nul(model: Any) -> None:
    if contains_nul(model):
        raise InvalidInput(NUL_MESSAGE)


Model = TypeVar("Model", bound=IcebergBaseModel)


def _parsed(model: type[Model], body: dict[str, Any]) -> Model:
    """A body holding pyiceberg's schema, table updates or requirements, parsed by pyiceberg's
    models. Their validators refuse some input with exceptions pydantic does not turn into
    validation errors (a TypeError for a field default of the wrong type, pyiceberg's own
    ValidationError, NotImplementedError), which would otherwise leave as a 500; parsing has
    no side effects, so whatever it raises is a verdict on the request."""
    try:
        return model.model_validate(body)
    except ValidationError as e:
        errors = e.errors(include_url=False, include_input=False)
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in errors]) from e
    except Exception as e:
        raise InvalidInput(f"The request body is not valid: {type(e).__name__}: {str(e)[:300]}") from e


PyicebergBody = Annotated[dict[str, Any], Body()]


async def catalog_scope(
    prefix: Annotated[str, Path(max_length=63)], principal: CatalogUser, db: DbSession
) -> CatalogScope:
    return scope_for(db, principal, prefix)


Scope = Annotated[CatalogScope, Depends(catalog_scope)]


@contextmanager
def _missing_is_a_bad_request() -> Iterator[None]:
    """For operations whose spec has no 404 (createNamespace): a prefix or parent namespace that
    does not exist makes the request a bad one."""
    try:
        yield
    except NotFound as e:
        raise InvalidInput(e.detail) from e


async def creation_scope(
    prefix: Annotated[str, Path(max_length=63)], principal: CatalogUser, db: DbSession
) -> CatalogScope:
    with _missing_is_a_bad_request():
        return scope_for(db, principal, prefix)


NamespacePath = Annotated[str, Path(alias="namespace", max_length=2048)]
TablePath = Annotated[str, Path(alias="table", max_length=255)]
PageToken = Annotated[str | None, Query(alias="pageToken", max_length=2048)]
PageSize = Annotated[int | None, Query(alias="pageSize", ge=1)]


def _loaded(table: LoadedTable, snapshots: str = "all") -> Response:
    metadata = table.metadata if snapshots == "all" else service.referenced_snapshots_only(table.metadata)
    # Assembled by hand: the metadata is already JSON from pyiceberg, and this is the hot path.
    location = (
        f'"metadata-location":{json.dumps(table.metadata_location)},' if table.metadata_location else ""
    )
    return _json("{" + location + '"metadata":' + metadata.model_dump_json() + ',"config":{}}')


# --- configuration and tokens -------------------------------------------------------------------


@router.get("/config", operation_id="iceberg:getConfig")
def get_config(
    principal: CatalogUser, db: DbSession, warehouse: Annotated[str | None, Query(max_length=63)] = None
) -> Response:
    """`warehouse` = a workspace's slug narrows the catalog to it; none = all of the caller's."""
    prefix = warehouse or ALL_WORKSPACES
    scope_for(db, principal, prefix)  # refuses an unknown warehouse or a foreign workspace
    body = {"defaults": {}, "overrides": {"prefix": prefix}, "endpoints": ENDPOINTS}
    return JSONResponse(body)


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


@router.post("/oauth/tokens", operation_id="iceberg:getToken")
async def exchange_token(request: Request, _: Public, db: DbSession, ctx: Ctx) -> Response:
    """OAuth2 client credentials: client_id is a token's id (`sdm_<id>` or `<id>`), client_secret
    its secret. The access token returned is that personal access token itself, so revoking the
    token in Sadeem revokes catalog access too; `expires_in` is its remaining lifetime. Nothing is
    minted here: an engine credential exchanged comes back as itself, with its scope (one
    workspace's catalog), so the exchange cannot widen what it reaches."""
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    if contains_nul(form):
        return _oauth_error(400, "invalid_request", NUL_MESSAGE)
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "Only grant_type=client_credentials is supported.")
    client_id = form.get("client_id", "").removeprefix("sdm_")
    secret = form.get("client_secret", "")
    if not client_id or not secret:
        return _oauth_error(400, "invalid_request", "client_id and client_secret are required.")
    presented = f"sdm_{client_id}_{secret}"
    try:
        resolved = auth_service.resolve_token(db, presented)
    except NotAuthenticated as e:
        return _oauth_error(401, "invalid_client", e.detail)
    ctx.principal = resolved.principal
    expires_at = db.scalar(
        select(ApiToken.expires_at).where(ApiToken.public_id == resolved.principal.token_id)
    )
    lifetime = int(((expires_at or utcnow()) - datetime.now(UTC)).total_seconds())
    return JSONResponse(
        {
            "access_token": presented,
            "token_type": "bearer",
            "expires_in": max(lifetime, 0),
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        },
        headers={"Cache-Control": "no-store"},
    )


# --- namespaces --------------------------------------------------------------------------------


@router.get("/{prefix}/namespaces", operation_id="iceberg:listNamespaces")
def list_namespaces(
    scope: Scope,
    db: DbSession,
    parent: Annotated[str | None, Query(max_length=2048)] = None,
    page_token: PageToken = None,
    page_size: PageSize = None,
) -> Response:
    page = service.list_namespaces(
        db, scope, parse_namespace(parent) if parent else (), page_token, page_size
    )
    body: dict[str, Any] = {"namespaces": [list(ns) for ns in page.items]}
    if page.next_token:
        body["next-page-token"] = page.next_token
    return JSONResponse(body)


@router.post("/{prefix}/namespaces", operation_id="iceberg:createNamespace")
def create_namespace(
    request: Request,
    scope: Annotated[CatalogScope, Depends(creation_scope)],
    db: DbSession,
    ctx: Ctx,
    body: CreateNamespaceBody,
) -> Response:
    _no_nul(body)
    namespace = parse_namespace("\x1f".join(body.namespace))
    with _missing_is_a_bad_request():
        properties = service.create_namespace(
            db, ctx.actor, _settings(request), scope, namespace, body.properties
        )
    return JSONResponse({"namespace": list(namespace), "properties": properties})


@router.get("/{prefix}/namespaces/{namespace}", operation_id="iceberg:loadNamespaceMetadata")
def load_namespace(scope: Scope, db: DbSession, namespace: NamespacePath) -> Response:
    ns = parse_namespace(namespace)
    return JSONResponse({"namespace": list(ns), "properties": service.load_namespace(db, scope, ns)})


@router.head("/{prefix}/namespaces/{namespace}", operation_id="iceberg:namespaceExists", status_code=204)
def namespace_exists(scope: Scope, db: DbSession, namespace: NamespacePath) -> Response:
    service.load_namespace(db, scope, parse_namespace(namespace))
    return Response(status_code=204)


@router.delete("/{prefix}/namespaces/{namespace}", operation_id="iceberg:dropNamespace", status_code=204)
def drop_namespace(
    request: Request, scope: Scope, db: DbSession, ctx: Ctx, namespace: NamespacePath
) -> Response:
    service.drop_namespace(db, ctx.actor, _settings(request), scope, parse_namespace(namespace))
    return Response(status_code=204)


@router.post("/{prefix}/namespaces/{namespace}/properties", operation_id="iceberg:updateProperties")
def update_namespace_properties(
    request: Request,
    scope: Scope,
    db: DbSession,
    ctx: Ctx,
    namespace: NamespacePath,
    body: UpdatePropertiesBody,
) -> Response:
    _no_nul(body)
    change = service.update_namespace_properties(
        db, ctx.actor, _settings(request), scope, parse_namespace(namespace), set(body.removals), body.updates
    )
    return JSONResponse(
        {"removed": change.removed, "updated": change.updated, "missing": change.missing or None}
    )


# --- tables ------------------------------------------------------------------------------------


@router.get("/{prefix}/namespaces/{namespace}/tables", operation_id="iceberg:listTables")
def list_tables(
    scope: Scope,
    db: DbSession,
    namespace: NamespacePath,
    page_token: PageToken = None,
    page_size: PageSize = None,
) -> Response:
    page = service.list_tables(db, scope, parse_namespace(namespace), page_token, page_size)
    body: dict[str, Any] = {"identifiers": [{"namespace": list(ns), "name": name} for ns, name in page.items]}
    if page.next_token:
        body["next-page-token"] = page.next_token
    return JSONResponse(body)


@router.post("/{prefix}/namespaces/{namespace}/tables", operation_id="iceberg:createTable")
def create_table(
    request: Request,
    scope: Scope,
    db: DbSession,
    ctx: Ctx,
    namespace: NamespacePath,
    raw: PyicebergBody,
    _delegation: Annotated[str | None, Header(alias="X-Iceberg-Access-Delegation")] = None,
) -> Response:
    _no_nul(raw)
    body = _parsed(CreateTableBody, raw)
    return _loaded(
        service.create_table(db, ctx.actor, _settings(request), scope, parse_namespace(namespace), body)
    )


@router.get("/{prefix}/namespaces/{namespace}/tables/{table}", operation_id="iceberg:loadTable")
def load_table(
    request: Request,
    scope: Scope,
    db: DbSession,
    namespace: NamespacePath,
    table: TablePath,
    snapshots: Annotated[str, Query(pattern="^(all|refs)$")] = "all",
    _delegation: Annotated[str | None, Header(alias="X-Iceberg-Access-Delegation")] = None,
) -> Response:
    loaded = service.load_table(db, _settings(request), scope, parse_namespace(namespace), table)
    return _loaded(LoadedTable(loaded.metadata, loaded.metadata_location), snapshots)


@router.head(
    "/{prefix}/namespaces/{namespace}/tables/{table}", operation_id="iceberg:tableExists", status_code=204
)
def table_exists(scope: Scope, db: DbSession, namespace: NamespacePath, table: TablePath) -> Response:
    service.table_exists(db, scope, parse_namespace(namespace), table)
    return Response(status_code=204)


@router.post("/{prefix}/namespaces/{namespace}/tables/{table}", operation_id="iceberg:updateTable")
def commit_table(
    request: Request,
    scope: Scope,
    db: DbSession,
    ctx: Ctx,
    namespace: NamespacePath,
    table: TablePath,
    raw: PyicebergBody,
) -> Response:
    _no_nul(raw)
    body = _parsed(CommitTableBody, raw)
    ns = parse_namespace(namespace)
    if body.identifier is not None and (tuple(body.identifier.namespace.root), body.identifier.name) != (
        ns,
        table,
    ):
        raise InvalidInput("The body's identifier names another table than the path.")
    (loaded,) = service.commit_tables(
        db, ctx.actor, _settings(request), scope, [TableChange(ns, table, body.requirements, body.updates)]
    )
    location = json.dumps(loaded.metadata_location)
    return _json(
        '{"metadata-location":' + location + ',"metadata":' + loaded.metadata.model_dump_json() + "}"
    )


@router.delete(
    "/{prefix}/namespaces/{namespace}/tables/{table}", operation_id="iceberg:dropTable", status_code=204
)
def drop_table(
    request: Request,
    scope: Scope,
    db: DbSession,
    ctx: Ctx,
    namespace: NamespacePath,
    table: TablePath,
    purge_requested: Annotated[bool, Query(alias="purgeRequested")] = False,
) -> Response:
    service.drop_table(
        db, ctx.actor, _settings(request), scope, parse_namespace(namespace), table, purge_requested
    )
    return Response(status_code=204)


@router.post("/{prefix}/namespaces/{namespace}/register", operation_id="iceberg:registerTable")
def register_table(
    request: Request,
    scope: Scope,
    db: DbSession,
    ctx: Ctx,
    namespace: NamespacePath,
    body: RegisterTableBody,
) -> Response:
    _no_nul(body)
    return _loaded(
        service.register_table(db, ctx.actor, _settings(request), scope, parse_namespace(namespace), body)
    )


@router.post("/{prefix}/tables/rename", operation_id="iceberg:renameTable", status_code=204)
def rename_table(request: Request, scope: Scope, db: DbSession, ctx: Ctx, body: RenameBody) -> Response:
    _no_nul(body)
    source = (parse_namespace("\x1f".join(body.source.namespace.root)), body.source.name)
    destination = (parse_namespace("\x1f".join(body.destination.namespace.root)), body.destination.name)
    service.rename_table(db, ctx.actor, _settings(request), scope, source, destination)
    return Response(status_code=204)


@router.post(
    "/{prefix}/namespaces/{namespace}/tables/{table}/metrics",
    operation_id="iceberg:reportMetrics",
    status_code=204,
)
@unaudited_when_unchanged
def report_metrics(
    scope: Scope,
    db: DbSession,
    namespace: NamespacePath,
    table: TablePath,
    report: Annotated[dict[str, Any], Body()],
) -> Response:
    """Clients report scan and commit metrics here; Sadeem accepts them (reading the table is
    enough to send them) and keeps nothing yet, so an accepted report is not an audit event (Spark
    sends one per scan); a refused one is."""
    _no_nul(report)
    service.accept_metrics(db, scope, parse_namespace(namespace))
    return Response(status_code=204)


@router.post("/{prefix}/transactions/commit", operation_id="iceberg:commitTransaction", status_code=204)
def commit_transaction(
    request: Request, scope: Scope, db: DbSession, ctx: Ctx, raw: PyicebergBody
) -> Response:
    _no_nul(raw)
    body = _parsed(TransactionBody, raw)
    changes = []
    for change in body.table_changes:
        if change.identifier is None:
            raise InvalidInput("Every table change in a transaction names its table (`identifier`).")
        changes.append(
            TableChange(
                parse_namespace("\x1f".join(change.identifier.namespace.root)),
                change.identifier.name,
                change.requirements,
                change.updates,
            )
        )
    service.commit_tables(db, ctx.actor, _settings(request), scope, changes)
    return Response(status_code=204)
