"""Benchmark: the spec's demo end to end (`sadeem demo`), seconds per step.

Starts the demo's components once, as `sadeem demo` does (SeaweedFS S3, `sadeem up` on an s3://
warehouse, Trino 476; Spark local through Sadeem's worker), timing each start, then runs the demo
flow `--repetitions` times on them (the first creates the workspace, jobs and tables; the later
ones reuse them: the ingest overwrites, Spark replaces its table) and prints the seconds of each
step (ingest, Spark run, Trino run, result) per repetition, with the median.

    .venv/bin/python -m bench.demo_flow [--repetitions 3] [--meters 40 --days 14]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sadeem.demo.flow import DemoData, run_demo
from sadeem.demo.stack import demo_stack

STEPS = ("workspace", "ingest", "spark", "trino", "result")


class Timings:
    """A `Progress` that records each step's seconds under its title."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def step(self, title: str) -> AbstractContextManager[None]:
        return self._timed(title)

    @contextmanager
    def _timed(self, title: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.seconds[title] = time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--meters", type=int, default=DemoData.meters)
    parser.add_argument("--days", type=int, default=DemoData.days)
    args = parser.parse_args()
    data = DemoData(args.meters, args.days)

    startup = Timings()
    with (
        tempfile.TemporaryDirectory(prefix="bench-demo-") as scratch,
        demo_stack(Path(scratch), startup) as stack,
    ):
        print("component start, seconds:")
        for title, seconds in startup.seconds.items():
            print(f"  {title:<48} {seconds:6.1f}")
        runs = []
        for repetition in range(1, args.repetitions + 1):
            started = time.monotonic()
            result = run_demo(stack.target, data=data)
            total = time.monotonic() - started
            runs.append({**result.seconds, "total": total})
            print(f"run {repetition}: {result.ingested_rows:,} rows, " + _line(runs[-1]))
        print(
            f"\nmedian of {len(runs)}: "
            + _line({step: statistics.median(run[step] for run in runs) for step in (*STEPS, "total")})
        )


def _line(seconds: dict[str, float]) -> str:
    return ", ".join(f"{step} {value:.1f} s" for step, value in seconds.items())


if __name__ == "__main__":
    main()
