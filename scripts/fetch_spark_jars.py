"""Fetch the official Iceberg jars local Spark runs with (pinned versions and SHA-256 checksums in
`sadeem.engines.spark_jars`) from Maven Central into ${XDG_CACHE_HOME:-$HOME/.cache}/sadeem/.
Jars already there with the right checksum are kept, so running it again costs a hash.

    .venv/bin/python scripts/fetch_spark_jars.py [--repository URL]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sadeem.engines.spark_jars import MAVEN_CENTRAL, FetchError, fetch


def log(message: str) -> None:
    print(f"fetch_spark_jars: {message}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--repository", default=MAVEN_CENTRAL, help=f"a Maven repository mirror (default: {MAVEN_CENTRAL})"
    )
    args = parser.parse_args(argv)
    try:
        jars = fetch(repository=args.repository.rstrip("/"), log=log)
    except FetchError as error:
        print(f"fetch_spark_jars: error: {error}", file=sys.stderr)
        return 1
    log("Spark classpath: " + ":".join(str(jar) for jar in jars))
    return 0


if __name__ == "__main__":
    sys.exit(main())
