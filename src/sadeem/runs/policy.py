"""The run policy: what happens to a run when something happens to it, as named rules evaluated
in order (Prefect's `core_policy.py`, much smaller). The API, the worker and the reaper report
events (a submit, a claim, the engine's end, a timeout, an expired lease, a stop or retry request);
the first rule that speaks for the run's state and the event picks the target state (and, for an
automatic retry, when); `transitions.transition()` checks it against the table and keeps the books.
Which rule decided is kept in the transition's audit event (`rule`, and `decision` in words).

Nothing here reads or writes the database but `apply()`, through `transition()`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy.orm import Session

from sadeem.core.actor import Actor
from sadeem.core.clock import utcnow
from sadeem.core.errors import Conflict
from sadeem.engines.base import ExecutionState
from sadeem.jobs.schemas import RetryPolicy
from sadeem.runs import wakeup
from sadeem.runs.models import LEASED_STATES, Run, RunAttempt, RunState, RunTrigger
from sadeem.runs.transitions import Change, Lease, transition

S = RunState

# Events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    """A new run was asked for (manually or by the schedule)."""

    trigger: RunTrigger


@dataclass(frozen=True)
class RetryRequested:
    """A user asked for a new attempt of an ended run (a retry, or a repair of its job)."""

    trigger: RunTrigger


@dataclass(frozen=True)
class RetryDue:
    """A worker found a run waiting for its automatic retry, and its time has come."""


@dataclass(frozen=True)
class Claimed:
    """A worker claimed the queued run under `lease`."""

    lease: Lease


@dataclass(frozen=True)
class StopRequested:
    """A user asked to stop the run."""


@dataclass(frozen=True)
class EngineFinished:
    """The engine work ended in `state`; `stopped` when the worker had asked it to stop."""

    state: ExecutionState
    message: str | None = None
    stopped: bool = False
    query_ids: tuple[str, ...] = ()  # the engine's own (Trino's), for the transition's audit


@dataclass(frozen=True)
class Refused:
    """The engine refused the task (another attempt would be refused the same way)."""

    message: str


@dataclass(frozen=True)
class WorkerFailed:
    """The worker failed around the engine work (a bug, an unreachable component)."""

    message: str


@dataclass(frozen=True)
class TimedOut:
    """The attempt ran longer than the job's timeout; the worker stopped its engine work."""

    timeout_seconds: int


@dataclass(frozen=True)
class LeaseExpired:
    """The reaper found the run's lease expired: its worker is gone (killed, partitioned, hung)."""

    message: str


Event = (
    Submitted
    | RetryRequested
    | RetryDue
    | Claimed
    | StopRequested
    | EngineFinished
    | Refused
    | WorkerFailed
    | TimedOut
    | LeaseExpired
)


def _failure(event: Event) -> tuple[str, str | None] | None:
    """(reason, message) when `event` says the attempt failed; None otherwise."""
    match event:
        case EngineFinished(state=ExecutionState.SUCCEEDED):
            return None
        case EngineFinished(state=ExecutionState.CANCELLED, stopped=False):
            return "engine_failed", event.message or "The engine cancelled the work unasked."
        case EngineFinished():
            return "engine_failed", event.message
        case Refused():
            return "refused", event.message
        case WorkerFailed():
            return "worker_error", event.message
        case LeaseExpired():
            return "worker_lost", event.message
    return None


def ending(event: Event) -> str:
    """How an attempt ended, in words for its log: as the worker saw it, before the policy decides."""
    match event:
        case EngineFinished(stopped=True) | EngineFinished(state=ExecutionState.CANCELLED):
            return "CANCELLED"
        case EngineFinished(state=ExecutionState.SUCCEEDED):
            return "SUCCEEDED"
        case TimedOut():
            return f"TIMED_OUT (The run exceeded its timeout of {event.timeout_seconds} s.)"
    failure = _failure(event)
    return f"FAILED ({failure[1]})" if failure and failure[1] else "FAILED"


# Rules --------------------------------------------------------------------------------------


class Unchanged:
    """A rule's answer when the run stays as it is (e.g. a stop of a run already stopping)."""


UNCHANGED = Unchanged()


@dataclass(frozen=True)
class Facts:
    """What a rule may look at: the run, the event, and the retry policy of the run's version
    (given for the events that can end or restart a series of attempts)."""

    run: Run
    event: Event
    retry: RetryPolicy | None


Decide = Callable[[Facts], Change | Unchanged | None]


@dataclass(frozen=True)
class Rule:
    name: str
    decide: Decide  # None: the rule does not speak for these facts

    @property
    def summary(self) -> str:
        return (self.decide.__doc__ or "").strip()


RULES: list[Rule] = []


def rule(name: str) -> Callable[[Decide], Decide]:
    """Append the decorated function to the policy, after the rules above it."""

    def register(decide: Decide) -> Decide:
        RULES.append(Rule(name, decide))
        return decide

    return register


@rule("queue-submitted-run")
def _queue_submitted(f: Facts) -> Change | None:
    """A new run is queued for its first attempt."""
    if isinstance(f.event, Submitted) and f.run.state is None:
        return Change(S.QUEUED, reason=f.event.trigger)
    return None


RETRYABLE = frozenset({S.FAILED, S.CANCELLED, S.TIMED_OUT})
# A repair reruns what went wrong; a cancelled run was stopped on purpose.
REPAIRED = frozenset({S.FAILED, S.TIMED_OUT})


@rule("retry-ended-run")
def _retry_ended(f: Facts) -> Change | None:
    """A failed, cancelled or timed-out run is queued again, with its automatic retries afresh."""
    if not isinstance(f.event, RetryRequested):
        return None
    if f.run.state not in RETRYABLE:
        raise Conflict(
            f"Run {f.run.id} is {f.run.state}; only a failed, cancelled or timed-out run can be retried."
        )
    assert f.retry is not None
    series_end = f.run.attempt + f.retry.max_attempts
    return Change(
        S.QUEUED,
        reason=f.event.trigger,
        max_attempts=series_end,
        decision=f"attempt {f.run.attempt + 1} of {series_end}",
    )


@rule("queue-due-retry")
def _queue_due_retry(f: Facts) -> Change | None:
    """A run waiting for its automatic retry is queued again once its time has come."""
    if isinstance(f.event, RetryDue) and f.run.state is S.WAITING_FOR_RETRY:
        return Change(S.QUEUED, reason="retry")
    return None


@rule("start-claimed-run")
def _start_claimed(f: Facts) -> Change | None:
    """A claimed run starts RUNNING under its worker's lease."""
    if isinstance(f.event, Claimed) and f.run.state is S.QUEUED:
        return Change(S.RUNNING, lease=f.event.lease)
    return None


@rule("cancel-before-start")
def _cancel_before_start(f: Facts) -> Change | None:
    """A stop of a queued or waiting run cancels it at once (no engine work to stop)."""
    if isinstance(f.event, StopRequested) and f.run.state in (S.QUEUED, S.WAITING_FOR_RETRY):
        return Change(S.CANCELLED, reason="stopped")
    return None


@rule("stop-running-run")
def _stop_running(f: Facts) -> Change | None:
    """A stop of a running run makes it CANCELLING; its worker stops the engine work."""
    if isinstance(f.event, StopRequested) and f.run.state is S.RUNNING:
        return Change(S.CANCELLING, reason="stopped")
    return None


@rule("stop-once")
def _stop_once(f: Facts) -> Unchanged | None:
    """A stop of a run already stopping or ended changes nothing."""
    return UNCHANGED if isinstance(f.event, StopRequested) else None


@rule("success-wins")
def _success_wins(f: Facts) -> Change | None:
    """An engine that succeeded makes the run SUCCEEDED, even when a stop was on its way."""
    event = f.event
    succeeded = isinstance(event, EngineFinished) and event.state is ExecutionState.SUCCEEDED
    if succeeded and f.run.state in LEASED_STATES:
        return Change(S.SUCCEEDED)
    return None


@rule("time-out")
def _time_out(f: Facts) -> Change | None:
    """An attempt past the job's timeout ends the run TIMED_OUT (never retried)."""
    if isinstance(f.event, TimedOut) and f.run.state in LEASED_STATES:
        seconds = f.event.timeout_seconds
        return Change(S.TIMED_OUT, reason="timeout", message=f"The run exceeded its timeout of {seconds} s.")
    return None


@rule("cancel-takes-effect")
def _cancel_takes_effect(f: Facts) -> Change | None:
    """A stopping run whose attempt ended without success (or whose worker is gone) is CANCELLED."""
    failure = _failure(f.event)
    if failure is None or f.run.state is not S.CANCELLING:
        return None
    event = f.event
    if isinstance(event, EngineFinished) and (event.stopped or event.state is ExecutionState.CANCELLED):
        return Change(S.CANCELLED, reason="stopped")
    reason, message = failure
    return Change(S.CANCELLED, reason=reason, message=message)


@rule("refusal-not-retried")
def _refusal_not_retried(f: Facts) -> Change | None:
    """An engine's refusal fails the run at once: another attempt would be refused the same way."""
    if isinstance(f.event, Refused) and f.run.state is S.RUNNING:
        return Change(S.FAILED, reason="refused", message=f.event.message)
    return None


def retry_delay(run: Run, retry: RetryPolicy) -> float | None:
    """Seconds before the next automatic attempt, or None when the attempts are used up."""
    if run.attempt >= run.max_attempts:
        return None
    first_of_series = run.max_attempts - retry.max_attempts + 1
    return retry.delay(run.attempt - first_of_series + 1)


@rule("retry-with-backoff")
def _retry_with_backoff(f: Facts) -> Change | None:
    """A failed attempt with attempts left waits for the next one, per the job's backoff."""
    failure = _failure(f.event)
    if failure is None or f.run.state is not S.RUNNING:
        return None
    assert f.retry is not None, "a failure is reported with the run's retry policy"
    delay = retry_delay(f.run, f.retry)
    if delay is None:
        return None
    reason, message = failure
    return Change(
        S.WAITING_FOR_RETRY,
        reason=reason,
        message=message,
        not_before=utcnow() + timedelta(seconds=delay),
        decision=f"attempt {f.run.attempt + 1} of {f.run.max_attempts} in {delay:g} s",
    )


@rule("fail-when-retries-exhausted")
def _fail_exhausted(f: Facts) -> Change | None:
    """A failed attempt without attempts left fails the run."""
    failure = _failure(f.event)
    if failure is None or f.run.state is not S.RUNNING:
        return None
    reason, message = failure
    return Change(
        S.FAILED,
        reason=reason,
        message=message,
        decision=f"attempt {f.run.attempt} of {f.run.max_attempts}, the last",
    )


# Evaluation ---------------------------------------------------------------------------------


def decide(run: Run, event: Event, retry: RetryPolicy | None = None) -> Change | Unchanged:
    """The first rule's answer for `event` in the run's state; Conflict when no rule speaks."""
    facts = Facts(run, event, retry)
    for candidate in RULES:
        answer = candidate.decide(facts)
        if isinstance(answer, Change):
            return replace(answer, rule=candidate.name)
        if answer is not None:
            return answer
    raise Conflict(f"Run {run.id} is {run.state}; {type(event).__name__} does not apply to it.")


def apply(
    session: Session,
    actor: Actor,
    run: Run,
    event: Event,
    *,
    workspace: str,
    retry: RetryPolicy | None = None,
    attempt: RunAttempt | None = None,
) -> RunAttempt | None:
    """Decide and make the move, in the caller's transaction; the run's current attempt after it,
    or None when the policy leaves the run as it is. Workers are woken when there is new work for
    them: a run queued by the API, waiting for a retry, or asked to stop."""
    change = decide(run, event, retry)
    if isinstance(change, Unchanged):
        return None
    if isinstance(event, EngineFinished) and event.query_ids:
        change = replace(change, query_ids=event.query_ids)
    current = transition(session, actor, run, change, workspace=workspace, attempt=attempt)
    if change.to is S.CANCELLING or (
        change.to in (S.QUEUED, S.WAITING_FOR_RETRY) and not isinstance(event, RetryDue)
    ):
        wakeup.signal(session)
    return current
