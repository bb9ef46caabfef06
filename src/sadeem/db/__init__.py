"""Database: engine and sessions, declarative base, Alembic migrations."""
