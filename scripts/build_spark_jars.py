"""Build the jars a local Spark needs to talk to Iceberg catalogs.

The only Iceberg Spark runtime on PyPI (`iceberg-spark-runtime-3.5_2.12-1.10.2.jar` in the
`snowpark-connect-deps-iceberg` package) is stripped of two libraries Iceberg shades under
`org.apache.iceberg.shaded`: Jackson (every catalog's JSON) and Apache httpclient5/httpcore5 (the
REST catalog's HTTP client). This script rebuilds them:

* Jackson 2.15 from pyspark's own `jars/` (annotations, core, databind, datatype-jsr310);
* httpclient5, httpcore5 and httpcore5-h2 5.2.1 from Debian's `libhttpclient5-java` /
  `libhttpcore5-java`;
* an empty `org.apache.hc.client5.http.ssl.TlsSocketStrategy`, compiled here: Iceberg 1.10 refers
  to that httpclient5 5.4 interface, which 5.2.1 lacks. Only a REST catalog with a custom
  `rest.client.tls.configurer-impl` would call into it; plain http and https work.

All of that is merged into one jar and relocated with Debian's jarjar (`libjarjar-java`, which
runs on `libasm-java`) to `org.apache.iceberg.shaded.*`, exactly where the runtime looks for it.
The output directory then holds the runtime jar and the relocated jar: put both on Spark's
classpath.

Nothing is installed here. A missing Debian package or JDK is reported with the `apt-get` line
that brings it (`make spark` runs that for you). Outputs newer than all their inputs are left
alone, so running it again is cheap.

    .venv/bin/python scripts/build_spark_jars.py [--out DIR]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.resources
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = REPO_ROOT / "build" / "spark-jars"

ICEBERG_DEPS_DIST = "snowpark-connect-deps-iceberg"
ICEBERG_DEPS_VERSION = "1.0.3"
ICEBERG_RUNTIME_JAR = "iceberg-spark-runtime-3.5_2.12-1.10.2.jar"
SHADED_DEPS_JAR = "iceberg-spark-runtime-3.5_2.12-1.10.2-shaded-deps.jar"

SHADED_PREFIX = "org.apache.iceberg.shaded"
JARJAR_RULES = (
    f"rule com.fasterxml.jackson.** {SHADED_PREFIX}.com.fasterxml.jackson.@1\n"
    f"rule org.apache.hc.** {SHADED_PREFIX}.org.apache.hc.@1\n"
)

# pyspark's jars/ file name prefixes of the Jackson modules Iceberg uses.
JACKSON_MODULES = ("jackson-annotations", "jackson-core", "jackson-databind", "jackson-datatype-jsr310")

TLS_SOCKET_STRATEGY_SOURCE = """\
package org.apache.hc.client5.http.ssl;

/** Stand-in for the httpclient5 5.4 interface Iceberg refers to; absent from Debian's 5.2.1. */
public interface TlsSocketStrategy {}
"""

# Classes the relocated jar must hold; checked after every build.
REQUIRED_CLASSES = (
    "org/apache/iceberg/shaded/com/fasterxml/jackson/annotation/JsonProperty.class",
    "org/apache/iceberg/shaded/com/fasterxml/jackson/core/JsonFactory.class",
    "org/apache/iceberg/shaded/com/fasterxml/jackson/databind/ObjectMapper.class",
    "org/apache/iceberg/shaded/com/fasterxml/jackson/datatype/jsr310/JavaTimeModule.class",
    "org/apache/iceberg/shaded/org/apache/hc/client5/http/impl/classic/HttpClientBuilder.class",
    "org/apache/iceberg/shaded/org/apache/hc/client5/http/ssl/TlsSocketStrategy.class",
    "org/apache/iceberg/shaded/org/apache/hc/core5/http/HttpHost.class",
    "org/apache/iceberg/shaded/org/apache/hc/core5/http2/HttpVersionPolicy.class",
)


class BuildError(RuntimeError):
    """A prerequisite is missing or a build step failed; the message says what to do."""


@dataclass(frozen=True)
class DebianJar:
    """A jar shipped by a Debian package."""

    path: Path
    package: str


JARJAR = DebianJar(Path("/usr/share/java/jarjar.jar"), "libjarjar-java")
# Debian's jarjar declares no dependency on ASM but cannot run without it.
ASM_JARS = (
    DebianJar(Path("/usr/share/java/asm.jar"), "libasm-java"),
    DebianJar(Path("/usr/share/java/asm-commons.jar"), "libasm-java"),
)
HTTP_JARS = (
    DebianJar(Path("/usr/share/java/httpclient5.jar"), "libhttpclient5-java"),
    DebianJar(Path("/usr/share/java/httpcore5.jar"), "libhttpcore5-java"),
    DebianJar(Path("/usr/share/java/httpcore5-h2.jar"), "libhttpcore5-java"),
)
DEBIAN_PACKAGES = tuple(dict.fromkeys(jar.package for jar in (JARJAR, *ASM_JARS, *HTTP_JARS)))
JDK_PACKAGE = "openjdk-17-jdk-headless"


def log(message: str) -> None:
    print(f"build_spark_jars: {message}", flush=True)


def apt_get_line(packages: Iterable[str]) -> str:
    return "apt-get install -y " + " ".join(packages)


def check_prerequisites() -> tuple[str, str]:
    """The `java` and `javac` commands, once every Debian jar is present; else BuildError."""
    absent = {jar.package for jar in (JARJAR, *ASM_JARS, *HTTP_JARS) if not jar.path.is_file()}
    missing = [package for package in DEBIAN_PACKAGES if package in absent]
    java, javac = shutil.which("java"), shutil.which("javac")
    if java is None or javac is None:
        missing.append(JDK_PACKAGE)
    if missing:
        raise BuildError(
            f"missing Debian packages: {', '.join(missing)}. Install them with\n"
            f"    {apt_get_line(missing)}\n"
            "(or run `make spark`, which does it and then runs this script)"
        )
    assert java is not None and javac is not None
    return java, javac


def require_distribution(distribution: str, version: str, hint: str) -> None:
    """Fail with `hint` unless `distribution` is installed at exactly `version`."""
    try:
        found = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise BuildError(f"the Python package {distribution} is not installed: {hint}") from None
    if found != version:
        raise BuildError(f"{distribution} {found} is installed but this build expects {version}: {hint}")


def iceberg_runtime_jar() -> Path:
    """The Iceberg Spark runtime jar inside the installed snowpark-connect-deps-iceberg package."""
    require_distribution(ICEBERG_DEPS_DIST, ICEBERG_DEPS_VERSION, "run `make spark`")
    jar = importlib.resources.files("snowpark_connect_deps_iceberg") / "jars" / ICEBERG_RUNTIME_JAR
    path = Path(str(jar))
    if not path.is_file():
        raise BuildError(f"{ICEBERG_RUNTIME_JAR} is not in the installed {ICEBERG_DEPS_DIST} ({path})")
    return path


def pyspark_jackson_jars() -> list[Path]:
    """pyspark's Jackson jars (one per module in JACKSON_MODULES), in that order."""
    try:
        importlib.metadata.version("pyspark")
    except importlib.metadata.PackageNotFoundError:
        raise BuildError("pyspark is not installed: run `make spark`") from None
    jars_dir = Path(str(importlib.resources.files("pyspark") / "jars"))
    found: list[Path] = []
    for module in JACKSON_MODULES:
        # `jackson-core-2.15.2.jar`, not `jackson-core-asl-1.9.13.jar`: the version starts with a digit.
        candidates = sorted(jars_dir.glob(f"{module}-[0-9]*.jar"))
        if len(candidates) != 1:
            raise BuildError(f"expected one {module} jar in {jars_dir}, found {[p.name for p in candidates]}")
        found.append(candidates[0])
    return found


def is_fresh(output: Path, inputs: Sequence[Path]) -> bool:
    """True when `output` exists and is newer than every input."""
    if not output.is_file():
        return False
    built = output.stat().st_mtime
    return all(path.stat().st_mtime < built for path in inputs)


def copy_runtime(runtime: Path, out_dir: Path) -> Path:
    """Copy the runtime jar next to the relocated one (one directory is the whole classpath)."""
    target = out_dir / ICEBERG_RUNTIME_JAR
    if is_fresh(target, [runtime]):
        log(f"up to date: {target}")
        return target
    log(f"copying {runtime} -> {target}")
    install(runtime, target)
    return target


def install(source: Path, target: Path) -> None:
    """Copy `source` to `target` atomically (a concurrent reader sees the old file or the new
    one). The copy gets a new mtime, which `is_fresh` relies on."""
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as partial:
        partial_path = Path(partial.name)
    try:
        shutil.copyfile(source, partial_path)
        partial_path.chmod(0o644)  # NamedTemporaryFile made it 0600
        partial_path.replace(target)
    except BaseException:
        partial_path.unlink(missing_ok=True)
        raise


def compile_tls_socket_strategy(javac: str, work: Path) -> Path:
    """Compile the empty TlsSocketStrategy interface (Java 8 bytecode, like httpclient5's own)."""
    source = work / "src" / "org" / "apache" / "hc" / "client5" / "http" / "ssl" / "TlsSocketStrategy.java"
    source.parent.mkdir(parents=True)
    source.write_text(TLS_SOCKET_STRATEGY_SOURCE)
    classes = work / "classes"
    log("compiling the empty org.apache.hc.client5.http.ssl.TlsSocketStrategy with javac")
    run([javac, "--release", "8", "-nowarn", "-d", str(classes), str(source)])
    return classes


def keep_entry(name: str) -> bool:
    """Classes only: no manifests, signatures, service files, Maven metadata, Java 9+ variants
    (`META-INF/versions/`, whose base classes are kept) or module descriptors; they either
    name un-relocated classes or would clash once merged."""
    return name.endswith(".class") and not name.startswith("META-INF/") and name != "module-info.class"


def merge_jars(jars: Sequence[Path], classes_dir: Path, target: Path) -> int:
    """Merge the classes of `jars` plus every class file under `classes_dir` into `target`;
    returns the number of classes. A class in two inputs is an error (the inputs are disjoint)."""
    seen: dict[str, Path] = {}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as merged:
        for jar in jars:
            with zipfile.ZipFile(jar) as source:
                for info in source.infolist():
                    if info.is_dir() or not keep_entry(info.filename):
                        continue
                    if info.filename in seen:
                        raise BuildError(f"{info.filename} is in both {seen[info.filename]} and {jar}")
                    seen[info.filename] = jar
                    merged.writestr(info, source.read(info))
        for path in sorted(classes_dir.rglob("*.class")):
            name = path.relative_to(classes_dir).as_posix()
            if name in seen:
                raise BuildError(f"{name} is in both {seen[name]} and the compiled stubs")
            seen[name] = path
            merged.write(path, name)
    return len(seen)


def check_relocated(jar: Path) -> None:
    """Every class lives under org/apache/iceberg/shaded/ and the ones Iceberg needs are there."""
    with zipfile.ZipFile(jar) as built:
        names = {name for name in built.namelist() if name.endswith(".class")}
    stray = sorted(name for name in names if not name.startswith("org/apache/iceberg/shaded/"))
    if stray:
        raise BuildError(f"{jar} has classes jarjar did not relocate, e.g. {stray[:3]}")
    absent = [name for name in REQUIRED_CLASSES if name not in names]
    if absent:
        raise BuildError(f"{jar} lacks {absent}")


def build_shaded_deps(java: str, javac: str, out_dir: Path) -> Path:
    """Build the relocated Jackson + httpclient5 jar unless it is newer than all its inputs."""
    target = out_dir / SHADED_DEPS_JAR
    libraries = [*pyspark_jackson_jars(), *(jar.path for jar in HTTP_JARS)]
    tools = [JARJAR.path, *(jar.path for jar in ASM_JARS)]
    if is_fresh(target, [*libraries, *tools, Path(__file__).resolve()]):
        log(f"up to date: {target}")
        return target
    with tempfile.TemporaryDirectory(prefix="spark-jars-") as tmp:
        work = Path(tmp)
        classes = compile_tls_socket_strategy(javac, work)
        merged = work / "merged.jar"
        count = merge_jars(libraries, classes, merged)
        log(f"merged {count} classes from {', '.join(p.name for p in libraries)} and the stub")
        rules = work / "rules.txt"
        rules.write_text(JARJAR_RULES)
        relocated = work / "relocated.jar"
        log(f"relocating com.fasterxml.jackson and org.apache.hc to {SHADED_PREFIX} with jarjar")
        jarjar = [java, "-cp", os.pathsep.join(str(p) for p in tools), "com.tonicsystems.jarjar.Main"]
        run([*jarjar, "process", str(rules), str(merged), str(relocated)])
        check_relocated(relocated)
        install(relocated, target)
    log(f"wrote {target}")
    return target


def run(command: Sequence[str]) -> None:
    """Run a tool (java, javac) on paths this script chose; BuildError with its output if it fails."""
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        output = result.stdout + result.stderr
        raise BuildError(f"{Path(command[0]).name} failed with exit code {result.returncode}:\n{output}")


def build(out_dir: Path = DEFAULT_OUT_DIR) -> list[Path]:
    """Build (or leave, when up to date) the jars in `out_dir`; returns them in classpath order:
    the Iceberg runtime, then the relocated Jackson + httpclient5."""
    java, javac = check_prerequisites()
    runtime = iceberg_runtime_jar()
    out_dir.mkdir(parents=True, exist_ok=True)
    return [copy_runtime(runtime, out_dir), build_shaded_deps(java, javac, out_dir)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help=f"directory for the jars (default: {DEFAULT_OUT_DIR.relative_to(REPO_ROOT)})",
    )
    args = parser.parse_args(argv)
    try:
        jars = build(args.out.resolve())
    except BuildError as error:
        print(f"build_spark_jars: error: {error}", file=sys.stderr)
        return 1
    log("Spark classpath: " + os.pathsep.join(str(jar) for jar in jars))
    return 0


if __name__ == "__main__":
    sys.exit(main())
