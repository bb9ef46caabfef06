"""Personal access tokens: shown once, stored hashed, expiring, revocable, bounded lifetime."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from sadeem.auth.models import ApiToken
from sadeem.config import Settings
from sadeem.core.clock import utcnow
from sadeem.db.engine import Database
from tests.conftest import World, bearer


def create_token(client: TestClient, headers: dict[str, str], **body: object) -> dict[str, object]:
    response = client.post("/api/v1/me/tokens", json={"name": "ci", **body}, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


def set_token(db: Database, public_id: str, **values: object) -> None:
    with db.writes() as session:
        session.execute(update(ApiToken).where(ApiToken.public_id == public_id).values(**values))
        session.commit()


def token_row(db: Database, public_id: str) -> ApiToken:
    with db.reads() as session:
        return session.scalars(select(ApiToken).where(ApiToken.public_id == public_id)).one()


def test_token_is_shown_once_and_works(client: TestClient, world: World, settings: Settings) -> None:
    created = create_token(client, world.headers("ws_editor"))
    secret = str(created["token"])
    assert secret.startswith(f"sdm_{created['id']}_")
    expires = created["expires_at"]
    assert isinstance(expires, str)
    assert created["revoked_at"] is None
    assert created["last_used_at"] is None

    me = client.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200
    assert me.json()["username"] == "ws_editor"

    listed = client.get("/api/v1/me/tokens", headers=bearer(secret))
    assert listed.status_code == 200
    ids = [t["id"] for t in listed.json()["items"]]
    assert created["id"] in ids
    assert all("token" not in t for t in listed.json()["items"])
    assert secret.split("_", 2)[2] not in listed.text
    # Another user's list does not show it.
    other = client.get("/api/v1/me/tokens", headers=world.headers("ws_viewer")).json()
    assert created["id"] not in [t["id"] for t in other["items"]]


def test_token_secret_is_stored_hashed(client: TestClient, world: World, db: Database) -> None:
    created = create_token(client, world.headers("ws_editor"))
    secret = str(created["token"])
    random_part = secret.split("_", 2)[2]
    with db.reads() as session:
        row = session.execute(
            text("SELECT * FROM api_tokens WHERE public_id = :id"), {"id": created["id"]}
        ).one()
    values = " ".join(str(v) for v in row)
    assert random_part not in values
    assert secret not in values
    assert len(token_row(db, str(created["id"])).secret_hash) == 64


def test_default_and_explicit_lifetimes(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    default = create_token(client, world.headers("ws_editor"))
    row = token_row(db, str(default["id"]))
    lifetime = row.expires_at - row.created_at
    assert abs(lifetime - timedelta(days=settings.token_default_ttl_days)) < timedelta(minutes=1)
    week = create_token(client, world.headers("ws_editor"), expires_in_days=7)
    row = token_row(db, str(week["id"]))
    assert abs(row.expires_at - row.created_at - timedelta(days=7)) < timedelta(minutes=1)


def test_expired_token_is_refused(client: TestClient, world: World, db: Database) -> None:
    created = create_token(client, world.headers("ws_editor"))
    set_token(db, str(created["id"]), expires_at=utcnow() - timedelta(seconds=1))
    response = client.get("/api/v1/me", headers=bearer(str(created["token"])))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "expired" in response.json()["detail"]


def test_revoked_token_is_refused(client: TestClient, world: World) -> None:
    created = create_token(client, world.headers("ws_editor"))
    secret = str(created["token"])
    # Someone else cannot revoke it, nor learn that it exists.
    foreign = client.delete(f"/api/v1/me/tokens/{created['id']}", headers=world.headers("ws_viewer"))
    assert foreign.status_code == 404
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200

    revoked = client.delete(f"/api/v1/me/tokens/{created['id']}", headers=bearer(secret))
    assert revoked.status_code == 204
    response = client.get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    listed = client.get("/api/v1/me/tokens", headers=world.headers("ws_editor")).json()["items"]
    assert next(t for t in listed if t["id"] == created["id"])["revoked_at"] is not None
    missing = client.delete("/api/v1/me/tokens/0000000000000000", headers=world.headers("ws_editor"))
    assert missing.status_code == 404


def test_maximum_lifetime_is_enforced(client: TestClient, world: World, settings: Settings) -> None:
    h = world.headers("ws_editor")
    too_long = client.post(
        "/api/v1/me/tokens", json={"name": "x", "expires_in_days": settings.token_max_ttl_days + 1}, headers=h
    )
    assert too_long.status_code == 400, too_long.text
    assert too_long.headers["content-type"] == "application/problem+json"
    assert str(settings.token_max_ttl_days) in too_long.json()["detail"]
    for days in (0, -1, 100000, "soon"):
        bad = client.post("/api/v1/me/tokens", json={"name": "x", "expires_in_days": days}, headers=h)
        assert bad.status_code == 422, (days, bad.text)
    assert client.post("/api/v1/me/tokens", json={"name": ""}, headers=h).status_code == 422
    assert client.post("/api/v1/me/tokens", json={"name": "x", "scope": "all"}, headers=h).status_code == 422
    at_max = client.post(
        "/api/v1/me/tokens", json={"name": "x", "expires_in_days": settings.token_max_ttl_days}, headers=h
    )
    assert at_max.status_code == 201


def test_malformed_and_forged_tokens_are_refused(client: TestClient, world: World) -> None:
    real = world.tokens["ws_editor"]
    _, public_id, secret = real.split("_", 2)
    forged = [
        "not-a-token",
        f"sdm_{public_id}",
        f"sdm_{public_id}_{secret[:-1]}x" if not secret.endswith("x") else f"sdm_{public_id}_{secret[:-1]}y",
        f"sdm_ffffffffffffffff_{secret}",
        f"xyz_{public_id}_{secret}",
    ]
    for value in forged:
        response = client.get("/api/v1/me", headers=bearer(value))
        assert response.status_code == 401, value
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer "}).status_code == 401


def test_last_used_at_is_recorded_at_most_once_a_minute(
    client: TestClient, world: World, db: Database
) -> None:
    created = create_token(client, world.headers("ws_editor"))
    public_id, secret = str(created["id"]), str(created["token"])
    assert token_row(db, public_id).last_used_at is None

    before = utcnow()
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    first = token_row(db, public_id).last_used_at
    assert first is not None and first >= before
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    assert token_row(db, public_id).last_used_at == first  # not again within the minute

    two_minutes_ago = utcnow() - timedelta(minutes=2)
    set_token(db, public_id, last_used_at=two_minutes_ago)
    # A state-changing request touches it too (in the request's own write transaction).
    made = client.post("/api/v1/workspaces", json={"slug": "used"}, headers=bearer(secret))
    assert made.status_code == 201, made.text
    assert token_row(db, public_id).last_used_at > two_minutes_ago
    listed = client.get("/api/v1/me/tokens", headers=bearer(secret)).json()["items"]
    assert next(t for t in listed if t["id"] == public_id)["last_used_at"] is not None


def test_refused_token_use_is_not_recorded(client: TestClient, world: World, db: Database) -> None:
    created = create_token(client, world.headers("ws_editor"))
    public_id = str(created["id"])
    set_token(db, public_id, revoked_at=utcnow())
    assert client.get("/api/v1/me", headers=bearer(str(created["token"]))).status_code == 401
    assert token_row(db, public_id).last_used_at is None


def test_disabled_users_tokens_stop_working(client: TestClient, world: World) -> None:
    created = create_token(client, world.headers("ws_viewer"))
    secret = str(created["token"])
    client.patch("/api/v1/users/ws_viewer", json={"disabled": True}, headers=world.headers("root"))
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    assert client.get("/api/v1/me", headers=world.headers("ws_viewer")).status_code == 401
