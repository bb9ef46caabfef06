"""The one gate every run-state change passes (Prefect's orchestration-policy idea, smaller):
an explicit transition table, and `transition()`, which checks it, timestamps the change on the
run and its attempt, starts a new attempt when a run is queued again, takes or releases the lease,
and writes the timeline row and the audit event, all in the caller's transaction. Nothing else
assigns `Run.state`; which state a run goes to is decided by the run policy (runs/policy.py).

Every audit event of a run names as whom it runs (`run_as`) and who wrote the job version it
executes (`version_author`): the actor of a transition is whoever moved it (a user, the worker,
the scheduler), which alone would not tell whose rights the run's engine work used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.event import listens_for
from sqlalchemy.orm import Session, SessionTransaction, aliased

from sadeem.audit import service as audit
from sadeem.auth.models import User
from sadeem.core.actor import Actor
from sadeem.core.clock import utcnow
from sadeem.core.errors import Conflict
from sadeem.jobs.models import JobVersion
from sadeem.runs.models import LEASED_STATES, Run, RunAttempt, RunState, RunTransition

S = RunState
ALLOWED: dict[RunState | None, frozenset[RunState]] = {
    None: frozenset({S.QUEUED}),
    S.QUEUED: frozenset({S.RUNNING, S.CANCELLED}),
    S.WAITING_FOR_RETRY: frozenset({S.QUEUED, S.CANCELLED}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.TIMED_OUT, S.CANCELLING, S.WAITING_FOR_RETRY}),
    # The engine may finish on its own before the cancel reaches it.
    S.CANCELLING: frozenset({S.CANCELLED, S.SUCCEEDED, S.FAILED, S.TIMED_OUT}),
    # A manual retry or a repair queues a new attempt of a finished run.
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset({S.QUEUED}),
    S.CANCELLED: frozenset({S.QUEUED}),
    S.TIMED_OUT: frozenset({S.QUEUED}),
}


def current_attempt(session: Session, run: Run) -> RunAttempt:
    return session.scalars(
        select(RunAttempt).where(RunAttempt.run_id == run.id, RunAttempt.number == run.attempt)
    ).one()


@dataclass(frozen=True)
class Lease:
    """A worker's hold on a running attempt, until it expires unless renewed."""

    worker_id: str
    expires_at: datetime


@dataclass(frozen=True)
class Change:
    """A move of a run the policy decided: where to, why, and by which rule."""

    to: RunState
    reason: str | None = None
    message: str | None = None
    decision: str | None = None  # the rule's words for users, e.g. "attempt 2 of 3 in 10 s"
    lease: Lease | None = None  # taken when the run starts RUNNING
    not_before: datetime | None = None  # when a run WAITING_FOR_RETRY may be claimed again
    max_attempts: int | None = None  # a new series of automatic retries (manual retry, repair)
    rule: str | None = None  # the policy's rule that decided it (set by the policy, not the rule)
    query_ids: tuple[str, ...] = ()  # the engine's queries of the attempt that ended (Trino's)


def transition(
    session: Session,
    actor: Actor,
    run: Run,
    change: Change,
    *,
    workspace: str,
    attempt: RunAttempt | None = None,
) -> RunAttempt:
    """Move `run` as `change` says; its current attempt (new when it goes to QUEUED; `attempt`,
    when given, is the current one). Raises Conflict when the table does not allow it."""
    before = run.state if run.id is not None else None
    to, reason, message = change.to, change.reason, change.message
    if to not in ALLOWED[before]:
        raise Conflict(f"Run {run.id} is {before}; it cannot become {to}.")
    now = utcnow()
    if before is None:
        # The same instant as the first timeline entry (the column default would come later).
        run.state, run.state_reason, run.created_at = to, reason, now
        session.add(run)
        session.flush()  # the run's id, for the attempt and the timeline
    new_attempt = to is S.QUEUED
    if new_attempt and before is not None:
        run.attempt += 1
    if new_attempt:
        attempt = RunAttempt(run_id=run.id, number=run.attempt, state=to, queued_at=now)
    elif attempt is None:  # callers that already hold the current attempt pass it in
        attempt = current_attempt(session, run)
    if new_attempt:
        session.add(attempt)
        run.ended_at = None
        run.not_before = now
    if change.max_attempts is not None:
        run.max_attempts = change.max_attempts
    run.state, run.state_reason, run.state_message = to, reason, message
    # An attempt ends FAILED when the run only waits for the next one.
    attempt.state = S.FAILED if to is S.WAITING_FOR_RETRY else to
    if reason is not None or message is not None:
        attempt.reason, attempt.message = reason, message
    if to is S.RUNNING:
        assert change.lease is not None, "a run starts RUNNING under a lease"
        run.worker_id, run.lease_expires_at = change.lease.worker_id, change.lease.expires_at
        attempt.worker_id, attempt.started_at = change.lease.worker_id, now
        run.started_at = run.started_at or now
    elif before in LEASED_STATES and to not in LEASED_STATES:
        run.worker_id = run.lease_expires_at = None
    if to is S.WAITING_FOR_RETRY:
        run.not_before = change.not_before or now
    if to.terminal or to is S.WAITING_FOR_RETRY:
        attempt.ended_at = attempt.ended_at or now
    if to.terminal:
        run.ended_at = now
    session.add(
        RunTransition(
            run_id=run.id,
            attempt=run.attempt,
            from_state=before,
            to_state=to,
            reason=reason,
            rule=change.rule,
            decision=change.decision,
            actor=_actor(actor),
            at=now,
        )
    )
    audit.record(
        session,
        actor,
        action="run.transition",
        target_type="run",
        target_id=str(run.id),
        workspace=workspace,
        details={
            "from": before,
            "to": to,
            "attempt": run.attempt,
            "reason": reason,
            "rule": change.rule,
            "decision": change.decision,
            **({"query_ids": list(change.query_ids)} if change.query_ids else {}),
            **run_identity(session, run),
        },
    )
    return attempt


_RUNNER, _AUTHOR = aliased(User), aliased(User)
# Built once: every transition runs it, and building it (two aliases) cost more than running it.
_IDENTITY = (
    select(_RUNNER.username, _AUTHOR.username)
    .select_from(_RUNNER)
    .outerjoin(
        JobVersion,
        (JobVersion.job_id == bindparam("job_id")) & (JobVersion.version == bindparam("version")),
    )
    .outerjoin(_AUTHOR, _AUTHOR.id == JobVersion.created_by)
    .where(_RUNNER.id == bindparam("owner_id"))
)


# session.info key: the identities a session already knows, by (owner id, job id, version).
_KNOWN_IDENTITIES = "sadeem.runs.identities"


def remember_identity(session: Session, run: Run, run_as: str, version_author: str | None) -> None:
    """Tell `session` the names `run_identity` would read (a claim reads them with the run), so
    the transitions of its unit of work need not read them again."""
    key = (run.owner_id, run.job_id, run.job_version)
    session.info.setdefault(_KNOWN_IDENTITIES, {})[key] = {"run_as": run_as, "version_author": version_author}


@listens_for(Session, "after_transaction_end")
def _forget_identities(session: Session, ended: SessionTransaction) -> None:
    if ended.parent is None:  # names are known for one transaction: a user may be renamed later
        session.info.pop(_KNOWN_IDENTITIES, None)


def run_identity(session: Session, run: Run) -> dict[str, str | None]:
    """As whom `run` acts and who wrote its version, by name (the audit trail outlives ids)."""
    known: dict[tuple[int, int, int], dict[str, str | None]] = session.info.setdefault(_KNOWN_IDENTITIES, {})
    key = (run.owner_id, run.job_id, run.job_version)
    if key not in known:
        with session.no_autoflush:  # it reads no row a transition changes: they flush once, at commit
            found = session.execute(
                _IDENTITY, {"job_id": run.job_id, "version": run.job_version, "owner_id": run.owner_id}
            ).one()
        known[key] = {"run_as": found[0], "version_author": found[1]}
    return known[key]


def _actor(actor: Actor) -> str:
    return actor.username or "system"
