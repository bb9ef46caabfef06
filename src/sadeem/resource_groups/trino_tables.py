"""The tables Trino's database resource-group manager reads (Trino 476's PostgreSQL schema, in a
schema of their own in Sadeem's database) and how Sadeem writes a workspace's groups into them.

Per workspace, a root group named by its slug and two subgroups, so `workspace.interactive` and
`workspace.batch` each have a hard concurrency and queue of their own: however many interactive
queries a workspace sends, they queue in their own subgroup while its batch queries still start.
Selectors place a query by the client tags the Trino engine sends (`workspace:<slug>` and
`class:interactive|batch`, see sadeem.engines.trino); any other query (an operator's, a BI tool's)
lands in the group `untagged-queries` (a name no slug can take: slugs have no '-').

Sadeem's migration 0013 creates these tables (PostgreSQL only: a SQLite install has no Trino
reading them; Trino's own `exact_match_source_selectors` too, which Sadeem never writes), so the
tables exist before any Trino starts and Trino runs with `resource-groups.db-migrations-enabled=
false`. They are not in Sadeem's own metadata: their shape is Trino's, not ours. A unique index
(ours) keeps one root group per name and environment.
"""

from __future__ import annotations

import json

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session

from sadeem.config import EngineLimits, WorkClassLimits

SCHEMA = "trino_resource_groups"  # scripts/trino.py points Trino's JDBC URL at it (currentSchema)
UNTAGGED_GROUP = "untagged-queries"
WORK_CLASSES = ("interactive", "batch")
# The same prefixes the Trino engine tags its queries with.
WORKSPACE_TAG = "workspace:"
CLASS_TAG = "class:"

metadata = MetaData(schema=SCHEMA)

global_properties = Table(
    "resource_groups_global_properties",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("value", String(512)),
)

resource_groups = Table(
    "resource_groups",
    metadata,
    Column("resource_group_id", BigInteger, primary_key=True, autoincrement=True),
    Column("name", String(250), nullable=False),
    Column("soft_memory_limit", String(128)),
    Column("max_queued", Integer, nullable=False),
    Column("soft_concurrency_limit", Integer),
    Column("hard_concurrency_limit", Integer, nullable=False),
    Column("scheduling_policy", String(128)),
    Column("scheduling_weight", Integer),
    Column("jmx_export", Boolean),
    Column("soft_cpu_limit", String(128)),
    Column("hard_cpu_limit", String(128)),
    Column(
        "parent", BigInteger, ForeignKey(f"{SCHEMA}.resource_groups.resource_group_id", ondelete="CASCADE")
    ),
    Column("environment", String(128)),
)

selectors = Table(
    "selectors",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column(
        "resource_group_id",
        BigInteger,
        ForeignKey(f"{SCHEMA}.resource_groups.resource_group_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("priority", BigInteger, nullable=False),
    Column("user_regex", String(512)),
    Column("source_regex", String(512)),
    Column("query_type", String(512)),
    Column("client_tags", String(512)),
    Column("selector_resource_estimate", String(1024)),
    Column("user_group_regex", String(2048)),
    Column("original_user_regex", String(512)),
    Column("authenticated_user_regex", String(512)),
)

# Trino tries selectors by descending priority; the catch-all comes last.
WORKSPACE_SELECTOR_PRIORITY = 100
UNTAGGED_SELECTOR_PRIORITY = 0
WRITER_LOCK = 0x5ADE_E0_0001  # a pg_advisory_xact_lock key of Sadeem's own
UNTAGGED_LIMITS = {"hard_concurrency_limit": 4, "max_queued": 100, "soft_memory_limit": "25%"}


def applies(session: Session) -> bool:
    """Only a PostgreSQL database has these tables."""
    return session.get_bind().dialect.name == "postgresql"


def write_workspace_groups(session: Session, environment: str, slug: str, limits: EngineLimits) -> None:
    """Replace the workspace's groups and selectors (Trino reloads them within a second)."""
    # One writer at a time (two servers starting, an admin's change): a concurrent delete-and-insert
    # would otherwise trip the one-root-per-name index. Released at commit.
    session.execute(select(func.pg_advisory_xact_lock(WRITER_LOCK)))
    remove_workspace_groups(session, environment, slug)
    classes: dict[str, WorkClassLimits] = {"interactive": limits.interactive, "batch": limits.batch}
    root = _insert_group(
        session,
        name=slug,
        environment=environment,
        parent=None,
        soft_memory_limit=f"{limits.soft_memory_percent}%",
        # The root never holds back what its subgroups allow; the subgroups are the limits.
        hard_concurrency_limit=sum(c.hard_concurrency for c in classes.values()),
        max_queued=sum(c.max_queued for c in classes.values()),
        scheduling_policy="weighted_fair",
    )
    for work_class, own in classes.items():
        group = _insert_group(
            session,
            name=work_class,
            environment=environment,
            parent=root,
            soft_memory_limit=f"{own.soft_memory_percent}%",
            hard_concurrency_limit=own.hard_concurrency,
            max_queued=own.max_queued,
            scheduling_weight=own.scheduling_weight,
        )
        tags = [f"{WORKSPACE_TAG}{slug}", f"{CLASS_TAG}{work_class}"]
        session.execute(
            insert(selectors).values(
                resource_group_id=group, priority=WORKSPACE_SELECTOR_PRIORITY, client_tags=json.dumps(tags)
            )
        )
    ensure_untagged_group(session, environment)


def remove_workspace_groups(session: Session, environment: str, slug: str) -> None:
    """Delete the workspace's root group; its subgroups and selectors go with it (ON DELETE CASCADE)."""
    session.execute(
        delete(resource_groups).where(
            resource_groups.c.name == slug,
            resource_groups.c.parent.is_(None),
            resource_groups.c.environment == environment,
        )
    )


def ensure_untagged_group(session: Session, environment: str) -> None:
    """The catch-all group, so a query no workspace selector takes still runs (Trino fails a query
    that matches no selector)."""
    exists = session.scalar(
        select(resource_groups.c.resource_group_id).where(
            and_(
                resource_groups.c.name == UNTAGGED_GROUP,
                resource_groups.c.parent.is_(None),
                resource_groups.c.environment == environment,
            )
        )
    )
    if exists is None:
        group = _insert_group(
            session, name=UNTAGGED_GROUP, environment=environment, parent=None, **UNTAGGED_LIMITS
        )
        # No condition: it takes every query no workspace selector took.
        session.execute(
            insert(selectors).values(resource_group_id=group, priority=UNTAGGED_SELECTOR_PRIORITY)
        )


def _insert_group(session: Session, **values: object) -> int:
    group_id: int = session.execute(
        insert(resource_groups).values(**values).returning(resource_groups.c.resource_group_id)
    ).scalar_one()
    return group_id
