"""Inserting rows that must be unique."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sadeem.core.errors import Conflict
from sadeem.db.base import Base


def add_unique(session: Session, row: Base, conflict_detail: str) -> None:
    """Add and flush `row`. Services check for a duplicate first to give a precise message; this
    turns the unique-constraint violation of a concurrent create that won the race into the same
    409 (the transaction is rolled back: nothing of it is kept)."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(conflict_detail) from exc
