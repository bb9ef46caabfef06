from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, status

from sadeem.api.context import Ctx
from sadeem.api.pagination import PageParams
from sadeem.api.responses import errors
from sadeem.auth.permissions import CurrentUser, WorkspaceEditor, WorkspaceViewer
from sadeem.connections import service
from sadeem.connections.checks import CheckResult
from sadeem.connections.egress import EgressPolicy
from sadeem.connections.keyring import Keyring
from sadeem.connections.models import Connection
from sadeem.connections.schemas import (
    ConnectionCreate,
    ConnectionOut,
    ConnectionTestRequest,
    ConnectionTestResult,
    ConnectionTestStep,
    ConnectionTypeOut,
    ConnectionUpdate,
    ConnectionUse,
)
from sadeem.core.pagination import Page
from sadeem.db.session import DbSession, UnitOfWorkRoute
from sadeem.jobs import service as jobs
from sadeem.workspaces.models import Workspace

router = APIRouter(prefix="/api/v1/workspaces/{workspace}", tags=["connections"], route_class=UnitOfWorkRoute)
types_router = APIRouter(prefix="/api/v1", tags=["connections"], route_class=UnitOfWorkRoute)

ConnectionNameParam = Annotated[str, Path(max_length=63, description="Connection name.")]


def _uses(db: DbSession, workspace: Workspace) -> dict[str, list[ConnectionUse]]:
    return {
        name: [ConnectionUse(kind="job", name=job) for job in names]
        for name, names in jobs.jobs_by_connection(db, workspace).items()
    }


def _out(connection: Connection, used_by: dict[str, list[ConnectionUse]] | None = None) -> ConnectionOut:
    last_test = None
    if connection.last_test_at is not None:
        endpoint = service.first_endpoint(connection)
        last_test = ConnectionTestResult(
            ok=bool(connection.last_test_ok),
            latency_ms=connection.last_test_latency_ms or 0.0,
            detail=connection.last_test_detail or "",
            checked_at=connection.last_test_at,
            host=endpoint.host if endpoint else None,
            port=endpoint.port if endpoint else None,
            steps=[ConnectionTestStep.model_validate(step) for step in connection.last_test_steps or []],
        )
    return ConnectionOut(
        name=connection.name,
        type=connection.type,
        description=connection.description,
        config={"type": connection.type.value, **connection.config},
        secrets_set=connection.secret_fields,
        created_at=connection.created_at,
        updated_at=connection.updated_at,
        last_test=last_test,
        used_by=(used_by or {}).get(connection.name, []),
    )


def _result(result: CheckResult) -> ConnectionTestResult:
    return ConnectionTestResult.model_validate(result)


@types_router.get("/connection-types", operation_id="connections:listTypes")
def list_connection_types(principal: CurrentUser) -> list[ConnectionTypeOut]:
    """Every connection type with the JSON Schema of its config, so a client can build the form:
    each field's type, default, constraints and description; secret fields are `writeOnly`."""
    return service.connection_types()


def _keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


def _timeout(request: Request) -> float:
    timeout: float = request.app.state.settings.connection_test_timeout_seconds
    return timeout


def _egress(request: Request) -> EgressPolicy:
    return EgressPolicy.from_settings(request.app.state.settings)


@router.get("/connections", operation_id="connections:list")
def list_connections(access: WorkspaceViewer, db: DbSession, page: PageParams) -> Page[ConnectionOut]:
    rows, cursor = service.list_connections(db, access.workspace, page)
    uses = _uses(db, access.workspace)
    return Page(items=[_out(c, uses) for c in rows], next_cursor=cursor)


@router.post(
    "/connections",
    operation_id="connections:create",
    status_code=status.HTTP_201_CREATED,
    responses=errors(409),
)
def create_connection(
    body: ConnectionCreate, access: WorkspaceEditor, request: Request, db: DbSession, ctx: Ctx
) -> ConnectionOut:
    """Create a connection. Secret fields are encrypted at rest and never returned."""
    connection = service.create_connection(
        db, ctx.actor, _keyring(request), access.workspace, body.name, body.description, body.config
    )
    return _out(connection)


# Not under /connections/: that would collide with a connection named "test".
@router.post("/connection-tests", operation_id="connections:testUnsaved")
def test_unsaved_connection(
    body: ConnectionTestRequest, access: WorkspaceEditor, request: Request, db: DbSession, ctx: Ctx
) -> ConnectionTestResult:
    """Test a config without saving it. A failed check is `ok: false`, not an error status; a
    destination the egress policy refuses (link-local, cloud metadata, Sadeem's own port) is 403."""
    result = service.check_unsaved_config(
        db, ctx.actor, _timeout(request), _egress(request), access.workspace, body.config
    )
    return _result(result)


@router.get("/connections/{name}", operation_id="connections:get")
def get_connection(name: ConnectionNameParam, access: WorkspaceViewer, db: DbSession) -> ConnectionOut:
    return _out(service.get_connection(db, access.workspace, name), _uses(db, access.workspace))


@router.patch("/connections/{name}", operation_id="connections:update", responses=errors(503))
def update_connection(
    name: ConnectionNameParam,
    body: ConnectionUpdate,
    access: WorkspaceEditor,
    request: Request,
    db: DbSession,
    ctx: Ctx,
) -> ConnectionOut:
    """Change the description and/or replace the config (same type). Omitted secrets keep
    their stored value, unless the config moves the connection's endpoint: then the stored secrets
    not given again are dropped (`secrets_set` shows them unset). A secret set to null is cleared."""
    connection = service.get_connection(db, access.workspace, name)
    updated = service.update_connection(
        db, ctx.actor, _keyring(request), access.workspace, connection, body.description, body.config
    )
    return _out(updated, _uses(db, access.workspace))


@router.delete(
    "/connections/{name}", operation_id="connections:delete", status_code=status.HTTP_204_NO_CONTENT
)
def delete_connection(name: ConnectionNameParam, access: WorkspaceEditor, db: DbSession, ctx: Ctx) -> None:
    service.delete_connection(
        db, ctx.actor, access.workspace, service.get_connection(db, access.workspace, name)
    )


@router.post("/connections/{name}/test", operation_id="connections:test", responses=errors(409, 503))
def test_connection(
    name: ConnectionNameParam, access: WorkspaceEditor, request: Request, db: DbSession, ctx: Ctx
) -> ConnectionTestResult:
    """Run the connection's real check (bounded by SADEEM_CONNECTION_TEST_TIMEOUT_SECONDS) and
    record the outcome. A failed check is `ok: false`, not an error status; a destination the
    egress policy refuses (link-local, cloud metadata, Sadeem's own port) is 403 and records nothing."""
    connection = service.get_connection(db, access.workspace, name)
    result = service.check_connection(
        db, ctx.actor, _keyring(request), _timeout(request), _egress(request), access.workspace, connection
    )
    return _result(result)
