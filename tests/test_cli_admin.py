"""`sadeem workspaces|connections|audit list|tokens list` as users run them: against a real server
on loopback, as the token's user, with the API's permissions; and database commands run where
there is no Sadeem give one line, not a traceback, and create nothing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from sadeem.cli import app as cli
from tests.conftest import World, live_uvicorn

runner = CliRunner()
SECRET = "s3cr3t-value-never-shown"


@pytest.fixture
def server(app: FastAPI, world: World) -> Iterator[str]:
    with live_uvicorn(app) as base:
        yield base


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {"SADEEM_HOME": str(tmp_path / "home"), "SADEEM_DATABASE_URL": database_url}


def sadeem(base: str, world: World, who: str, *args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(
        cli, [*args, "--url", base, "--token", world.tokens[who]], input=input, env={"COLUMNS": "200"}
    )
    return result.exit_code, result.output


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_workspaces_and_members(server: str, world: World) -> None:
    code, output = sadeem(server, world, "ws_editor", "workspaces", "list")
    assert code == 0, output
    assert "alpha" in output and "editor" in output and "beta" not in output

    code, output = sadeem(
        server, world, "ws_viewer", "workspaces", "members", "add", "outsider", "admin", "-w", "alpha"
    )
    assert code == 1 and "403" in output, output  # only the workspace's admins manage members

    code, output = sadeem(server, world, "root", "workspaces", "create", "gamma", "--name", "Gamma team")
    assert code == 0, output
    assert "ok namespace" in output and "ok storage" in output and "gamma" in output

    code, output = sadeem(
        server, world, "root", "workspaces", "members", "add", "ws_viewer", "viewer", "-w", "gamma"
    )
    assert code == 0, output
    code, output = sadeem(
        server, world, "root", "workspaces", "members", "set-role", "ws_viewer", "editor", "-w", "gamma"
    )
    assert code == 0 and "ws_viewer is now editor of gamma" in output, output
    code, output = sadeem(server, world, "root", "workspaces", "members", "list", "-w", "gamma")
    assert code == 0 and "ws_viewer" in output and "editor" in output, output
    code, output = sadeem(
        server, world, "root", "workspaces", "members", "remove", "ws_viewer", "-w", "gamma"
    )
    assert code == 0, output

    code, output = sadeem(server, world, "ws_viewer", "workspaces", "archive", "alpha")
    assert code == 1 and "403" in output
    code, output = sadeem(server, world, "ws_admin", "workspaces", "archive", "alpha")
    assert code == 0 and "alpha[/bold]" not in output and "archived" in output, output
    code, output = sadeem(server, world, "ws_admin", "workspaces", "unarchive", "alpha")
    assert code == 0 and "active" in output, output


def test_connections_keep_secrets_out_of_sight(server: str, world: World) -> None:
    port = closed_port()
    code, output = sadeem(
        server,
        world,
        "ws_editor",
        "connections",
        "create",
        "lake",
        "-w",
        "alpha",
        "--type",
        "s3",
        "--set",
        f"endpoint_url=http://127.0.0.1:{port}",
        "--set",
        "access_key_id=lakekey",
        "--secret",
        "secret_access_key",
        input=SECRET + "\n",
    )
    assert code == 0, output
    assert "secrets set: secret_access_key" in output and SECRET not in output

    code, output = sadeem(server, world, "ws_viewer", "connections", "list", "-w", "alpha")
    assert code == 0, output
    assert "lake" in output and "s3" in output and "never tested" in output and SECRET not in output

    code, output = sadeem(server, world, "ws_editor", "connections", "test", "lake", "-w", "alpha")
    assert code == 1, output
    assert "failed" in output and f"127.0.0.1:{port}" in output, output
    assert f"✗ tcp 127.0.0.1:{port}" in output, output  # the step that failed, where
    code, output = sadeem(server, world, "ws_viewer", "connections", "list", "-w", "alpha")
    assert "failed in" in output, output

    code, output = sadeem(
        server, world, "ws_editor", "connections", "create", "bad", "-w", "alpha", "--set", "x"
    )
    assert code != 0


def test_audit_list_filters_and_permissions(server: str, world: World) -> None:
    sadeem(server, world, "ws_admin", "workspaces", "archive", "alpha")
    sadeem(server, world, "ws_admin", "workspaces", "unarchive", "alpha")
    code, output = sadeem(server, world, "root", "audit", "list", "--action", "archive_workspace", "-n", "5")
    assert code == 0, output
    assert "archive_workspace" in output and "ws_admin" in output and "unarchive_workspace" not in output

    code, output = sadeem(server, world, "ws_admin", "audit", "list", "-w", "alpha", "--outcome", "success")
    assert code == 0 and "unarchive_workspace" in output, output
    code, output = sadeem(server, world, "ws_editor", "audit", "list")
    assert code == 1 and "403" in output


def test_tokens_list_shows_a_users_own_tokens(world: World, env: dict[str, str]) -> None:
    created = runner.invoke(cli, ["tokens", "create", "ws_editor", "--name", "nightly export"], env=env)
    assert created.exit_code == 0, created.output
    listed = runner.invoke(cli, ["tokens", "list", "ws_editor"], env={**env, "COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "nightly export" in listed.output
    assert created.output.strip().splitlines()[-1] not in listed.output  # the secret is shown once only
    missing = runner.invoke(cli, ["tokens", "list", "nobody"], env=env)
    assert missing.exit_code == 1 and "nobody" in missing.output


@pytest.mark.parametrize("command", [["users", "list"], ["audit", "verify"], ["tokens", "list", "admin"]])
def test_database_commands_where_there_is_no_sadeem(tmp_path: Path, command: list[str]) -> None:
    home = tmp_path / "nothing-here"
    result = runner.invoke(cli, command, env={"SADEEM_HOME": str(home), "SADEEM_DATABASE_URL": ""})
    assert result.exit_code == 1
    assert result.output.startswith("error: no Sadeem database at ")  # one message (wrapped by the console)
    assert "run `sadeem up` here" in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not home.exists()
