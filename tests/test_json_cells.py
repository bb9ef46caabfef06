"""The result contract (sadeem.results.json_cells): one encoding of cells and columns for every
JSON result, the fast path (DuckDB formats flat columns) agreeing with the general one."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal

import orjson
import pyarrow as pa

from sadeem.results.json_cells import json_rows, json_rows_text, result_columns

BIG = 2**62 + 7


def _both(table: pa.Table) -> list[list[object]]:
    general = json_rows(table.to_batches())
    assert orjson.loads(b"[" + json_rows_text(table.to_batches()) + b"]") == general
    return general


def test_flat_cells_read_the_same_by_both_paths() -> None:
    table = pa.table(
        {
            "small": pa.array([1, -(2**53) + 1], pa.int64()),
            "name": pa.array(["a", None], pa.large_string()),
            "amount": pa.array([Decimal("12.30"), Decimal("0.0000000001")], pa.decimal128(20, 10)),
            "at": pa.array([datetime(2024, 5, 1, 10, tzinfo=UTC), None], pa.timestamp("us", tz="UTC")),
            "day": pa.array([date(2024, 5, 1), date(9999, 12, 31)], pa.date32()),
            "moment": pa.array([time(3, 4, 5), None], pa.time64("us")),
        }
    )
    assert _both(table) == [
        [1, "a", "12.3000000000", "2024-05-01T10:00:00.000000Z", "2024-05-01", "03:04:05.000000"],
        [-(2**53) + 1, None, "0.0000000001", None, "9999-12-31", None],
    ]


def test_what_json_would_lose_is_text() -> None:
    table = pa.table(
        {
            "id": pa.array([1, BIG], pa.int64()),
            "unsigned": pa.array([2**64 - 1, 2], pa.uint64()),
            "ratio": pa.array([float("nan"), float("-inf")]),
            "payload": pa.array([b"\x00\x01\xff", None], pa.binary()),
            "key": pa.array([uuid.UUID(int=1).bytes, None], pa.uuid()),
            "attrs": pa.array([[("k", BIG)], []], pa.map_(pa.string(), pa.int64())),
            "point": pa.array([{"x": 1.5}, None], pa.struct([("x", pa.float64())])),
        }
    )
    assert _both(table) == [
        [1, str(2**64 - 1), "NaN", "AAH/", str(uuid.UUID(int=1)), [["k", str(BIG)]], {"x": 1.5}],
        [str(BIG), 2, "-Infinity", None, None, [], None],
    ]


def test_columns_are_named_with_their_arrow_types() -> None:
    schema = pa.schema([("id", pa.int64()), ("at", pa.timestamp("us", tz="UTC"))])
    assert result_columns(schema) == [
        {"name": "id", "type": "int64"},
        {"name": "at", "type": "timestamp[us, tz=UTC]"},
    ]


def test_many_threads_format_pages_at_once_without_freezing() -> None:
    """The fast path shares one DuckDB connection: 48 threads formatting pages at once froze the
    whole server when a result was read outside the lock. Run in a child process, so a freeze
    fails the test instead of hanging the suite."""
    program = textwrap.dedent(
        """
        import threading
        import pyarrow as pa
        from sadeem.results.json_cells import json_rows_text
        table = pa.table({"a": list(range(5000)), "b": [f"x{i}" for i in range(5000)]})
        def work():
            for _ in range(10):
                assert json_rows_text(table.to_batches()).startswith(b'[0,"x0"]')
        threads = [threading.Thread(target=work) for _ in range(48)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print("done")
        """
    )
    finished = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert finished.returncode == 0 and finished.stdout.strip() == "done", finished.stderr[-2000:]
