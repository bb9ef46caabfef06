"""The durable run queue's database side: claiming with a lease, renewing it, finishing, and
reaping expired leases. Claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL, so workers never wait
for each other's candidate rows; on SQLite the write transaction (BEGIN IMMEDIATE) is the single
writer. Each lease write names the worker and the attempt: a worker that lost its lease (the
reaper moved the run on) can no longer change the run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, select, update
from sqlalchemy.orm import Session, aliased

from sadeem.auth import service as auth_service
from sadeem.auth.models import ApiToken, User
from sadeem.core.actor import Actor
from sadeem.core.clock import utcnow
from sadeem.db.engine import Database
from sadeem.jobs import service as jobs
from sadeem.jobs.models import Job, JobVersion
from sadeem.jobs.schemas import JobDefinition, RetryPolicy
from sadeem.runs import policy
from sadeem.runs.models import LEASED_STATES, Run, RunAttempt, RunLogChunk, RunState
from sadeem.runs.transitions import Lease, current_attempt, remember_identity
from sadeem.workspaces.models import Workspace

# A run without a timeout still gets a catalog token that expires (a day, plus the grace below).
_NO_TIMEOUT_TOKEN_SECONDS = 86400


@dataclass(frozen=True)
class Claim:
    """A claimed attempt and everything needed to execute it, read in the claiming transaction."""

    run_id: int
    attempt: int
    workspace: str
    namespace: str
    location: str
    owner: str  # the user the run acts as (its version's run-as)
    definition: JobDefinition
    parameters: dict[str, Any]
    # The owner's engine credential: this workspace's catalog only, revoked when the attempt ends.
    catalog_token: str
    version_author: str | None  # who wrote the job version (named in the audit trail)


# Leased runs per job, counted once (a correlated count per due run makes the query quadratic in
# the queue's length when PostgreSQL has no statistics yet, e.g. after a burst of submissions).
_LEASED = (
    select(Run.job_id, func.count().label("runs"))
    .where(Run.state.in_(LEASED_STATES))
    .group_by(Run.job_id)
    .subquery()
)
_LEASED_OF_JOB = func.coalesce(_LEASED.c.runs, 0)
# Built once (building it cost more than running it): the due runs, oldest first, with their
# current attempt and their job's leased runs; candidates other workers hold are skipped, not
# waited for.
_DUE = (
    select(Run, RunAttempt, _LEASED_OF_JOB)
    .join(RunAttempt, (RunAttempt.run_id == Run.id) & (RunAttempt.number == Run.attempt))
    .outerjoin(_LEASED, _LEASED.c.job_id == Run.job_id)
    .where(
        Run.state.in_([RunState.QUEUED, RunState.WAITING_FOR_RETRY]),
        Run.not_before <= bindparam("now"),
        Run.max_concurrent_runs > _LEASED_OF_JOB,
    )
    .order_by(Run.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True, of=Run)
)
_AUTHOR = aliased(User)
# What an attempt needs besides the run, in one read: its workspace, as whom it runs, its version
# and who wrote that.
_ATTEMPT_CONTEXT = (
    select(Workspace, User.username, JobVersion, _AUTHOR.username)
    .select_from(Workspace)
    .join(User, User.id == bindparam("owner_id"))
    .join(
        JobVersion,
        (JobVersion.job_id == bindparam("job_id")) & (JobVersion.version == bindparam("version")),
    )
    .outerjoin(_AUTHOR, _AUTHOR.id == JobVersion.created_by)
    .where(Workspace.id == bindparam("workspace_id"))
)


def _leased_now(session: Session, job_id: int) -> int:
    """The job's leased runs, counted under the job's lock (PostgreSQL): another worker may have
    claimed a run of the same job since our SELECT (its rows were skipped, not waited for)."""
    session.execute(select(Job.id).where(Job.id == job_id).with_for_update())
    return (
        session.scalar(
            select(func.count()).select_from(Run).where(Run.job_id == job_id, Run.state.in_(LEASED_STATES))
        )
        or 0
    )


def claim(db: Database, worker_id: str, lease_seconds: float, limit: int) -> list[Claim]:
    """Claim up to `limit` due runs whose job is below its max concurrent runs."""
    now = utcnow()
    claimed: list[Claim] = []
    actor = Actor.system(f"worker:{worker_id}")
    with db.unit_of_work("run.transition") as session:
        candidates = session.execute(_DUE, {"now": now, "limit": limit}).all()
        # On SQLite the claim is the only writer (BEGIN IMMEDIATE) from the SELECT on, so its
        # counts stand; PostgreSQL's claims run side by side and count again under the job's lock.
        serialized = db.dialect == "sqlite"
        running: dict[int, int] = {}
        definitions: dict[int, JobDefinition] = {}
        for run, current, leased in candidates:
            if run.job_id not in running:
                running[run.job_id] = leased if serialized else _leased_now(session, run.job_id)
            if running[run.job_id] >= run.max_concurrent_runs:
                continue
            running[run.job_id] += 1
            workspace, owner, version, author = session.execute(
                _ATTEMPT_CONTEXT,
                {
                    "owner_id": run.owner_id,
                    "job_id": run.job_id,
                    "version": run.job_version,
                    "workspace_id": run.workspace_id,
                },
            ).one()
            remember_identity(session, run, owner, author)
            slug = workspace.slug
            if run.state is RunState.WAITING_FOR_RETRY:
                current = policy.apply(session, actor, run, policy.RetryDue(), workspace=slug)
            lease = Lease(worker_id, now + timedelta(seconds=lease_seconds))
            attempt = policy.apply(
                session, actor, run, policy.Claimed(lease), workspace=slug, attempt=current
            )
            assert attempt is not None
            if version.id not in definitions:
                definitions[version.id] = jobs.definition_of(version)
            definition = definitions[version.id]
            token = auth_service.issue_run_token(
                session,
                run.owner_id,
                f"run {run.id} attempt {run.attempt}",
                timedelta(seconds=(definition.timeout_seconds or _NO_TIMEOUT_TOKEN_SECONDS) + 900),
                workspace_id=run.workspace_id,
            )
            attempt.token_id = token.token.public_id
            claimed.append(
                Claim(
                    run.id,
                    run.attempt,
                    slug,
                    workspace.namespace,
                    workspace.storage_location,
                    owner,
                    definition,
                    dict(run.parameters),
                    token.secret,
                    author,
                )
            )
    return claimed


@dataclass(frozen=True)
class LeaseState:
    held: bool
    cancelling: bool


def renew(db: Database, worker_id: str, held: dict[int, int], lease_seconds: float) -> dict[int, LeaseState]:
    """Extend the leases of the runs this worker holds (`run id -> attempt`); say which are
    still held and which were asked to stop."""
    if not held:
        return {}
    with db.unit_of_work() as session:
        rows = session.execute(
            update(Run)
            .where(Run.id.in_(held), Run.worker_id == worker_id, Run.state.in_(LEASED_STATES))
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
            .returning(Run.id, Run.attempt, Run.state)
        ).all()
    found = {row.id: row for row in rows}
    return {
        run_id: LeaseState(
            held=run_id in found and found[run_id].attempt == attempt,
            cancelling=run_id in found and found[run_id].state is RunState.CANCELLING,
        )
        for run_id, attempt in held.items()
    }


def cancelling(db: Database, worker_id: str) -> set[int]:
    with db.reads() as session:
        return set(
            session.scalars(
                select(Run.id).where(Run.worker_id == worker_id, Run.state == RunState.CANCELLING)
            )
        )


def retry_policy(session: Session, run: Run) -> RetryPolicy:
    """The retry policy of the run's job version, for the reaper (a worker has it in its claim)."""
    job = session.get(Job, run.job_id)
    assert job is not None
    return jobs.definition_of(jobs.get_version(session, job, run.job_version)).retry


# Built once, on the table: no ORM object of the token is in the session to keep in step.
_TOKENS = cast(Table, ApiToken.__table__)
_REVOKE = (
    update(_TOKENS)
    .where(_TOKENS.c.public_id == bindparam("token_id"), _TOKENS.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"))
)


def revoke_attempt_token(session: Session, attempt: RunAttempt) -> None:
    token_id = attempt.token_id
    if token_id is not None:
        with session.no_autoflush:  # the run's own changes flush once, at commit
            session.execute(_REVOKE, {"token_id": token_id, "now": utcnow()})


# The run this worker still holds, locked, with its current attempt.
_HELD = (
    select(Run, RunAttempt)
    .join(RunAttempt, (RunAttempt.run_id == Run.id) & (RunAttempt.number == Run.attempt))
    .where(
        Run.id == bindparam("run_id"),
        Run.worker_id == bindparam("worker_id"),
        Run.attempt == bindparam("attempt"),
        Run.state.in_(LEASED_STATES),
    )
    .with_for_update(of=Run)
)


def finish(
    db: Database,
    worker_id: str,
    claim_: Claim,
    event: policy.Event,
    record: dict[str, object] | None = None,
    last_log: RunLogChunk | None = None,
) -> RunState | None:
    """Report how the attempt ended (`event`, with its result and its last log lines), if this
    worker still holds its lease; the state the policy moved the run to, or None when the lease
    was lost (the reaper already reported; nothing is written)."""
    actor = Actor.system(f"worker:{worker_id}")
    with db.unit_of_work("run.transition") as session:
        held = session.execute(
            _HELD, {"run_id": claim_.run_id, "worker_id": worker_id, "attempt": claim_.attempt}
        ).one_or_none()
        if held is None:
            return None
        run, attempt = held
        remember_identity(session, run, claim_.owner, claim_.version_author)
        for key, value in (record or {}).items():
            setattr(attempt, key, value)
        if last_log is not None:
            session.add(last_log)
        revoke_attempt_token(session, attempt)
        policy.apply(
            session,
            actor,
            run,
            event,
            workspace=claim_.workspace,
            retry=claim_.definition.retry,
            attempt=attempt,
        )
        return run.state


def reap_expired_leases(session: Session, actor: str, now: datetime) -> list[tuple[int, RunState]]:
    """Report every run whose lease expired before `now` to the run policy (for the reaper,
    worker/reaper.py): its worker is gone (killed, partitioned, hung). A stopping run becomes
    CANCELLED; a running one is retried per its job's retry policy or FAILED, with reason
    `worker_lost`."""
    by = Actor.system(actor)
    resolved: list[tuple[int, RunState]] = []
    expired = session.execute(
        select(Run, Workspace.slug)
        .join(Workspace, Workspace.id == Run.workspace_id)
        .where(
            Run.state.in_(LEASED_STATES),
            and_(Run.lease_expires_at.is_not(None), Run.lease_expires_at < now),
        )
        .order_by(Run.id)
        .limit(100)
        .with_for_update(skip_locked=True, of=Run)
    ).all()
    for run, slug in expired:
        revoke_attempt_token(session, current_attempt(session, run))
        expired_at = f"{run.lease_expires_at:%Y-%m-%d %H:%M:%S} UTC"
        lost = policy.LeaseExpired(f"The lease of worker {run.worker_id} expired at {expired_at}.")
        policy.apply(session, by, run, lost, workspace=slug, retry=retry_policy(session, run))
        resolved.append((run.id, run.state))
    return resolved
