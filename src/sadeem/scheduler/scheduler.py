"""The scheduler: fires each due schedule slot as a run, exactly once. The run row carries the
slot (`scheduled_for`) under a unique constraint with the job, so a second scheduler racing for
the same slot fails to insert and moves on; on PostgreSQL the job rows are also claimed with
SKIP LOCKED so two schedulers split the work instead of repeating it. A scheduled run acts as
the run-as user of the version current when its slot fires (runs/service.py `new_run`)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sadeem.core.actor import Actor
from sadeem.core.clock import utcnow
from sadeem.db.engine import Database
from sadeem.heartbeats.models import ServiceKind
from sadeem.heartbeats.service import Heartbeat, new_service_id
from sadeem.jobs import service as jobs
from sadeem.jobs import slots
from sadeem.jobs.models import Job
from sadeem.runs import service as runs
from sadeem.runs.models import RunTrigger
from sadeem.workspaces.models import Workspace, WorkspaceStatus

log = logging.getLogger(__name__)


def fire_due(db: Database, now: datetime | None = None, scheduler_id: str = "scheduler") -> list[int]:
    """Queue a run for every due slot of every active schedule; the ids of the runs queued."""
    moment = now or utcnow()
    actor = Actor.system(scheduler_id)
    fired: list[int] = []
    with db.unit_of_work("run.schedule") as session:
        due = session.execute(
            select(Job, Workspace)
            .join(Workspace, Workspace.id == Job.workspace_id)
            .where(Job.next_fire_at.is_not(None), Job.next_fire_at <= moment, Job.paused.is_(False))
            .order_by(Job.next_fire_at)
            .limit(100)
            .with_for_update(skip_locked=True, of=Job)
        ).all()
        for job, workspace in due:
            definition = jobs.definition_of(jobs.get_version(session, job, job.current_version))
            if definition.schedule is None or job.next_fire_at is None:
                job.next_fire_at = None
                continue
            to_fire, following = slots.due_slots(definition.schedule, job.next_fire_at, moment)
            job.next_fire_at = following
            if workspace.status is WorkspaceStatus.archived:
                continue  # an archived workspace runs nothing; its slots pass unfired
            for slot in to_fire:
                try:
                    with session.begin_nested():
                        run = runs.new_run(
                            session,
                            actor,
                            workspace,
                            job,
                            version=job.current_version,
                            triggered_by=None,
                            given_parameters={},
                            trigger=RunTrigger.schedule,
                            scheduled_for=slot,
                        )
                    fired.append(run.id)
                except IntegrityError:
                    log.info("job %s slot %s was fired by another scheduler", job.name, slot.isoformat())
    return fired


class Scheduler:
    """`fire_due` every `interval` seconds in a thread."""

    def __init__(self, db: Database, interval: float, scheduler_id: str = "scheduler") -> None:
        self.db, self.interval, self.scheduler_id = db, interval, scheduler_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sadeem-scheduler", daemon=True)
        self._heartbeat = Heartbeat(db, ServiceKind.scheduler, new_service_id(), interval)

    def start(self) -> None:
        self._heartbeat.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._heartbeat.stop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                pass_result: dict[str, object] = {
                    "fired": len(fire_due(self.db, scheduler_id=self.scheduler_id))
                }
            except Exception as exc:
                log.exception("scheduler pass failed; retrying")
                pass_result = {"error": f"{type(exc).__name__}: {str(exc).partition(chr(10))[0]}"[:300]}
            self._heartbeat.beat(details=pass_result)
            self._stop.wait(self.interval)
