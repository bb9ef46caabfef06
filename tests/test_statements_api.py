"""The SQL worksheet's statement API end to end: a real uvicorn, the built-in catalog, real
Iceberg tables and the fenced DuckDB engine, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from sadeem.cli import app as cli
from tests.conftest import bearer
from tests.jobs_support import Platform, platform  # noqa: F401
from tests.statements_support import all_rows, create_readings, get, post, run_sql, submit


def test_select_answers_inline_with_typed_columns_and_first_page(platform: Platform) -> None:  # noqa: F811
    create_readings(platform, rows=4)
    statement = run_sql(platform, "SELECT id, site, kwh, day FROM meter_readings ORDER BY id")
    assert statement["state"] == "SUCCEEDED", statement
    assert statement["user"] == "ws_editor"
    result = statement["result"]
    assert [c["name"] for c in result["columns"]] == ["id", "site", "kwh", "day"]
    assert result["total_rows"] == 4 and not result["truncated"]
    page = statement["first_page"]
    assert page["rows"][0] == [1, "north", 0.5, "2026-01-01"]
    assert page["complete"] and page["next_cursor"] is None


def test_smoke_all_formats(platform: Platform) -> None:  # noqa: F811
    statement = run_sql(platform, "SELECT range AS n, range * 2 AS twice FROM range(5000)")
    assert statement["state"] == "SUCCEEDED", statement
    rows = all_rows(platform, statement["id"], limit=700)
    assert rows == [[n, 2 * n] for n in range(5000)]
    arrow = get(platform, f"/{statement['id']}/result.arrow")
    assert arrow.status_code == 200, arrow.text
    table = pa.ipc.open_stream(arrow.content).read_all()
    assert table.num_rows == 5000 and table.column("n").to_pylist() == list(range(5000))
    csv = get(platform, f"/{statement['id']}/result.csv")
    assert csv.text.splitlines()[:2] == ['"n","twice"', "0,0"]
    parquet = get(platform, f"/{statement['id']}/result.parquet")
    assert pq.read_table(io.BytesIO(parquet.content)).num_rows == 5000


def test_parameters_are_bound_and_history_is_searchable(platform: Platform) -> None:  # noqa: F811
    create_readings(platform, rows=30)
    statement = run_sql(
        platform,
        "SELECT count(*) AS n FROM meter_readings WHERE site = :site AND kwh >= :min_kwh",
        parameters={"site": "north", "min_kwh": 5},
    )
    assert statement["state"] == "SUCCEEDED", statement
    assert statement["first_page"]["rows"] == [[7]]
    run_sql(platform, "SELECT 42 AS answer")
    run_sql(platform, "SELECT 1 AS mine", who="ws_admin")

    history = get(platform, "", params={"q": "METER_readings"}).json()["items"]
    assert [h["id"] for h in history] == [statement["id"]]
    assert history[0]["parameters"] == {"site": "north", "min_kwh": 5}
    own = [h["sql"] for h in get(platform, "").json()["items"]]
    assert own[0] == "SELECT 42 AS answer" and "SELECT 1 AS mine" not in own  # newest first, own only
    everyone = get(platform, "", "ws_admin", params={"all_users": "true"}).json()["items"]
    assert {h["user"] for h in everyone} == {"ws_editor", "ws_admin"}
    assert get(platform, "", params={"all_users": "true"}).status_code == 403
    failed = run_sql(platform, "SELECT * FROM no_such_table")
    assert failed["state"] == "FAILED" and "no_such_table" in failed["error"]["message"]
    assert [h["id"] for h in get(platform, "", params={"state": "FAILED"}).json()["items"]] == [failed["id"]]


def test_row_limit_cuts_the_result_and_says_so(platform: Platform) -> None:  # noqa: F811
    statement = run_sql(platform, "SELECT range AS n FROM range(2500)", row_limit=1200, first_page_rows=0)
    assert statement["result"]["total_rows"] == 1200 and statement["result"]["truncated"]
    assert statement["first_page"] is None
    assert len(all_rows(platform, statement["id"], limit=500)) == 1200
    csv = get(platform, f"/{statement['id']}/result.csv")
    assert len(csv.text.splitlines()) == 1201 and csv.headers["sadeem-result-truncated"] == "true"


def test_pages_follow_a_stable_cursor(platform: Platform) -> None:  # noqa: F811
    response = submit(platform, "SELECT range AS n FROM range(300000)", wait_timeout=0)
    assert response.status_code == 200, response.text
    statement = response.json()
    page = get(platform, f"/{statement['id']}/result", params={"limit": 1000, "wait": 30}).json()
    assert [row[0] for row in page["rows"]] == list(range(1000))
    for _ in range(2):  # the same cursor gives the same rows
        again = get(
            platform, f"/{statement['id']}/result", params={"cursor": page["next_cursor"], "limit": 10}
        )
        assert [row[0] for row in again.json()["rows"]] == list(range(1000, 1010))
    bad = get(platform, f"/{statement['id']}/result", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400, bad.text


def test_explain_shows_the_plan_and_the_transpiled_sql(platform: Platform) -> None:  # noqa: F811
    create_readings(platform)
    response = post(
        platform,
        "/explain",
        json={"sql": "SELECT site, approx_distinct(id) FROM meter_readings GROUP BY site"},
    )
    assert response.status_code == 200, response.text
    explained = response.json()
    assert "approx_count_distinct" in explained["engine_sql"].lower()
    assert "meter_readings" in explained["plan"].lower() or "iceberg" in explained["plan"].lower()
    assert "aggregate" in explained["plan"].lower()


def test_sql_that_duckdb_cannot_run_is_a_clear_400(platform: Platform) -> None:  # noqa: F811
    syntax = submit(platform, "SELECT 1,\nFROM")
    assert syntax.status_code == 400 and syntax.json()["line"] == 2, syntax.text
    untranspilable = submit(platform, "SELECT * FROM TABLE(sequence(1, 3))")
    assert untranspilable.status_code == 400, untranspilable.text


def test_platform_admin_lists_statements_across_workspaces(platform: Platform) -> None:  # noqa: F811
    mine = run_sql(platform, "SELECT 1 AS a")
    listed = httpx.get(
        f"{platform.base_url}/api/v1/statements", headers=bearer(platform.world.tokens["root"]), timeout=30
    )
    assert listed.status_code == 200, listed.text
    assert mine["id"] in {s["id"] for s in listed.json()["items"]}
    refused = httpx.get(
        f"{platform.base_url}/api/v1/statements",
        headers=bearer(platform.world.tokens["ws_admin"]),
        timeout=30,
    )
    assert refused.status_code == 403


def test_cli_prints_rows_and_saves_the_result(platform: Platform, tmp_path: Path) -> None:  # noqa: F811
    common = ["-w", "alpha", "--url", platform.base_url, "--token", platform.world.tokens["ws_editor"]]
    target = tmp_path / "out.parquet"
    done = CliRunner().invoke(
        cli, ["sql", "SELECT range AS n FROM range(300)", "-n", "3", "-o", str(target), *common]
    )
    assert done.exit_code == 0, done.output
    assert "300 rows" in done.output and "statement" in done.output
    assert pq.read_table(target).column("n").to_pylist() == list(range(300))
    failed = CliRunner().invoke(cli, ["sql", "SELECT * FROM nope", *common])
    assert failed.exit_code == 1 and "nope" in failed.output


def test_arrow_stream_follows_a_running_statement(platform: Platform) -> None:  # noqa: F811
    response = submit(platform, "SELECT range AS n FROM range(2000000)", wait_timeout=0, first_page_rows=0)
    assert response.status_code == 200, response.text
    statement_id = response.json()["id"]
    streamed = get(platform, f"/{statement_id}/result.arrow")  # answers once the statement has ended
    assert streamed.status_code == 200, streamed.text
    table = pa.ipc.open_stream(streamed.content).read_all()
    assert table.num_rows == 2_000_000 and table.column("n").to_pylist()[-3:] == [
        1_999_997,
        1_999_998,
        1_999_999,
    ]
    done = get(platform, f"/{statement_id}").json()
    assert done["state"] == "SUCCEEDED" and done["result"]["total_rows"] == 2_000_000


def test_arrow_stream_of_a_statement_that_fails_is_cut_off(platform: Platform) -> None:  # noqa: F811
    # Rows flow first; the error comes when DuckDB reaches the row it cannot convert.
    bad_late = "CASE WHEN i < 5000000 THEN '1' ELSE 'x' END"
    sql = f"SELECT CAST({bad_late} AS INTEGER) AS n FROM range(6000000) AS t(i)"  # noqa: S608
    response = submit(platform, sql, wait_timeout=0, first_page_rows=0)
    statement_id = response.json()["id"]
    url = f"{platform.base_url}/api/v1/workspaces/alpha/statements/{statement_id}/result.arrow"
    with httpx.stream("GET", url, headers=bearer(platform.world.tokens["ws_editor"]), timeout=60) as streamed:
        assert streamed.status_code == 200, streamed.read()  # the stream started while it ran
        with pytest.raises(httpx.RemoteProtocolError):  # and is cut off, with no end-of-stream
            b"".join(streamed.iter_bytes())
    assert get(platform, f"/{statement_id}").json()["state"] == "FAILED"


def test_a_filter_given_twice_is_refused(platform: Platform) -> None:  # noqa: F811
    refused = get(platform, "", params=[("q", "a"), ("q", "b")])
    assert refused.status_code == 422, refused.text
    assert "more than once" in refused.text, refused.text


# SQL nested past what the parser can take (security issue #10, item 6a): a 400 naming the limit.
DEEPLY_NESTED = {
    "600 parentheses": "SELECT " + "(" * 600 + "1" + ")" * 600,
    "300 subqueries": "SELECT * FROM " + "(SELECT * FROM " * 300 + "meter_readings" + ")" * 300,
    "3000 NOT": "SELECT " + "NOT " * 3000 + "true",
    "20 ARRAY[": "SELECT " + "ARRAY[" * 20 + "1" + "]" * 20,
}


@pytest.mark.parametrize("sql", DEEPLY_NESTED.values(), ids=DEEPLY_NESTED.keys())
def test_deeply_nested_sql_is_a_400_and_the_server_still_serves(platform: Platform, sql: str) -> None:  # noqa: F811
    for path in ("", "/explain"):
        response = post(platform, path, json={"sql": sql})
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "nested too deeply" in response.json()["detail"], response.text
    assert run_sql(platform, "SELECT 1 AS one")["first_page"]["rows"] == [[1]]
