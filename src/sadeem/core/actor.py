"""Who acts: the frozen identity a service receives and the audit trail records.

A request builds one from its authenticated principal; the CLI, the worker, the scheduler, the
reaper and the first-start bootstrap act as a system actor (no user) named after themselves.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    # Who: a user (id and name), or a system actor's name ("cli", "worker:w1") with no id.
    username: str | None
    request_id: str
    user_id: int | None = None
    # How authenticated ("session", "token"; None for a system actor) and with which token.
    auth_method: str | None = None
    token_id: str | None = None
    # An engine credential's work ("run 12 attempt 1", "statement …"): the user it runs as acts.
    acting_for: str | None = None
    # From where.
    client_addr: str | None = None
    user_agent: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """Sadeem itself (`system`), its CLI (`cli`) or one of its processes (`worker:<id>`,
        `scheduler:<id>`, `reaper:<id>`) acting on its own."""
        return cls(username=name, request_id=f"{name}-{secrets.token_hex(8)}", client_addr="local")
