"""Recording, querying and verifying audit events.

Appends are chained: `hash = sha256(prev_hash + canonical JSON of the event)`. The events a
transaction records wait on its session and join the chain in one step when it commits: one
update of the single chain-head row numbers and links them all, which serializes appends on both
databases and makes the events part of the caller's transaction (a change and its audit events
commit together or not at all), while the head row stays locked only for the end of the commit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, insert, select, update
from sqlalchemy.event import listens_for
from sqlalchemy.orm import Session, SessionTransaction

from sadeem.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from sadeem.core.actor import Actor
from sadeem.core.clock import utcnow
from sadeem.core.errors import NotFound
from sadeem.core.pagination import PageRequest, keyset_page
from sadeem.core.redaction import redact
from sadeem.db import unit_of_work
from sadeem.db.engine import Database

_HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor",
    "actor_id",
    "auth_method",
    "token_id",
    "action",
    "target_type",
    "target_id",
    "workspace",
    "outcome",
    "status_code",
    "client_addr",
    "request_id",
    "details",
)


def _canonical(event: AuditEvent) -> bytes:
    fields = {name: getattr(event, name) for name in _HASHED_FIELDS}
    fields["occurred_at"] = event.occurred_at.isoformat()
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(event.prev_hash.encode() + b"\n" + _canonical(event)).hexdigest()


def _make_storable(event: AuditEvent) -> None:
    """An event must never fail to be stored: its text columns lose NUL characters (PostgreSQL
    refuses them) and are clipped to their column's length (a refused request's path parameter,
    recorded by the safety net, can be anything)."""
    for column in AuditEvent.__table__.columns:
        value = getattr(event, column.key)
        length = getattr(column.type, "length", None)
        if isinstance(value, str) and length is not None:
            setattr(event, column.key, value.replace("\x00", "\ufffd")[:length])


# Built once: every audited transaction runs both.
_TAKE_SEQS = (
    update(AuditChainHead)
    .where(AuditChainHead.id == 1)
    .values(last_seq=AuditChainHead.last_seq + bindparam("count"))
    .returning(AuditChainHead.last_seq, AuditChainHead.last_hash)
)
_SET_LAST_HASH = update(AuditChainHead).where(AuditChainHead.id == 1).values(last_hash=bindparam("hash"))
_INSERT_EVENTS = insert(cast(Table, AuditEvent.__table__))
_COLUMNS = tuple(column.key for column in AuditEvent.__table__.columns)
# session.info key: the events recorded in the session's transaction, not yet chained.
_PENDING = "sadeem.audit.pending"


@dataclass
class _Pending:
    event: AuditEvent
    recorded_in: SessionTransaction  # dropped when this (or an enclosing) transaction rolls back


def append(session: Session, event: AuditEvent) -> AuditEvent:
    """Add `event` to the caller's transaction: it gets its sequence number and chain hash when
    that transaction commits, together with every other event of the transaction; a rollback
    drops it."""
    _make_storable(event)
    event.occurred_at = event.occurred_at or utcnow()
    event.details = redact(event.details or {})
    current = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(_PENDING, []).append(_Pending(event, current))
    return event


@listens_for(Session, "before_commit")
def _chain_pending(session: Session) -> None:
    """One chain step for all the events of the committing transaction. The head row is updated
    after the transaction's own changes are flushed, so it stays locked only until the commit."""
    if session.in_nested_transaction():
        return  # a savepoint's events join the enclosing transaction's
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    if not pending:
        return
    session.flush()
    head = session.execute(_TAKE_SEQS, {"count": len(pending)}).one()
    seq, prev_hash = head.last_seq - len(pending), head.last_hash
    for entry in pending:
        seq += 1
        entry.event.seq, entry.event.prev_hash = seq, prev_hash
        entry.event.hash = prev_hash = event_hash(entry.event)
    # A plain INSERT of all the rows: the events need none of the ORM's unit-of-work bookkeeping.
    session.execute(_INSERT_EVENTS, [_row(entry.event) for entry in pending])
    session.execute(_SET_LAST_HASH, {"hash": prev_hash})


def _row(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in _COLUMNS}


@listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, rolled_back: SessionTransaction) -> None:
    pending: list[_Pending] | None = session.info.get(_PENDING)
    if pending:
        pending[:] = [entry for entry in pending if not _within(entry.recorded_in, rolled_back)]


@listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, ended: SessionTransaction) -> None:
    if ended.parent is None:  # closed without a commit: nothing recorded in it remains
        session.info.pop(_PENDING, None)


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


def record(
    session: Session,
    actor: Actor,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    workspace: str | None = None,
    outcome: str = "success",
    status_code: int | None = None,
    details: dict[str, Any] | None = None,
    action: str | None = None,
    username: str | None = None,
    user_id: int | None = None,
) -> AuditEvent:
    """Append an event for what `actor` does in `session`'s unit of work (named by it unless
    `action` is given); it commits with the change or not at all."""
    if actor.acting_for is not None:
        # An engine credential's request: the actor is the identity the work runs as; this names
        # the work (a run attempt, a statement), so the trail tells an engine from its user.
        details = {**(details or {}), "acting_for": actor.acting_for}
    event = AuditEvent(
        occurred_at=utcnow(),
        actor=username or actor.username,
        actor_id=user_id or actor.user_id,
        auth_method=actor.auth_method,
        token_id=actor.token_id,
        action=action or unit_of_work.of(session).action or "unknown",
        target_type=target_type,
        target_id=target_id,
        workspace=workspace,
        outcome=outcome,
        status_code=status_code,
        client_addr=actor.client_addr,
        request_id=actor.request_id,
        details=details or {},
    )
    append(session, event)
    unit_of_work.event_recorded(session, event)
    return event


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None
    action: str | None = None
    workspace: str | None = None
    outcome: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _as_utc(moment: datetime) -> datetime:
    """A bound given without a time zone means UTC, the zone the trail is kept in."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _filtered(filters: AuditFilters) -> Select[Any]:
    stmt: Select[Any] = select(AuditEvent)
    for name in ("actor", "action", "workspace", "outcome", "target_type", "target_id"):
        value = getattr(filters, name)
        if value is not None:
            stmt = stmt.where(getattr(AuditEvent, name) == value)
    if filters.since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= _as_utc(filters.since))
    if filters.until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < _as_utc(filters.until))
    return stmt


def query(
    session: Session, filters: AuditFilters, page: PageRequest
) -> tuple[Sequence[AuditEvent], str | None]:
    """Newest first."""
    return keyset_page(session, _filtered(filters), AuditEvent.seq, page, descending=True)


def get_event(session: Session, seq: int, workspace: str | None = None) -> AuditEvent:
    """One event by its sequence number (within `workspace` when given)."""
    event = session.get(AuditEvent, seq)
    if event is None or (workspace is not None and event.workspace != workspace):
        where = f" in workspace {workspace!r}" if workspace is not None else ""
        raise NotFound(f"There is no audit event {seq}{where}.")
    return event


# --- CSV export --------------------------------------------------------------------------------

CSV_COLUMNS = (
    "seq",
    "occurred_at",
    "actor",
    "auth_method",
    "token_id",
    "action",
    "target_type",
    "target_id",
    "workspace",
    "outcome",
    "status_code",
    "client_addr",
    "request_id",
    "details",
    "prev_hash",
    "hash",
)
EXPORT_BATCH = 1000
# A spreadsheet takes a cell starting with one of these for a formula (CSV injection; OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """`value` as a CSV cell no spreadsheet runs as a formula: text starting with = + - @ (or a
    tab or carriage return) gets a leading apostrophe. Numbers and empty cells are left alone."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_row(event: AuditEvent) -> list[Any]:
    cells: list[Any] = []
    for name in CSV_COLUMNS:
        value = getattr(event, name)
        if name == "occurred_at":
            value = value.isoformat()
        elif name == "details":
            value = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
        cells.append(csv_safe(value))
    return cells


@dataclass
class ExportProgress:
    rows: int = 0
    bytes: int = 0
    complete: bool = False


def export_csv(
    db: Database, filters: AuditFilters, progress: ExportProgress, batch: int = EXPORT_BATCH
) -> Iterator[bytes]:
    """The events matching `filters`, newest first, as CSV with a header row: one chunk per batch
    of `batch` events, each read by keyset in a short read transaction of its own, so memory
    stays constant and no transaction is held while the client reads. Events appended while the
    export runs are newer than its first batch, so they are not in it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def take() -> bytes:
        data = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        progress.bytes += len(data)
        return data

    writer.writerow(CSV_COLUMNS)
    yield take()
    stmt = _filtered(filters).order_by(AuditEvent.seq.desc()).limit(batch)
    last: int | None = None
    while True:
        with db.reads() as session:
            rows = session.scalars(stmt if last is None else stmt.where(AuditEvent.seq < last)).all()
            for event in rows:
                writer.writerow(_csv_row(event))
        if not rows:
            break
        progress.rows += len(rows)
        last = rows[-1].seq
        yield take()
        if len(rows) < batch:
            break
    progress.complete = True


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    complete: bool = True  # False: the time limit ran out first (ok then means "no break so far")
    chain_length: int | None = None  # the chain head's sequence number when the check began


def _events_in_order(session: Session, last_seq: int, batch: int = 1000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > last, AuditEvent.seq <= last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify_chain(
    session: Session,
    time_limit: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ChainReport:
    """Recompute every hash in order; report the first event that does not match its chain.

    The chain head is read first and only the events up to it are checked: an event commits
    together with its head update, so all of them are visible, while events appended during the
    check (each statement may see newer rows on PostgreSQL) are left for the next one.

    With `time_limit` (seconds), the check stops when it runs out (every 1,000 events it looks)
    and says so (`complete=False`): a chain of millions of events takes minutes to verify."""
    head = session.execute(
        select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.id == 1)
    ).one_or_none()
    if head is None:
        return ChainReport(False, 0, 1, "the chain head is missing")
    deadline = None if time_limit is None else clock() + time_limit
    length = head.last_seq
    prev_hash, expected_seq, checked = GENESIS_HASH, 1, 0
    for event in _events_in_order(session, head.last_seq):
        if event.seq != expected_seq:
            return ChainReport(False, checked, expected_seq, f"event {expected_seq} is missing", True, length)
        if event.prev_hash != prev_hash:
            return ChainReport(False, checked, event.seq, "previous-hash link is broken", True, length)
        if event_hash(event) != event.hash:
            return ChainReport(
                False, checked, event.seq, "content does not match its hash (edited)", True, length
            )
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
        if deadline is not None and checked % 1000 == 0 and checked < length and clock() >= deadline:
            return ChainReport(True, checked, complete=False, chain_length=length)
    if checked != head.last_seq or prev_hash != head.last_hash:
        return ChainReport(
            False,
            checked,
            checked + 1,
            "chain head does not match the last event (truncated)",
            True,
            length,
        )
    return ChainReport(True, checked, chain_length=length)
