"""`sadeem runs submit` and `sadeem runs logs -f` against a live server with an in-process worker."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from sadeem.cli import app as cli
from tests.jobs_support import Platform, platform, running_platform  # noqa: F401

runner = CliRunner()


def test_submit_then_follow_the_log_to_the_end(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job(
        "greet",
        {"type": "sql", "engine": "duckdb", "sql": "SELECT 'hello ' || :name AS greeting"},
        parameters=[{"name": "name", "type": "string"}],
    )
    common = ["-w", "alpha", "--url", p.base_url, "--token", p.world.tokens["ws_editor"]]
    submitted = runner.invoke(cli, ["runs", "submit", "greet", "-p", "name=world", *common])
    assert submitted.exit_code == 0, submitted.output
    run_id = int(re.search(r"Run (\d+)", submitted.output).group(1))  # type: ignore[union-attr]

    followed = runner.invoke(cli, ["runs", "logs", str(run_id), "-f", *common])
    assert followed.exit_code == 0, followed.output
    assert "attempt ended: SUCCEEDED" in followed.output
    assert f"run {run_id}: SUCCEEDED" in followed.output
    assert p.api("GET", f"/runs/{run_id}/result", "ws_viewer").json()["rows"] == [["hello world"]]


def test_following_a_failed_run_exits_non_zero_with_the_engines_message(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job("broken", {"type": "sql", "engine": "duckdb", "sql": "SELECT * FROM no_such_table"})
    common = ["-w", "alpha", "--url", p.base_url, "--token", p.world.tokens["ws_editor"]]
    submitted = runner.invoke(cli, ["runs", "submit", "broken", *common])
    run_id = int(re.search(r"Run (\d+)", submitted.output).group(1))  # type: ignore[union-attr]
    followed = runner.invoke(cli, ["runs", "logs", str(run_id), "-f", *common])
    assert followed.exit_code == 1, followed.output
    assert f"run {run_id}: FAILED" in followed.output
    assert "no_such_table" in followed.output


def test_a_bad_parameter_is_refused_before_anything_runs(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job(
        "typed",
        {"type": "sql", "engine": "duckdb", "sql": "SELECT :n AS n"},
        parameters=[{"name": "n", "type": "integer"}],
    )
    common = ["-w", "alpha", "--url", p.base_url, "--token", p.world.tokens["ws_editor"]]
    refused = runner.invoke(cli, ["runs", "submit", "typed", "-p", "n=abc", *common])
    assert refused.exit_code == 1
    assert "400" in refused.output and "must be of type integer" in refused.output
