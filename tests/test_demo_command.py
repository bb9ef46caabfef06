"""`sadeem demo` end to end, as a new user sees it: the command runs the demo against a real
`sadeem up` (SQLite, an s3:// warehouse on the session's SeaweedFS) and the session's real Trino,
with Spark local run by Sadeem's worker; its printed table has the rows DuckDB computes from the
same sample data, and the run page it prints shows those rows in Debian's Chromium.

The command reuses the running Trino (`--trino-port`, a catalog of this test's on this Sadeem), so
no extra Trino starts; the part of `sadeem demo` that starts the components itself (`demo_stack`)
starts SeaweedFS and Trino with the same code as the session fixtures (sadeem.demo.processes) and
Sadeem with `running_sadeem`, which this test uses. One database: the Sadeem is a process of its own,
and tests/test_demo_flow.py runs the flow in-process on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from sadeem.cli import app
from sadeem.demo.flow import DEMO_WORKSPACE, DemoData
from sadeem.demo.processes import running_sadeem
from sadeem.demo.stack import demo_credentials
from sadeem.ingest.demo_data import meter_reading_batches, write_meter_readings_csv
from tests.browser import chromium, needs_chromium
from tests.connection_doubles import S3Server
from tests.spark_support import spark_jars
from tests.test_console_e2e import DIST as CONSOLE_DIST
from tests.trino_server import TrinoServer

PAGE_TIMEOUT_MS = 30_000
# DuckDB's aggregate of the same sample CSV the demo uploads (the data is deterministic).
EXPECTED_SQL = """
SELECT region, sum(kwh) AS total_kwh, sum(readings) AS readings, max(kwh) AS peak_day_kwh
FROM (SELECT region, CAST(reading_at AS DATE) AS day, sum(kwh) AS kwh, count(kwh) AS readings
      FROM read_csv(?, header = true) GROUP BY ALL)
GROUP BY region ORDER BY region
"""


def expected_rows() -> list[tuple[str, float, int, float]]:
    data = DemoData()
    with tempfile.TemporaryDirectory() as scratch:
        csv = Path(scratch) / "readings.csv"
        write_meter_readings_csv(csv, meter_reading_batches(meters=data.meters, days=data.days))
        rows: list[tuple[str, float, int, float]] = (
            duckdb.connect().execute(EXPECTED_SQL, [str(csv)]).fetchall()
        )
    return rows


@pytest.mark.integration
@pytest.mark.slow
@needs_chromium
def test_sadeem_demo_prints_the_result_and_its_run_page_shows_it(
    trino_server: TrinoServer, trino_s3: S3Server, tmp_path: Path
) -> None:
    spark_jars()  # skips without pyspark (`make spark`)
    if not (CONSOLE_DIST / "index.html").is_file():
        pytest.fail("the console is not built: run `make console` (`make test` builds it first)")
    expected = expected_rows()
    assert len(expected) >= 2, expected
    with running_sadeem(tmp_path / "sadeem", trino_s3, bucket=f"demo-cmd-{uuid.uuid4().hex[:10]}") as sadeem:
        credentials = demo_credentials(sadeem.url, sadeem.admin_password)
        catalog = trino_server.add_iceberg_catalog(sadeem.url, credentials.catalog_token, trino_s3)
        try:
            printed = CliRunner().invoke(
                app,
                [
                    "demo",
                    f"--sadeem-url={sadeem.url}",
                    f"--token={credentials.admin_token}",
                    f"--trino-host={trino_server.host}",
                    f"--trino-port={trino_server.port}",
                    f"--trino-catalog={catalog}",
                ],
                env={"COLUMNS": "200"},
            )
        finally:
            trino_server.drop_catalog(catalog)
        output = printed.output
        print(output)  # the steps' seconds, in the test's captured output
        assert printed.exit_code == 0, (output, sadeem.log.read_text()[-3000:])
        assert credentials.admin_token not in output
        # Every step with its seconds, and the result table's rows.
        for step in ("workspace", "ingest", "spark", "trino", "result"):
            assert re.search(rf"\b{step} \d+\.\d s", output), output
        for region, total_kwh, readings, _peak in expected:
            assert re.search(rf"│ {region} +│ +{total_kwh:,.3f} │ +{readings:,} │", output), (region, output)
        found = re.search(r"The run page: (http://\S+/runs/(\d+))", output)
        assert found is not None, output
        run_url = found.group(1)
        assert run_url.startswith(f"{sadeem.url}/workspaces/{DEMO_WORKSPACE}/runs/")

        # The page the command points at shows the result rows to the admin.
        from playwright.sync_api import expect

        with chromium() as browser:
            context = browser.new_context(base_url=sadeem.url)
            context.set_default_timeout(PAGE_TIMEOUT_MS)
            login = context.request.post(
                "/api/v1/auth/login", data={"username": "admin", "password": sadeem.admin_password}
            )
            assert login.ok, login.text()
            page = context.new_page()
            page.goto(run_url)
            grid = page.get_by_test_id("result-grid")
            expect(grid.locator("tbody tr")).to_have_count(len(expected), timeout=PAGE_TIMEOUT_MS)
            for index, (region, total_kwh, readings, _peak) in enumerate(expected):
                cells = grid.locator("tbody tr").nth(index).locator("td")
                expect(cells.nth(0)).to_have_text(region)
                expect(cells.nth(2)).to_have_text(str(readings))
                shown_total = float(cells.nth(1).inner_text().replace(",", ""))
                assert shown_total == pytest.approx(total_kwh, abs=0.001), (region, shown_total, total_kwh)
            context.close()


def test_sadeem_demo_names_each_missing_component_and_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """No process starts when a component is missing: the error lists each, with its make target."""
    monkeypatch.setattr("sadeem.demo.stack.weed_binary", lambda: None)
    monkeypatch.setattr("sadeem.demo.stack.trino_missing_reason", lambda: "no Java 24+ for Trino")
    started: list[str] = []
    monkeypatch.setattr("sadeem.demo.stack.seaweedfs", lambda *args, **kwargs: started.append("seaweedfs"))

    printed = CliRunner().invoke(app, ["demo", "--exit"], env={"COLUMNS": "200"})

    assert printed.exit_code == 1, printed.output
    assert "the demo cannot start" in printed.output
    assert "SeaweedFS" in printed.output and "`make venv`" in printed.output
    assert "Trino: no Java 24+ for Trino (`make trino`)" in printed.output
    assert started == []
