"""`sadeem jobs …` and the run commands next to `submit` and `logs` (`list`, `show`, `stop`, `retry`,
`repair`) against a live server, as a workspace editor: what they print and what they change."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from sadeem.cli import app as cli
from tests.jobs_support import Platform, platform, running_platform  # noqa: F401

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
ENDLESS_SQL = "SELECT sum(hash(range)) AS h FROM range(1000000000000)"


def rows(output: str) -> list[list[str]]:
    """The body rows of a printed table, as lists of cell texts."""
    return [[cell.strip() for cell in line.split("│")] for line in output.splitlines() if "│" in line]


def common(p: Platform, who: str = "ws_editor") -> list[str]:
    return ["-w", "alpha", "--url", p.base_url, "--token", p.world.tokens[who]]


def test_create_show_edit_version_and_diff_a_job_from_yaml(platform: Platform, tmp_path: Path) -> None:  # noqa: F811
    p = platform
    definition = tmp_path / "daily.yaml"
    definition.write_text(
        "name: daily_totals\n"
        "task:\n  type: sql\n  engine: duckdb\n  sql: SELECT :n AS n\n"
        "parameters:\n  - {name: n, type: integer, default: 1}\n"
        "schedule: {cron: '0 2 * * *', timezone: Asia/Riyadh}\n"
    )
    created = runner.invoke(cli, ["jobs", "create", "-f", str(definition), *common(p)])
    assert created.exit_code == 0, created.output
    assert "Job daily_totals created (version 1)" in created.output

    listed = runner.invoke(cli, ["jobs", "list", *common(p, "ws_viewer")])
    assert listed.exit_code == 0, listed.output
    [row] = rows(listed.output)
    assert row[:4] == ["daily_totals", "1", "sql on duckdb", "0 2 * * * Asia/Riyadh"]
    assert row[4].endswith(" 23:00")  # 02:00 in Riyadh (UTC+3) is 23:00 UTC

    definition.write_text(definition.read_text().replace("SELECT :n AS n", "SELECT :n * 2 AS n"))
    edited = runner.invoke(
        cli, ["jobs", "edit", "daily_totals", "-f", str(definition), "-m", "double", *common(p)]
    )
    assert edited.exit_code == 0, edited.output
    assert "now at version 2" in edited.output
    assert p.api("GET", "/jobs/daily_totals").json()["definition"]["task"]["sql"] == "SELECT :n * 2 AS n"

    versions = runner.invoke(cli, ["jobs", "versions", "daily_totals", *common(p)])
    assert [(row[0], row[1], row[4]) for row in rows(versions.output)] == [
        ("2", "ws_editor", "double"),
        ("1", "ws_editor", ""),
    ]

    diff = runner.invoke(cli, ["jobs", "diff", "daily_totals", "1", "2", *common(p, "ws_viewer")])
    assert diff.exit_code == 0, diff.output
    assert '-    "sql": "SELECT :n AS n"' in diff.output
    assert '+    "sql": "SELECT :n * 2 AS n"' in diff.output
    assert "1 field(s) changed: task.sql" in diff.output

    shown = runner.invoke(cli, ["jobs", "show", "daily_totals", "--version", "1", "--json", *common(p)])
    assert shown.exit_code == 0, shown.output
    assert '"sql": "SELECT :n AS n"' in shown.output


def test_edit_in_the_editor_saves_a_version_only_when_something_changed(platform: Platform) -> None:  # noqa: F811
    p = platform
    p.create_job("nightly", {"type": "sql", "engine": "duckdb", "sql": "SELECT 1 AS one"})
    untouched = runner.invoke(cli, ["jobs", "edit", "nightly", *common(p)], env={"EDITOR": "true"})
    assert untouched.exit_code == 0, untouched.output
    assert "No change; nothing saved." in untouched.output
    assert p.api("GET", "/jobs/nightly").json()["current_version"] == 1

    editor = "sed -i 's/SELECT 1 AS one/SELECT 2 AS two/'"
    edited = runner.invoke(cli, ["jobs", "edit", "nightly", "-m", "two", *common(p)], env={"EDITOR": editor})
    assert edited.exit_code == 0, edited.output
    job = p.api("GET", "/jobs/nightly").json()
    assert (job["current_version"], job["definition"]["task"]["sql"]) == (2, "SELECT 2 AS two")


def test_bad_definitions_are_refused_with_the_reason_and_change_nothing(
    platform: Platform,  # noqa: F811
    tmp_path: Path,
) -> None:
    p = platform
    not_a_mapping = tmp_path / "list.yaml"
    not_a_mapping.write_text("- a\n- b\n")
    refused = runner.invoke(cli, ["jobs", "create", "-f", str(not_a_mapping), *common(p)])
    assert refused.exit_code == 1
    assert "must hold a mapping" in refused.output

    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ntask: {type: sql, sql: [unclosed\n")
    refused = runner.invoke(cli, ["jobs", "create", "-f", str(broken), *common(p)])
    assert refused.exit_code == 1 and "not valid JSON or YAML" in refused.output

    invalid = tmp_path / "invalid.json"
    invalid.write_text('{"name": "bad", "task": {"type": "sql", "engine": "oracle", "sql": "SELECT 1"}}')
    refused = runner.invoke(cli, ["jobs", "create", "-f", str(invalid), *common(p)])
    assert refused.exit_code == 1
    assert "422" in refused.output and "engine" in refused.output

    viewer = runner.invoke(
        cli, ["jobs", "create", "-f", str(invalid), "--name", "ok", *common(p, "ws_viewer")]
    )
    assert viewer.exit_code == 1 and "403" in viewer.output
    assert p.api("GET", "/jobs").json()["items"] == []


def test_runs_list_show_retry_and_repair(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job("broken", {"type": "sql", "engine": "duckdb", "sql": "SELECT * FROM no_such_table"})
    p.create_job("fine", {"type": "sql", "engine": "duckdb", "sql": "SELECT 1 AS one"})
    failed = p.wait(p.submit("broken")["id"])
    good = p.wait(p.submit("fine")["id"])
    assert (failed["state"], good["state"]) == ("FAILED", "SUCCEEDED")

    listed = runner.invoke(cli, ["runs", "list", "--state", "failed", *common(p, "ws_viewer")])
    assert listed.exit_code == 0, listed.output
    assert [row[:6] for row in rows(listed.output)] == [
        [str(failed["id"]), "broken", "1", "FAILED", "manual", "1/1"]
    ]

    shown = runner.invoke(cli, ["runs", "show", str(failed["id"]), *common(p, "ws_viewer")])
    assert shown.exit_code == 0, shown.output
    assert "no_such_table" in shown.output
    assert [row[:2] for row in rows(shown.output)] == [["1", "FAILED"]]

    retried = runner.invoke(cli, ["runs", "retry", str(failed["id"]), *common(p)])
    assert retried.exit_code == 0, retried.output
    assert f"Run {failed['id']} of broken (version 1): QUEUED" in retried.output
    assert p.wait(failed["id"])["attempt"] == 2

    repaired = runner.invoke(cli, ["runs", "repair", "broken", *common(p)])
    assert repaired.exit_code == 0, repaired.output
    assert f"Run {failed['id']} of broken" in repaired.output
    assert p.wait(failed["id"])["attempt"] == 3
    nothing = runner.invoke(cli, ["runs", "repair", "fine", *common(p)])
    assert "has no failed runs to repair" in nothing.output


def test_runs_stop_cancels_a_running_query(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job("endless", {"type": "sql", "engine": "duckdb", "sql": ENDLESS_SQL})
    run_id = p.submit("endless")["id"]
    p.wait(run_id, {"RUNNING"})
    stopped = runner.invoke(cli, ["runs", "stop", str(run_id), *common(p)])
    assert stopped.exit_code == 0, stopped.output
    assert f"Run {run_id} of endless" in stopped.output
    assert p.wait(run_id)["state"] == "CANCELLED"
    again = runner.invoke(cli, ["runs", "stop", str(run_id), *common(p)])  # stopping is idempotent
    assert again.exit_code == 0 and "CANCELLED" in again.output
