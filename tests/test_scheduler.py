"""The scheduler: `fire_due` at chosen moments (no waiting for real cron slots) fires each slot of
each active schedule exactly once, also when schedulers race, and honours catch-up, pausing and
time zones."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sadeem.audit.models import AuditEvent
from sadeem.config import Settings
from sadeem.db.engine import Database
from sadeem.jobs.models import Job
from sadeem.runs.models import Run, RunState, RunTrigger
from sadeem.scheduler.scheduler import fire_due
from tests.conftest import World

JOBS = "/api/v1/workspaces/alpha/jobs"
FIVE_MINUTES = timedelta(minutes=5)


def create_scheduled_job(
    client: TestClient, world: World, name: str, cron: str = "*/5 * * * *", **schedule: Any
) -> datetime:
    """The job's first slot (UTC)."""
    response = client.post(
        JOBS,
        json={
            "name": name,
            "task": {"type": "sql", "sql": "SELECT :region AS region"},
            "parameters": [{"name": "region", "default": "north"}],
            "schedule": {"cron": cron, **schedule},
        },
        headers=world.headers("ws_editor"),
    )
    assert response.status_code == 201, response.text
    return datetime.fromisoformat(response.json()["next_fire_at"])


def slots_fired(db: Database, job: str) -> list[datetime]:
    with db.reads() as session:
        return list(
            session.scalars(
                select(Run.scheduled_for)
                .join(Job, Job.id == Run.job_id)
                .where(Job.name == job)
                .order_by(Run.scheduled_for)
            )
        )


def test_each_slot_fires_once(client: TestClient, world: World, db: Database) -> None:
    first = create_scheduled_job(client, world, "every_5")
    assert first.minute % 5 == 0 and first.second == 0 and first > datetime.now(first.tzinfo)

    assert fire_due(db, now=first - timedelta(seconds=1)) == []
    fired = fire_due(db, now=first)
    assert len(fired) == 1
    assert fire_due(db, now=first) == []  # the same moment again
    assert fire_due(db, now=first + FIVE_MINUTES - timedelta(seconds=1)) == []
    assert len(fire_due(db, now=first + FIVE_MINUTES)) == 1
    assert slots_fired(db, "every_5") == [first, first + FIVE_MINUTES]

    with db.reads() as session:
        run = session.get(Run, fired[0])
        assert run is not None
        assert (run.state, run.trigger, run.parameters) == (
            RunState.QUEUED,
            RunTrigger.schedule,
            {"region": "north"},
        )
    response = client.get(f"/api/v1/workspaces/alpha/runs/{fired[0]}", headers=world.headers("ws_viewer"))
    assert response.json()["owner"] == "ws_editor"  # the job's run-as user
    assert response.json()["transitions"][0]["actor"] == "scheduler"
    job = client.get(f"{JOBS}/every_5", headers=world.headers("ws_viewer")).json()
    assert datetime.fromisoformat(job["next_fire_at"]) == first + 2 * FIVE_MINUTES


def test_catch_up_skip_fires_the_latest_slot_and_backfill_every_slot(
    client: TestClient, world: World, db: Database
) -> None:
    first = create_scheduled_job(client, world, "skipper", catch_up="skip")
    assert create_scheduled_job(client, world, "backfiller", catch_up="backfill") == first
    assert len(fire_due(db, now=first)) == 2

    hour_later = first + timedelta(hours=1)  # the schedulers were down for an hour
    fire_due(db, now=hour_later)
    assert slots_fired(db, "skipper") == [first, hour_later]
    assert slots_fired(db, "backfiller") == [first + k * FIVE_MINUTES for k in range(13)]
    assert fire_due(db, now=hour_later) == []


def test_paused_jobs_fire_nothing(client: TestClient, world: World, db: Database) -> None:
    first = create_scheduled_job(client, world, "resting")
    paused = client.post(f"{JOBS}/resting/pause", headers=world.headers("ws_editor"))
    assert paused.status_code == 200, paused.text
    assert fire_due(db, now=first + timedelta(days=1)) == []
    assert slots_fired(db, "resting") == []

    resumed = client.post(f"{JOBS}/resting/resume", headers=world.headers("ws_editor")).json()
    next_slot = datetime.fromisoformat(resumed["next_fire_at"])
    assert len(fire_due(db, now=next_slot)) == 1
    assert slots_fired(db, "resting") == [next_slot]


def test_a_slot_is_in_the_schedules_time_zone(client: TestClient, world: World, db: Database) -> None:
    first = create_scheduled_job(client, world, "riyadh_2am", cron="0 2 * * *", timezone="Asia/Riyadh")
    assert (first.hour, first.minute, first.utcoffset()) == (23, 0, timedelta(0))
    fire_due(db, now=first)
    fire_due(db, now=first + timedelta(days=1))
    assert slots_fired(db, "riyadh_2am") == [first, first + timedelta(days=1)]


def test_a_slot_already_fired_is_not_fired_again_from_stale_bookkeeping(
    client: TestClient, world: World, db: Database
) -> None:
    first = create_scheduled_job(client, world, "stale")
    assert len(fire_due(db, now=first)) == 1
    with db.reads() as session:
        transitions_before = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "run.transition")
        )
    # What a scheduler that read the job before another one fired the slot would write back.
    with db.writes() as session:
        job = session.scalars(select(Job).where(Job.name == "stale")).one()
        job.next_fire_at = first
        session.commit()

    assert fire_due(db, now=first) == []
    assert slots_fired(db, "stale") == [first]
    with db.reads() as session:
        job = session.scalars(select(Job).where(Job.name == "stale")).one()
        assert job.next_fire_at == first + FIVE_MINUTES
        assert (
            session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "run.transition")
            )
            == transitions_before
        )


def test_racing_schedulers_never_fire_a_slot_twice(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    names = [f"raced_{i}" for i in range(4)]
    firsts = {name: create_scheduled_job(client, world, name, catch_up="backfill") for name in names}
    moments = [min(firsts.values()) + k * FIVE_MINUTES for k in range(25)]
    # Each scheduler has its own connections, as separate processes would.
    schedulers = [Database.connect(settings.resolved_database_url, pool_size=2) for _ in range(2)]
    start = threading.Barrier(len(schedulers))
    failures: list[BaseException] = []

    def scheduler(index: int) -> None:
        try:
            start.wait()
            for moment in moments:
                fire_due(schedulers[index], now=moment, scheduler_id=f"scheduler-{index}")
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    threads = [threading.Thread(target=scheduler, args=(i,)) for i in range(len(schedulers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for database in schedulers:
        database.dispose()
    assert not failures, failures

    for name in names:
        fired = slots_fired(db, name)
        per_slot = Counter(fired)
        assert max(per_slot.values()) == 1, [slot for slot, n in per_slot.items() if n > 1]
        expected = [slot for slot in moments if slot >= firsts[name]]
        assert sorted(per_slot) == expected, name


def test_a_scheduled_job_needs_a_default_for_every_parameter(client: TestClient, world: World) -> None:
    response = client.post(
        JOBS,
        json={
            "name": "no_default",
            "task": {"type": "sql", "sql": "SELECT :region"},
            "parameters": [{"name": "region"}],
            "schedule": {"cron": "*/5 * * * *"},
        },
        headers=world.headers("ws_editor"),
    )
    assert response.status_code == 400, response.text
    assert "declare a default for: region" in response.json()["detail"]
