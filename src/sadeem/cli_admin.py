"""`sadeem workspaces …`, `sadeem connections …` and `sadeem health`: the console's administration
areas from a terminal, through the API as the token's user (so the same permissions and audit apply)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from sadeem.cli_client import (
    LimitOption,
    TokenOption,
    UrlOption,
    WorkspaceOption,
    api_path,
    call,
    connect,
    fail,
    new_table,
    out,
    print_list,
    when,
)

workspaces_app = typer.Typer(help="Workspaces and their members (through the API).", no_args_is_help=True)
members_app = typer.Typer(help="A workspace's members.", no_args_is_help=True)
workspaces_app.add_typer(members_app, name="members")
connections_app = typer.Typer(help="A workspace's connections (through the API).", no_args_is_help=True)

RoleArgument = Annotated[str, typer.Argument(help="admin, editor or viewer.")]


# Workspaces -----------------------------------------------------------------------------------


@workspaces_app.command("list")
def workspaces_list(limit: LimitOption = 200, url: UrlOption = None, token: TokenOption = None) -> None:
    """The workspaces you can see (all of them for a platform admin), with your role in each."""
    print_list(
        url,
        token,
        api_path("workspaces"),
        limit,
        ("slug", "name", "status", "your role", "created"),
        lambda workspace: (
            workspace["slug"],
            escape(workspace["name"]),
            workspace["status"],
            workspace.get("my_role") or "",
            when(workspace["created_at"]),
        ),
    )


@workspaces_app.command("create")
def workspaces_create(
    slug: Annotated[str, typer.Argument(help="Lower-case id used in URLs and the catalog.")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the slug).")] = None,
    description: Annotated[str, typer.Option(help="What the workspace is for.")] = "",
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Create a workspace (platform admins) and show each provisioning step's result."""
    body = {"slug": slug, "name": name or slug, "description": description}
    with connect(url, token) as client:
        created = call(client, "POST", api_path("workspaces"), json=body)
    for step in created["provisioning"]["steps"]:
        mark = "[green]ok[/green]" if step["ok"] else "[red]failed[/red]"
        out.print(f"  {mark} {step['name']}: {escape(step['detail'])}")
    state = (
        "" if created["provisioning"]["ok"] else " (provisioning failed: fix the cause, then provision again)"
    )
    out.print(f"Workspace [bold]{created['slug']}[/bold] is {created['status']}{state}.")
    if not created["provisioning"]["ok"]:
        raise typer.Exit(code=1)


def _workspace_action(action: str, slug: str, url: str | None, token: str | None) -> None:
    with connect(url, token) as client:
        workspace = call(client, "POST", api_path("workspaces", slug, action))
    out.print(f"Workspace [bold]{workspace['slug']}[/bold] is {workspace['status']}.")


@workspaces_app.command("archive")
def workspaces_archive(slug: str, url: UrlOption = None, token: TokenOption = None) -> None:
    """Archive a workspace: read-only, runs nothing, schedules pause (workspace admins)."""
    _workspace_action("archive", slug, url, token)


@workspaces_app.command("unarchive")
def workspaces_unarchive(slug: str, url: UrlOption = None, token: TokenOption = None) -> None:
    """Bring an archived workspace back."""
    _workspace_action("unarchive", slug, url, token)


@members_app.command("list")
def members_list(
    workspace: WorkspaceOption, limit: LimitOption = 500, url: UrlOption = None, token: TokenOption = None
) -> None:
    """A workspace's members and their roles."""
    print_list(
        url,
        token,
        api_path("workspaces", workspace, "members"),
        limit,
        ("username", "name", "role", "since"),
        lambda member: (
            member["username"],
            escape(member.get("display_name") or ""),
            member["role"],
            when(member["created_at"]),
        ),
    )


@members_app.command("add")
def members_add(
    username: str,
    role: RoleArgument,
    workspace: WorkspaceOption,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Add a user to a workspace with a role."""
    with connect(url, token) as client:
        member = call(
            client,
            "POST",
            api_path("workspaces", workspace, "members"),
            json={"username": username, "role": role},
        )
    out.print(f"{member['username']} is now {member['role']} of {workspace}.")


@members_app.command("set-role")
def members_set_role(
    username: str,
    role: RoleArgument,
    workspace: WorkspaceOption,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Change a member's role (the last admin cannot be demoted)."""
    with connect(url, token) as client:
        member = call(
            client, "PATCH", api_path("workspaces", workspace, "members", username), json={"role": role}
        )
    out.print(f"{member['username']} is now {member['role']} of {workspace}.")


@members_app.command("remove")
def members_remove(
    username: str, workspace: WorkspaceOption, url: UrlOption = None, token: TokenOption = None
) -> None:
    """Remove a member (the last admin cannot be removed)."""
    with connect(url, token) as client:
        call(client, "DELETE", api_path("workspaces", workspace, "members", username))
    out.print(f"{username} is no longer a member of {workspace}.")


# Connections ----------------------------------------------------------------------------------


def _settings_from(pairs: list[str] | None) -> dict[str, Any]:
    """`key=value` pairs; a value that parses as JSON (5, true, ["a"]) is taken as such."""
    config: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise fail(f"--set must be key=value, got {pair!r}.")
        try:
            config[key] = json.loads(raw)
        except ValueError:
            config[key] = raw
    return config


def _test_line(result: dict[str, Any] | None) -> str:
    if not result:
        return "never tested"
    verdict = "[green]ok[/green]" if result["ok"] else "[red]failed[/red]"
    tested = when(result["checked_at"])
    return f"{verdict} in {result['latency_ms']:.0f} ms, {tested}: {escape(result['detail'])}"


@connections_app.command("list")
def connections_list(
    workspace: WorkspaceOption, limit: LimitOption = 500, url: UrlOption = None, token: TokenOption = None
) -> None:
    """A workspace's connections: type, secrets set (never their values), last test."""
    print_list(
        url,
        token,
        api_path("workspaces", workspace, "connections"),
        limit,
        ("name", "type", "secrets set", "last test"),
        lambda connection: (
            connection["name"],
            connection["type"],
            ", ".join(connection.get("secrets_set") or []),
            _test_line(connection.get("last_test")),
        ),
    )


@connections_app.command("create")
def connections_create(
    name: str,
    workspace: WorkspaceOption,
    connection_type: Annotated[
        str, typer.Option("--type", help="s3, iceberg_rest, trino, spark_local, spark_k8s or postgres.")
    ],
    setting: Annotated[
        list[str] | None, typer.Option("--set", help="A setting of the type: key=value (repeatable).")
    ] = None,
    secret: Annotated[
        list[str] | None,
        typer.Option("--secret", help="A secret setting's key; its value is prompted, hidden (repeatable)."),
    ] = None,
    description: Annotated[str, typer.Option(help="What the connection is for.")] = "",
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Create a connection; secrets are prompted so they stay out of the shell's history."""
    config = {"type": connection_type, **_settings_from(setting)}
    for key in secret or []:
        config[key] = typer.prompt(key, hide_input=True)
    body = {"name": name, "description": description, "config": config}
    with connect(url, token) as client:
        created = call(client, "POST", api_path("workspaces", workspace, "connections"), json=body)
    secrets_set = ", ".join(created.get("secrets_set") or []) or "none"
    out.print(
        f"Connection [bold]{created['name']}[/bold] ({created['type']}) created; secrets set: {secrets_set}."
    )


@connections_app.command("test")
def connections_test(
    name: str, workspace: WorkspaceOption, url: UrlOption = None, token: TokenOption = None
) -> None:
    """Test a saved connection now; exit 1 when it fails, naming the step that failed."""
    with connect(url, token) as client:
        result = call(client, "POST", api_path("workspaces", workspace, "connections", name, "test"))
    out.print(f"{name}: {_test_line(result)}")
    for step in result.get("steps") or []:
        mark = "[green]✓[/green]" if step["ok"] else "[red]✗[/red]"
        where = f" {step['host']}:{step['port']}" if step.get("host") and step.get("port") else ""
        out.print(
            f"  {mark} {step['kind']}{escape(where)} ({step['latency_ms']:.1f} ms): {escape(step['detail'])}"
        )
    if not result["ok"]:
        raise typer.Exit(code=1)


HEALTH_STYLE = {"ok": "green", "degraded": "yellow", "down": "bold red", "unknown": "dim"}


def health(url: UrlOption = None, token: TokenOption = None) -> None:
    """Every component's health as the server checks it (a platform admin's token); exits 1 when
    one is down."""
    with connect(url, token) as client:
        report = call(client, "GET", "/api/v1/health/components")
    table = new_table("Component", "Status", "Message", "Version", "Latency (ms)", "Checked at")
    table.title = f"Sadeem health: {report['status']} (checked {when(report['checked_at'])})"
    for component in report["components"]:
        status = component["status"]
        table.add_row(
            escape(component["name"]),
            f"[{HEALTH_STYLE.get(status, '')}]{escape(status)}[/]",
            escape(component["message"]),
            escape(component["version"] or ""),
            "" if component["latency_ms"] is None else f"{component['latency_ms']:g}",
            when(component["checked_at"]),
        )
    out.print(table)
    if report["status"] == "down":
        raise typer.Exit(code=1)
