"""`sadeem jobs …` and `sadeem runs …`: the console's jobs and runs areas from a terminal, through
the API as the token's user (so the same permissions, validation and audit apply).

A job definition is the API's job body (`name`, `task`, `parameters`, `schedule`, …) in a JSON or
YAML file; `sadeem jobs edit` without `--file` opens the current definition in $EDITOR, the way
`kubectl edit` does, and saves a new version only when something changed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer
import yaml
from rich.markup import escape
from rich.syntax import Syntax

from sadeem.cli_client import (
    LimitOption,
    ParamOption,
    TokenOption,
    UrlOption,
    WorkspaceOption,
    api_path,
    call,
    connect,
    err,
    fail,
    new_table,
    out,
    parameters,
    print_list,
    when,
)

jobs_app = typer.Typer(
    help="A workspace's jobs: list, show, create, edit, versions, diff.", no_args_is_help=True
)
runs_app = typer.Typer(
    help="Runs: submit, list, show, follow logs, stop, retry, repair (through the API).", no_args_is_help=True
)

JobArgument = Annotated[str, typer.Argument(help="The job's name.")]
RunArgument = Annotated[int, typer.Argument(help="The run's id.")]
FileOption = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="The definition as JSON or YAML; `-` reads stdin."),
]
STATE_COLOURS = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "TIMED_OUT": "red",
    "CANCELLED": "yellow",
    "CANCELLING": "yellow",
    "RUNNING": "blue",
    "QUEUED": "cyan",
    "WAITING_FOR_RETRY": "magenta",
}


def _state(state: str) -> str:
    colour = STATE_COLOURS.get(state, "white")
    return f"[{colour}]{state}[/{colour}]"


def _read_definition(file: Path) -> dict[str, Any]:
    """A job body from a file: YAML is a superset of JSON, so one parser reads both."""
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        loaded = yaml.safe_load(text)
    except OSError as exc:
        raise fail(escape(f"cannot read {file}: {exc.strerror}")) from exc
    except yaml.YAMLError as exc:
        raise fail(escape(f"{file} is not valid JSON or YAML: {exc}")) from exc
    if not isinstance(loaded, dict):
        raise fail(f"{file} must hold a mapping (the job's fields), not {type(loaded).__name__}.")
    return loaded


def _schedule(definition: dict[str, Any]) -> str:
    schedule = definition.get("schedule")
    return f"{schedule['cron']} {schedule.get('timezone', 'UTC')}" if schedule else ""


# Jobs -----------------------------------------------------------------------------------------


@jobs_app.command("list")
def jobs_list(
    workspace: WorkspaceOption,
    filter_: Annotated[str | None, typer.Option("--filter", help="Only names containing this.")] = None,
    limit: LimitOption = 200,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """A workspace's jobs: task, schedule and the next time it fires."""
    print_list(
        url,
        token,
        api_path("workspaces", workspace, "jobs"),
        limit,
        ("name", "version", "task", "schedule", "next fire (UTC)", "author"),
        lambda job: (
            job["name"],
            str(job["current_version"]),
            f"{job['definition']['task']['type']} on {job['definition']['task'].get('engine', '')}",
            _schedule(job["definition"]) + (" [yellow](paused)[/yellow]" if job["paused"] else ""),
            when(job.get("next_fire_at")),
            job.get("author") or "",
        ),
        params={"q": filter_} if filter_ else None,
    )


@jobs_app.command("show")
def jobs_show(
    job: JobArgument,
    workspace: WorkspaceOption,
    version: Annotated[
        int | None, typer.Option(help="An earlier version (default: the current one).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the definition as JSON only.")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """A job's current (or an earlier) version: who wrote it, its schedule and definition."""
    with connect(url, token) as client:
        found = call(client, "GET", api_path("workspaces", workspace, "jobs", job))
        definition = found["definition"]
        if version is not None and version != found["current_version"]:
            versions = call(
                client,
                "GET",
                api_path("workspaces", workspace, "jobs", job, "versions"),
                params={"limit": 500},
            )
            chosen = next((item for item in versions["items"] if item["version"] == version), None)
            if chosen is None:
                raise fail(f"job {job} has no version {version}.")
            definition = chosen["definition"]
    if as_json:
        sys.stdout.write(json.dumps(definition, indent=2) + "\n")
        return
    shown = version or found["current_version"]
    out.print(f"[bold]{escape(found['name'])}[/bold] version {shown} of {found['current_version']}")
    out.print(f"  author {found.get('author') or ''}, runs as {found['run_as']}")
    if definition.get("schedule"):
        paused = " (paused)" if found["paused"] else ""
        out.print(f"  schedule {_schedule(definition)}{paused}, next {when(found.get('next_fire_at'))} UTC")
    out.print(Syntax(yaml.safe_dump(definition, sort_keys=False, allow_unicode=True), "yaml"))


@jobs_app.command("create")
def jobs_create(
    workspace: WorkspaceOption,
    file: FileOption = None,
    name: Annotated[str | None, typer.Option(help="The job's name (default: `name` in the file).")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Create a job from a definition file (version 1)."""
    if file is None:
        raise fail("--file is needed: the job's definition as JSON or YAML (see `sadeem jobs show --json`).")
    body = _read_definition(file)
    if name:
        body["name"] = name
    with connect(url, token) as client:
        created = call(client, "POST", api_path("workspaces", workspace, "jobs"), json=body)
    out.print(f"Job [bold]{escape(created['name'])}[/bold] created (version {created['current_version']}).")


@jobs_app.command("edit")
def jobs_edit(
    job: JobArgument,
    workspace: WorkspaceOption,
    file: FileOption = None,
    message: Annotated[str, typer.Option("--message", "-m", help="What changed, and why.")] = "",
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Save a new version of a job: from --file, else by editing the current definition in $EDITOR."""
    path = api_path("workspaces", workspace, "jobs", job)
    with connect(url, token) as client:
        current = call(client, "GET", path)
        before = {key: value for key, value in current["definition"].items() if key != "name"}
        if file is not None:
            body = _read_definition(file)
        else:
            edited = click.edit(
                yaml.safe_dump(before, sort_keys=False, allow_unicode=True), extension=".yaml"
            )
            if edited is None:
                out.print("No change; nothing saved.")
                return
            try:
                body = yaml.safe_load(edited)
            except yaml.YAMLError as exc:
                raise fail(escape(f"the edited definition is not valid YAML: {exc}")) from exc
            if not isinstance(body, dict):
                raise fail("the edited definition must be a mapping of the job's fields.")
        body.pop("name", None)  # a job is renamed by nothing: the name is its identity
        if body == before:
            out.print("No change; nothing saved.")
            return
        saved = call(client, "PUT", path, json={**body, "message": message})
    out.print(f"Job [bold]{escape(saved['name'])}[/bold] is now at version {saved['current_version']}.")


@jobs_app.command("versions")
def jobs_versions(
    job: JobArgument,
    workspace: WorkspaceOption,
    limit: LimitOption = 50,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """A job's versions, newest first: who saved each, when, and why."""
    print_list(
        url,
        token,
        api_path("workspaces", workspace, "jobs", job, "versions"),
        limit,
        ("version", "author", "runs as", "saved", "message"),
        lambda version: (
            str(version["version"]),
            version.get("created_by") or "",
            version["run_as"],
            when(version["created_at"]),
            escape(version["message"]),
        ),
    )


@jobs_app.command("diff")
def jobs_diff(
    job: JobArgument,
    version: Annotated[int, typer.Argument(help="The older version.")],
    other: Annotated[int, typer.Argument(help="The newer version.")],
    workspace: WorkspaceOption,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """What changed between two versions of a job, as a unified diff."""
    with connect(url, token) as client:
        diff = call(
            client,
            "GET",
            api_path("workspaces", workspace, "jobs", job, "versions", str(version), "diff", str(other)),
        )
    if not diff["changes"]:
        out.print(f"Versions {version} and {other} are identical.")
        return
    out.print(Syntax(diff["unified"], "diff"))
    fields = ", ".join(change["path"] for change in diff["changes"])
    out.print(f"{len(diff['changes'])} field(s) changed: {escape(fields)}")


def _job_action(action: str, job: str, workspace: str, url: str | None, token: str | None) -> dict[str, Any]:
    with connect(url, token) as client:
        found: dict[str, Any] = call(client, "POST", api_path("workspaces", workspace, "jobs", job, action))
    return found


@jobs_app.command("pause")
def jobs_pause(
    job: JobArgument, workspace: WorkspaceOption, url: UrlOption = None, token: TokenOption = None
) -> None:
    """Stop a job's schedule from firing (manual runs still work)."""
    _job_action("pause", job, workspace, url, token)
    out.print(f"Job {escape(job)}'s schedule is paused.")


@jobs_app.command("resume")
def jobs_resume(
    job: JobArgument, workspace: WorkspaceOption, url: UrlOption = None, token: TokenOption = None
) -> None:
    """Let a paused job's schedule fire again (from the next slot)."""
    found = _job_action("resume", job, workspace, url, token)
    out.print(f"Job {escape(job)}'s schedule is on; next fire {when(found.get('next_fire_at'))} UTC.")


# Runs -----------------------------------------------------------------------------------------


def _run_line(run: dict[str, Any]) -> str:
    reason = f" ({run['state_reason']})" if run.get("state_reason") else ""
    job = f"{escape(run['job'])} (version {run['job_version']})"
    return f"Run [bold]{run['id']}[/bold] of {job}: {_state(run['state'])}{reason}"


@runs_app.command("submit")
def runs_submit(
    job: JobArgument,
    workspace: WorkspaceOption,
    param: ParamOption = None,
    idempotency_key: Annotated[str | None, typer.Option(help="Submit at most once per key.")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Queue a run of a job and print its id."""
    body: dict[str, Any] = {"parameters": parameters(param)}
    if idempotency_key:
        body["idempotency_key"] = idempotency_key
    with connect(url, token) as client:
        run = call(client, "POST", api_path("workspaces", workspace, "jobs", job, "runs"), json=body)
    out.print(_run_line(run))


@runs_app.command("list")
def runs_list(
    workspace: WorkspaceOption,
    job: Annotated[str | None, typer.Option(help="Only this job's runs.")] = None,
    state: Annotated[str | None, typer.Option(help="Only runs in this state, e.g. FAILED.")] = None,
    trigger: Annotated[str | None, typer.Option(help="manual, schedule, retry or repair.")] = None,
    since: Annotated[str | None, typer.Option(help="Only runs created at or after this ISO time.")] = None,
    limit: LimitOption = 50,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """A workspace's runs, newest first, with filters."""
    filters = {"job": job, "state": state.upper() if state else None, "trigger": trigger, "since": since}
    print_list(
        url,
        token,
        api_path("workspaces", workspace, "runs"),
        limit,
        ("id", "job", "version", "state", "trigger", "attempt", "created", "owner"),
        lambda run: (
            str(run["id"]),
            escape(run["job"]),
            str(run["job_version"]),
            _state(run["state"]),
            run["trigger"],
            f"{run['attempt']}/{run['max_attempts']}",
            when(run["created_at"]),
            run["owner"],
        ),
        params={key: value for key, value in filters.items() if value},
    )


@runs_app.command("show")
def runs_show(
    run_id: RunArgument, workspace: WorkspaceOption, url: UrlOption = None, token: TokenOption = None
) -> None:
    """A run: its state and why, parameters, and every attempt."""
    with connect(url, token) as client:
        run = call(client, "GET", api_path("workspaces", workspace, "runs", str(run_id)))
    out.print(_run_line(run))
    if run.get("state_message"):
        out.print(f"  {escape(run['state_message'])}")
    out.print(
        f"  trigger {run['trigger']} by {run.get('triggered_by') or 'the scheduler'}, acts as {run['owner']}"
    )
    if run["parameters"]:
        out.print(f"  parameters {escape(json.dumps(run['parameters']))}")
    table = new_table("attempt", "state", "reason", "queued", "started", "ended", "rows", "worker")
    for attempt in run["attempts"]:
        table.add_row(
            str(attempt["number"]),
            _state(attempt["state"]),
            attempt.get("reason") or "",
            when(attempt["queued_at"]),
            when(attempt.get("started_at")),
            when(attempt.get("ended_at")),
            "" if attempt.get("result_rows") is None else str(attempt["result_rows"]),
            attempt.get("worker_id") or "",
        )
    out.print(table)


@runs_app.command("logs")
def runs_logs(
    run_id: RunArgument,
    workspace: WorkspaceOption,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the attempt ends.")
    ] = False,
    attempt: Annotated[int | None, typer.Option(help="An attempt number (default: the current one).")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Print a run's log; with -f, follow it while the run is going, then print how it ended."""
    path = api_path("workspaces", workspace, "runs", str(run_id))
    after = 0
    with connect(url, token) as client:
        while True:
            params: dict[str, Any] = {"after": after, "wait": 10 if follow else 0}
            if attempt is not None:
                params["attempt"] = attempt
            page = call(client, "GET", f"{path}/logs", params=params)
            sys.stdout.write(page["text"])
            sys.stdout.flush()
            after, attempt = page["next_after"], page["attempt"]
            if page["complete"] or (not follow and not page["text"]):
                break
        if follow:
            run = call(client, "GET", path)
            colour = "green" if run["state"] == "SUCCEEDED" else "red"
            message = f": {run['state_message']}" if run.get("state_message") else ""
            err.print(f"run {run_id}: [{colour}]{run['state']}[/{colour}]{escape(message)}")
            if run["state"] != "SUCCEEDED":
                raise typer.Exit(code=1)


def _run_action(action: str, run_id: int, workspace: str, url: str | None, token: str | None) -> None:
    with connect(url, token) as client:
        run = call(client, "POST", api_path("workspaces", workspace, "runs", str(run_id), action))
    out.print(_run_line(run))


@runs_app.command("stop")
def runs_stop(
    run_id: RunArgument, workspace: WorkspaceOption, url: UrlOption = None, token: TokenOption = None
) -> None:
    """Stop a queued or running run (its engine's query or application is cancelled)."""
    _run_action("stop", run_id, workspace, url, token)


@runs_app.command("retry")
def runs_retry(
    run_id: RunArgument, workspace: WorkspaceOption, url: UrlOption = None, token: TokenOption = None
) -> None:
    """Start a new attempt of a run that ended without succeeding."""
    _run_action("retry", run_id, workspace, url, token)


@runs_app.command("repair")
def runs_repair(
    job: JobArgument,
    workspace: WorkspaceOption,
    since: Annotated[
        str | None, typer.Option(help="Only failed runs created at or after this ISO time.")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Rerun every failed or timed-out run of a job, each as a new attempt of the same run."""
    body = {"since": since} if since else {}
    with connect(url, token) as client:
        runs = call(client, "POST", api_path("workspaces", workspace, "jobs", job, "repair"), json=body)
    if not runs:
        out.print(f"Job {escape(job)} has no failed runs to repair.")
    for run in runs:
        out.print(_run_line(run))
