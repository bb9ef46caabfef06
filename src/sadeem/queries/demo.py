"""The demo workspace's sample saved query, created on first start beside the demo jobs, so the
SQL worksheet opens with something to run."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sadeem.auth.models import User
from sadeem.auth.principal import Principal
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.queries import service
from sadeem.queries.schemas import SavedQueryContent
from sadeem.workspaces.access import WorkspaceAccess
from sadeem.workspaces.models import Workspace, WorkspaceRole

USAGE_BY_REGION = """\
SELECT region, customer_class, count(DISTINCT meter_id) AS meters, round(sum(kwh), 1) AS kwh
FROM meter_readings
WHERE quality_flag = 'ok' AND kwh >= :min_kwh
GROUP BY region, customer_class
ORDER BY kwh DESC
"""


def create_demo_queries(
    session: Session, actor: Actor, settings: Settings, workspace: Workspace, admin: User
) -> list[str]:
    """A shared saved query over the demo data; the names of the queries."""
    principal = Principal(admin.id, admin.username, admin.role, "session")
    access = WorkspaceAccess(principal, workspace, WorkspaceRole.admin)
    content = SavedQueryContent.model_validate(
        {
            "description": "Consumption per region and customer class (demo meter readings).",
            "tags": ["demo"],
            "sql": USAGE_BY_REGION,
            "parameters": [{"name": "min_kwh", "type": "number", "default": 0}],
        }
    )
    service.create_query(session, actor, settings, access, "usage_by_region", True, content)
    return ["usage_by_region"]
