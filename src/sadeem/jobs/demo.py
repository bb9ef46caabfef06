"""The demo workspace's sample jobs, created on first start beside the demo data set, so a new
user sees real runs, logs and results within a minute: a scheduled SQL job building a daily
aggregate of the meter readings (one run queued at once), a SQL job reading that aggregate, and,
where Spark is set up (`make spark`), a Spark job building the same aggregate."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sadeem.auth.models import User
from sadeem.auth.principal import Principal
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.engines import spark_local
from sadeem.jobs import service as jobs
from sadeem.jobs.models import Job
from sadeem.jobs.schemas import JobDefinition
from sadeem.workspaces.models import Workspace

BUILD_SQL = """\
CREATE TABLE IF NOT EXISTS daily_usage (
    day date, region varchar, customer_class varchar, meters bigint, readings bigint, kwh double
);
DELETE FROM daily_usage;
INSERT INTO daily_usage
SELECT CAST(reading_at AS date), region, customer_class,
       count(DISTINCT meter_id), count(*), round(sum(kwh), 3)
FROM meter_readings
WHERE quality_flag = 'ok'
GROUP BY 1, 2, 3;
SELECT count(*) AS groups, min(day) AS first_day, max(day) AS last_day, round(sum(kwh), 1) AS total_kwh
FROM daily_usage
"""

REPORT_SQL = """\
SELECT day, region, round(sum(kwh), 3) AS kwh, sum(readings) AS readings
FROM daily_usage
WHERE kwh >= :min_kwh
GROUP BY day, region
ORDER BY day, region
"""

SPARK_SOURCE = '''\
"""The daily aggregate of the demo meter readings, built by Spark through Sadeem's catalog."""
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("daily_usage_spark").getOrCreate()
spark.sql("""
    CREATE OR REPLACE TABLE {namespace}.daily_usage_spark USING iceberg AS
    SELECT CAST(reading_at AS date) AS day, region, customer_class,
           count(DISTINCT meter_id) AS meters, count(*) AS readings, round(sum(kwh), 3) AS kwh
    FROM {namespace}.meter_readings
    WHERE quality_flag = 'ok'
    GROUP BY 1, 2, 3
""")
print("daily_usage_spark rows:", spark.table("{namespace}.daily_usage_spark").count())
'''


def spark_is_set_up(settings: Settings) -> bool:
    return spark_local.installation(settings).ready


def demo_definitions(settings: Settings, namespace: str) -> dict[str, JobDefinition]:
    definitions = {
        "daily_usage_build": JobDefinition.model_validate(
            {
                "description": "Builds daily_usage (per day, region, customer class) from meter readings.",
                "task": {"type": "sql", "engine": "duckdb", "sql": BUILD_SQL},
                "retry": {"max_attempts": 2, "backoff_seconds": 30},
                "timeout_seconds": 600,
                "schedule": {"cron": "0 1 * * *", "timezone": "UTC", "catch_up": "skip"},
            }
        ),
        "daily_usage_report": JobDefinition.model_validate(
            {
                "description": "Reads demo.daily_usage: consumption per day and region.",
                "task": {"type": "sql", "engine": "duckdb", "sql": REPORT_SQL},
                "parameters": [
                    {"name": "min_kwh", "type": "number", "default": 0, "description": "Skip smaller groups."}
                ],
                "timeout_seconds": 300,
            }
        ),
    }
    if settings.spark_local_enabled and spark_is_set_up(settings):
        definitions["daily_usage_spark"] = JobDefinition.model_validate(
            {
                "description": "The same daily aggregate, built by Spark (local) into daily_usage_spark.",
                "task": {
                    "type": "spark",
                    "engine": "spark_local",
                    "kind": "pyspark",
                    "source": SPARK_SOURCE.format(namespace=namespace),
                },
                "timeout_seconds": 900,
            }
        )
    return definitions


def create_demo_jobs(
    session: Session, actor: Actor, settings: Settings, workspace: Workspace, admin: User
) -> tuple[list[str], list[Job]]:
    """Create the sample jobs: the names of all of them, and the builders (to run once at first
    start, which bootstrap queues)."""
    principal = Principal(admin.id, admin.username, admin.role, "session")
    created: list[str] = []
    builders: list[Job] = []
    for name, definition in demo_definitions(settings, workspace.namespace).items():
        job = jobs.create_job(session, actor, settings, principal, workspace, name, definition).job
        created.append(name)
        if name != "daily_usage_report":
            builders.append(job)
    return created, builders
