from __future__ import annotations

from fastapi.testclient import TestClient

from sadeem.catalog.storage import local_path
from sadeem.config import Settings
from tests.conftest import World


def test_create_list_get_workspace(client: TestClient, world: World) -> None:
    h = world.headers("ws_editor")
    created = client.post("/api/v1/workspaces", json={"slug": "water_utility", "name": "Water"}, headers=h)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["slug"] == "water_utility"
    assert body["namespace"] == "water_utility"
    assert body["storage_location"].endswith("/warehouse/water_utility")
    assert body["my_role"] == "admin"

    mine = client.get("/api/v1/workspaces", headers=h).json()
    assert sorted(w["slug"] for w in mine["items"]) == ["alpha", "water_utility"]
    everything = client.get("/api/v1/workspaces", headers=world.headers("root")).json()
    assert sorted(w["slug"] for w in everything["items"]) == ["alpha", "beta", "water_utility"]


def test_duplicate_and_invalid_slugs_are_refused(client: TestClient, world: World) -> None:
    h = world.headers("ws_editor")
    dup = client.post("/api/v1/workspaces", json={"slug": "alpha"}, headers=h)
    assert dup.status_code == 409
    assert dup.headers["content-type"] == "application/problem+json"
    for slug in ("Alpha", "1abc", "a-b", "a", "x" * 64, "", "ab c"):
        bad = client.post("/api/v1/workspaces", json={"slug": slug}, headers=h)
        assert bad.status_code == 422, (slug, bad.text)
        assert bad.json()["errors"][0]["loc"] == ["body", "slug"]


def test_foreign_workspace_is_not_found(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/workspaces/alpha", headers=world.headers("outsider"))
    assert response.status_code == 404
    assert response.json()["type"] == "urn:sadeem:problem:not-found"


def test_creation_provisions_the_namespace_and_the_storage(
    client: TestClient, world: World, database_url: str
) -> None:
    created = client.post("/api/v1/workspaces", json={"slug": "gamma"}, headers=world.headers("ws_editor"))
    assert created.status_code == 201, created.text
    body = created.json()
    # On PostgreSQL also the Trino resource groups (tests/test_resource_groups.py).
    groups = [
        {
            "name": "resource_groups",
            "ok": True,
            "detail": "Trino resource group gamma (interactive, batch) written",
        }
    ]
    assert body["provisioning"] == {
        "ok": True,
        "steps": [
            {"name": "namespace", "ok": True, "detail": "namespace gamma created"},
            {"name": "storage", "ok": True, "detail": f"{body['storage_location']}: directory created"},
            *(groups if database_url.startswith("postgresql") else []),
        ],
    }
    directory = local_path(body["storage_location"])
    assert directory is not None and directory.is_dir()
    namespace = client.get("/iceberg/v1/gamma/namespaces/gamma", headers=world.headers("ws_editor"))
    assert namespace.status_code == 200, namespace.text
    assert namespace.json() == {"namespace": ["gamma"], "properties": {"location": body["storage_location"]}}


def test_failed_provisioning_is_reported_and_can_be_run_again(
    client: TestClient, world: World, settings: Settings
) -> None:
    """A storage location that cannot be made (here a file is in the way) does not fail the
    creation: the report says which step failed, and provisioning again finishes the job."""
    warehouse = local_path(settings.resolved_warehouse)
    assert warehouse is not None
    in_the_way = warehouse / "gamma"
    in_the_way.write_text("not a directory")

    created = client.post("/api/v1/workspaces", json={"slug": "gamma"}, headers=world.headers("root"))
    assert created.status_code == 201, created.text
    report = created.json()["provisioning"]
    assert report["ok"] is False
    # [:2]: on PostgreSQL a third step writes the Trino resource groups (test_resource_groups.py)
    assert [(step["name"], step["ok"]) for step in report["steps"][:2]] == [
        ("namespace", True),
        ("storage", False),
    ]

    in_the_way.unlink()
    again = client.post("/api/v1/workspaces/gamma/provision", headers=world.headers("root"))
    assert again.status_code == 200, again.text
    assert again.json()["ok"] is True
    assert [step["detail"] for step in again.json()["steps"][:2]] == [
        "namespace gamma exists",
        f"{created.json()['storage_location']}: directory created",
    ]
    assert in_the_way.is_dir()
    repeated = client.post("/api/v1/workspaces/gamma/provision", headers=world.headers("root"))
    assert repeated.json()["ok"] is True  # idempotent
    assert repeated.json()["steps"][1]["detail"].endswith("directory exists")


def test_the_list_filters_on_part_of_the_slug_or_the_name(client: TestClient, world: World) -> None:
    root = world.headers("root")
    assert client.post("/api/v1/workspaces", json={"slug": "sales_eu", "name": "Ventes Europe"}, headers=root)
    assert client.post("/api/v1/workspaces", json={"slug": "hr", "name": "People 100%"}, headers=root)

    def slugs(q: str, who: str = "root") -> list[str]:
        response = client.get("/api/v1/workspaces", params={"q": q}, headers=world.headers(who))
        assert response.status_code == 200, response.text
        return sorted(w["slug"] for w in response.json()["items"])

    assert slugs("SALES") == ["sales_eu"]
    assert slugs("europe") == ["sales_eu"]
    assert slugs("%") == ["hr"]  # a literal percent sign, not a wildcard
    assert slugs("_") == ["sales_eu"]
    assert slugs("a") == ["alpha", "beta", "sales_eu"]
    assert slugs("a", who="ws_viewer") == ["alpha"]  # still only the caller's own workspaces
    paged = client.get("/api/v1/workspaces", params={"q": "a", "limit": 2}, headers=root).json()
    rest = client.get(
        "/api/v1/workspaces", params={"q": "a", "limit": 2, "cursor": paged["next_cursor"]}, headers=root
    ).json()
    assert [w["slug"] for w in paged["items"] + rest["items"]] == ["alpha", "beta", "sales_eu"]


def test_deletion_blockers_are_listed_and_carried_by_the_refusal(
    client: TestClient, world: World, settings: Settings
) -> None:
    admin = world.headers("ws_admin")
    empty = client.get("/api/v1/workspaces/alpha/deletion-blockers", headers=admin)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {"blockers": []}
    viewer = client.get("/api/v1/workspaces/alpha/deletion-blockers", headers=world.headers("ws_editor"))
    assert viewer.status_code == 403

    location = client.get("/api/v1/workspaces/alpha", headers=admin).json()["storage_location"]
    directory = local_path(location)
    assert directory is not None
    (directory / "left_behind.parquet").write_bytes(b"PAR1")
    listed = client.get("/api/v1/workspaces/alpha/deletion-blockers", headers=admin).json()
    assert listed == {
        "blockers": [{"kind": "files", "count": 1, "detail": f"1 data file(s) under {location}", "names": []}]
    }
    refused = client.delete("/api/v1/workspaces/alpha", headers=admin)
    assert refused.status_code == 409
    assert refused.json()["blockers"] == listed["blockers"]
    assert f"1 data file(s) under {location}" in refused.json()["detail"]

    purged = client.delete("/api/v1/workspaces/alpha", params={"purge": "true"}, headers=admin)
    assert purged.status_code == 204, purged.text
    assert not directory.exists()


def test_me_says_whether_i_may_create_workspaces(
    client: TestClient, world: World, settings: Settings
) -> None:
    def may_create(who: str) -> bool:
        response = client.get("/api/v1/me", headers=world.headers(who))
        assert response.status_code == 200, response.text
        return bool(response.json()["can_create_workspaces"])

    assert may_create("root") and may_create("ws_viewer")  # users_can_create_workspaces is on by default
    app = client.app
    app.state.settings = settings.model_copy(update={"users_can_create_workspaces": False})  # type: ignore[attr-defined]
    assert may_create("root") and not may_create("ws_viewer")
    refused = client.post("/api/v1/workspaces", json={"slug": "mine"}, headers=world.headers("ws_viewer"))
    assert refused.status_code == 403  # the answer /me gives is the rule creation applies
