"""Job notifications: a JSON POST to each webhook subscribed to what happened. Best effort, never
blocking the run's bookkeeping: failures are written to the run's log."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import httpx

from sadeem.jobs.schemas import Notification, NotificationEvent

TIMEOUT_SECONDS = 5.0


def send(
    notifications: Sequence[Notification],
    event: NotificationEvent,
    payload: dict[str, Any],
    log: Callable[[str], None],
) -> None:
    for notification in notifications:
        if event not in notification.on:
            continue
        target = httpx.URL(notification.url)
        where = f"{target.scheme}://{target.host}"  # never the path or query: they may carry a secret
        try:
            response = httpx.post(notification.url, json={"event": event, **payload}, timeout=TIMEOUT_SECONDS)
            log(f"notification {event} → {where}: HTTP {response.status_code}")
        except httpx.HTTPError as exc:
            log(f"notification {event} → {where} failed: {type(exc).__name__}")
