"""Which engine runs a task: the job's `engine` name → an Engine instance."""

from __future__ import annotations

from sadeem.config import Settings
from sadeem.engines.base import Engine, EngineRefused


def engine_for(name: str, settings: Settings) -> Engine:
    # Imported on demand: a worker that never runs Spark on Kubernetes never loads its client.
    if name == "duckdb":
        from sadeem.engines.duckdb import DuckDBEngine

        return DuckDBEngine(settings)
    if name == "trino":
        from sadeem.engines.trino import TrinoEngine

        return TrinoEngine()
    if name == "spark_local":
        from sadeem.engines.spark_local import SparkLocalEngine

        if not settings.spark_local_enabled:  # a version saved before it was disabled
            raise EngineRefused(
                "Spark local jobs are disabled on this server (SADEEM_SPARK_LOCAL_ENABLED=false)."
            )

        return SparkLocalEngine(settings)
    if name == "spark_k8s":
        from sadeem.engines.spark_k8s import SparkKubernetesEngine

        return SparkKubernetesEngine()
    raise ValueError(f"unknown engine {name!r}")
