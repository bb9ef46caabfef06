"""The one orphan path: engine work whose executor is gone is resolved here, for runs and
statements alike. A run's worker holds a lease it renews; a statement's server process writes a
heartbeat. When the lease expired (the worker was killed, partitioned or hung) or the heartbeat
stopped (the server died), the reaper asks each domain for that expired work, locked so that two
reapers never resolve the same item, and has the domain resolve it through its own gate: the run
policy for runs (retry or FAILED / CANCELLED, reason `worker_lost`), the statement transitions for
statements (FAILED, reason `server_lost`). Each also revokes the work's catalog token.

Every worker (each `SADEEM_REAPER_INTERVAL_SECONDS`) and every API server, from its start (each
`SADEEM_STATEMENT_REAP_INTERVAL_SECONDS`), runs it: one round is one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sadeem.core.clock import utcnow
from sadeem.db.engine import Database
from sadeem.runs.models import RunState
from sadeem.statements import service as statements
from sadeem.worker import queue


@dataclass(frozen=True)
class Reaped:
    runs: list[tuple[int, RunState]]  # run id, the state its policy moved it to
    statements: list[str]  # public ids of the statements failed


def reap(db: Database, reaper_id: str, statement_orphan_after: float, now: datetime | None = None) -> Reaped:
    """One round: resolve the runs whose lease expired and the statements whose server stopped
    heartbeating `statement_orphan_after` seconds ago."""
    moment = now or utcnow()
    actor = f"reaper:{reaper_id}"
    with db.unit_of_work("run.transition") as session:
        runs = queue.reap_expired_leases(session, actor, moment)
        failed = statements.fail_orphans(session, actor, moment - timedelta(seconds=statement_orphan_after))
    return Reaped(runs, failed)
