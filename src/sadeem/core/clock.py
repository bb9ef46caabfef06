"""The one clock: timezone-aware UTC, which every stored moment uses."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
