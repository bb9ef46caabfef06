"""Jobs and runs end to end on the embedded stack: a live API, an in-process worker, real DuckDB
against the built-in catalog."""

from __future__ import annotations

import time
from pathlib import Path

from tests.jobs_support import Platform, platform, running_platform  # noqa: F401

SQL_TASK = {"type": "sql", "engine": "duckdb"}


def test_sql_run_with_parameter_succeeds_with_result_and_logs(running_platform: Platform) -> None:  # noqa: F811
    p = running_platform
    p.create_job(
        "plus_one",
        {**SQL_TASK, "sql": "SELECT :x + 1 AS y, 'it''s' AS s"},
        parameters=[{"name": "x", "type": "integer", "default": 1}],
    )
    run = p.submit("plus_one", parameters={"x": 41})
    assert run["state"] == "QUEUED" and run["created"] is True
    done = p.wait(run["id"])
    assert done["state"] == "SUCCEEDED", done
    result = p.api("GET", f"/runs/{run['id']}/result", "ws_viewer").json()
    assert result["rows"] == [[42, "it's"]]
    assert [c["name"] for c in result["columns"]] == ["y", "s"]
    assert "attempt ended: SUCCEEDED" in p.logs(run["id"])
    states = [t["to_state"] for t in done["transitions"]]
    assert states == ["QUEUED", "RUNNING", "SUCCEEDED"]


def test_spark_k8s_job_becomes_a_spark_application_and_follows_it(
    running_platform: Platform,  # noqa: F811
    tmp_path: Path,
) -> None:
    """No Kubernetes API server runs here: the Kubernetes API double (tests/kubernetes_api_double.py)
    validates the SparkApplication against the CRD and plays the operator's part (its states, the
    driver's log); the worker's side is real: connection secrets, the engine, the run's states."""
    from tests.connection_doubles import make_tls
    from tests.kubernetes_api_double import kubernetes_api_double

    p = running_platform
    tls = make_tls(tmp_path / "tls")
    with kubernetes_api_double(tls, token="k8s-secret-token", namespace="spark-jobs") as api:
        created = p.api(
            "POST",
            "/connections",
            "ws_admin",
            json={
                "name": "cluster",
                "config": {
                    "type": "spark_k8s",
                    "api_server": api.url,
                    "namespace": "spark-jobs",
                    "token": "k8s-secret-token",
                    "ca_cert": tls.ca_pem,
                    "image": "registry.local/spark:3.5.9",
                },
            },
        )
        assert created.status_code == 201, created.text
        p.create_job(
            "on_cluster",
            {
                "type": "spark",
                "engine": "spark_k8s",
                "connection": "cluster",
                "kind": "pyspark",
                "source": "print('hello from the driver')",
                "args": ["--day", "{{day}}"],
            },
            parameters=[{"name": "day", "type": "date", "default": "2026-11-22"}],
        )
        run = p.submit("on_cluster")
        name = f"sadeem-run-{run['id']}-1"
        deadline = time.monotonic() + 30
        while api.application(name) is None:
            assert time.monotonic() < deadline, "no SparkApplication was created"
            time.sleep(0.05)
        application = api.application(name)
        assert application is not None
        assert application["spec"]["arguments"] == ["--day", "2026-11-22"]
        api.set_state(name, "RUNNING", driver_pod=f"{name}-driver")
        api.write_log(f"{name}-driver", "hello from the driver")
        api.set_state(name, "COMPLETED")
        done = p.wait(run["id"])
        assert done["state"] == "SUCCEEDED", (done, p.logs(run["id"]))
        log = p.logs(run["id"])
        assert "hello from the driver" in log
        assert "k8s-secret-token" not in log
