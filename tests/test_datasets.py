"""Datasets: registering a workspace's Iceberg tables with owner, description and tags; search;
edits audited with what changed; metadata only (the table stays)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sadeem.config import Settings
from sadeem.datasets.models import Dataset, DatasetTag
from sadeem.db.engine import Database
from tests.conftest import World
from tests.iceberg_tables import catalog, make_table

API = "/api/v1/workspaces/alpha/datasets"


def register(
    client: TestClient, world: World, body: dict[str, Any], who: str = "ws_editor"
) -> dict[str, Any]:
    response = client.post(API, json=body, headers=world.headers(who))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def listed(client: TestClient, world: World, **params: Any) -> list[str]:
    response = client.get(API, params=params, headers=world.headers("ws_viewer"))
    assert response.status_code == 200, response.text
    return [d["identifier"] for d in response.json()["items"]]


def audit_events(client: TestClient, world: World) -> list[dict[str, Any]]:
    response = client.get(
        "/api/v1/audit/events", params={"target_type": "dataset"}, headers=world.headers("root")
    )
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["items"]
    return events


def test_register_get_and_table_summary(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    table = make_table(
        db, settings, ("alpha", "sales", "orders"), rows={"id": [1, 2, 3], "name": ["a", "b", "c"]}
    )
    created = register(
        client,
        world,
        {
            "namespace": "alpha.sales",
            "table": "orders",
            "description": "Every order",
            "tags": ["pii", "finance", "pii"],
        },
    )
    assert created["identifier"] == "alpha.sales.orders"
    assert created["owner"] == "ws_editor"  # default: the registering user
    assert created["created_by"] == "ws_editor"
    assert created["tags"] == ["finance", "pii"]  # duplicates dropped

    response = client.get(f"{API}/alpha.sales/orders", headers=world.headers("ws_viewer"))
    assert response.status_code == 200, response.text
    detail = response.json()
    snapshot = table.current_snapshot()
    assert snapshot is not None
    summary = detail["table_summary"]
    assert summary["row_count"] == 3
    assert summary["current_snapshot_id"] == str(snapshot.snapshot_id)  # exact, as text
    assert f'"current_snapshot_id":"{snapshot.snapshot_id}"' in response.text
    assert summary["total_size_bytes"] > 0
    last_updated = datetime.fromisoformat(summary["last_updated"])
    assert last_updated == datetime.fromtimestamp(table.metadata.last_updated_ms / 1000, UTC)

    # Unregistering forgets the registration, not the table.
    deleted = client.delete(f"{API}/alpha.sales/orders", headers=world.headers("ws_editor"))
    assert deleted.status_code == 204, deleted.text
    assert client.get(f"{API}/alpha.sales/orders", headers=world.headers("ws_viewer")).status_code == 404
    with catalog(db, settings) as cat:
        assert cat.load_table(("alpha", "sales", "orders")).scan().count() == 3
    with db.reads() as session:
        assert session.scalar(select(func.count()).select_from(DatasetTag)) == 0


def test_registration_is_refused_clearly(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    make_table(db, settings, ("alpha", "orders"))
    make_table(db, settings, ("beta", "theirs"))

    def refused(body: dict[str, Any], status: int, who: str = "ws_editor") -> str:
        response = client.post(API, json=body, headers=world.headers(who))
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        detail: str = response.json()["detail"]
        return detail

    assert "No table 'missing'" in refused({"namespace": "alpha", "table": "missing"}, 404)
    assert "No namespace 'alpha.nope'" in refused({"namespace": "alpha.nope", "table": "orders"}, 404)
    # Another workspace's table does not exist here.
    assert "No namespace 'beta'" in refused({"namespace": "beta", "table": "theirs"}, 404)
    assert "member of workspace 'alpha'" in refused(
        {"namespace": "alpha", "table": "orders", "owner": "outsider"}, 400
    )
    assert "member" in refused({"namespace": "alpha", "table": "orders", "owner": "nobody"}, 400)
    # A platform admin who is no member names an owner.
    assert "'root' is not" in refused({"namespace": "alpha", "table": "orders"}, 400, who="root")
    refused({"namespace": "alpha", "table": "orders", "tags": ["Not A Slug"]}, 422)
    refused({"namespace": "alpha", "table": "orders", "tags": [f"t{i}" for i in range(21)]}, 422)
    refused({"namespace": "alpha", "table": "orders", "colour": "red"}, 422)
    register(client, world, {"namespace": "alpha", "table": "orders", "owner": "ws_viewer"}, who="root")
    assert "already registered" in refused({"namespace": "alpha", "table": "orders"}, 409)
    assert "already registered" in refused({"namespace": "alpha", "table": "orders"}, 409, who="ws_admin")
    with db.reads() as session:
        assert session.scalar(select(func.count()).select_from(Dataset)) == 1


def test_list_and_search(client: TestClient, world: World, db: Database, settings: Settings) -> None:
    for name in ("orders", "customers", "invoices"):
        make_table(db, settings, ("alpha", name))
    register(client, world, {"namespace": "alpha", "table": "orders", "tags": ["finance", "pii"]})
    register(
        client,
        world,
        {
            "namespace": "alpha",
            "table": "customers",
            "owner": "ws_viewer",
            "tags": ["pii"],
            "description": "CRM 100%",
        },
    )
    register(
        client,
        world,
        {"namespace": "alpha", "table": "invoices", "owner": "ws_admin", "description": "Billing"},
    )

    assert listed(client, world) == ["alpha.orders", "alpha.customers", "alpha.invoices"]
    pages: list[str] = []
    cursor = None
    while True:
        response = client.get(
            API,
            params={"limit": 2, **({"cursor": cursor} if cursor else {})},
            headers=world.headers("ws_viewer"),
        )
        pages += [d["identifier"] for d in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == ["alpha.orders", "alpha.customers", "alpha.invoices"]

    assert listed(client, world, q="CUST") == ["alpha.customers"]  # name, any case
    assert listed(client, world, q="billing") == ["alpha.invoices"]  # description
    assert listed(client, world, q="100%") == ["alpha.customers"]  # '%' is a character, not a wildcard
    assert listed(client, world, q="%") == ["alpha.customers"]
    assert listed(client, world, tag="pii") == ["alpha.orders", "alpha.customers"]
    assert listed(client, world, tag="finance") == ["alpha.orders"]
    assert listed(client, world, tag="nothing") == []
    assert listed(client, world, owner="ws_viewer") == ["alpha.customers"]
    assert listed(client, world, owner="ws_editor", tag="pii") == ["alpha.orders"]
    assert listed(client, world, owner="ws_editor", tag="pii", q="cust") == []
    assert client.get(API, params={"tag": "Bad Tag"}, headers=world.headers("ws_viewer")).status_code == 422
    assert client.get(API, params={"cursor": "bm9wZQ"}, headers=world.headers("ws_viewer")).status_code == 400


def test_edits_are_audited_with_what_changed(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    make_table(db, settings, ("alpha", "orders"))
    created = register(client, world, {"namespace": "alpha", "table": "orders", "tags": ["finance", "pii"]})
    (registered,) = audit_events(client, world)
    assert registered["target_id"] == "alpha.orders" and registered["workspace"] == "alpha"
    assert registered["actor"] == "ws_editor"
    assert registered["details"] == {"owner": "ws_editor", "description": "", "tags": ["finance", "pii"]}

    response = client.patch(
        f"{API}/alpha/orders",
        json={"description": "All orders", "tags": ["pii", "sales"], "owner": "ws_viewer"},
        headers=world.headers("ws_editor"),
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert (updated["description"], updated["tags"], updated["owner"]) == (
        "All orders",
        ["pii", "sales"],
        "ws_viewer",
    )
    assert updated["updated_at"] > created["updated_at"]
    edit = audit_events(client, world)[0]  # newest first
    assert edit["details"] == {
        "changed": {
            "owner": {"from": "ws_editor", "to": "ws_viewer"},
            "description": {"from": "", "to": "All orders"},
            "tags": {"added": ["sales"], "removed": ["finance"]},
        }
    }
    assert listed(client, world, tag="finance") == [] and listed(client, world, tag="sales") == [
        "alpha.orders"
    ]

    # Tags alone, then nothing at all: each says exactly what changed.
    client.patch(f"{API}/alpha/orders", json={"tags": []}, headers=world.headers("ws_editor"))
    assert audit_events(client, world)[0]["details"] == {
        "changed": {"tags": {"added": [], "removed": ["pii", "sales"]}}
    }
    unchanged = client.patch(
        f"{API}/alpha/orders", json={"description": "All orders"}, headers=world.headers("ws_editor")
    )
    assert unchanged.status_code == 200 and unchanged.json()["tags"] == []
    assert audit_events(client, world)[0]["details"] == {"changed": {}}

    bad_owner = client.patch(
        f"{API}/alpha/orders", json={"owner": "outsider"}, headers=world.headers("ws_editor")
    )
    assert bad_owner.status_code == 400, bad_owner.text
    assert (
        client.get(f"{API}/alpha/orders", headers=world.headers("ws_viewer")).json()["owner"] == "ws_viewer"
    )

    client.delete(f"{API}/alpha/orders", headers=world.headers("ws_editor"))
    removed = audit_events(client, world)[0]
    assert removed["action"] == "unregister_dataset"
    assert removed["details"] == {"owner": "ws_viewer", "description": "All orders", "tags": []}


def test_viewers_read_and_only_editors_change(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    make_table(db, settings, ("alpha", "orders"))
    make_table(db, settings, ("alpha", "other"))
    register(client, world, {"namespace": "alpha", "table": "orders"})
    viewer = world.headers("ws_viewer")
    assert client.get(f"{API}/alpha/orders", headers=viewer).status_code == 200
    for method, path, body in [
        ("POST", API, {"namespace": "alpha", "table": "other"}),
        ("PATCH", f"{API}/alpha/orders", {"description": "mine now"}),
        ("DELETE", f"{API}/alpha/orders", None),
    ]:
        response = client.request(method, path, json=body, headers=viewer)
        assert response.status_code == 403, (method, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert listed(client, world) == ["alpha.orders"]
    assert client.get(f"{API}/alpha/orders", headers=viewer).json()["description"] == ""


def test_other_workspaces_see_nothing(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    make_table(db, settings, ("alpha", "orders"))
    make_table(db, settings, ("beta", "orders"))
    register(client, world, {"namespace": "alpha", "table": "orders", "tags": ["pii"]})
    outsider = world.headers("outsider")
    for method, path in [("GET", API), ("GET", f"{API}/alpha/orders"), ("DELETE", f"{API}/alpha/orders")]:
        response = client.request(method, path, headers=outsider)
        assert response.status_code == 404 and response.json()["detail"] == "No workspace 'alpha'.", (
            response.text
        )
    # beta's own list is empty; alpha's dataset is not reachable through beta.
    beta = "/api/v1/workspaces/beta/datasets"
    assert client.get(beta, headers=outsider).json()["items"] == []
    assert client.get(f"{beta}/alpha/orders", headers=outsider).status_code == 404
    registered = client.post(beta, json={"namespace": "beta", "table": "orders"}, headers=outsider)
    assert registered.status_code == 201, registered.text
    assert listed(client, world) == ["alpha.orders"]


def test_a_dropped_table_and_a_deleted_workspace(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    make_table(db, settings, ("alpha", "orders"))
    make_table(db, settings, ("beta", "orders"))
    register(client, world, {"namespace": "alpha", "table": "orders", "tags": ["pii"]})
    response = client.post(
        "/api/v1/workspaces/beta/datasets",
        json={"namespace": "beta", "table": "orders", "tags": ["x"]},
        headers=world.headers("outsider"),
    )
    assert response.status_code == 201, response.text

    # The table is dropped behind the registration's back: the dataset says so.
    with catalog(db, settings) as cat:
        cat.drop_table(("alpha", "orders"))
    detail = client.get(f"{API}/alpha/orders", headers=world.headers("ws_viewer"))
    assert detail.status_code == 200 and detail.json()["table_summary"] is None

    # Deleting a workspace deletes its datasets (metadata only; ON DELETE CASCADE) and their tags.
    deleted = client.delete(
        "/api/v1/workspaces/beta", params={"purge": "true"}, headers=world.headers("outsider")
    )
    assert deleted.status_code == 204, deleted.text
    with db.reads() as session:
        assert session.scalars(select(Dataset.namespace)).all() == ["alpha"]
        assert session.scalars(select(DatasetTag.tag)).all() == ["pii"]
