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


class TooManyAttempts(SadeemError):
    code = "too-many-attempts"

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail, retry_after_seconds=retry_after_seconds)
        self.retry_after_seconds = retry_after_seconds


class StateUnknown(SadeemError):
    """A change was sent somewhere and whether it took effect cannot be told (e.g. a commit whose
    database transaction failed at COMMIT): the caller must not assume either way."""

    code = "state-unknown"


class Unavailable(SadeemError):
    code = "unavailable"
