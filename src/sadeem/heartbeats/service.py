"""Workers and schedulers say they are alive: one `service_heartbeats` row per process, written
when it starts, on every pass of its loop, and deleted when it stops cleanly. A failed write is
logged and never stops the loop that beats (the next pass tries again).

A process that was killed leaves its row. The next process to start prunes the rows of its own host
whose process is gone (a restart after a crash shows no ghost), and any row silent for a day."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from sadeem import __version__
from sadeem.core.clock import utcnow
from sadeem.db.engine import Database
from sadeem.heartbeats.models import ServiceHeartbeat, ServiceKind

log = logging.getLogger(__name__)

# Rows of processes that died without stopping are shown as down for this long, then pruned by
# the next process that starts.
FORGET_AFTER = timedelta(days=1)


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, only whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, under another user
        return False
    return False


def new_service_id() -> str:
    """Unique per process start: host, pid and a random tail (a pid is reused after a restart)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Heartbeat:
    def __init__(
        self,
        db: Database,
        kind: ServiceKind,
        service_id: str,
        interval_seconds: float,
        slots: int | None = None,
    ) -> None:
        self.db, self.kind, self.service_id = db, kind, service_id
        self.interval_seconds, self.slots = interval_seconds, slots
        self.started_at = utcnow()

    def start(self) -> None:
        try:
            with self.db.unit_of_work() as session:
                session.execute(
                    delete(ServiceHeartbeat).where(ServiceHeartbeat.beat_at < utcnow() - FORGET_AFTER)
                )
                here = session.execute(
                    select(ServiceHeartbeat.id, ServiceHeartbeat.pid).where(
                        ServiceHeartbeat.host == socket.gethostname()
                    )
                ).all()
                if gone := [row.id for row in here if _process_gone(row.pid)]:
                    session.execute(delete(ServiceHeartbeat).where(ServiceHeartbeat.id.in_(gone)))
        except Exception:
            log.exception("%s %s: pruning old heartbeats failed", self.kind, self.service_id)
        self.beat(slots_in_use=0 if self.slots is not None else None)

    def beat(self, slots_in_use: int | None = None, details: dict[str, Any] | None = None) -> None:
        try:
            with self.db.unit_of_work() as session:
                row = session.get(ServiceHeartbeat, self.service_id)
                if row is None:
                    row = ServiceHeartbeat(
                        id=self.service_id,
                        kind=self.kind,
                        host=socket.gethostname(),
                        pid=os.getpid(),
                        version=__version__,
                        started_at=self.started_at,
                        interval_seconds=self.interval_seconds,
                        slots=self.slots,
                    )
                    session.add(row)
                row.beat_at = utcnow()
                row.slots_in_use = slots_in_use
                row.details = details or {}
        except Exception:
            log.exception("%s %s: heartbeat failed", self.kind, self.service_id)

    def stop(self) -> None:
        try:
            with self.db.unit_of_work() as session:
                session.execute(delete(ServiceHeartbeat).where(ServiceHeartbeat.id == self.service_id))
        except Exception:
            log.exception("%s %s: removing the heartbeat failed", self.kind, self.service_id)
