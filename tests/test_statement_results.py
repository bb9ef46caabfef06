"""The worksheet's result files (ResultWriter, StoredResult) and the jobs' Parquet results, read
back every way they are served, with engines' small batches grouped into chunks and row groups."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sadeem.config import Settings
from sadeem.runs import results as run_results
from sadeem.statements import results

ROWS = 200_000
ENGINE_BATCH = 2_048


def table(rows: int = ROWS) -> pa.Table:
    ids = pa.array(range(rows), pa.int64())
    labels = pa.array([f"row {i}" for i in range(rows)], pa.string())
    return pa.table({"id": ids, "label": labels})


def written(
    directory: Path, data: pa.Table, batch_rows: int = ENGINE_BATCH, **limits: int
) -> results.WrittenResult:
    writer = results.ResultWriter(
        directory, max_rows=limits.get("max_rows", 10**9), max_bytes=limits.get("max_bytes", 1 << 40)
    )
    writer.start(data.schema)
    for batch in data.to_batches(max_chunksize=batch_rows):
        if not writer.write(batch):
            break
    return writer.finish()


def test_small_batches_are_grouped_into_a_small_first_chunk_then_full_chunks(tmp_path: Path) -> None:
    data = table()
    result = written(tmp_path, data)
    assert (result.rows, result.truncated) == (ROWS, False)
    stored = results.StoredResult(tmp_path)
    sizes = [chunk.rows for chunk in stored.chunks()]
    assert sizes == [results.FIRST_CHUNK_ROWS, 65_536, 65_536, 65_536, ROWS - 1_000 - 3 * 65_536]
    assert [chunk.first_row for chunk in stored.chunks()] == [0, 1_000, 66_536, 132_072, 197_608]
    # Each chunk keeps the engine's batches as they came (a 2,048-row batch split at row 1,000).
    assert [b.num_rows for b in stored.read_chunk(stored.chunks()[0])] == [1_000]
    second = stored.read_chunk(stored.chunks()[1])
    assert second[0].num_rows == 1_048 and all(b.num_rows <= ENGINE_BATCH for b in second)
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize(
    ("start", "count"), [(0, 10), (995, 10), (1_000, 2_048), (2_047, 5_000), (199_990, 50)]
)
def test_any_row_range_reads_exactly_those_rows(tmp_path: Path, start: int, count: int) -> None:
    data = table()
    written(tmp_path, data)
    got = pa.Table.from_batches(list(results.StoredResult(tmp_path).batches(start, count)))
    assert got.equals(data.slice(start, count))


def test_arrow_stream_csv_and_parquet_carry_every_row(tmp_path: Path) -> None:
    data = table()
    written(tmp_path, data)
    stored = results.StoredResult(tmp_path)
    stream = b"".join(bytes(part) for part in stored.arrow_stream())
    assert pa.ipc.open_stream(pa.py_buffer(stream)).read_all().equals(data)

    csv = b"".join(results.csv_chunks(stored)).decode()
    lines = csv.splitlines()
    assert (
        lines[0] == '"id","label"' and len(lines) == ROWS + 1 and lines[-1] == f'{ROWS - 1},"row {ROWS - 1}"'
    )

    parquet = tmp_path / "result.parquet"
    parquet.write_bytes(b"".join(results.parquet_chunks(stored)))
    file = pq.ParquetFile(parquet)
    # One row group per chunk, not one per engine batch.
    assert [file.metadata.row_group(i).num_rows for i in range(file.num_row_groups)] == [
        chunk.rows for chunk in stored.chunks()
    ]
    assert file.read().equals(data)


def test_row_limit_cuts_inside_a_batch_and_keeps_what_was_written(tmp_path: Path) -> None:
    data = table()
    result = written(tmp_path, data, max_rows=70_000)
    assert (result.rows, result.truncated) == (70_000, True)
    stored = results.StoredResult(tmp_path)
    assert stored.available_rows() == 70_000
    assert pa.Table.from_batches(list(stored.batches())).equals(data.slice(0, 70_000))


def test_byte_limit_stops_before_the_batch_that_would_pass_it(tmp_path: Path) -> None:
    data = table()
    one_batch = data.slice(0, ENGINE_BATCH).to_batches()[0].serialize().size
    result = written(tmp_path, data, max_bytes=one_batch * 10)
    assert result.truncated and 0 < result.bytes <= one_batch * 10
    stored = results.StoredResult(tmp_path)
    assert stored.available_rows() == result.rows
    assert pa.Table.from_batches(list(stored.batches())).equals(data.slice(0, result.rows))


def test_a_chunk_appears_only_once_complete(tmp_path: Path) -> None:
    data = table(5_000)
    writer = results.ResultWriter(tmp_path, max_rows=10**9, max_bytes=1 << 40)
    writer.start(data.schema)
    batches = data.to_batches(max_chunksize=ENGINE_BATCH)
    writer.write(batches[0])  # 2,048 rows: the first chunk (1,000) is complete, the next is not
    assert [chunk.rows for chunk in results.StoredResult(tmp_path).chunks()] == [1_000]
    for batch in batches[1:]:
        writer.write(batch)
    assert [chunk.rows for chunk in results.StoredResult(tmp_path).chunks()] == [1_000]
    writer.finish()
    assert [chunk.rows for chunk in results.StoredResult(tmp_path).chunks()] == [1_000, 4_000]


def test_job_results_group_small_batches_into_row_groups(tmp_path: Path) -> None:
    data = table()
    reader = pa.RecordBatchReader.from_batches(data.schema, data.to_batches(max_chunksize=ENGINE_BATCH))
    path = tmp_path / "result.parquet"
    stored = run_results.store(Settings(home=tmp_path), reader, path.as_uri(), preview_rows=3)
    assert (stored.rows, stored.preview) == (ROWS, [[0, "row 0"], [1, "row 1"], [2, "row 2"]])
    file = pq.ParquetFile(path)
    groups = [file.metadata.row_group(i).num_rows for i in range(file.num_row_groups)]
    assert groups == [65_536, 65_536, 65_536, ROWS - 3 * 65_536]
    assert file.read().equals(data)
