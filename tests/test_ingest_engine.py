"""The ingest engine against a real pyiceberg SqlCatalog (SQLite file, local warehouse); no HTTP."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException, CommitStateUnknownException
from pyiceberg.schema import Schema
from pyiceberg.table import CommitTableResponse, Table
from pyiceberg.table.update import TableRequirement, TableUpdate
from pyiceberg.types import DoubleType, IntegerType, LongType, NestedField, StringType

from sadeem.core.errors import Conflict, InvalidInput, NotFound, Unavailable
from sadeem.ingest import datafiles, demo_data, reader, service
from sadeem.ingest.service import IngestResult, ingest

NAMESPACE = "lake"


def make_catalog(root: Path, cls: type[SqlCatalog] = SqlCatalog) -> SqlCatalog:
    return cls("sadeem", uri=f"sqlite:///{root}/cat.db", warehouse=f"file://{root}/wh")


@pytest.fixture
def catalog(tmp_path: Path) -> SqlCatalog:
    created = make_catalog(tmp_path)
    created.create_namespace(NAMESPACE)
    return created


def write_source(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def data_files_on_disk(root: Path) -> set[Path]:
    return set((root / "wh").rglob("*.parquet"))


def read_back(catalog: SqlCatalog, name: str) -> list[dict[str, Any]]:
    rows = catalog.load_table((NAMESPACE, name)).scan().to_arrow().to_pylist()
    return sorted(rows, key=lambda row: [(value is None, value) for value in row.values()])


def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "COMMIT_BACKOFF_FIRST_S", 0.001)
    monkeypatch.setattr(service, "COMMIT_BACKOFF_MAX_S", 0.01)


READINGS_CSV = """meter_id,reading_at,kwh,count,ok,day,note
M1,2024-06-01 00:00:00,1.5,3,true,2024-06-01,
M2,2024-06-01 01:30:00,2.25,4,false,2024-06-02,
M3,2024-06-02 00:00:00,,5,true,2024-06-03,
"""


# --- round trips -------------------------------------------------------------------------------


def test_create_infers_iceberg_types_and_round_trips(catalog: SqlCatalog, tmp_path: Path) -> None:
    source = write_source(tmp_path / "readings.csv", READINGS_CSV)
    seen: list[tuple[int, int]] = []

    result = ingest(
        catalog, f"{NAMESPACE}.readings", source, "csv", "create", progress=lambda *p: seen.append(p)
    )

    assert (result.table, result.mode, result.rows, result.attempts) == ("lake.readings", "create", 3, 1)
    assert result.data_files == 1 and result.bytes_written > 0 and result.duration_s > 0
    table = catalog.load_table((NAMESPACE, "readings"))
    assert table.current_snapshot().snapshot_id == result.snapshot_id  # type: ignore[union-attr]
    assert len(table.snapshots()) == 1
    assert {f.name: str(f.field_type) for f in table.schema().fields} == {
        "meter_id": "string",
        "reading_at": "timestamp",  # no zone in the file: stays a local timestamp
        "kwh": "double",
        "count": "long",
        "ok": "boolean",
        "day": "date",
        "note": "string",  # empty in the whole file: text
    }
    assert not any(f.required for f in table.schema().fields)
    assert read_back(catalog, "readings") == [
        {
            "meter_id": "M1",
            "reading_at": dt.datetime(2024, 6, 1),
            "kwh": 1.5,
            "count": 3,
            "ok": True,
            "day": dt.date(2024, 6, 1),
            "note": None,
        },
        {
            "meter_id": "M2",
            "reading_at": dt.datetime(2024, 6, 1, 1, 30),
            "kwh": 2.25,
            "count": 4,
            "ok": False,
            "day": dt.date(2024, 6, 2),
            "note": None,
        },
        {
            "meter_id": "M3",
            "reading_at": dt.datetime(2024, 6, 2),
            "kwh": None,
            "count": 5,
            "ok": True,
            "day": dt.date(2024, 6, 3),
            "note": None,
        },
    ]
    size = source.stat().st_size
    assert seen[-1] == (size, size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_append_and_overwrite_each_make_one_snapshot(catalog: SqlCatalog, tmp_path: Path) -> None:
    first = write_source(tmp_path / "first.csv", "id,city\n1,Riyadh\n2,Jeddah\n")
    second = write_source(tmp_path / "second.csv", "id,city\n3,Dammam\n")
    replacement = write_source(tmp_path / "replacement.csv", "id,city\n9,Abha\n10,Tabuk\n")

    ingest(catalog, (NAMESPACE, "cities"), first, "csv", "create")
    appended = ingest(catalog, (NAMESPACE, "cities"), second, "csv", "append")
    assert (appended.mode, appended.rows) == ("append", 1)
    assert [row["id"] for row in read_back(catalog, "cities")] == [1, 2, 3]

    replaced = ingest(catalog, (NAMESPACE, "cities"), replacement, "csv", "overwrite")
    assert (replaced.mode, replaced.rows) == ("overwrite", 2)
    assert read_back(catalog, "cities") == [{"id": 9, "city": "Abha"}, {"id": 10, "city": "Tabuk"}]
    table = catalog.load_table((NAMESPACE, "cities"))
    assert [s.summary.operation.value for s in table.snapshots()] == ["append", "append", "overwrite"]  # type: ignore[union-attr]
    assert table.current_snapshot().snapshot_id == replaced.snapshot_id  # type: ignore[union-attr]
    assert table.current_snapshot().summary["sadeem.ingest.source-format"] == "csv"  # type: ignore[union-attr,index]


def test_csv_dialect_details(catalog: SqlCatalog, tmp_path: Path) -> None:
    """UTF-8 byte order mark, CRLF, quoted line breaks, zoned timestamps; only an empty field is
    missing (`NA` is a country code, `""` an empty string)."""
    source = write_source(
        tmp_path / "dialect.csv",
        b"\xef\xbb\xbf id ,note,country,at\r\n"
        b'1,"two\nlines",NA,2024-01-01T03:00:00+03:00\r\n'
        b'2,"",,2024-01-01T00:00:00Z\r\n',
    )

    ingest(catalog, f"{NAMESPACE}.dialect", source, "csv", "create")

    table = catalog.load_table((NAMESPACE, "dialect"))
    assert [str(f.field_type) for f in table.schema().fields] == ["long", "string", "string", "timestamptz"]
    midnight_utc = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert read_back(catalog, "dialect") == [
        {"id": 1, "note": "two\nlines", "country": "NA", "at": midnight_utc},
        {"id": 2, "note": "", "country": None, "at": midnight_utc},
    ]


def test_csv_append_parses_text_into_the_tables_types(catalog: SqlCatalog, tmp_path: Path) -> None:
    """'00123' stays text in a string column; inference alone would have made it a number."""
    catalog.create_table(
        (NAMESPACE, "accounts"),
        Schema(
            NestedField(1, "account", StringType(), required=True),
            NestedField(2, "balance", DoubleType()),
            NestedField(3, "branch", StringType()),
        ),
    )
    source = write_source(tmp_path / "accounts.csv", "account,balance\n00123,10\n00456,7\n")

    ingest(catalog, f"{NAMESPACE}.accounts", source, "csv", "append")

    assert read_back(catalog, "accounts") == [
        {"account": "00123", "balance": 10.0, "branch": None},  # missing optional column: nulls
        {"account": "00456", "balance": 7.0, "branch": None},
    ]


def test_parquet_round_trip_with_safe_widening(catalog: SqlCatalog, tmp_path: Path) -> None:
    catalog.create_table(
        (NAMESPACE, "measures"), Schema(NestedField(1, "n", LongType()), NestedField(2, "x", DoubleType()))
    )
    narrow = pa.table({"n": pa.array([1, 2, None], pa.int32()), "x": pa.array([0.5, 1.5, 2.5], pa.float32())})
    pq.write_table(narrow, tmp_path / "narrow.parquet")

    result = ingest(catalog, (NAMESPACE, "measures"), tmp_path / "narrow.parquet", "parquet", "append")

    assert result.rows == 3
    assert read_back(catalog, "measures") == [
        {"n": 1, "x": 0.5},
        {"n": 2, "x": 1.5},
        {"n": None, "x": 2.5},
    ]


def test_value_that_does_not_fit_the_table_type_is_refused(catalog: SqlCatalog, tmp_path: Path) -> None:
    catalog.create_table((NAMESPACE, "small"), Schema(NestedField(1, "n", IntegerType())))
    pq.write_table(pa.table({"n": pa.array([1, 2**40], pa.int64())}), tmp_path / "wide.parquet")
    with pytest.raises(InvalidInput, match="Column 'n' has values that do not fit the table's type int"):
        ingest(catalog, (NAMESPACE, "small"), tmp_path / "wide.parquet", "parquet", "append")
    assert data_files_on_disk(tmp_path) == set()


def test_parquet_create_normalises_types(catalog: SqlCatalog, tmp_path: Path) -> None:
    source = pa.table(
        {
            "small": pa.array([1, 2], pa.int16()),
            "label": pa.array(["a", "b"]).dictionary_encode(),
            "at": pa.array(
                [dt.datetime(2024, 1, 1, 0, 0, 0, 123456), None], pa.timestamp("ns", tz="Asia/Riyadh")
            ),
            "big": pa.array(["x", "y"], pa.large_string()),
        }
    )
    pq.write_table(source, tmp_path / "typed.parquet")

    ingest(catalog, (NAMESPACE, "typed"), tmp_path / "typed.parquet", "parquet", "create")

    table = catalog.load_table((NAMESPACE, "typed"))
    assert [str(f.field_type) for f in table.schema().fields] == ["int", "string", "timestamptz", "string"]
    assert sorted(table.scan().to_arrow().column("label").to_pylist()) == ["a", "b"]


def test_nested_namespace(catalog: SqlCatalog, tmp_path: Path) -> None:
    catalog.create_namespace((NAMESPACE, "raw"))
    source = write_source(tmp_path / "x.csv", "a\n1\n")
    assert ingest(catalog, f"{NAMESPACE}.raw.t", source, "csv", "create").table == "lake.raw.t"
    assert ingest(catalog, (f"{NAMESPACE}.raw", "t"), source, "csv", "append").rows == 1
    assert catalog.load_table((NAMESPACE, "raw", "t")).scan().to_arrow().num_rows == 2


def test_create_or_append(catalog: SqlCatalog, tmp_path: Path) -> None:
    source = write_source(tmp_path / "x.csv", "a\n1\n")
    assert ingest(catalog, f"{NAMESPACE}.t", source, "csv", "create_or_append").mode == "create"
    assert ingest(catalog, f"{NAMESPACE}.t", source, "csv", "create_or_append").mode == "append"
    assert [row["a"] for row in read_back(catalog, "t")] == [1, 1]


def test_header_only_file_creates_an_empty_table(catalog: SqlCatalog, tmp_path: Path) -> None:
    result = ingest(catalog, f"{NAMESPACE}.empty", write_source(tmp_path / "e.csv", "a,b\n"), "csv", "create")
    assert (result.rows, result.data_files) == (0, 0)
    assert read_back(catalog, "empty") == []


# --- refusals before anything is written -------------------------------------------------------


def test_identifier_mode_and_existence_errors(catalog: SqlCatalog, tmp_path: Path) -> None:
    source = write_source(tmp_path / "x.csv", "a\n1\n")
    for unnamed in ("no_namespace", "lake.", ".t", "a..t", ("lake", "")):
        with pytest.raises(InvalidInput, match=r"namespace\.table"):
            ingest(catalog, unnamed, source, "csv", "create")
    with pytest.raises(InvalidInput, match="mode"):
        ingest(catalog, f"{NAMESPACE}.t", source, "csv", "upsert")
    with pytest.raises(InvalidInput, match="format"):
        ingest(catalog, f"{NAMESPACE}.t", source, "json", "create")
    with pytest.raises(NotFound, match="Namespace 'elsewhere'"):
        ingest(catalog, "elsewhere.t", source, "csv", "create")
    with pytest.raises(NotFound, match=r"lake\.t does not exist"):
        ingest(catalog, f"{NAMESPACE}.t", source, "csv", "append")
    with pytest.raises(InvalidInput, match="location"):
        ingest(catalog, f"{NAMESPACE}.t", source, "csv", "overwrite", location="file:///elsewhere")
    ingest(catalog, f"{NAMESPACE}.t", source, "csv", "create")
    with pytest.raises(Conflict, match="already exists"):
        ingest(catalog, f"{NAMESPACE}.t", source, "csv", "create")


def test_schema_mismatch_lists_both_sides_and_writes_nothing(catalog: SqlCatalog, tmp_path: Path) -> None:
    catalog.create_table(
        (NAMESPACE, "meters"),
        Schema(
            NestedField(1, "meter_id", StringType(), required=True),
            NestedField(2, "kwh", DoubleType()),
            NestedField(3, "reads", LongType()),
        ),
    )
    pq.write_table(
        pa.table({"kwh": ["high", "low"], "reads": [1.5, 2.5], "colour": ["red", "blue"]}),
        tmp_path / "bad.parquet",
    )
    before = data_files_on_disk(tmp_path)

    with pytest.raises(InvalidInput) as refused:
        ingest(catalog, f"{NAMESPACE}.meters", tmp_path / "bad.parquet", "parquet", "append")

    message = refused.value.detail
    assert "required column 'meter_id' is missing" in message
    assert "column 'kwh' is string in the file but double in the table" in message
    assert "column 'reads' is double in the file but long in the table" in message  # no silent float->int
    assert "column 'colour' is not in the table" in message
    assert "Table columns: meter_id string (required), kwh double, reads long." in message
    assert "File columns: kwh string, reads double, colour string." in message
    assert data_files_on_disk(tmp_path) == before
    assert catalog.load_table((NAMESPACE, "meters")).current_snapshot() is None


def test_required_column_with_gaps_is_refused(catalog: SqlCatalog, tmp_path: Path) -> None:
    catalog.create_table(
        (NAMESPACE, "strict"),
        Schema(NestedField(1, "id", LongType(), required=True), NestedField(2, "name", StringType())),
    )
    source = write_source(tmp_path / "s.csv", "id,name\n1,a\n,b\n")
    with pytest.raises(InvalidInput, match="'id' is required by the table but has empty values"):
        ingest(catalog, f"{NAMESPACE}.strict", source, "csv", "append")


SECRET = "s3cr3t-token"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (f"a,b\n1,2\n3,4,{SECRET}\n".encode(), "Row has 3 fields but the header has 2|A row has 3 fields"),
        (f"a,b\n1,{SECRET}\xe9\n".encode("latin-1"), "'b' is not valid UTF-8"),
        (b"a,\xff\n1,2\n", "header is not valid UTF-8"),
        (b"PAR1\x00\x00garbage", "Parquet file, not CSV"),
        (b"a,b\n\x00\x01\x02,3\n", "binary file"),
        (f"a,,c\n1,2,{SECRET}\n".encode(), r"Column\(s\) 2 have an empty name"),
        (f"id,Kwh,kwh\n1,2,{SECRET}\n".encode(), "Duplicate column names.*'Kwh' and 'kwh'"),
        (f' a ,"b\tc"\n1,{SECRET}\n'.encode(), "control characters"),
        (f"a;b\n1;{SECRET}\n".encode(), "name contains ';': the file seems to be separated by that"),
        (b"a,b", "no header row"),
    ],
)
def test_bad_csv_files_are_refused_without_quoting_them(
    catalog: SqlCatalog, tmp_path: Path, content: bytes, expected: str
) -> None:
    with pytest.raises(InvalidInput, match=expected) as refused:
        ingest(catalog, f"{NAMESPACE}.bad", write_source(tmp_path / "bad.csv", content), "csv", "create")
    assert SECRET not in refused.value.detail
    assert "\n" not in refused.value.detail
    assert not catalog.table_exists((NAMESPACE, "bad"))


def test_not_parquet_or_unsupported_parquet_is_refused(catalog: SqlCatalog, tmp_path: Path) -> None:
    source = write_source(tmp_path / "x.parquet", "a,b\n1,2\n")
    with pytest.raises(InvalidInput, match="not a readable Parquet file"):
        ingest(catalog, f"{NAMESPACE}.p", source, "parquet", "create")
    pq.write_table(pa.table({"tags": [["a"], ["b", "c"]]}), tmp_path / "nested.parquet")
    with pytest.raises(InvalidInput, match="'tags' has type list<element: string>; only flat columns"):
        ingest(catalog, f"{NAMESPACE}.p", tmp_path / "nested.parquet", "parquet", "create")
    assert not catalog.table_exists((NAMESPACE, "p"))


def test_late_bad_value_fails_the_ingest_and_removes_its_files(
    catalog: SqlCatalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Types are inferred from a sample; a value after it that does not fit fails the whole ingest
    (after data files were written) and leaves neither a table nor files behind."""
    monkeypatch.setattr(reader, "CSV_TYPE_SAMPLE_BYTES", 64)
    monkeypatch.setattr(reader, "CSV_BLOCK_BYTES", 64)
    monkeypatch.setattr(datafiles, "ROW_GROUP_BYTES", 1)
    source = write_source(
        tmp_path / "late.csv", "n,label\n" + "".join(f"{i},row{i}\n" for i in range(200)) + "x,1\n"
    )
    discarded: list[str] = []
    real_discard = datafiles.DataFileWriter.discard

    def note_discarded(self: datafiles.DataFileWriter) -> None:
        discarded.extend(self.paths_written)
        real_discard(self)

    monkeypatch.setattr(datafiles.DataFileWriter, "discard", note_discarded)

    with pytest.raises(
        InvalidInput, match=r"'n' has a value that is not a valid int64 \(the type was inferred"
    ):
        ingest(catalog, f"{NAMESPACE}.late", source, "csv", "create")

    assert discarded, "the failure should come after data files were written"
    assert not catalog.table_exists((NAMESPACE, "late"))
    assert data_files_on_disk(tmp_path) == set()


# --- commits: conflicts, retries, unknown outcomes ---------------------------------------------


def test_concurrent_appends_all_land(tmp_path: Path) -> None:
    """The worst case on purpose: one-row files, so each ingest is almost nothing but its commit,
    and eight writers commit back to back into one table. pyiceberg spends 20-200 ms of GIL time
    per commit (it deep-copies the table metadata repeatedly), so on a busy 2-core runner a writer
    can lose more than the default 8 races; the budget here is larger, the backoff the default."""
    threads, per_thread = 8, 10
    setup = make_catalog(tmp_path)
    setup.create_namespace(NAMESPACE)
    ingest(
        setup,
        f"{NAMESPACE}.shared",
        write_source(tmp_path / "seed.csv", "writer,seq\n-1,-1\n"),
        "csv",
        "create",
    )
    results: list[IngestResult] = []
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def writer(number: int) -> None:
        own_catalog = make_catalog(tmp_path)  # as separate processes would have
        try:
            start.wait()
            for seq in range(per_thread):
                source = write_source(tmp_path / f"w{number}-{seq}.csv", f"writer,seq\n{number},{seq}\n")
                results.append(
                    ingest(
                        own_catalog, f"{NAMESPACE}.shared", source, "csv", "append", max_commit_attempts=30
                    )
                )
        except BaseException as error:
            failures.append(error)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert failures == []
    rows = {(row["writer"], row["seq"]) for row in read_back(setup, "shared")}
    assert rows == {(-1, -1)} | {(n, s) for n in range(threads) for s in range(per_thread)}
    assert len(read_back(setup, "shared")) == threads * per_thread + 1
    assert len(setup.load_table((NAMESPACE, "shared")).snapshots()) == threads * per_thread + 1
    assert max(result.attempts for result in results) > 1, "no commit ever had to be retried"


class ScriptedCatalog(SqlCatalog):
    """A SqlCatalog whose commits can be made to fail, before or after really committing."""

    script: Callable[[ScriptedCatalog, Table, tuple[TableRequirement, ...], tuple[TableUpdate, ...]], Any]

    def commit_table(
        self, table: Table, requirements: tuple[TableRequirement, ...], updates: tuple[TableUpdate, ...]
    ) -> CommitTableResponse:
        return self.script(self, table, requirements, updates)


def scripted(tmp_path: Path, script: Any) -> ScriptedCatalog:
    found = make_catalog(tmp_path, ScriptedCatalog)
    assert isinstance(found, ScriptedCatalog)
    found.script = script
    return found


def seeded_table(tmp_path: Path) -> Path:
    setup = make_catalog(tmp_path)
    setup.create_namespace(NAMESPACE)
    ingest(setup, f"{NAMESPACE}.t", write_source(tmp_path / "seed.csv", "a,b\n1,x\n"), "csv", "create")
    return write_source(tmp_path / "more.csv", "a,b\n2,y\n")


def test_gives_up_with_conflict_after_max_attempts_and_removes_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_backoff(monkeypatch)
    source = seeded_table(tmp_path)
    before = data_files_on_disk(tmp_path)
    calls: list[int] = []

    def always_lose(*_: Any) -> Any:
        calls.append(1)
        raise CommitFailedException("someone else committed first")

    with pytest.raises(Conflict, match="gave up after 3 commit attempts"):
        ingest(
            scripted(tmp_path, always_lose), f"{NAMESPACE}.t", source, "csv", "append", max_commit_attempts=3
        )
    assert len(calls) == 3  # pyiceberg's own retries stayed out of the way
    assert data_files_on_disk(tmp_path) == before


def test_retry_reuses_the_written_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast_backoff(monkeypatch)
    source = seeded_table(tmp_path)
    added_paths: list[set[str]] = []

    def lose_once(catalog: ScriptedCatalog, table: Table, requirements: Any, updates: Any) -> Any:
        snapshot = next(u.snapshot for u in updates if u.action == "add-snapshot")
        added = {
            entry.data_file.file_path
            for manifest in snapshot.manifests(table.io)
            if manifest.added_snapshot_id == snapshot.snapshot_id
            for entry in manifest.fetch_manifest_entry(table.io)
        }
        added_paths.append(added)
        if len(added_paths) == 1:
            raise CommitFailedException("lost a race")
        return SqlCatalog.commit_table(catalog, table, requirements, updates)

    result = ingest(scripted(tmp_path, lose_once), f"{NAMESPACE}.t", source, "csv", "append")

    assert result.attempts == 2
    assert len(added_paths) == 2 and added_paths[0] == added_paths[1] and len(added_paths[0]) == 1
    assert sorted(row["a"] for row in read_back(make_catalog(tmp_path), "t")) == [1, 2]


def test_schema_change_during_ingest_is_a_conflict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast_backoff(monkeypatch)
    source = seeded_table(tmp_path)
    before = data_files_on_disk(tmp_path)

    def drop_column_then_lose(catalog: ScriptedCatalog, *_: Any) -> Any:
        with make_catalog(tmp_path).load_table((NAMESPACE, "t")).update_schema() as update:
            update.delete_column("b")
        raise CommitFailedException("lost a race")

    with pytest.raises(Conflict, match=r"changed during the ingest \(column 'b' was dropped\)"):
        ingest(scripted(tmp_path, drop_column_then_lose), f"{NAMESPACE}.t", source, "csv", "append")
    assert data_files_on_disk(tmp_path) == before


def test_unknown_commit_outcome_keeps_the_files(tmp_path: Path) -> None:
    source = seeded_table(tmp_path)
    before = data_files_on_disk(tmp_path)

    def no_answer(*_: Any) -> Any:
        raise CommitStateUnknownException("the catalog timed out")

    with pytest.raises(Unavailable, match="may still be applied"):
        ingest(scripted(tmp_path, no_answer), f"{NAMESPACE}.t", source, "csv", "append")
    assert len(data_files_on_disk(tmp_path) - before) == 1  # kept: it might be referenced


def test_unknown_commit_outcome_that_landed_is_a_success(tmp_path: Path) -> None:
    source = seeded_table(tmp_path)

    def commit_then_lose_the_answer(
        catalog: ScriptedCatalog, table: Table, requirements: Any, updates: Any
    ) -> Any:
        SqlCatalog.commit_table(catalog, table, requirements, updates)
        raise CommitStateUnknownException("the response was lost")

    result = ingest(
        scripted(tmp_path, commit_then_lose_the_answer), f"{NAMESPACE}.t", source, "csv", "append"
    )

    assert result.rows == 1
    current = make_catalog(tmp_path).load_table((NAMESPACE, "t")).current_snapshot()
    assert current is not None and current.snapshot_id == result.snapshot_id


def test_commit_backoff_grows_with_jitter() -> None:
    waits = [[service.commit_backoff_s(failures) for _ in range(50)] for failures in (1, 2, 3, 10)]
    assert all(min(w) >= max(w) / 2 - 1e-9 and len(set(w)) > 1 for w in waits)
    assert max(waits[0]) <= min(waits[2]) * 2
    assert max(waits[-1]) <= service.COMMIT_BACKOFF_MAX_S


# --- memory ------------------------------------------------------------------------------------

_MEASURE_INGEST = """
import json, re, sys
from pathlib import Path
import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
from sadeem.ingest.service import ingest

def peak_rss():  # VmHWM: getrusage's ru_maxrss would include the parent's (pytest's) peak
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)) * 1024

root, source = sys.argv[1], sys.argv[2]
catalog = SqlCatalog("sadeem", uri=f"sqlite:///{root}/cat.db", warehouse=f"file://{root}/wh")
catalog.create_namespace("lake")
baseline = peak_rss()
result = ingest(catalog, "lake.big", source, "csv", "create")
figures = {"rows": result.rows, "rss_growth": peak_rss() - baseline}
print(json.dumps({**figures, "arrow_peak": pa.default_memory_pool().max_memory()}))
"""


def measure_ingest(root: Path, source: Path) -> dict[str, int]:
    root.mkdir()
    measured = subprocess.run(
        [sys.executable, "-c", _MEASURE_INGEST, str(root), str(source)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
        # glibc gives each thread its own arena: how much they keep cached depends on thread timing,
        # not on the file. Two arenas keep that noise out of the measurement.
        env={**os.environ, "MALLOC_ARENA_MAX": "2"},
    )
    return json.loads(measured.stdout)


@pytest.mark.slow
def test_memory_stays_bounded_for_a_large_csv(tmp_path: Path) -> None:
    """Quadrupling the file leaves memory where it was: nothing grows with the file's size."""
    figures = {}
    for days in (1, 4):
        source = tmp_path / f"readings-{days}d.csv"
        rows = demo_data.write_meter_readings_csv(
            source, demo_data.meter_reading_batches(meters=10_000, days=days, readings_per_day=96)
        )
        figures[days] = {**measure_ingest(tmp_path / f"run-{days}d", source), "size": source.stat().st_size}
        assert figures[days]["rows"] == rows
        source.unlink()
    small, large = figures[1], figures[4]

    assert large["size"] > 250 << 20
    assert large["rss_growth"] < large["size"] / 2, figures
    assert large["rss_growth"] < small["rss_growth"] + (32 << 20), figures
    assert large["arrow_peak"] < 64 << 20, figures


# --- demo data ---------------------------------------------------------------------------------


def test_demo_data_is_deterministic_and_plausible() -> None:
    first, second = demo_data.meter_readings(), demo_data.meter_readings()
    assert first.equals(second)
    assert 90_000 <= first.num_rows <= 110_000
    assert first.schema == demo_data.METER_READINGS_SCHEMA
    assert len(set(first.column("meter_id").to_pylist())) == 200
    flags = first.column("quality_flag").to_pylist()
    assert flags.count("ok") / len(flags) > 0.9 and {"estimated", "missing"} <= set(flags)
    days = {ts.date() for ts in first.column("reading_at").to_pylist()}
    assert len(days) == 60


def test_load_demo_is_idempotent(catalog: SqlCatalog) -> None:
    loaded = demo_data.load_demo(catalog, NAMESPACE)
    assert loaded is not None and loaded.rows == demo_data.meter_readings().num_rows
    assert demo_data.load_demo(catalog, NAMESPACE) is None
    table = catalog.load_table((NAMESPACE, demo_data.DEMO_TABLE))
    assert len(table.snapshots()) == 1
    assert [f.name for f in table.schema().fields] == demo_data.METER_READINGS_SCHEMA.names
    assert str(table.schema().find_field("reading_at").field_type) == "timestamp"
