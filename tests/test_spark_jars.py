"""The pinned Iceberg jars for local Spark: a download is installed only when its SHA-256 matches
the pin, a jar already in place is not fetched again, and the engine's health says what is wrong
with the installation. Served from a local `file://` Maven repository (no network)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sadeem.config import Settings
from sadeem.engines import spark_jars, spark_local
from sadeem.engines.spark_jars import PINNED_JARS, FetchError, MavenJar, fetch

FAKE = MavenJar("org.example", "fake-runtime", "1.0", hashlib.sha256(b"the right bytes").hexdigest())


def _publish(repository: Path, jar: MavenJar, content: bytes) -> None:
    path = Path(jar.url(repository.as_uri()).removeprefix("file://"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def test_a_jar_is_installed_only_when_its_checksum_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spark_jars, "PINNED_JARS", (FAKE,))
    repository, target = tmp_path / "m2", tmp_path / "jars"
    _publish(repository, FAKE, b"tampered bytes")
    with pytest.raises(FetchError, match="expected " + FAKE.sha256):
        fetch(target, repository.as_uri(), log=lambda _: None)
    assert list(target.iterdir()) == []  # neither the wrong jar nor a partial file

    _publish(repository, FAKE, b"the right bytes")
    lines: list[str] = []
    assert fetch(target, repository.as_uri(), log=lines.append) == [target / "fake-runtime-1.0.jar"]
    assert (target / "fake-runtime-1.0.jar").read_bytes() == b"the right bytes"
    assert lines[-1].endswith("verified, in " + str(target))

    # In place and intact: not fetched again (the repository is gone).
    (repository / "org/example/fake-runtime/1.0/fake-runtime-1.0.jar").unlink()
    assert fetch(target, repository.as_uri(), log=lambda _: None) == [target / "fake-runtime-1.0.jar"]


def test_the_pins_are_the_official_spark_4_0_runtime_and_aws_bundle() -> None:
    assert [jar.file_name for jar in PINNED_JARS] == [
        f"iceberg-spark-runtime-4.0_2.13-{spark_jars.ICEBERG}.jar",
        f"iceberg-aws-bundle-{spark_jars.ICEBERG}.jar",
    ]
    assert PINNED_JARS[0].url().startswith("https://repo.maven.apache.org/maven2/org/apache/iceberg/")
    assert spark_jars.pinned_dir(Path("/cache")) == Path(
        f"/cache/spark-jars/iceberg-{spark_jars.ICEBERG}-spark-4.0_2.13"
    )


def test_health_names_a_pyspark_the_runtime_is_not_built_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    jars = spark_jars.pinned_dir()
    jars.mkdir(parents=True)
    (jars / "iceberg-spark-runtime.jar").write_bytes(b"")
    monkeypatch.setattr(spark_local, "_spark_home", lambda _configured: tmp_path)
    monkeypatch.setattr(spark_local.importlib.util, "find_spec", lambda _name: object())
    monkeypatch.setattr(spark_local.importlib.metadata, "version", lambda _name: "3.5.9")
    found = spark_local.installation(Settings(home=tmp_path / "home", demo=False))
    if found.message.startswith("java not found"):
        pytest.skip("no java on PATH")
    assert not found.ready
    assert found.message == (
        f"pyspark 3.5.9 is installed but the Iceberg runtime in {jars} is for Spark 4.0: "
        "`make spark` installs the matching pyspark"
    )
