"""Statement timeline: every state change of a worksheet statement (`statement_transitions`), as
runs have theirs (`run_transitions`).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 14:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sadeem.db.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_STATES = ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT")


def upgrade() -> None:
    op.create_table(
        "statement_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_state",
            sa.Enum(*_STATES, name="statementstate", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column(
            "to_state",
            sa.Enum(*_STATES, name="statementstate", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("at", sadeem.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["sql_statements.id"],
            name=op.f("fk_statement_transitions_statement_id_sql_statements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_transitions")),
    )
    with op.batch_alter_table("statement_transitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_statement_transitions_statement_id"), ["statement_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("statement_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statement_transitions_statement_id"))
    op.drop_table("statement_transitions")
