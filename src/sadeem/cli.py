"""The `sadeem` command line: run the platform, migrate, and administer users, tokens and audit.

Administrative commands work directly on the configured database (like `airflow users create`);
each of their changes is an audit event with the actor `cli`.
"""

from __future__ import annotations

import secrets
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import click
import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from sadeem.auth import service as auth_service
from sadeem.auth.models import PlatformRole
from sadeem.bootstrap import ADMIN_USERNAME, bootstrap
from sadeem.cli_admin import connections_app, health, workspaces_app
from sadeem.cli_client import (
    LimitOption,
    ParamOption,
    TokenOption,
    UrlOption,
    WorkspaceOption,
    base_url,
    call,
    connect,
    err,
    error_detail,
    fail,
    items,
    out,
    parameters,
    require_token,
)
from sadeem.cli_demo import demo
from sadeem.cli_jobs import jobs_app, runs_app
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.core.errors import SadeemError
from sadeem.core.pagination import PageRequest
from sadeem.db import migrate
from sadeem.db.engine import Database

if TYPE_CHECKING:
    pass

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
app.add_typer(jobs_app, name="jobs")
app.add_typer(runs_app, name="runs")
app.add_typer(workspaces_app, name="workspaces")
app.add_typer(connections_app, name="connections")
app.command()(health)
app.command()(demo)

HostOption = Annotated[str | None, typer.Option("--host", help="Bind address (default SADEEM_HOST).")]
PortOption = Annotated[int | None, typer.Option("--port", help="Port (default SADEEM_PORT).")]


def _settings(host: str | None = None, port: int | None = None) -> Settings:
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    return Settings(**overrides)  # type: ignore[arg-type]


def _no_sqlite_file(settings: Settings) -> bool:
    url = make_url(settings.resolved_database_url)
    return url.get_backend_name() == "sqlite" and bool(url.database) and not Path(str(url.database)).exists()


def _database(settings: Settings, *, schema_current: bool = True) -> Database:
    """The configured database, closed when the command ends (its pool holds connections). One
    line instead of a traceback when there is none here (nothing is created in its place), it is
    unreachable, or (with `schema_current`) its schema is not the code's."""
    url = make_url(settings.resolved_database_url)
    where = url.render_as_string(hide_password=True)
    if _no_sqlite_file(settings):
        raise fail(
            f"no Sadeem database at {where} (SADEEM_HOME={settings.home}); run `sadeem up` here, "
            "or point SADEEM_HOME / SADEEM_DATABASE_URL at an existing one."
        )
    db = Database.connect(settings.resolved_database_url)
    context = click.get_current_context(silent=True)
    if context is not None:
        context.call_on_close(db.dispose)
    try:
        current = migrate.current_revision(db.engine)
    except SQLAlchemyError as exc:
        raise fail(escape(f"cannot reach the database at {where}: {type(exc).__name__}")) from exc
    head = migrate.head_revision()
    if schema_current and current != head:
        raise fail(
            f"the database at {where} has schema {current or 'none'}, this Sadeem needs {head}: "
            "run `sadeem db upgrade`."
        )
    return db


def _serve(settings: Settings, embedded_dispatch: bool = False) -> None:
    """Serve the API; with `embedded_dispatch`, also a worker and the scheduler in this process,
    started once the server listens (DuckDB and Spark runs reach the catalog through it)."""
    import threading

    import uvicorn

    from sadeem.app import create_app
    from sadeem.observability.logging import configure_logging
    from sadeem.scheduler.scheduler import Scheduler
    from sadeem.worker.worker import Worker

    configure_logging(settings.log_format, settings.log_level)
    application = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(application, host=settings.host, port=settings.port, log_config=None, access_log=False)
    )
    worker = scheduler = None
    if embedded_dispatch and settings.embedded_workers:
        worker = Worker(application.state.db, settings)
        scheduler = Scheduler(application.state.db, settings.reaper_interval_seconds)

        def start_when_listening() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.05)
            if server.started and worker is not None and scheduler is not None:
                worker.start()
                scheduler.start()

        threading.Thread(target=start_when_listening, daemon=True).start()
    out.print(f"Sadeem is at [bold]http://{settings.host}:{settings.port}[/bold]  (API docs: /docs)")
    try:
        server.run()
    finally:
        if worker is not None and scheduler is not None:
            scheduler.stop()
            worker.stop()


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
        raise fail(exc.detail) from exc
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
        out.print(f"Created the demo workspace [bold]demo[/bold] ({result.demo_data}; {result.demo_jobs}).")
    _serve(settings, embedded_dispatch=True)


@app.command()
def api(
    host: HostOption = None,
    port: PortOption = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Server processes sharing the port (each with its own request and statement slots).",
        ),
    ] = 1,
) -> None:
    """Serve the API only (migrations are run separately with `sadeem db upgrade`)."""
    settings = _settings(host, port)
    if workers == 1:
        _serve(settings)
    else:
        _serve_processes(settings, workers)


def _serve_processes(settings: Settings, workers: int) -> None:
    """Several uvicorn worker processes on one port, for a pod or host with several cores. Each
    builds its app from the environment (`create_app_from_environment`), which therefore carries
    --host/--port too; their metrics are added up across them (observability/metrics.py)."""
    import os
    import shutil
    import tempfile

    import uvicorn

    from sadeem.app import PROMETHEUS_MULTIPROC_DIR
    from sadeem.observability.logging import configure_logging

    configure_logging(settings.log_format, settings.log_level)
    settings.home.mkdir(parents=True, exist_ok=True)
    # Fresh at every start: the files of processes from an earlier start would be counted again.
    metrics = tempfile.mkdtemp(prefix="metrics-", dir=settings.home)
    os.environ[PROMETHEUS_MULTIPROC_DIR] = metrics
    os.environ["SADEEM_HOST"], os.environ["SADEEM_PORT"] = settings.host, str(settings.port)
    out.print(
        f"Sadeem is at [bold]http://{settings.host}:{settings.port}[/bold] "
        f"({workers} server processes; API docs: /docs)"
    )
    try:
        uvicorn.run(
            "sadeem.app:create_app_from_environment",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            # A new process first re-imports this command line (multiprocessing's spawn), which
            # can take longer than uvicorn's 5 s on a busy node: it would be killed as hung.
            timeout_worker_healthcheck=60,
            log_config=None,
            access_log=False,
        )
    finally:
        shutil.rmtree(metrics, ignore_errors=True)


@app.command()
def openapi() -> None:
    """Print the API's OpenAPI document, which the console's TypeScript client is generated from:
    `sadeem openapi > openapi.json` renews the committed one."""
    import tempfile

    from cryptography.fernet import Fernet

    from sadeem.api.openapi import openapi_json
    from sadeem.app import create_app

    # The document depends on the code alone; an app on a throwaway home and an in-memory database
    # renders it without reading or creating this machine's state.
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(
            home=Path(home), database_url="sqlite://", secret_key=Fernet.generate_key().decode(), demo=False
        )
        application = create_app(settings)
        try:
            sys.stdout.write(openapi_json(application))
        finally:
            application.state.db.dispose()


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = _settings()
    migrate.upgrade(settings.resolved_database_url, revision)
    out.print(f"Database at revision {revision}.")


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision and the code's head."""
    settings = _settings()
    current = (
        None
        if _no_sqlite_file(settings)
        else migrate.current_revision(_database(settings, schema_current=False).engine)
    )
    out.print(f"current: {current}  head: {migrate.head_revision()}")


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
        with db.unit_of_work("cli.users.create") as session:
            auth_service.create_user(session, Actor.system("cli"), username, secret, role, display_name)
    except SadeemError as exc:
        raise fail(exc.detail) from exc
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
        with db.unit_of_work("cli.users.set_role") as session:
            user = auth_service.get_user(session, username)
            auth_service.update_user(session, Actor.system("cli"), user, auth_service.UserChanges(role=role))
    except SadeemError as exc:
        raise fail(exc.detail) from exc
    out.print(f"{username} is now {role}.")


@users_app.command("reset-password")
def users_reset_password(
    username: str, password: PasswordOption = None, generate: GenerateOption = False
) -> None:
    """Set a user's password (ends their sessions, lifts a lockout)."""
    secret, generated = _password(password, generate)
    db = _database(_settings())
    try:
        with db.unit_of_work("cli.users.reset_password") as session:
            user = auth_service.get_user(session, username)
            auth_service.set_password(session, Actor.system("cli"), user, secret)
    except SadeemError as exc:
        raise fail(exc.detail) from exc
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
        with db.unit_of_work("cli.tokens.create") as session:
            user = auth_service.get_user(session, username)
            new = auth_service.create_token(session, Actor.system("cli"), settings, user, name, days)
    except SadeemError as exc:
        raise fail(exc.detail) from exc
    out.print(f"Token {new.token.public_id} for {username}, expires {new.token.expires_at:%Y-%m-%d}:")
    print(new.secret)  # plain, so scripts can capture it


@tokens_app.command("list")
def tokens_list(username: str) -> None:
    """USERNAME's personal access tokens (not the short-lived ones Sadeem mints for runs)."""
    db = _database(_settings())
    table = Table("id", "name", "created", "expires", "last used", "revoked", show_edge=False)
    with db.reads() as session:
        try:
            user = auth_service.get_user(session, username)
        except SadeemError as exc:
            raise fail(exc.detail) from exc
        cursor: str | None = None
        while True:
            tokens, cursor = auth_service.list_tokens(session, user.id, PageRequest(500, cursor))
            for token in tokens:
                table.add_row(
                    token.public_id,
                    escape(token.name),
                    f"{token.created_at:%Y-%m-%d %H:%M}",
                    f"{token.expires_at:%Y-%m-%d}",
                    f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "",
                    f"{token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "",
                )
            if cursor is None:
                break
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token by its id."""
    db = _database(_settings())
    try:
        with db.unit_of_work("cli.tokens.revoke") as session:
            token = auth_service.get_token(session, token_id)
            auth_service.revoke_token(session, Actor.system("cli"), token)
    except SadeemError as exc:
        raise fail(exc.detail) from exc
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
        with _database(settings).unit_of_work("cli.secrets.rotate_key") as session:
            rotation = rotate_key(session, settings, Actor.system("cli"))
    except (SadeemError, ValueError) as exc:
        raise fail(exc.detail if isinstance(exc, SadeemError) else str(exc)) from exc
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


@audit_app.command("list")
def audit_list(
    workspace: Annotated[
        str | None, typer.Option("--workspace", "-w", help="Only this workspace's events (its admins may).")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Only this actor's events.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. create_workspace.")] = None,
    outcome: Annotated[str | None, typer.Option(help="success, failure or denied.")] = None,
    since: Annotated[str | None, typer.Option(help="From this time on (ISO 8601; UTC by default).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this time.")] = None,
    limit: LimitOption = 50,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """The audit trail, newest first, through the API (platform admins; a workspace's admins with -w)."""
    filters = {"actor": actor, "action": action, "outcome": outcome, "since": since, "until": until}
    path = (
        f"/api/v1/workspaces/{quote(workspace, safe='')}/audit/events"
        if workspace
        else "/api/v1/audit/events"
    )
    table = Table("seq", "time", "actor", "action", "target", "workspace", "outcome", show_edge=False)
    with connect(url, token) as client:
        for event in items(client, path, limit, {k: v for k, v in filters.items() if v is not None}):
            target = "/".join(part for part in (event["target_type"], event["target_id"]) if part)
            colour = {"success": "green", "denied": "yellow"}.get(event["outcome"], "red")
            table.add_row(
                str(event["seq"]),
                event["occurred_at"][:19].replace("T", " "),
                escape(event["actor"] or ""),
                escape(event["action"]),
                escape(target),
                escape(event["workspace"] or ""),
                f"[{colour}]{event['outcome']}[/{colour}]",
            )
    out.print(table)


@app.command()
def ingest(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or Parquet file.")
    ],
    workspace: WorkspaceOption,
    table: Annotated[str, typer.Option("--table", "-t", help="Target table: namespace.table.")],
    mode: Annotated[
        str, typer.Option(help="create, append, overwrite or create_or_append.")
    ] = "create_or_append",
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or parquet (default: from the file name).")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Upload a file into an Iceberg table through the API, with a progress bar."""
    import httpx
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    token = require_token(token)
    fmt = file_format or file.suffix.lstrip(".").lower()
    if fmt not in ("csv", "parquet"):
        raise fail(f"cannot tell the format of {file.name}; pass --format csv|parquet.")
    namespace, _, name = table.rpartition(".")
    if not namespace or not name:
        raise fail(f"--table must be namespace.table, got {table!r}.")
    base = base_url(url)
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
            raise fail(escape(f"could not upload to {base}: {type(exc).__name__}: {exc}")) from exc
    if response.status_code != 201:
        raise fail(escape(f"{response.status_code}: {error_detail(response)}"))
    result = response.json()
    out.print(
        f"{result['mode']} [bold]{result['table']}[/bold]: {result['rows']:,} rows in {result['data_files']} "
        f"file(s), snapshot {result['snapshot_id']}, {result['duration_s']} s"
    )


def _run_until_signalled(stop: Callable[[], None]) -> None:
    """Block until SIGINT or SIGTERM, then call `stop`."""
    import threading

    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    done.wait()
    stop()


@app.command()
def worker(
    slots: Annotated[
        int | None, typer.Option(help="Runs executed at once (default SADEEM_WORKER_SLOTS).")
    ] = None,
) -> None:
    """Run a worker: claim queued runs, execute them, renew leases, reap lost ones."""
    from sadeem.observability.logging import configure_logging
    from sadeem.worker.worker import Worker

    settings = _settings()
    if slots is not None:
        settings = settings.model_copy(update={"worker_slots": slots})
    configure_logging(settings.log_format, settings.log_level)
    runner = Worker(_database(settings), settings)
    runner.start()
    out.print(
        f"Worker [bold]{runner.worker_id}[/bold] started ({settings.worker_slots} slots); Ctrl-C stops it."
    )
    _run_until_signalled(runner.stop)


@app.command()
def scheduler() -> None:
    """Run the scheduler: queue a run for each due schedule slot, exactly once."""
    from sadeem.observability.logging import configure_logging
    from sadeem.scheduler.scheduler import Scheduler

    settings = _settings()
    configure_logging(settings.log_format, settings.log_level)
    runner = Scheduler(_database(settings), settings.reaper_interval_seconds)
    runner.start()
    out.print("Scheduler started; Ctrl-C stops it.")
    _run_until_signalled(runner.stop)


_DOWNLOAD_KINDS = {".csv": "csv", ".parquet": "parquet", ".arrow": "arrow", ".arrows": "arrow"}


@app.command()
def sql(
    text: Annotated[str, typer.Argument(help="Trino-dialect SQL; `-` reads it from stdin.")],
    workspace: WorkspaceOption,
    engine: Annotated[str, typer.Option(help="duckdb (embedded) or trino.")] = "duckdb",
    connection: Annotated[str | None, typer.Option(help="The Trino connection (engine trino).")] = None,
    param: ParamOption = None,
    rows: Annotated[int, typer.Option("--rows", "-n", help="Rows to print.")] = 50,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Save the whole result: .csv, .parquet or .arrow.")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Run SQL in a workspace through the API, as yourself, and print the first rows."""
    from rich.table import Table

    if output is not None and output.suffix not in _DOWNLOAD_KINDS:
        raise fail("--output must end in .csv, .parquet or .arrow.")
    body: dict[str, Any] = {
        "sql": sys.stdin.read() if text == "-" else text,
        "engine": engine,
        "connection": connection,
        "parameters": parameters(param),
        "wait_timeout": 10,
        "first_page_rows": max(min(rows, 10_000), 0),
    }
    base = f"/api/v1/workspaces/{quote(workspace, safe='')}/statements"
    with connect(url, token) as client:
        statement = call(client, "POST", base, json=body)
        while statement["state"] in ("QUEUED", "RUNNING"):
            statement = call(client, "GET", f"{base}/{statement['id']}", params={"wait": 10})
        if statement["state"] != "SUCCEEDED":
            error = statement.get("error") or {}
            raise fail(escape(f"{statement['state']}: {error.get('message', '')}"))
        result, page = statement["result"], statement.get("first_page")
        if page is None and rows:
            page = call(client, "GET", f"{base}/{statement['id']}/result", params={"limit": rows})
        table = Table(*(f"{c['name']}\n[dim]{escape(c['type'])}[/dim]" for c in result["columns"]))
        for row in (page or {}).get("rows", [])[:rows]:
            table.add_row(*("NULL" if v is None else escape(str(v)) for v in row))
        out.print(table)
        cut = " (cut at the row limit)" if result["truncated"] else ""
        out.print(
            f"{result['total_rows']} rows{cut} in {statement['duration_ms']} ms; statement {statement['id']}"
        )
        if output is not None:
            kind = _DOWNLOAD_KINDS[output.suffix]
            with (
                client.stream("GET", f"{base}/{statement['id']}/result.{kind}") as response,
                output.open("wb") as sink,
            ):
                if response.status_code >= 400:
                    raise fail(f"{response.status_code}: download failed")
                for data in response.iter_bytes():
                    sink.write(data)
            out.print(f"saved to {output}")
