"""Domain errors. Services raise these; the HTTP layer (api/problems.py) turns them into
problem+json responses, so no service knows about HTTP."""

from __future__ import annotations

from typing import Any


class SadeemError(Exception):
    code = "error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(SadeemError):
    code = "invalid-input"


class NotAuthenticated(SadeemError):
    code = "not-authenticated"


class PermissionDenied(SadeemError):
    code = "permission-denied"


class NotFound(SadeemError):
    code = "not-found"


class Conflict(SadeemError):
    code = "conflict"


class Gone(SadeemError):
    """It existed, and is no more (an expired statement result)."""

    code = "gone"


class TooLarge(SadeemError):
    code = "too-large"


class TooManyRequests(SadeemError):
    """Refused for now because of how much the caller already does (or did): worth asking again
    after `retry_after_seconds`."""

    code = "too-many-requests"

    def __init__(self, detail: str, retry_after_seconds: int, **extra: Any) -> None:
        super().__init__(detail, retry_after_seconds=retry_after_seconds, **extra)
        self.retry_after_seconds = retry_after_seconds


class TooManyAttempts(TooManyRequests):
    """Too many failed logins."""

    code = "too-many-attempts"


class StateUnknown(SadeemError):
    """A change was sent somewhere and whether it took effect cannot be told (e.g. a commit whose
    database transaction failed at COMMIT): the caller must not assume either way."""

    code = "state-unknown"


class Unavailable(SadeemError):
    code = "unavailable"
