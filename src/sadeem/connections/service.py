"""Connections: storing typed configs with encrypted secrets, testing them, rotating the key."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sadeem.audit import service as audit
from sadeem.config import Settings
from sadeem.connections import checks
from sadeem.connections.egress import EgressPolicy
from sadeem.connections.keyring import Keyring
from sadeem.connections.models import Connection
from sadeem.connections.schemas import (
    CONFIG_MODELS,
    ConnectionConfigBase,
    ConnectionTypeOut,
    Endpoint,
    config_adapter,
)
from sadeem.core.actor import Actor
from sadeem.core.errors import Conflict, InvalidInput, NotFound
from sadeem.core.pagination import PageRequest, keyset_page
from sadeem.db import unit_of_work
from sadeem.db.unique import add_unique
from sadeem.workspaces.models import Workspace


def _audit(session: Session, actor: Actor, workspace: Workspace, name: str | None, **details: Any) -> None:
    audit.record(
        session, actor, target_type="connection", target_id=name, workspace=workspace.slug, details=details
    )


def connection_types() -> list[ConnectionTypeOut]:
    out = []
    for kind, model in CONFIG_MODELS.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        schema["properties"].pop("type")
        schema["required"] = [name for name in schema.get("required", []) if name != "type"]
        for name in model.secret_field_names:
            schema["properties"][model.model_fields[name].alias or name]["format"] = "password"
        out.append(
            ConnectionTypeOut(
                type=kind,
                description=" ".join((model.__doc__ or "").split()),
                config_schema=schema,
                secret_fields=list(model.secret_field_names),
                endpoint_fields=[model.model_fields[n].alias or n for n in model.endpoint_fields],
            )
        )
    return out


def first_endpoint(connection: Connection) -> Endpoint | None:
    """Where the connection's check connects first, from its stored (public) settings."""
    try:
        config = config_adapter.validate_python({**connection.config, "type": connection.type.value})
    except ValidationError:
        return None
    endpoints = config.endpoints()
    return endpoints[0] if endpoints else None


def list_connections(
    session: Session, workspace: Workspace, page: PageRequest
) -> tuple[Sequence[Connection], str | None]:
    return keyset_page(
        session, select(Connection).where(Connection.workspace_id == workspace.id), Connection.id, page
    )


def get_connection(session: Session, workspace: Workspace, name: str) -> Connection:
    found = session.scalar(
        select(Connection).where(Connection.workspace_id == workspace.id, Connection.name == name)
    )
    if found is None:
        raise NotFound(f"No connection '{name}' in workspace '{workspace.slug}'.")
    return found


def stored_config(keyring: Keyring, connection: Connection) -> ConnectionConfigBase:
    """The connection's full config, secrets included (server side only)."""
    values = {**connection.config, "type": connection.type.value}
    if connection.secrets_encrypted:
        values.update(keyring.decrypt(connection.secrets_encrypted))
    try:
        return config_adapter.validate_python(values)
    except ValidationError:
        # `from None`: pydantic's message would quote the (secret) input.
        raise Conflict(
            f"The stored config of connection '{connection.name}' is no longer valid; update it."
        ) from None


def engine_config(keyring: Keyring, connection: Connection) -> dict[str, object]:
    """What an engine gets: the config with its secrets in plain text (engines pass them to their
    clients, never to logs or responses)."""
    config = stored_config(keyring, connection)
    return config.model_dump(by_alias=False) | config.secret_values()


def _refuse_plain_text_credentials(config: ConnectionConfigBase) -> None:
    problems = config.plain_text_problems()
    if problems:
        raise InvalidInput(" ".join(problems) + " Use a connection's secret fields for credentials.")


def _store(
    keyring: Keyring, connection: Connection, config: ConnectionConfigBase, secrets: dict[str, str]
) -> None:
    connection.config = config.public_values()
    connection.secret_fields = sorted(secrets)
    connection.secrets_encrypted = keyring.encrypt(secrets) if secrets else None


def create_connection(
    session: Session,
    actor: Actor,
    keyring: Keyring,
    workspace: Workspace,
    name: str,
    description: str,
    config: ConnectionConfigBase,
) -> Connection:
    _refuse_plain_text_credentials(config)
    taken = f"Workspace '{workspace.slug}' already has a connection '{name}'."
    exists = session.scalar(
        select(Connection.id).where(Connection.workspace_id == workspace.id, Connection.name == name)
    )
    if exists is not None:
        raise Conflict(taken)
    connection = Connection(
        workspace_id=workspace.id,
        name=name,
        type=config.connection_type,
        description=description,
        created_by=actor.user_id,
    )
    _store(keyring, connection, config, config.secret_values())
    add_unique(session, connection, taken)
    _audit(
        session,
        actor,
        workspace,
        name,
        type=connection.type.value,
        config=connection.config,
        write_only_fields_set=connection.secret_fields,
    )
    return connection


def _merged_secrets(
    keyring: Keyring, connection: Connection, config: ConnectionConfigBase, endpoint_moved: bool
) -> dict[str, str]:
    """Given secrets replace (or, as null, clear) stored ones; omitted ones keep their value
    unless the endpoint moved: secrets go only where they were entered for. Stored secrets are
    decrypted only when one is kept, so re-entering all of them works even after a lost key."""
    given = config.secret_values()
    kept = [
        n
        for n in connection.secret_fields
        if n in config.secret_field_names and n not in config.model_fields_set and not endpoint_moved
    ]
    stored = keyring.decrypt(connection.secrets_encrypted) if kept and connection.secrets_encrypted else {}
    return {**{n: stored[n] for n in kept if n in stored}, **given}


def update_connection(
    session: Session,
    actor: Actor,
    keyring: Keyring,
    workspace: Workspace,
    connection: Connection,
    description: str | None,
    config: ConnectionConfigBase | None,
) -> Connection:
    changed: list[str] = []
    dropped: list[str] = []
    if config is not None:
        if config.connection_type is not connection.type:
            raise InvalidInput(
                f"Connection '{connection.name}' is of type '{connection.type}'; a type cannot change "
                "(create a new connection instead)."
            )
        _refuse_plain_text_credentials(config)
        before_config, before_secrets = connection.config, set(connection.secret_fields)
        endpoint_moved = bool(config.endpoint_changes(before_config))
        secrets = _merged_secrets(keyring, connection, config, endpoint_moved)
        if endpoint_moved:
            dropped = sorted(before_secrets - config.model_fields_set)
        _store(keyring, connection, config, secrets)
        changed += sorted(
            key
            for key in before_config.keys() | connection.config.keys()
            if before_config.get(key) != connection.config.get(key)
        )
        # Secrets set or cleared; one given explicitly counts as changed (values are not compared).
        given = config.model_fields_set & set(config.secret_field_names)
        changed += sorted((before_secrets ^ set(secrets)) | given)
    if description is not None and description != connection.description:
        connection.description = description
        changed.append("description")
    details: dict[str, Any] = {"changed": changed}
    if dropped:
        # Names only, never values; a key naming no secret, or the audit trail would mask it.
        details["write_only_fields_dropped"] = dropped
    _audit(session, actor, workspace, connection.name, **details)
    return connection


def delete_connection(session: Session, actor: Actor, workspace: Workspace, connection: Connection) -> None:
    _audit(session, actor, workspace, connection.name, type=connection.type.value)
    session.delete(connection)


def _run_check(
    session: Session, config: ConnectionConfigBase, timeout: float, policy: EgressPolicy
) -> checks.CheckResult:
    unit_of_work.release(session)  # no lock held while the check waits on the network
    return checks.run_check(config, timeout, policy)


def _result_details(config: ConnectionConfigBase, result: checks.CheckResult) -> dict[str, Any]:
    failed = next((step.kind for step in result.steps if not step.ok), None)
    details = {"type": config.type, "ok": result.ok, "latency_ms": result.latency_ms, "detail": result.detail}
    return details | ({"failed_step": failed} if failed else {})


def check_connection(
    session: Session,
    actor: Actor,
    keyring: Keyring,
    timeout: float,
    policy: EgressPolicy,
    workspace: Workspace,
    connection: Connection,
) -> checks.CheckResult:
    """Run the check and record its outcome on the connection and in the audit trail. A check
    refused by `policy` records nothing."""
    config = stored_config(keyring, connection)
    result = _run_check(session, config, timeout, policy)
    still_there = session.scalar(
        update(Connection)
        .where(Connection.id == connection.id)
        .values(
            last_test_ok=result.ok,
            last_test_at=result.checked_at,
            last_test_latency_ms=result.latency_ms,
            last_test_detail=result.detail,
            last_test_steps=[dataclasses.asdict(step) for step in result.steps],
            updated_at=Connection.updated_at,  # a test is not an edit
        )
        .returning(Connection.id)
        .execution_options(synchronize_session=False)
    )
    if still_there is None:
        session.rollback()
        raise NotFound(f"Connection '{connection.name}' was deleted while it was being tested.")
    _audit(session, actor, workspace, connection.name, **_result_details(config, result))
    return result


def check_unsaved_config(
    session: Session,
    actor: Actor,
    timeout: float,
    policy: EgressPolicy,
    workspace: Workspace,
    config: ConnectionConfigBase,
) -> checks.CheckResult:
    """Test a config before saving it ("test before save"); only the audit trail keeps a trace."""
    result = _run_check(session, config, timeout, policy)
    _audit(session, actor, workspace, None, saved=False, **_result_details(config, result))
    return result


# --- key rotation ------------------------------------------------------------------------------


def reencrypt_secrets(session: Session, actor: Actor, keyring: Keyring) -> int:
    """Re-encrypt every connection's secrets with the keyring's newest key, in one transaction."""
    rows = session.execute(
        select(Connection.id, Connection.secrets_encrypted)
        .where(Connection.secrets_encrypted.is_not(None))
        .order_by(Connection.id)
        .with_for_update()
    ).all()
    for connection_id, token in rows:
        assert token is not None  # selected for it
        session.execute(
            update(Connection)
            .where(Connection.id == connection_id)
            .values(secrets_encrypted=keyring.rotate(token), updated_at=Connection.updated_at)
            .execution_options(synchronize_session=False)
        )
    audit.record(
        session,
        actor,
        target_type="keyring",
        details={"connections_reencrypted": len(rows), "keys_configured": len(keyring.keys)},
    )
    return len(rows)


@dataclass(frozen=True)
class KeyRotation:
    reencrypted: int
    key_file: str | None  # None: keys from SADEEM_SECRET_KEY


def rotate_key(session: Session, settings: Settings, actor: Actor) -> KeyRotation:
    """Key file: add a new key, re-encrypt everything with it, then, once that is committed, drop
    the old keys (a crash in between leaves a file that still decrypts everything).
    SADEEM_SECRET_KEY: re-encrypt with its first key; the operator then removes the old ones."""
    keyring = Keyring.from_settings(settings)
    if keyring.key_file is not None:
        keyring = keyring.add_new_key()
    count = reencrypt_secrets(session, actor, keyring)
    if keyring.key_file is not None:
        unit_of_work.after_commit(session, keyring.retire_old_keys)
    return KeyRotation(count, str(keyring.key_file) if keyring.key_file else None)
