"""The unit of work: one write transaction, committed in one place by whoever opened it (the
request's route, a worker/scheduler/reaper iteration, a CLI command, the first-start bootstrap).
Services only flush.

What a transaction must do only once its data is committed (start an engine, wake a worker) is
registered here as an after-commit action: it runs after a successful commit and is dropped by a
rollback. The unit of work also keeps the audit bookkeeping the request's safety net reads: which
events this session's committed transactions appended, and whether they wrote anything at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

log = logging.getLogger("sadeem.db")

_KEY = "sadeem_unit_of_work"


class _Event(Protocol):
    seq: Any  # an audit event's number, given when its transaction commits


@dataclass
class UnitOfWork:
    """The bookkeeping of one session, across its transactions."""

    # What the work is called in the audit trail when a service names no action (the route's name,
    # the CLI command's, "run.transition").
    action: str | None = None
    committed_events: list[int] = field(default_factory=list)
    committed_writes: bool = False
    # What the transaction did stands even though the work fails: see `keep_when_refused`.
    kept_when_refused: bool = False
    _actions: list[Callable[[], object]] = field(default_factory=list)
    _events: list[_Event] = field(default_factory=list)
    _writes: bool = False

    def _committed(self) -> None:
        # An event dropped with a rolled-back savepoint was never numbered.
        self.committed_events += [event.seq for event in self._events if event.seq is not None]
        self.committed_writes = self.committed_writes or self._writes
        actions = self._actions
        self._forget()
        for action in actions:
            try:
                action()
            except Exception:  # the data is committed: a failed follow-up must not undo the answer
                log.exception("after-commit action %r failed", action)

    def _forget(self) -> None:
        self._actions, self._events, self._writes = [], [], False
        self.kept_when_refused = False


def of(session: Session) -> UnitOfWork:
    work: UnitOfWork | None = session.info.get(_KEY)
    if work is None:
        work = session.info[_KEY] = UnitOfWork()
    return work


def begin(session: Session, action: str | None) -> UnitOfWork:
    """Name the work `session` does (the default action of the audit events it records)."""
    work = of(session)
    work.action = action
    return work


def after_commit(session: Session, action: Callable[[], object]) -> None:
    """Run `action` once the current transaction has committed; never if it rolls back. The
    action must not use `session` (it is between transactions)."""
    if not session.in_transaction():
        session.begin()  # no I/O: the transaction the action belongs to, so a rollback drops it
    of(session)._actions.append(action)


def keep_when_refused(session: Session) -> None:
    """Commit what the current transaction did even if the work then fails: a refusal that must
    be remembered (a failed login's count and event outlive its 401)."""
    of(session).kept_when_refused = True


def end(session: Session, failed: bool) -> None:
    """End the unit of work at its boundary: commit it, or, when it failed, commit only what a
    refusal keeps (the rest is rolled back when the session closes)."""
    if not failed or of(session).kept_when_refused:
        session.commit()


def release(session: Session) -> None:
    """End a transaction that has written nothing, so that no lock (SQLite's single writer) or
    connection is held while the work waits on something slow: the network, an engine, an upload.
    A transaction with changes is refused: those commit only at the unit of work's boundary."""
    work = of(session)
    if session.new or session.dirty or session.deleted or work._writes or work._events:
        raise RuntimeError("release() of a transaction with changes: they commit at the boundary")
    session.commit()


def event_recorded(session: Session, event: _Event) -> None:
    """An audit event joins the trail with the current transaction (audit.service.record)."""
    of(session)._events.append(event)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # Also fired when a savepoint is released: only the outermost transaction's commit counts.
    if _KEY in session.info and not session.in_nested_transaction():
        session.info[_KEY]._committed()


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # A rolled-back outermost transaction drops what it registered (a committed one already ran it).
    if transaction.parent is None and _KEY in session.info:
        session.info[_KEY]._forget()


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if session.new or session.dirty or session.deleted:
        of(session)._writes = True


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        of(state.session)._writes = True
