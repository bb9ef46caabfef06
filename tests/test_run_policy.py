"""The run policy's rules, one by one: each event in each state it can meet, and the target the
policy picks (or that it leaves the run alone, or refuses). No database: rules only read the run."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sadeem.core.clock import utcnow
from sadeem.core.errors import Conflict
from sadeem.engines.base import ExecutionState
from sadeem.jobs.schemas import RetryPolicy
from sadeem.runs import policy
from sadeem.runs.models import Run, RunState, RunTrigger
from sadeem.runs.transitions import ALLOWED, Change, Lease

S = RunState
RETRY = RetryPolicy(max_attempts=3, backoff_seconds=10, backoff_multiplier=2, max_backoff_seconds=300)
LEASE = Lease("worker-1", utcnow() + timedelta(seconds=30))
FAILURES: list[policy.Event] = [
    policy.EngineFinished(ExecutionState.FAILED, "boom"),
    policy.WorkerFailed("KeyError: 'x'"),
    policy.LeaseExpired("The lease of worker w expired at 2026-12-07 14:00:00 UTC."),
]


def run_in(state: RunState | None, attempt: int = 1, max_attempts: int = 3) -> Run:
    return Run(id=7, state=state, attempt=attempt, max_attempts=max_attempts)


def decide(state: RunState | None, event: policy.Event, **run: int) -> Change:
    change = policy.decide(run_in(state, **run), event, RETRY)
    assert isinstance(change, Change)
    assert change.to in ALLOWED[state], "the policy only picks moves the table allows"
    return change


def test_rules_are_named_documented_and_unique() -> None:
    names = [r.name for r in policy.RULES]
    assert len(names) == len(set(names))
    for r in policy.RULES:
        assert r.summary and "\n" not in r.summary, r.name


@pytest.mark.parametrize("trigger", [RunTrigger.manual, RunTrigger.schedule])
def test_a_submitted_run_is_queued(trigger: RunTrigger) -> None:
    change = decide(None, policy.Submitted(trigger))
    assert (change.to, change.reason, change.rule) == (S.QUEUED, trigger, "queue-submitted-run")


@pytest.mark.parametrize("state", [S.FAILED, S.CANCELLED, S.TIMED_OUT])
@pytest.mark.parametrize("trigger", [RunTrigger.retry, RunTrigger.repair])
def test_an_ended_run_is_retried_with_its_retries_afresh(state: RunState, trigger: RunTrigger) -> None:
    change = decide(state, policy.RetryRequested(trigger), attempt=3, max_attempts=3)
    assert (change.to, change.reason, change.rule) == (S.QUEUED, trigger, "retry-ended-run")
    # Attempt 4 starts a new series of the version's 3 attempts: 4, 5, 6.
    assert change.max_attempts == 6 and change.decision == "attempt 4 of 6"


@pytest.mark.parametrize("state", [S.QUEUED, S.WAITING_FOR_RETRY, S.RUNNING, S.CANCELLING, S.SUCCEEDED])
def test_only_an_ended_unsuccessful_run_can_be_retried(state: RunState) -> None:
    with pytest.raises(Conflict, match="only a failed, cancelled or timed-out run can be retried"):
        policy.decide(run_in(state), policy.RetryRequested(RunTrigger.retry), RETRY)


def test_a_due_retry_is_queued_then_claimed_under_the_lease() -> None:
    queued = decide(S.WAITING_FOR_RETRY, policy.RetryDue())
    assert (queued.to, queued.reason, queued.rule) == (S.QUEUED, "retry", "queue-due-retry")
    running = decide(S.QUEUED, policy.Claimed(LEASE))
    assert (running.to, running.lease, running.rule) == (S.RUNNING, LEASE, "start-claimed-run")


@pytest.mark.parametrize("state", [S.RUNNING, S.CANCELLING, S.FAILED])
def test_only_a_queued_run_can_be_claimed(state: RunState) -> None:
    with pytest.raises(Conflict):
        policy.decide(run_in(state), policy.Claimed(LEASE), RETRY)


@pytest.mark.parametrize("state", [S.QUEUED, S.WAITING_FOR_RETRY])
def test_a_stop_before_the_start_cancels_at_once(state: RunState) -> None:
    change = decide(state, policy.StopRequested())
    assert (change.to, change.reason, change.rule) == (S.CANCELLED, "stopped", "cancel-before-start")


def test_a_stop_of_a_running_run_asks_its_worker() -> None:
    change = decide(S.RUNNING, policy.StopRequested())
    assert (change.to, change.reason, change.rule) == (S.CANCELLING, "stopped", "stop-running-run")


@pytest.mark.parametrize("state", [S.CANCELLING, S.SUCCEEDED, S.FAILED, S.CANCELLED, S.TIMED_OUT])
def test_a_stop_of_a_stopping_or_ended_run_changes_nothing(state: RunState) -> None:
    assert policy.decide(run_in(state), policy.StopRequested(), RETRY) is policy.UNCHANGED


@pytest.mark.parametrize("state", [S.RUNNING, S.CANCELLING])
def test_success_wins_even_over_a_stop_on_its_way(state: RunState) -> None:
    change = decide(state, policy.EngineFinished(ExecutionState.SUCCEEDED))
    assert (change.to, change.reason, change.rule) == (S.SUCCEEDED, None, "success-wins")


@pytest.mark.parametrize("state", [S.RUNNING, S.CANCELLING])
def test_a_timeout_is_final(state: RunState) -> None:
    change = decide(state, policy.TimedOut(30), attempt=1, max_attempts=3)
    assert (change.to, change.reason, change.rule) == (S.TIMED_OUT, "timeout", "time-out")
    assert change.message == "The run exceeded its timeout of 30 s."


@pytest.mark.parametrize("state", [ExecutionState.FAILED, ExecutionState.CANCELLED])
def test_a_stopped_engine_cancels_the_run(state: ExecutionState) -> None:
    """The worker asked the engine to stop: its failure or cancel is the stop taking effect."""
    change = decide(S.CANCELLING, policy.EngineFinished(state, "interrupted", stopped=True))
    assert (change.to, change.reason, change.message) == (S.CANCELLED, "stopped", None)
    assert change.rule == "cancel-takes-effect"


def test_a_cancel_racing_with_an_engine_failure_cancels_and_keeps_the_failure() -> None:
    """The engine failed on its own before the worker saw the stop: the run is still CANCELLED
    (never retried), and says why the attempt ended."""
    change = decide(S.CANCELLING, policy.EngineFinished(ExecutionState.FAILED, "boom"))
    assert (change.to, change.reason, change.message) == (S.CANCELLED, "engine_failed", "boom")


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (policy.LeaseExpired("The lease of worker w expired."), "worker_lost"),
        (policy.WorkerFailed("OSError: disk full"), "worker_error"),
        (policy.Refused("no such connection"), "refused"),
    ],
)
def test_a_stopping_run_that_ends_otherwise_is_cancelled(event: policy.Event, reason: str) -> None:
    change = decide(S.CANCELLING, event, attempt=1, max_attempts=3)
    assert (change.to, change.reason, change.rule) == (S.CANCELLED, reason, "cancel-takes-effect")


def test_a_refusal_is_never_retried() -> None:
    change = decide(S.RUNNING, policy.Refused("no such connection"), attempt=1, max_attempts=3)
    assert (change.to, change.reason, change.message) == (S.FAILED, "refused", "no such connection")
    assert change.rule == "refusal-not-retried"


@pytest.mark.parametrize("event", FAILURES)
def test_a_failure_with_attempts_left_waits_with_backoff(event: policy.Event) -> None:
    before = utcnow()
    first = decide(S.RUNNING, event, attempt=1, max_attempts=3)
    second = decide(S.RUNNING, event, attempt=2, max_attempts=3)
    assert (first.to, first.rule) == (S.WAITING_FOR_RETRY, "retry-with-backoff")
    assert first.decision == "attempt 2 of 3 in 10 s" and second.decision == "attempt 3 of 3 in 20 s"
    assert first.not_before is not None and second.not_before is not None
    assert timedelta(seconds=10) <= first.not_before - before < timedelta(seconds=11)
    assert timedelta(seconds=20) <= second.not_before - before < timedelta(seconds=21)


@pytest.mark.parametrize("event", FAILURES)
def test_a_failure_of_the_last_attempt_fails_the_run(event: policy.Event) -> None:
    change = decide(S.RUNNING, event, attempt=3, max_attempts=3)
    assert (change.to, change.rule, change.decision) == (
        S.FAILED,
        "fail-when-retries-exhausted",
        "attempt 3 of 3, the last",
    )
    assert (change.reason, change.message) == policy._failure(event)


def test_the_backoff_counts_within_the_current_series() -> None:
    """After a manual retry at attempt 3 (series 4..6), attempt 4's failure is the series' first."""
    change = decide(S.RUNNING, FAILURES[0], attempt=4, max_attempts=6)
    assert change.decision == "attempt 5 of 6 in 10 s"


def test_an_engine_that_cancels_unasked_fails_the_attempt() -> None:
    change = decide(S.RUNNING, policy.EngineFinished(ExecutionState.CANCELLED), attempt=1, max_attempts=1)
    assert (change.to, change.reason) == (S.FAILED, "engine_failed")
    assert change.message == "The engine cancelled the work unasked."


@pytest.mark.parametrize(
    "event",
    [
        policy.EngineFinished(ExecutionState.SUCCEEDED),
        policy.TimedOut(5),
        policy.LeaseExpired("gone"),
        policy.RetryDue(),
    ],
)
@pytest.mark.parametrize("state", [S.SUCCEEDED, S.FAILED, S.CANCELLED, S.TIMED_OUT])
def test_worker_events_for_an_ended_run_are_refused(event: policy.Event, state: RunState) -> None:
    with pytest.raises(Conflict):
        policy.decide(run_in(state), event, RETRY)


@pytest.mark.parametrize(
    ("event", "words"),
    [
        (policy.EngineFinished(ExecutionState.SUCCEEDED), "SUCCEEDED"),
        (policy.EngineFinished(ExecutionState.FAILED, "interrupted", stopped=True), "CANCELLED"),
        (policy.EngineFinished(ExecutionState.FAILED, "boom"), "FAILED (boom)"),
        (policy.TimedOut(3), "TIMED_OUT (The run exceeded its timeout of 3 s.)"),
        (policy.Refused("no"), "FAILED (no)"),
    ],
)
def test_an_attempts_end_in_its_log(event: policy.Event, words: str) -> None:
    assert policy.ending(event) == words
