"""Saved queries: a workspace's named worksheet queries (owner, sharing, tags one row per tag),
their immutable versions, and the jobs made from them ("run as job").

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 14:25:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sadeem.db.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_queries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("connection", sa.String(length=63), nullable=True),
        sa.Column("sql", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sadeem.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sadeem.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_saved_queries_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_saved_queries_owner_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_saved_queries_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_queries")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_saved_queries_workspace_id_name")),
    )
    with op.batch_alter_table("saved_queries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_queries_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "saved_query_tags",
        sa.Column("query_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["query_id"],
            ["saved_queries.id"],
            name=op.f("fk_saved_query_tags_query_id_saved_queries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("query_id", "tag", name=op.f("pk_saved_query_tags")),
    )
    with op.batch_alter_table("saved_query_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_query_tags_tag"), ["tag"], unique=False)

    op.create_table(
        "saved_query_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sadeem.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_saved_query_versions_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["query_id"],
            ["saved_queries.id"],
            name=op.f("fk_saved_query_versions_query_id_saved_queries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_query_versions")),
        sa.UniqueConstraint("query_id", "version", name=op.f("uq_saved_query_versions_query_id_version")),
    )

    op.create_table(
        "saved_query_jobs",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("query_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_saved_query_jobs_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["query_id"],
            ["saved_queries.id"],
            name=op.f("fk_saved_query_jobs_query_id_saved_queries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_saved_query_jobs")),
    )
    with op.batch_alter_table("saved_query_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_query_jobs_query_id"), ["query_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("saved_query_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_query_jobs_query_id"))
    op.drop_table("saved_query_jobs")
    op.drop_table("saved_query_versions")
    with op.batch_alter_table("saved_query_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_query_tags_tag"))
    op.drop_table("saved_query_tags")
    with op.batch_alter_table("saved_queries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_queries_owner_id"))
    op.drop_table("saved_queries")
