"""The kinds of external system a connection reaches: the vocabulary that connections and the
engines needing one (engines/spec.py) share, so engines need nothing else from connections."""

from __future__ import annotations

import enum


class ConnectionType(enum.StrEnum):
    s3 = "s3"
    iceberg_rest = "iceberg_rest"
    trino = "trino"
    spark_local = "spark_local"
    spark_k8s = "spark_k8s"
    postgres = "postgres"
