"""The Iceberg jars local Spark runs with: the official `iceberg-spark-runtime` (Iceberg's Spark
catalog, SQL extensions and procedures) and `iceberg-aws-bundle` (the AWS SDK Iceberg's S3FileIO
uses for `s3://` tables), from Maven Central at pinned versions, verified by SHA-256.

They are kept outside any checkout, in `<cache>/spark-jars/<PINNED_SET>/` (`<cache>` is
`${XDG_CACHE_HOME:-$HOME/.cache}/sadeem`), so every clone on a machine shares one download and a
version bump gets a directory of its own instead of mixing two runtimes on one classpath.
`scripts/fetch_spark_jars.py` (run by `make spark`) fetches them; the engine only looks.

The runtime is built for one Spark minor version and Scala version: it needs pyspark 4.0.x.
"""

from __future__ import annotations

import hashlib
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sadeem.config import Settings, user_cache_dir

SPARK_MINOR = "4.0"
SCALA = "2.13"
ICEBERG = "1.10.1"
PINNED_SET = f"iceberg-{ICEBERG}-spark-{SPARK_MINOR}_{SCALA}"
MAVEN_CENTRAL = "https://repo.maven.apache.org/maven2"


@dataclass(frozen=True)
class MavenJar:
    group: str
    artifact: str
    version: str
    sha256: str

    @property
    def file_name(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    def url(self, repository: str = MAVEN_CENTRAL) -> str:
        return f"{repository}/{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.file_name}"


PINNED_JARS = (
    MavenJar(
        "org.apache.iceberg",
        f"iceberg-spark-runtime-{SPARK_MINOR}_{SCALA}",
        ICEBERG,
        "2192a0881ed0f5773b5a83a8820d2b0b2069beec203028643a1c338551007f09",
    ),
    MavenJar(
        "org.apache.iceberg",
        "iceberg-aws-bundle",
        ICEBERG,
        "86bf20892ea5b4c17688f19b075399885f6aa5303f6b2dc9f491e76ceef9633b",
    ),
)


class FetchError(RuntimeError):
    """A jar could not be downloaded or did not match its checksum."""


def pinned_dir(cache_dir: Path | None = None) -> Path:
    return (cache_dir or user_cache_dir()) / "spark-jars" / PINNED_SET


def jars_dir(settings: Settings) -> Path:
    """Where Spark local runs take their Iceberg jars from: the configured directory, else the
    pinned set."""
    return (settings.spark_jars_dir or pinned_dir()).resolve()


def missing_jars_message(directory: Path) -> str:
    return f"no Iceberg Spark jars in {directory}: `make spark` (scripts/fetch_spark_jars.py) fetches them"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(
    target_dir: Path | None = None,
    repository: str = MAVEN_CENTRAL,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Download the pinned jars into `target_dir` (default: the pinned set's cache directory)
    unless they are there with the right checksum; returns them in classpath order. A download
    goes to a temporary file first and is renamed into place only once its checksum matches, so
    a concurrent reader never sees a partial or a wrong jar."""
    directory = target_dir or pinned_dir()
    directory.mkdir(parents=True, exist_ok=True)
    jars = []
    for jar in PINNED_JARS:
        target = directory / jar.file_name
        if not (target.is_file() and _sha256(target) == jar.sha256):
            _download(jar, repository, target, log)
        jars.append(target)
    return jars


def _download(jar: MavenJar, repository: str, target: Path, log: Callable[[str], None]) -> None:
    url = jar.url(repository)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{jar.file_name}.", delete=False) as partial:
        partial_path = Path(partial.name)
        try:
            with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (https, pinned URL)
                total = int(response.headers.get("Content-Length") or 0)
                done, shown = 0, -1
                while chunk := response.read(1 << 20):
                    partial.write(chunk)
                    done += len(chunk)
                    percent = done * 100 // total if total else 0
                    if percent // 10 != shown:  # every 10%
                        shown = percent // 10
                        log(f"{jar.file_name}: {done >> 20} / {total >> 20} MB")
        except OSError as error:
            partial_path.unlink(missing_ok=True)
            raise FetchError(f"cannot download {url}: {error}") from error
    found = _sha256(partial_path)
    if found != jar.sha256:
        partial_path.unlink(missing_ok=True)
        raise FetchError(f"{url} has SHA-256 {found}, expected {jar.sha256}: not installed")
    partial_path.chmod(0o644)  # NamedTemporaryFile made it 0600
    partial_path.replace(target)
    log(f"{jar.file_name}: verified, in {target.parent}")
