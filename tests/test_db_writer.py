"""SQLite's single writer, taken in turns by the threads of one process (db/engine.py): every
write transaction commits, and the turn is passed on however the transaction ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from sadeem.db.engine import Database, _Turns


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database.connect(f"sqlite:///{tmp_path}/writer.db")
    with db.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        connection.exec_driver_sql("INSERT INTO counter VALUES (1, 0)")
    yield db
    db.dispose()


def count(db: Database) -> int:
    with db.reads() as session:
        return int(session.execute(text("SELECT n FROM counter")).scalar_one())


def bump(db: Database) -> None:
    with db.unit_of_work() as session:
        # Read, then write: a lost update would show if two writers overlapped.
        n = session.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
        session.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})


def in_thread(work: Callable[[], None], seconds: float = 5) -> bool:
    """Whether `work`, run in another thread, finished within `seconds` (a writer's turn that
    was never passed on would keep it waiting for 30 s)."""
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


def test_concurrent_writers_of_one_process_all_commit(sqlite_db: Database) -> None:
    threads, each = 8, 25
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(each):
                bump(sqlite_db)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    assert count(sqlite_db) == threads * each


def test_the_turn_passes_on_after_a_rollback(sqlite_db: Database) -> None:
    with pytest.raises(RuntimeError), sqlite_db.unit_of_work() as session:
        session.execute(text("UPDATE counter SET n = 100 WHERE id = 1"))
        raise RuntimeError("the work fails")
    assert in_thread(lambda: bump(sqlite_db))
    assert count(sqlite_db) == 1


def test_the_turn_passes_on_when_a_session_closes_without_ending_its_transaction(
    sqlite_db: Database,
) -> None:
    with sqlite_db.writes() as session:
        session.execute(text("UPDATE counter SET n = 100 WHERE id = 1"))
    assert in_thread(lambda: bump(sqlite_db))
    assert count(sqlite_db) == 1


def test_reads_do_not_wait_for_a_writer(sqlite_db: Database) -> None:
    with sqlite_db.writes() as session:
        session.execute(text("UPDATE counter SET n = 7 WHERE id = 1"))
        seen: list[int] = []
        assert in_thread(lambda: seen.append(count(sqlite_db)))
        assert seen == [0]  # the committed value, while the write is open (WAL)
        session.commit()
    assert count(sqlite_db) == 7


def test_writers_get_their_turn_in_arrival_order() -> None:
    turns = _Turns()
    assert turns.acquire(timeout=1)
    order: list[str] = []

    def wait_turn(name: str) -> None:
        assert turns.acquire(timeout=10)
        order.append(name)
        turns.release()

    first = threading.Thread(target=wait_turn, args=("first",))
    first.start()
    while not turns._waiting:  # queued before the second arrives
        time.sleep(0.001)
    second = threading.Thread(target=wait_turn, args=("second",))
    second.start()
    while len(turns._waiting) < 2:
        time.sleep(0.001)
    turns.release()
    first.join(5)
    second.join(5)
    assert order == ["first", "second"]
    assert turns.acquire(timeout=0.01)  # free again
    assert not turns.acquire(timeout=0.05)  # held: the wait runs out and leaves no place in line
    assert not turns._waiting
