"""Benchmark: CSV ingest into an Iceberg table vs pyarrow's own read-then-write.

Side by side in one run, on the same ~1 GB CSV of meter readings (generated once, cached in
/tmp/sadeem-bench/), each in its own child process so that peak memory is measured separately:

- `pyarrow`: `pyarrow.csv.read_csv` of the whole file, then `pyarrow.parquet.write_table` to one
  Parquet file, zstd like the ingest (the fastest way to convert, with the whole table in memory);
- `ingest`: `sadeem.ingest.service.ingest(..., "csv", "create")` into a SqlCatalog table (SQLite
  catalog, local warehouse): streaming parse, Iceberg data files, one commit.

Reports throughput in MB of CSV per second, the ratio ingest/pyarrow and each child's peak RSS.
Targets: ratio >= 0.7, ingest peak RSS a small fraction of the file size. On shared
machines, use `--repeat` (runs alternate; the best of each is reported).

    .venv/bin/python -m bench.ingest_csv [--size-gb 1.0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

CACHE = Path(tempfile.gettempdir()) / "sadeem-bench"
MB = 1_000_000


def cached_csv(size_gb: float) -> Path:
    """A CSV of at least `size_gb` GB (10^9 bytes), generated on first use."""
    from sadeem.ingest.demo_data import meter_reading_batches, write_meter_readings_csv

    path = CACHE / f"meter_readings-{size_gb:g}gb.csv"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    target = size_gb * 1e9

    def until_large_enough() -> Iterator[pa.RecordBatch]:
        # 20,000 meters every 15 minutes: ~135 MB of CSV a day.
        for batch in meter_reading_batches(meters=20_000, days=10_000, readings_per_day=96):
            if partial.exists() and partial.stat().st_size >= target:
                return
            yield batch

    print(f"Generating {path} ...", flush=True)
    write_meter_readings_csv(partial, until_large_enough())
    partial.rename(path)
    return path


def run_pyarrow(source: Path, work: Path) -> dict[str, object]:
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    started = time.perf_counter()
    table = pa_csv.read_csv(source)
    read_seconds = time.perf_counter() - started
    pq.write_table(table, work / "converted.parquet", compression="zstd")
    return {
        "rows": table.num_rows,
        "bytes_written": (work / "converted.parquet").stat().st_size,
        "read_seconds": read_seconds,
    }


def run_ingest(source: Path, work: Path) -> dict[str, object]:
    from pyiceberg.catalog.sql import SqlCatalog

    from sadeem.ingest.service import ingest

    catalog = SqlCatalog("sadeem", uri=f"sqlite:///{work / 'catalog.db'}", warehouse=f"file://{work / 'wh'}")
    catalog.create_namespace("bench")
    result = ingest(catalog, "bench.meter_readings", source, "csv", "create")
    return {"rows": result.rows, "bytes_written": result.bytes_written, "data_files": result.data_files}


RUNNERS = {"pyarrow": run_pyarrow, "ingest": run_ingest}


def peak_rss_bytes() -> int:
    """This process's resident-memory high-water mark.

    Not `getrusage().ru_maxrss`: Linux carries that over from the parent through fork and exec,
    so a child would report the parent's peak. VmHWM belongs to the process's own address space.
    """
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1)) * 1024  # type: ignore[union-attr]


def child(kind: str, source: Path, work: Path) -> None:
    """Runs in a fresh interpreter: import first, so the timing and the RSS growth are the work's."""
    import pyarrow.csv
    import pyarrow.parquet  # noqa: F401
    import pyiceberg.catalog.sql  # noqa: F401

    import sadeem.ingest.service  # noqa: F401

    rss_before = peak_rss_bytes()
    started = time.perf_counter()
    details = RUNNERS[kind](source, work)
    seconds = time.perf_counter() - started
    peak_rss = peak_rss_bytes()
    print(json.dumps({"seconds": seconds, "peak_rss": peak_rss, "rss_before": rss_before, **details}))


@dataclass
class Measured:
    kind: str
    seconds: float
    peak_rss: int
    rss_before: int
    rows: int
    bytes_written: int
    read_seconds: float | None


def measure(kind: str, source: Path) -> Measured:
    work = Path(tempfile.mkdtemp(prefix=f"sadeem-bench-{kind}-"))
    try:
        out = subprocess.run(
            [sys.executable, "-m", "bench.ingest_csv", "--child", kind, str(source), str(work)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures = json.loads(out.strip().splitlines()[-1])
    return Measured(
        kind,
        figures["seconds"],
        figures["peak_rss"],
        figures["rss_before"],
        figures["rows"],
        figures["bytes_written"],
        figures.get("read_seconds"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=1, help="alternating runs of each; best is reported")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "SOURCE", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, source, work = args.child
        child(kind, Path(source), Path(work))
        return

    source = cached_csv(args.size_gb)
    size = source.stat().st_size
    runs: dict[str, list[Measured]] = {kind: [] for kind in RUNNERS}
    for round_number in range(1, args.repeat + 1):
        for kind in RUNNERS:
            measured = measure(kind, source)
            runs[kind].append(measured)
            print(f"  round {round_number} {kind:>8}: {measured.seconds:6.2f} s", flush=True)

    best = {kind: min(measured, key=lambda m: m.seconds) for kind, measured in runs.items()}
    assert best["pyarrow"].rows == best["ingest"].rows, "both must read every row"
    print(f"\n{source.name}: {size / MB:,.0f} MB, {best['ingest'].rows:,} rows; best of {args.repeat}")
    header = ("path", "seconds", "MB/s", "peak RSS MB", "RSS growth MB", "written MB")
    print("".join(f"{h:>15}" for h in header))
    for kind, m in best.items():
        print(
            f"{kind:>15}{m.seconds:>15.2f}{size / MB / m.seconds:>15.1f}{m.peak_rss / MB:>15.0f}"
            f"{(m.peak_rss - m.rss_before) / MB:>15.0f}{m.bytes_written / MB:>15.1f}"
        )
    if (read_seconds := best["pyarrow"].read_seconds) is not None:
        write_seconds = best["pyarrow"].seconds - read_seconds
        print(f"(pyarrow: read_csv {read_seconds:.2f} s + write_table {write_seconds:.2f} s)")
    ratio = best["pyarrow"].seconds / best["ingest"].seconds
    print(f"\ningest throughput / pyarrow throughput = {ratio:.2f}x (target >= 0.7x)")
    all_runs = {kind: [round(m.seconds, 2) for m in measured] for kind, measured in runs.items()}
    print(f"all runs (s): {all_runs}")


if __name__ == "__main__":
    main()
