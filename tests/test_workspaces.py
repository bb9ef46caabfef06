from __future__ import annotations

from fastapi.testclient import TestClient

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
