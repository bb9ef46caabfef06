"""The container image build file (infra/docker/Dockerfile), read as text: no Docker engine runs here,
so the build itself is not run. What can be proven without one is: the console is built in its own
stage from the lock file, the wheel by the in-tree backend, the runtime stage is slim and non-root with
a health check on the API's liveness path, base images are pinned, the port is the chart's, and the
build context carries what the Dockerfile copies and nothing of a developer's state."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "infra" / "docker" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [argument for instruction, argument in self.instructions if instruction == keyword]


def stages() -> list[Stage]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())  # join continued lines
    found: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, argument = line.partition(" ")
        if instruction.upper() == "FROM":
            base, _, name = argument.partition(" AS ")
            found.append(Stage(base.strip(), name.strip()))
        else:
            found[-1].instructions.append((instruction.upper(), argument.strip()))
    return found


def test_three_stages_console_wheel_runtime() -> None:
    assert [stage.name for stage in stages()] == ["console", "wheel", "runtime"]


def test_base_images_are_pinned() -> None:
    for stage in stages():
        image = stage.base
        if "@sha256:" in image:
            continue
        tag = image.rpartition(":")[2]
        assert re.search(r"\d+\.\d+\.\d+", tag), f"{image}: pin a full version (or a digest)"
        assert "latest" not in tag


def test_the_console_is_built_from_the_lock_file() -> None:
    console = stages()[0]
    runs = " ".join(console.all("RUN"))
    assert "npm ci" in runs and "npm run build" in runs
    assert any("package-lock.json" in copy for copy in console.all("COPY"))


def test_the_wheel_is_built_by_the_in_tree_backend_with_the_console() -> None:
    wheel = stages()[1]
    copies = " ".join(wheel.all("COPY"))
    assert "packaging/" in copies and "--from=console" in copies and "console_dist" in copies
    assert any("pip wheel" in run and "-c constraints.txt" in run for run in wheel.all("RUN"))


def test_the_runtime_is_slim_non_root_and_runs_sadeem() -> None:
    runtime = stages()[-1]
    assert "slim" in runtime.base
    (user,) = runtime.all("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "a numeric non-root uid (runAsNonRoot can check it)"
    runs = " ".join(runtime.all("RUN"))
    assert "--no-index" in runs, "installs only the wheels built in the previous stage"
    for tool in ("apt-get install", "gcc", "build-essential", "npm"):
        assert tool not in runs
    assert runtime.all("ENTRYPOINT") == ['["sadeem"]']
    (healthcheck,) = runtime.all("HEALTHCHECK")
    assert "/health" in healthcheck


def test_the_exposed_port_is_the_charts_container_port() -> None:
    (exposed,) = stages()[-1].all("EXPOSE")
    values = yaml.safe_load((ROOT / "infra" / "helm" / "sadeem" / "values.yaml").read_text())
    assert int(exposed) == values["api"]["service"]["port"] == 8000  # the chart's default SADEEM_PORT
    env = " ".join(stages()[-1].all("ENV"))
    assert f"SADEEM_PORT={exposed}" in env
    chart_uid = values["podSecurityContext"]["runAsUser"]
    assert stages()[-1].all("USER")[0].split(":")[0] == str(chart_uid)


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern + "/*") or pattern == "**":
            ignored = not negate
    return ignored


def test_the_build_context_has_what_is_copied_and_no_local_state() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for stage in stages():
        for copy in stage.all("COPY"):
            if "--from=" in copy:
                continue
            *sources, _ = copy.split()
            for source in sources:
                assert not _ignored(source.rstrip("/"), patterns), (
                    f"COPY {source} is excluded by .dockerignore"
                )
                assert (ROOT / source).exists(), f"COPY {source}: no such path"
    for local_state in (
        "console/node_modules/x",
        ".sadeem/sadeem.db",
        ".venv/bin/python",
        "build/spark-jars/a.jar",
    ):
        assert _ignored(local_state, patterns), f"{local_state} would be sent to the build"
