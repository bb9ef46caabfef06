"""Runs from the API's side: submitting (idempotently), finding, stopping, retrying, repairing,
and reading a run's timeline, logs and result. Workers execute them (sadeem.worker).

A run acts as its job version's `run_as` user (jobs/service.py), however it was started: by the
schedule, by a manual submit (whoever submits needs the editor role, and chooses only the version
and parameter values), by a retry or a repair. The submitter is kept apart, as `created_by`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sadeem.api import admission
from sadeem.auth import service as auth_service
from sadeem.auth.principal import Principal
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.core.clock import utcnow
from sadeem.core.errors import Conflict, NotFound
from sadeem.core.pagination import PageRequest, keyset_page
from sadeem.db import unit_of_work
from sadeem.jobs import parameters
from sadeem.jobs import service as jobs
from sadeem.jobs.models import Job, JobVersion
from sadeem.runs import policy, results
from sadeem.runs.models import (
    TERMINAL_STATES,
    Run,
    RunAttempt,
    RunLogChunk,
    RunState,
    RunTransition,
    RunTrigger,
)
from sadeem.workspaces.models import Workspace


@dataclass(frozen=True)
class RunView:
    run: Run
    job_name: str
    owner: str  # the user the run acts as
    version_author: str | None
    triggered_by: str | None
    run_time_seconds: float | None  # the attempts' running time (see `running_time`)


def running_time(session: Session, run_ids: set[int]) -> dict[int, float]:
    """Seconds each run's attempts spent running, an attempt still running counted up to now.
    The waits between attempts (a backoff, or days before someone pressed Retry) are not work."""
    now = utcnow()
    totals: dict[int, float] = {}
    for run_id, started, ended in session.execute(
        select(RunAttempt.run_id, RunAttempt.started_at, RunAttempt.ended_at).where(
            RunAttempt.run_id.in_(run_ids)
        )
    ):
        if started is not None:
            totals[run_id] = totals.get(run_id, 0.0) + max(0.0, ((ended or now) - started).total_seconds())
    return totals


def _views(session: Session, runs: Sequence[Run]) -> list[RunView]:
    job_ids = {r.job_id for r in runs}
    jobs_by_id = dict(session.execute(select(Job.id, Job.name).where(Job.id.in_(job_ids))).all())
    authors: dict[tuple[int, int], int | None] = {
        (row.job_id, row.version): row.created_by
        for row in session.execute(
            select(JobVersion.job_id, JobVersion.version, JobVersion.created_by).where(
                tuple_(JobVersion.job_id, JobVersion.version).in_({(r.job_id, r.job_version) for r in runs})
            )
        )
    }
    users = auth_service.usernames(
        session,
        {r.owner_id for r in runs} | {r.created_by for r in runs} | set(authors.values()),
    )
    run_times = running_time(session, {r.id for r in runs})
    return [
        RunView(
            r,
            jobs_by_id[r.job_id],
            users[r.owner_id],
            users.get(authors.get((r.job_id, r.job_version))),
            users.get(r.created_by),
            run_times.get(r.id),
        )
        for r in runs
    ]


def view(session: Session, run: Run) -> RunView:
    (found,) = _views(session, [run])
    return found


def new_run(
    session: Session,
    actor: Actor,
    workspace: Workspace,
    job: Job,
    *,
    version: int,
    triggered_by: int | None,
    given_parameters: dict[str, Any],
    trigger: RunTrigger,
    idempotency_key: str | None = None,
    scheduled_for: datetime | None = None,
) -> Run:
    """Queue a run of `job` at `version`, in the caller's transaction. It acts as the version's
    run-as user — decided here, for every kind of trigger, and never by the caller."""
    found = jobs.get_version(session, job, version)
    definition = jobs.definition_of(found)
    run = Run(
        workspace_id=workspace.id,
        job_id=job.id,
        job_version=version,
        trigger=trigger,
        owner_id=found.run_as_id,
        parameters=parameters.resolve(definition.parameters, given_parameters),
        idempotency_key=idempotency_key,
        scheduled_for=scheduled_for,
        attempt=1,
        max_attempts=definition.retry.max_attempts,
        max_concurrent_runs=definition.max_concurrent_runs,
        created_by=triggered_by,
    )
    policy.apply(session, actor, run, policy.Submitted(trigger), workspace=workspace.slug)
    return run


def _by_key(session: Session, job: Job, key: str) -> Run | None:
    return session.scalar(select(Run).where(Run.job_id == job.id, Run.idempotency_key == key))


def submit(
    session: Session,
    actor: Actor,
    principal: Principal,
    workspace: Workspace,
    job_name: str,
    version: int | None,
    given_parameters: dict[str, Any],
    idempotency_key: str | None,
) -> tuple[RunView, bool]:
    """The new run and True, or — for an idempotency key already used on this job — the run that
    key created and False (nothing new is queued, whatever the other fields say)."""
    job = jobs.get_job(session, workspace, job_name)
    if idempotency_key is not None:
        existing = _by_key(session, job, idempotency_key)
        if existing is not None:
            return view(session, existing), False
    try:
        run = new_run(
            session,
            actor,
            workspace,
            job,
            version=version or job.current_version,
            triggered_by=principal.user_id,
            given_parameters=given_parameters,
            trigger=RunTrigger.manual,
            idempotency_key=idempotency_key,
        )
    except IntegrityError:
        # A concurrent submission with the same key won the race: answer with its run.
        session.rollback()
        if idempotency_key is None:
            raise
        won = _by_key(session, job, idempotency_key)
        if won is None:
            raise
        return view(session, won), False
    return view(session, run), True


@dataclass(frozen=True)
class RunFilters:
    job: str | None = None
    state: RunState | None = None
    trigger: RunTrigger | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_runs(
    session: Session, workspace: Workspace, filters: RunFilters, page: PageRequest
) -> tuple[list[RunView], str | None]:
    """Newest first."""
    stmt: Select[Any] = select(Run).where(Run.workspace_id == workspace.id)
    if filters.job is not None:
        stmt = stmt.where(
            Run.job_id
            == select(Job.id)
            .where(Job.workspace_id == workspace.id, Job.name == filters.job)
            .scalar_subquery()
        )
    if filters.state is not None:
        stmt = stmt.where(Run.state == filters.state)
    if filters.trigger is not None:
        stmt = stmt.where(Run.trigger == filters.trigger)
    if filters.since is not None:
        stmt = stmt.where(Run.created_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(Run.created_at < filters.until)
    rows, cursor = keyset_page(session, stmt, Run.id, page, descending=True)
    return _views(session, rows), cursor


def get_run(session: Session, workspace: Workspace, run_id: int, *, for_update: bool = False) -> Run:
    stmt = select(Run).where(Run.id == run_id, Run.workspace_id == workspace.id)
    found = session.scalar(stmt.with_for_update() if for_update else stmt)
    if found is None:
        raise NotFound(f"No run {run_id} in workspace '{workspace.slug}'.")
    return found


@dataclass(frozen=True)
class RunDetail:
    view: RunView
    attempts: list[RunAttempt]
    transitions: list[RunTransition]


def detail(session: Session, workspace: Workspace, run_id: int) -> RunDetail:
    run = get_run(session, workspace, run_id)
    attempts = list(
        session.scalars(select(RunAttempt).where(RunAttempt.run_id == run.id).order_by(RunAttempt.number))
    )
    timeline = list(
        session.scalars(
            select(RunTransition).where(RunTransition.run_id == run.id).order_by(RunTransition.id)
        )
    )
    return RunDetail(view(session, run), attempts, timeline)


def stop(session: Session, actor: Actor, workspace: Workspace, run_id: int) -> RunView:
    """As the run policy says: queued or waiting, cancelled at once; running, CANCELLING (the
    worker holding it stops the engine work); already stopping or finished, nothing changes."""
    run = get_run(session, workspace, run_id, for_update=True)
    policy.apply(session, actor, run, policy.StopRequested(), workspace=workspace.slug)
    return view(session, run)


def delete_job(session: Session, actor: Actor, workspace: Workspace, name: str) -> None:
    """Delete a job, its versions and its finished runs; refused while one of its runs is
    unfinished (here rather than in jobs, which sit below runs)."""
    job = jobs.get_job(session, workspace, name, for_update=True)
    active = session.scalar(
        select(func.count()).select_from(Run).where(Run.job_id == job.id, Run.state.not_in(TERMINAL_STATES))
    )
    if active:
        raise Conflict(f"Job '{name}' has {active} unfinished runs; stop them first.")
    jobs.delete_job(session, actor, workspace, job)


def _requeue(session: Session, actor: Actor, workspace: Workspace, run: Run, trigger: RunTrigger) -> None:
    """A new attempt of an ended run, with the same version and parameters (the run policy says
    which runs, and gives it the job version's automatic retries afresh)."""
    job = session.get(Job, run.job_id)
    assert job is not None
    retry_policy = jobs.definition_of(jobs.get_version(session, job, run.job_version)).retry
    event = policy.RetryRequested(trigger)
    policy.apply(session, actor, run, event, workspace=workspace.slug, retry=retry_policy)


def retry(session: Session, actor: Actor, workspace: Workspace, run_id: int) -> RunView:
    run = get_run(session, workspace, run_id, for_update=True)
    _requeue(session, actor, workspace, run, RunTrigger.retry)
    return view(session, run)


def repair(
    session: Session, actor: Actor, workspace: Workspace, job_name: str, since: datetime | None
) -> list[RunView]:
    """Rerun every failed or timed-out run of a job (each as a new attempt of the same run)."""
    job = jobs.get_job(session, workspace, job_name)
    stmt = (
        select(Run)
        .where(Run.job_id == job.id, Run.state.in_(policy.REPAIRED))
        .order_by(Run.id)
        .with_for_update()
    )
    if since is not None:
        stmt = stmt.where(Run.created_at >= since)
    runs = list(session.scalars(stmt))
    if not runs:
        return []
    for run in runs:
        _requeue(session, actor, workspace, run, RunTrigger.repair)
    return _views(session, runs)


def _attempt_number(run: Run, attempt: int | None) -> int:
    number = run.attempt if attempt is None else attempt
    if not 1 <= number <= run.attempt:
        raise NotFound(f"Run {run.id} has no attempt {number}; it has {run.attempt}.")
    return number


@dataclass(frozen=True)
class LogPage:
    attempt: int
    text: str
    next_seq: int
    complete: bool  # the attempt has ended: no more lines will come


LOG_CHUNKS_PER_PAGE = 200
LOG_POLL_SECONDS = 0.25


def read_logs(
    session: Session,
    workspace: Workspace,
    run_id: int,
    attempt: int | None,
    after: int,
    wait: float = 0,
    chunks_per_page: int = LOG_CHUNKS_PER_PAGE,
) -> LogPage:
    """Log chunks after `after` (at most `chunks_per_page`); with `wait`, up to that long for some
    to arrive (long poll). The session's transaction is ended between polls so no connection is
    held while waiting."""
    run = get_run(session, workspace, run_id)
    number = _attempt_number(run, attempt)
    deadline = time.monotonic() + wait
    while True:
        # Read the state first: lines flushed before the attempt ended are then surely visible.
        state = session.scalar(
            select(RunAttempt.state).where(RunAttempt.run_id == run.id, RunAttempt.number == number)
        )
        chunks = session.execute(
            select(RunLogChunk.seq, RunLogChunk.text)
            .where(RunLogChunk.run_id == run.id, RunLogChunk.attempt == number, RunLogChunk.seq > after)
            .order_by(RunLogChunk.seq)
            .limit(chunks_per_page)
        ).all()
        ended = state in TERMINAL_STATES and len(chunks) < chunks_per_page
        unit_of_work.release(session)
        if chunks or ended or time.monotonic() >= deadline:
            break
        with admission.waiting():
            time.sleep(LOG_POLL_SECONDS)
    last = chunks[-1].seq if chunks else after
    return LogPage(number, "".join(chunk.text for chunk in chunks), last, ended)


def result_attempt(session: Session, workspace: Workspace, run_id: int, attempt: int | None) -> RunAttempt:
    run = get_run(session, workspace, run_id)
    number = _attempt_number(run, attempt)
    found = session.scalars(
        select(RunAttempt).where(RunAttempt.run_id == run.id, RunAttempt.number == number)
    ).one()
    if found.result_columns is None:
        if found.state is RunState.SUCCEEDED:
            raise NotFound(f"Attempt {number} of run {run.id} has no result (only SQL runs keep one).")
        raise NotFound(f"Attempt {number} of run {run.id} is {found.state} and has no result.")
    return found


def open_result(settings: Settings, workspace: Workspace, attempt: RunAttempt) -> pa.NativeFile:
    """The attempt's full result (Parquet) to stream; read only inside the workspace's storage."""
    assert attempt.result_location is not None
    return results.open_result(settings, workspace.storage_location, attempt.result_location)
