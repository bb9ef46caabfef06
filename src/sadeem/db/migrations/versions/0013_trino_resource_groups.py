"""Per-workspace Trino isolation: a workspace's own engine limits and, on PostgreSQL, the tables
Trino's database resource-group manager reads (Trino 476's schema, in the schema
trino_resource_groups; see sadeem.resource_groups.trino_tables).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 01:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import sadeem.db.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Trino 476's db/migration/postgresql V1..V8, as they leave the tables (Trino's Flyway stays off).
TRINO_TABLES = """
CREATE SCHEMA IF NOT EXISTS trino_resource_groups;
CREATE TABLE trino_resource_groups.resource_groups_global_properties (
    name VARCHAR(128) NOT NULL PRIMARY KEY,
    value VARCHAR(512) NULL,
    CHECK (name in ('cpu_quota_period'))
);
CREATE TABLE trino_resource_groups.resource_groups (
    resource_group_id BIGSERIAL PRIMARY KEY,
    name VARCHAR(250) NOT NULL,
    soft_memory_limit VARCHAR(128),
    max_queued INT NOT NULL,
    soft_concurrency_limit INT,
    hard_concurrency_limit INT NOT NULL,
    scheduling_policy VARCHAR(128),
    scheduling_weight INT,
    jmx_export BOOLEAN,
    soft_cpu_limit VARCHAR(128),
    hard_cpu_limit VARCHAR(128),
    parent BIGINT,
    environment VARCHAR(128),
    FOREIGN KEY (parent) REFERENCES trino_resource_groups.resource_groups (resource_group_id)
        ON DELETE CASCADE
);
CREATE UNIQUE INDEX resource_groups_one_root_per_name
    ON trino_resource_groups.resource_groups (environment, name) WHERE parent IS NULL;
CREATE TABLE trino_resource_groups.selectors (
    resource_group_id BIGINT NOT NULL,
    priority BIGINT NOT NULL,
    user_regex VARCHAR(512),
    source_regex VARCHAR(512),
    query_type VARCHAR(512),
    client_tags VARCHAR(512),
    selector_resource_estimate VARCHAR(1024),
    user_group_regex VARCHAR(2048),
    id BIGSERIAL PRIMARY KEY,
    original_user_regex VARCHAR(512),
    authenticated_user_regex VARCHAR(512),
    FOREIGN KEY (resource_group_id) REFERENCES trino_resource_groups.resource_groups (resource_group_id)
        ON DELETE CASCADE
);
CREATE TABLE trino_resource_groups.exact_match_source_selectors (
    environment VARCHAR(128),
    source VARCHAR(512) NOT NULL,
    query_type VARCHAR(512),
    update_time TIMESTAMP NOT NULL,
    resource_group_id VARCHAR(256) NOT NULL,
    PRIMARY KEY (environment, source, resource_group_id),
    UNIQUE (source, environment, query_type, resource_group_id)
);
"""


def upgrade() -> None:
    op.create_table(
        "workspace_engine_limits",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sadeem.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workspace_engine_limits_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_workspace_engine_limits")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in TRINO_TABLES.split(";"):
            if statement.strip():
                op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SCHEMA IF EXISTS trino_resource_groups CASCADE")
    op.drop_table("workspace_engine_limits")
