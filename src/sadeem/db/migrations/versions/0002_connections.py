"""Connections: typed per-workspace configs with encrypted write-only secrets.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:53:09.575821
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sadeem.db.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "s3",
                "iceberg_rest",
                "trino",
                "spark_local",
                "spark_k8s",
                "postgres",
                name="connectiontype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secret_fields", sa.JSON(), nullable=False),
        sa.Column("secrets_encrypted", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sadeem.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sadeem.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_test_ok", sa.Boolean(), nullable=True),
        sa.Column("last_test_at", sadeem.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_test_latency_ms", sa.Float(), nullable=True),
        sa.Column("last_test_detail", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_connections_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_connections_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_connections_workspace_id_name")),
    )


def downgrade() -> None:
    op.drop_table("connections")
