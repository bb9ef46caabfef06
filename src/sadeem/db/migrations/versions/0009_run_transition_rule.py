"""The run policy's rule in the timeline (#11 item 4): each run transition names the rule that
decided it and the rule's words for users (e.g. "attempt 2 of 3 in 10 s"). Older rows have none.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 14:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_transitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rule", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("decision", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("run_transitions", schema=None) as batch_op:
        batch_op.drop_column("decision")
        batch_op.drop_column("rule")
