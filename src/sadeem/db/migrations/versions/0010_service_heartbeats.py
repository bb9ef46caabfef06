"""Service heartbeats: each running worker and scheduler process says it is alive (health page).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sadeem.db.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_heartbeats",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("worker", "scheduler", name="servicekind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("started_at", sadeem.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sadeem.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("interval_seconds", sa.Float(), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=True),
        sa.Column("slots_in_use", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("service_heartbeats")
