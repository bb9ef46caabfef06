"""The `sadeem` command line: run the platform, migrate, and administer users, tokens and audit.

Administrative commands work directly on the configured database (like `airflow users create`);
each of their changes is an audit event with the actor `cli`.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote

import click
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sadeem.api.pagination import PageRequest
from sadeem.auth import service as auth_service
from sadeem.auth.models import PlatformRole
from sadeem.bootstrap import ADMIN_USERNAME, bootstrap, system_context
from sadeem.config import Settings
from sadeem.db import migrate
from sadeem.db.engine import Database
from sadeem.errors import SadeemError

if TYPE_CHECKING:
    import httpx

app = typer.Typer(help="Sadeem: an on-prem lakehouse control plane.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
users_app = typer.Typer(help="Local user accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="Personal access tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
secrets_app = typer.Typer(help="The keys that encrypt stored secrets.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(audit_app, name="audit")
app.add_typer(secrets_app, name="secrets")

out = Console()
err = Console(stderr=True)

HostOption = Annotated[str | None, typer.Option("--host", help="Bind address (default SADEEM_HOST).")]
PortOption = Annotated[int | None, typer.Option("--port", help="Port (default SADEEM_PORT).")]


def _settings(host: str | None = None, port: int | None = None) -> Settings:
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    return Settings(**overrides)  # type: ignore[arg-type]


def _database(settings: Settings) -> Database:
    """The configured database, closed when the command ends (its pool holds connections)."""
    db = Database.connect(settings.resolved_database_url)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(db.dispose)
    return db


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


def _serve(settings: Settings) -> None:
    import uvicorn

    from sadeem.app import create_app
    from sadeem.observability.logging import configure_logging

    configure_logging(settings.log_format, settings.log_level)
    application = create_app(settings)
    out.print(f"Sadeem is at [bold]http://{settings.host}:{settings.port}[/bold]  (API docs: /docs)")
    uvicorn.run(application, host=settings.host, port=settings.port, log_config=None, access_log=False)


@app.command()
def up(host: HostOption = None, port: PortOption = None) -> None:
    """All in one: migrate the database, create the first admin and demo workspace, serve."""
    settings = _settings(host, port)
    settings.home.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.resolved_database_url)
    from sadeem.catalog.provisioning import CatalogProvisioner

    db = _database(settings)
    try:
        result = bootstrap(settings, db, CatalogProvisioner(settings))
    except SadeemError as exc:  # e.g. a SADEEM_ADMIN_PASSWORD that is too short
        raise _fail(exc.detail) from exc
    db.dispose()
    if result.generated_password:
        out.print(
            f"Created the first admin: user [bold]{ADMIN_USERNAME}[/bold], password "
            f"[bold]{result.generated_password}[/bold]\n"
            "(shown once; change it with `sadeem users reset-password admin`)"
        )
    elif result.admin_created:
        out.print(f"Created the first admin [bold]{ADMIN_USERNAME}[/bold] with SADEEM_ADMIN_PASSWORD.")
    if result.demo_created:
        out.print(f"Created the demo workspace [bold]demo[/bold] ({result.demo_data}).")
    _serve(settings)


@app.command()
def api(host: HostOption = None, port: PortOption = None) -> None:
    """Serve the API only (migrations are run separately with `sadeem db upgrade`)."""
    _serve(_settings(host, port))


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = _settings()
    migrate.upgrade(settings.resolved_database_url, revision)
    out.print(f"Database at revision {revision}.")


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision and the code's head."""
    db = _database(_settings())
    out.print(f"current: {migrate.current_revision(db.engine)}  head: {migrate.head_revision()}")


def _password(given: str | None, generate: bool) -> tuple[str, bool]:
    if given:
        return given, False
    if generate or not sys.stdin.isatty():
        return secrets.token_urlsafe(18), True
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True), False


PasswordOption = Annotated[
    str | None, typer.Option("--password", help="Password (prompted when omitted on a terminal).")
]
GenerateOption = Annotated[bool, typer.Option("--generate", help="Generate a password and print it once.")]


@users_app.command("create")
def users_create(
    username: str,
    role: Annotated[PlatformRole, typer.Option(help="Platform role.")] = PlatformRole.user,
    password: PasswordOption = None,
    generate: GenerateOption = False,
    display_name: str = "",
) -> None:
    """Create a local user."""
    secret, generated = _password(password, generate)
    db = _database(_settings())
    try:
        with db.write_session() as session:
            auth_service.create_user(
                session, system_context("cli.users.create"), username, secret, role, display_name
            )
    except SadeemError as exc:
        raise _fail(exc.detail) from exc
    out.print(f"Created user [bold]{username}[/bold] ({role}).")
    if generated:
        out.print(f"Password (shown once): [bold]{secret}[/bold]")


@users_app.command("list")
def users_list() -> None:
    """List users."""
    db = _database(_settings())
    table = Table("username", "role", "provider", "disabled", "created")
    with db.reads() as session:
        cursor: str | None = None
        while True:
            rows, cursor = auth_service.list_users(session, PageRequest(500, cursor))
            for user in rows:
                table.add_row(
                    user.username,
                    user.role,
                    user.identity_provider,
                    str(user.disabled),
                    f"{user.created_at:%Y-%m-%d}",
                )
            if cursor is None:
                break
    out.print(table)


@users_app.command("set-role")
def users_set_role(username: str, role: PlatformRole) -> None:
    """Change a user's platform role."""
    db = _database(_settings())
    try:
        with db.write_session() as session:
            user = auth_service.get_user(session, username)
            auth_service.update_user(
                session, system_context("cli.users.set_role"), user, auth_service.UserChanges(role=role)
            )
    except SadeemError as exc:
        raise _fail(exc.detail) from exc
    out.print(f"{username} is now {role}.")


@users_app.command("reset-password")
def users_reset_password(
    username: str, password: PasswordOption = None, generate: GenerateOption = False
) -> None:
    """Set a user's password (ends their sessions, lifts a lockout)."""
    secret, generated = _password(password, generate)
    db = _database(_settings())
    try:
        with db.write_session() as session:
            user = auth_service.get_user(session, username)
            auth_service.set_password(session, system_context("cli.users.reset_password"), user, secret)
    except SadeemError as exc:
        raise _fail(exc.detail) from exc
    out.print(f"Password of {username} reset.")
    if generated:
        out.print(f"New password (shown once): [bold]{secret}[/bold]")


@tokens_app.command("create")
def tokens_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")],
    days: Annotated[
        int | None, typer.Option(help="Lifetime in days (default SADEEM_TOKEN_DEFAULT_TTL_DAYS).")
    ] = None,
) -> None:
    """Create a personal access token for USERNAME; printed once."""
    settings = _settings()
    db = _database(settings)
    try:
        with db.write_session() as session:
            user = auth_service.get_user(session, username)
            new = auth_service.create_token(
                session, system_context("cli.tokens.create"), settings, user, name, days
            )
    except SadeemError as exc:
        raise _fail(exc.detail) from exc
    out.print(f"Token {new.token.public_id} for {username}, expires {new.token.expires_at:%Y-%m-%d}:")
    print(new.secret)  # plain, so scripts can capture it


@tokens_app.command("revoke")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token by its id."""
    db = _database(_settings())
    try:
        with db.write_session() as session:
            token = auth_service.get_token(session, token_id)
            auth_service.revoke_token(session, system_context("cli.tokens.revoke"), token)
    except SadeemError as exc:
        raise _fail(exc.detail) from exc
    out.print(f"Token {token_id} revoked.")


@secrets_app.command("rotate-key")
def secrets_rotate_key() -> None:
    """Re-encrypt every stored connection secret with a new key, in one transaction.

    With the key file ($SADEEM_HOME/secret.key): generates a new key, re-encrypts everything
    with it, then leaves only the new key in the file. A running Sadeem on this host picks up
    the new file by itself.

    With SADEEM_SECRET_KEY: generate a key (`python -c "from cryptography.fernet import Fernet;
    print(Fernet.generate_key().decode())"`), set SADEEM_SECRET_KEY=NEW,OLD everywhere and
    restart, run this command, then set SADEEM_SECRET_KEY=NEW and restart again.
    """
    from sadeem.connections.service import rotate_key

    settings = _settings()
    try:
        rotation = rotate_key(_database(settings), settings, system_context("cli.secrets.rotate_key"))
    except (SadeemError, ValueError) as exc:
        raise _fail(exc.detail if isinstance(exc, SadeemError) else str(exc)) from exc
    where = (
        f"the key file {rotation.key_file} now holds only the new key"
        if rotation.key_file
        else ("now remove every key but the first from SADEEM_SECRET_KEY")
    )
    out.print(f"Re-encrypted the secrets of {rotation.reencrypted} connection(s); {where}.")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit hash chain; exit 1 if any event was edited, removed or reordered."""
    from sadeem.audit.service import verify_chain

    db = _database(_settings())
    with db.reads() as session:
        report = verify_chain(session)
    if report.ok:
        out.print(f"[green]OK[/green]: {report.events_checked} events, chain intact.")
        return
    err.print(
        f"[red]BROKEN[/red] at event {report.first_bad_seq}: {report.problem} "
        f"({report.events_checked} events verified before it)."
    )
    raise typer.Exit(code=1)


def _error_detail(response: httpx.Response) -> str:
    """What went wrong, from Sadeem's problem+json (with a validation error's fields) or, from
    anything else on the way (a proxy's HTML page), the start of the body."""
    try:
        problem = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if not isinstance(problem, dict):
        return response.text.strip()[:300]
    detail = str(problem.get("detail") or response.reason_phrase)
    errors = problem.get("errors")
    if isinstance(errors, list):
        fields = [
            f"{'.'.join(str(level) for level in error.get('loc', []))}: {error.get('msg')}"
            for error in errors
            if isinstance(error, dict)
        ]
        detail = " ".join([detail, *fields])
    return detail


@app.command()
def ingest(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or Parquet file.")
    ],
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="Workspace slug.")],
    table: Annotated[str, typer.Option("--table", "-t", help="Target table: namespace.table.")],
    mode: Annotated[
        str, typer.Option(help="create, append, overwrite or create_or_append.")
    ] = "create_or_append",
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or parquet (default: from the file name).")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Sadeem's URL (default: http://SADEEM_HOST:SADEEM_PORT).")
    ] = None,
    token: Annotated[
        str | None, typer.Option(envvar="SADEEM_TOKEN", help="A personal access token (or SADEEM_TOKEN).")
    ] = None,
) -> None:
    """Upload a file into an Iceberg table through the API, with a progress bar."""
    import httpx
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    if not token:
        raise _fail("a token is needed: --token or SADEEM_TOKEN (create one with `sadeem tokens create`).")
    fmt = file_format or file.suffix.lstrip(".").lower()
    if fmt not in ("csv", "parquet"):
        raise _fail(f"cannot tell the format of {file.name}; pass --format csv|parquet.")
    namespace, _, name = table.rpartition(".")
    if not namespace or not name:
        raise _fail(f"--table must be namespace.table, got {table!r}.")
    settings = _settings()
    base = (url or f"http://{settings.host}:{settings.port}").rstrip("/")
    size = file.stat().st_size

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
    ) as progress:
        task = progress.add_task(f"uploading {file.name}", total=size)

        def chunks() -> Iterator[bytes]:
            with file.open("rb") as source:
                while chunk := source.read(1024 * 1024):
                    progress.advance(task, len(chunk))
                    yield chunk

        path = "/".join(quote(part, safe="") for part in (workspace, "ingest", namespace, name))
        try:
            response = httpx.post(
                f"{base}/api/v1/workspaces/{path}",
                params={"format": fmt, "mode": mode},
                content=chunks(),
                headers={"Authorization": f"Bearer {token}", "Content-Length": str(size)},
                timeout=httpx.Timeout(30, read=None),
            )
        except httpx.HTTPError as exc:  # refused, reset, timed out: a message, not a traceback
            raise _fail(escape(f"could not upload to {base}: {type(exc).__name__}: {exc}")) from exc
    if response.status_code != 201:
        raise _fail(escape(f"{response.status_code}: {_error_detail(response)}"))
    result = response.json()
    out.print(
        f"{result['mode']} [bold]{result['table']}[/bold]: {result['rows']:,} rows in {result['data_files']} "
        f"file(s), snapshot {result['snapshot_id']}, {result['duration_s']} s"
    )
