"""setuptools' build backend, refusing to build a wheel or an sdist without the console: a package
without it would install and start, then show users a page that says the console is missing.
Editable installs (development) do not need it: the console is built beside the sources."""

from __future__ import annotations

from pathlib import Path

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 - this module is the backend, with setuptools' hooks

_CONSOLE = Path(__file__).resolve().parent.parent / "src" / "sadeem" / "console_dist" / "index.html"


def _require_console() -> None:
    if not _CONSOLE.is_file():
        raise SystemExit(
            f"The console is not built ({_CONSOLE} is missing): run `make console` "
            "(npm ci && npm run build in console/) before building the package."
        )


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):  # type: ignore[no-untyped-def]
    _require_console()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory, config_settings=None):  # type: ignore[no-untyped-def]
    _require_console()
    return _setuptools.build_sdist(sdist_directory, config_settings)
