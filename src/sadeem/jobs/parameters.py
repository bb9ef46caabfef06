"""Typed job parameters: checking declared defaults, resolving a run's values, and turning the
stored JSON values into the typed values engines bind (never format) into SQL and Spark args."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sadeem.core.errors import InvalidInput
from sadeem.engines.base import ParameterValue
from sadeem.jobs.schemas import ParameterSpec, ParameterType

_ARG_MARKER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def _typed(spec: ParameterSpec, value: Any) -> ParameterValue:
    """The value as its declared type; ValueError when it is not one."""
    kind = spec.type
    if kind is ParameterType.string:
        if not isinstance(value, str) or "\x00" in value:
            raise ValueError("expected text")
        return value
    if kind is ParameterType.boolean:
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if kind is ParameterType.integer:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("expected an integer")
        return value
    if kind is ParameterType.number:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError("expected a number")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a {kind} as text")
    if kind is ParameterType.decimal:
        try:
            number = Decimal(value)
        except InvalidOperation as exc:
            raise ValueError('expected a decimal number as text, e.g. "12.50"') from exc
        if not number.is_finite():
            raise ValueError("expected a finite decimal")
        return number
    if kind is ParameterType.date:
        return date.fromisoformat(value)
    parsed = datetime.fromisoformat(value)
    return parsed


def check_declarations(specs: Sequence[ParameterSpec]) -> None:
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidInput(f"Parameters are declared twice: {', '.join(duplicates)}.")
    for spec in specs:
        if spec.default is not None:
            try:
                _typed(spec, spec.default)
            except ValueError as exc:
                raise InvalidInput(
                    f"The default of parameter '{spec.name}' is not of type {spec.type}: {exc}."
                ) from exc


def resolve(specs: Sequence[ParameterSpec], given: Mapping[str, Any]) -> dict[str, Any]:
    """A run's parameter values (JSON, as stored with the run): the given ones, checked against
    their types, and the defaults of the others."""
    declared = {spec.name: spec for spec in specs}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise InvalidInput(f"Unknown parameters: {', '.join(unknown)}. This job declares: {known}.")
    values: dict[str, Any] = {}
    missing = []
    for name, spec in declared.items():
        value = given.get(name, spec.default)
        if value is None:
            missing.append(name)
            continue
        try:
            _typed(spec, value)
        except ValueError as exc:
            raise InvalidInput(f"Parameter '{name}' must be of type {spec.type}: {exc}.") from exc
        values[name] = value
    if missing:
        raise InvalidInput(f"Parameters without a value or default: {', '.join(missing)}.")
    return values


def typed_values(specs: Sequence[ParameterSpec], stored: Mapping[str, Any]) -> dict[str, ParameterValue]:
    by_name = {spec.name: spec for spec in specs}
    return {name: _typed(by_name[name], value) for name, value in stored.items() if name in by_name}


def arg_names(args: Sequence[str]) -> set[str]:
    return {match.group(1) for arg in args for match in _ARG_MARKER.finditer(arg)}


def substitute_args(args: Sequence[str], values: Mapping[str, Any]) -> tuple[str, ...]:
    """Each `{{name}}` inside an argument becomes the value's text; an argument stays one argument
    (the process is started without a shell, so a value can never become another argument)."""
    return tuple(_ARG_MARKER.sub(lambda m: str(values[m.group(1)]), arg) for arg in args)
