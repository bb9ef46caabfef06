"""Secret redaction: by key for structured details (audit events), by value for free text (engine
logs and error messages, connection check failures)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

REDACTED = "[REDACTED]"
_SECRET_KEY = re.compile(r"pass(word|phrase)?|secret|token|credential|private|api_?key|authorization", re.I)


def redact(value: Any) -> Any:
    """Mask every value whose key looks like a secret, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def redact_secrets(text: str, secrets: Iterable[str]) -> str:
    """Remove every secret value (also URL-encoded) from `text`, longest first."""
    variants = {v for s in secrets if s for v in (s, quote(s, safe=""), quote(s))}
    for value in sorted(variants, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text
