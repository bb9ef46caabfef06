"""The built-in Iceberg catalog's tables: pyiceberg's `SqlCatalog` schema (the same as Java's
`JdbcCatalog`, v1 with `iceberg_type`), so Sadeem's migrations own them.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iceberg_namespace_properties",
        sa.Column("catalog_name", sa.String(length=255), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("property_key", sa.String(length=255), nullable=False),
        sa.Column("property_value", sa.String(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("catalog_name", "namespace", "property_key"),
    )
    op.create_table(
        "iceberg_tables",
        sa.Column("catalog_name", sa.String(length=255), nullable=False),
        sa.Column("table_namespace", sa.String(length=255), nullable=False),
        sa.Column("table_name", sa.String(length=255), nullable=False),
        sa.Column("metadata_location", sa.String(length=1000), nullable=True),
        sa.Column("previous_metadata_location", sa.String(length=1000), nullable=True),
        sa.Column("iceberg_type", sa.String(length=5), nullable=True),
        sa.PrimaryKeyConstraint("catalog_name", "table_namespace", "table_name"),
    )


def downgrade() -> None:
    op.drop_table("iceberg_tables")
    op.drop_table("iceberg_namespace_properties")
