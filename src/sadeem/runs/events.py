"""A run as a stream of events, for pages that follow it live (Server-Sent Events).

The stream polls the database (the worker that changes a run may be another process, and SQLite
has no notifications): every `POLL_SECONDS` it reads the run and the followed attempt's new log
lines, and yields the run when it changed, the lines when there are any, and the end once the run
has finished and its last attempt's log is complete. Between polls it sleeps on the event loop
outside admission control (`admission.idle`), so an open page holds no request slot, no thread and
no database connection. A stream lasts at most `LIFETIME_SECONDS`: the browser reconnects with
the last event id, which carries the log position, and the permissions are checked again then.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import anyio
from sqlalchemy.orm import Session

from sadeem.api import admission
from sadeem.runs import service
from sadeem.runs.models import TERMINAL_STATES, Run
from sadeem.workspaces.models import Workspace

POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
FIRST_PAGE_CHUNKS = 5
LIFETIME_SECONDS = 300.0


@dataclass(frozen=True)
class Position:
    """Where a follower is: an attempt (None: whichever is current) and the last log chunk it has."""

    attempt: int | None = None
    after: int = 0

    @classmethod
    def parse(cls, last_event_id: str | None) -> Position | None:
        """The position an event id (`<attempt>:<after>`) names; None if it names none."""
        attempt, sep, after = (last_event_id or "").partition(":")
        if not sep or not attempt.isdigit() or not after.isdigit():
            return None
        return cls(int(attempt) or None, int(after))

    def event_id(self) -> str:
        return f"{self.attempt or 0}:{self.after}"  # 0: the current attempt, none chosen yet


@dataclass(frozen=True)
class RunChanged:
    detail: service.RunDetail


@dataclass(frozen=True)
class LogLines:
    page: service.LogPage


@dataclass(frozen=True)
class Ended:
    state: str


@dataclass(frozen=True)
class KeepAlive:
    pass


Event = RunChanged | LogLines | Ended | KeepAlive


async def follow(
    sessions: Callable[[], Session], workspace: Workspace, run_id: int, start: Position
) -> AsyncIterator[tuple[Event, Position]]:
    """The run's events from `start` on, each with the position after it."""
    position = start
    seen: tuple[object, ...] | None = None
    opened = last_sent = time.monotonic()
    while time.monotonic() - opened < LIFETIME_SECONDS:
        run, detail, page = await anyio.to_thread.run_sync(_read, sessions, workspace, run_id, position, seen)
        if detail is not None:
            seen = _version(run)
            yield RunChanged(detail), position
            last_sent = time.monotonic()
        if page.text:
            position = Position(page.attempt, page.next_seq)
            yield LogLines(page), position
            last_sent = time.monotonic()
            if not page.complete:
                continue  # more may be waiting already (a long log is read page by page): no pause
        if page.complete:
            following_current = start.attempt is None
            if run.state in TERMINAL_STATES and (page.attempt >= run.attempt or not following_current):
                yield Ended(run.state.value), position
                return
            if following_current and page.attempt < run.attempt:
                position = Position(run.attempt, 0)  # the current attempt's log is next
                continue
        if time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
            yield KeepAlive(), position
            last_sent = time.monotonic()
        async with admission.idle():
            await anyio.sleep(POLL_SECONDS)


def _version(run: Run) -> tuple[object, ...]:
    # Every transition changes the state or the attempt; reason, message and end ride with them.
    return (run.state, run.attempt, run.state_reason, run.state_message, run.ended_at)


def _read(
    sessions: Callable[[], Session],
    workspace: Workspace,
    run_id: int,
    position: Position,
    seen: tuple[object, ...] | None,
) -> tuple[Run, service.RunDetail | None, service.LogPage]:
    """The run, its detail only when it changed since `seen` (a poll is otherwise two small
    reads), and the log after `position`."""
    with sessions() as session:
        run = service.get_run(session, workspace, run_id)
        detail = service.detail(session, workspace, run_id) if _version(run) != seen else None
        # An attempt's first page is small, so a long log's first lines show at once (a full page
        # of a long log is ~10 MB the browser must receive and parse before it shows anything).
        per_page = FIRST_PAGE_CHUNKS if position.after == 0 else service.LOG_CHUNKS_PER_PAGE
        page = service.read_logs(
            session, workspace, run_id, position.attempt, position.after, chunks_per_page=per_page
        )
    return run, detail, page
