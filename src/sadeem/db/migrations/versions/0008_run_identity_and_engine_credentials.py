"""Run identity and engine credentials (security issue #10): a job version runs as its own
`run_as` user (its author, backfilled), no longer as the job's creator; tokens get a `scope`, which
marks an engine credential good for one workspace's Iceberg catalog only.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 10:00:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import sadeem.db.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope", sa.String(length=64), nullable=True))

    with op.batch_alter_table("job_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_as_id", sa.Integer(), nullable=True))
    # Every existing version runs as its author from now on: a version an editor added to an admin's
    # job stops running with the admin's rights. The job's creator stands in only for a version whose
    # author's row is gone.
    op.execute(
        "UPDATE job_versions SET run_as_id = COALESCE(created_by, "
        "(SELECT COALESCE(jobs.created_by, jobs.run_as_id) FROM jobs WHERE jobs.id = job_versions.job_id))"
    )
    with op.batch_alter_table("job_versions", schema=None) as batch_op:
        batch_op.alter_column("run_as_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_job_versions_run_as_id_users"), "users", ["run_as_id"], ["id"]
        )

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_jobs_run_as_id_users"), type_="foreignkey")
        batch_op.drop_column("run_as_id")


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_as_id", sa.Integer(), nullable=True))
    # The older schema's job-wide run-as: that of the current version, so a downgrade does not hand
    # a job back its creator's rights.
    op.execute(
        "UPDATE jobs SET run_as_id = (SELECT job_versions.run_as_id FROM job_versions "
        "WHERE job_versions.job_id = jobs.id AND job_versions.version = jobs.current_version)"
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.alter_column("run_as_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f("fk_jobs_run_as_id_users"), "users", ["run_as_id"], ["id"])

    with op.batch_alter_table("job_versions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_job_versions_run_as_id_users"), type_="foreignkey")
        batch_op.drop_column("run_as_id")

    # Without their scope, engine credentials would become full personal tokens: revoke them first.
    tokens = sa.table(
        "api_tokens", sa.column("scope", sa.String()), sa.column("revoked_at", sadeem.db.base.UTCDateTime())
    )
    op.execute(
        tokens.update()
        .where(tokens.c.scope.is_not(None), tokens.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("scope")
