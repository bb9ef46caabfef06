"""Every engine Sadeem knows, one `EngineSpec` each (engines/spec.py), and `engine_for`, which
makes the engine that runs a task.

Request schemas name an engine with `EngineName`: the values it accepts are the registry's, when a
request is validated and in the OpenAPI document alike, so adding an engine is its module plus
one spec below.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema
from sqlglot import exp

from sadeem.config import Settings
from sadeem.connections.types import ConnectionType
from sadeem.core.errors import InvalidInput
from sadeem.engines import sql_text
from sadeem.engines.base import Engine, EngineRefused
from sadeem.engines.duckdb_fence import check_statement
from sadeem.engines.spec import EngineSpec, Installation, TaskKind

# The factories import their engine on demand: a worker that never runs Spark on Kubernetes never
# loads its client.


def _duckdb(settings: Settings) -> Engine:
    from sadeem.engines.duckdb import DuckDBEngine

    return DuckDBEngine(settings)


def _trino(settings: Settings) -> Engine:
    from sadeem.engines.trino import TrinoEngine

    return TrinoEngine()


def _spark_local(settings: Settings) -> Engine:
    from sadeem.engines.spark_local import SparkLocalEngine

    return SparkLocalEngine(settings)


def _spark_k8s(settings: Settings) -> Engine:
    from sadeem.engines.spark_k8s import SparkKubernetesEngine

    return SparkKubernetesEngine()


def _duckdb_installation(settings: Settings) -> Installation:
    return Installation(True, "embedded: runs in engine processes of this host", version("duckdb"))


def _spark_local_installation(settings: Settings) -> Installation:
    from sadeem.engines.spark_local import installation

    return installation(settings)


def _trino_sql(statement: exp.Expr) -> str:
    return statement.sql("trino")


def _spark_local_enabled(settings: Settings) -> bool:
    return settings.spark_local_enabled


_SPARK_LOCAL_DISABLED = (
    "Spark local jobs are disabled on this server (SADEEM_SPARK_LOCAL_ENABLED=false): "
    "their code would run on the server's host. Use a spark_k8s connection."
)


def _local_program_file(file: str) -> None:
    # spark-submit reads it on the server's host: a file that is not there would fail every run.
    path = Path(file.removeprefix("file://"))
    if not path.is_absolute():
        raise InvalidInput(f"A Spark local program file must be an absolute path; '{file}' is not.")
    if not path.is_file():
        raise InvalidInput(f"The program file '{file}' does not exist.")


_SQL = frozenset({TaskKind.sql})
_SPARK = frozenset({TaskKind.spark})

_REGISTERED: dict[str, EngineSpec] = {
    spec.name: spec
    for spec in (
        EngineSpec(
            "duckdb",
            _SQL,
            _duckdb,
            validate=check_statement,
            explain=sql_text.to_duckdb,
            installation=_duckdb_installation,
        ),
        EngineSpec("trino", _SQL, _trino, ConnectionType.trino, connection_required=True, explain=_trino_sql),
        EngineSpec(
            "spark_local",
            _SPARK,
            _spark_local,
            ConnectionType.spark_local,  # optional: it picks a Spark installation
            enabled=_spark_local_enabled,
            disabled_reason=_SPARK_LOCAL_DISABLED,
            check_program_file=_local_program_file,
            installation=_spark_local_installation,
        ),
        EngineSpec("spark_k8s", _SPARK, _spark_k8s, ConnectionType.spark_k8s, connection_required=True),
    )
}


def spec_of(name: str) -> EngineSpec:
    """The spec of a registered engine; request schemas (`EngineName`) admit no other name."""
    return _REGISTERED[name]


def specs() -> tuple[EngineSpec, ...]:
    """Every registered engine, in registration order."""
    return tuple(_REGISTERED.values())


def engine_for(name: str, settings: Settings) -> Engine:
    spec = spec_of(name)
    if not spec.enabled(settings):  # a version saved before the server switched the engine off
        raise EngineRefused(spec.disabled_reason)
    return spec.factory(settings)


@contextmanager
def registered(spec: EngineSpec) -> Iterator[EngineSpec]:
    """A known engine for the block's duration: how a test adds one without touching a module."""
    if spec.name in _REGISTERED:
        raise ValueError(f"An engine named '{spec.name}' is registered already.")
    _REGISTERED[spec.name] = spec
    try:
        yield spec
    finally:
        del _REGISTERED[spec.name]


@dataclass(frozen=True)
class EngineName:
    """Marks a `str` field (`Annotated[str, EngineName(TaskKind.sql)]`) as the name of a registered
    engine that runs `kind` tasks (and, with `explains`, the worksheet's EXPLAIN). Any other value
    is refused as a `Literal` would refuse it, and the JSON schema lists the names as an `enum`, so
    a client generated from the OpenAPI document knows them."""

    kind: TaskKind
    explains: bool = False

    def names(self) -> list[str]:
        return [
            spec.name
            for spec in _REGISTERED.values()
            if self.kind in spec.runs and (spec.explain is not None or not self.explains)
        ]

    def _check(self, value: Any) -> str:
        names = self.names()
        if isinstance(value, str) and value in names:
            return value
        quoted = [f"'{name}'" for name in names]
        expected = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(self._check)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"enum": self.names(), "type": "string"}
