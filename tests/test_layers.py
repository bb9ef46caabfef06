"""The import-linter contract in pyproject.toml names modules, not packages (routes live in their
domain's package but sit above every service), so a module it does not name would escape it: every
module of src/sadeem must be in a layer. `lint-imports` (make lint) checks the layers themselves."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _layered_names() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = (c["layers"] for c in config["contracts"] if c["type"] == "layers")
    return {name.strip() for layer in layers for name in re.split(r"[:|]", layer)}


def _modules() -> list[str]:
    src = ROOT / "src"
    modules = []
    for path in sorted((src / "sadeem").rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        if parts[-1] != "__init__":
            modules.append(".".join(parts))
    return modules


def test_every_module_is_in_a_layer() -> None:
    names = _layered_names()
    outside = [
        module
        for module in _modules()
        if not any(module == name or module.startswith(f"{name}.") for name in names)
    ]
    assert outside == [], f"add these modules to a layer in pyproject.toml [tool.importlinter]: {outside}"
