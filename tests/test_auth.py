"""Logins, sessions, cookies and CSRF, throttling, users API and the last-admin guard."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.cookies import SimpleCookie

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from sadeem.auth import service as auth_service
from sadeem.auth.identity import LocalIdentityProvider
from sadeem.auth.models import PlatformRole, User, UserSession
from sadeem.auth.permissions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.core.clock import utcnow
from sadeem.core.errors import Conflict, NotAuthenticated, TooManyAttempts
from sadeem.db.engine import Database
from tests.conftest import PASSWORD, World, bearer, make_user

NEW_PASSWORD = "an entirely different passphrase"


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in with the client's cookie jar; return the CSRF token."""
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


def only_cookie(client: TestClient) -> dict[str, str]:
    """Headers replaying the current session cookie, after the jar is cleared."""
    value = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    return {"Cookie": f"{SESSION_COOKIE}={value}"}


def set_session_times(db: Database, username: str, **values: object) -> None:
    with db.writes() as session:
        user_id = session.scalars(select(User.id).where(User.username == username)).one()
        session.execute(update(UserSession).where(UserSession.user_id == user_id).values(**values))
        session.commit()


def user_row(db: Database, username: str) -> User:
    with db.reads() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def workspace_exists(client: TestClient, world: World, slug: str) -> bool:
    response = client.get(f"/api/v1/workspaces/{slug}", headers=world.headers("root"))
    return response.status_code == 200


# --- passwords and cookies ---------------------------------------------------------------------


def test_password_is_stored_as_argon2id_with_owasp_parameters(db: Database) -> None:
    make_user(db, "ada")
    stored = user_row(db, "ada").password_hash
    assert stored is not None
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in stored


def test_login_sets_httponly_samesite_session_cookie_and_csrf_cookie(
    client: TestClient, db: Database
) -> None:
    make_user(db, "ada")
    response = client.post("/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["username"] == "ada"
    assert body["csrf_token"]
    assert "password_hash" not in response.text

    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        parsed = SimpleCookie()
        parsed.load(header)
        (morsel,) = parsed.values()
        cookies[morsel.key] = (morsel, header.lower())
    session_cookie, session_raw = cookies[SESSION_COOKIE]
    assert "httponly" in session_raw
    assert session_cookie["samesite"].lower() == "strict"
    assert session_cookie["path"] == "/"
    assert int(session_cookie["max-age"]) == 12 * 3600
    assert "secure" not in session_raw  # cookie_secure defaults to False (plain http on a laptop)
    csrf_cookie, csrf_raw = cookies[CSRF_COOKIE]
    # The console's JavaScript reads the CSRF cookie to echo it, so it is not HttpOnly.
    assert "httponly" not in csrf_raw
    assert csrf_cookie["samesite"].lower() == "strict"
    assert csrf_cookie.value == body["csrf_token"]
    assert session_cookie.value != body["csrf_token"]


def test_secure_cookie_setting(settings: Settings, db: Database) -> None:
    from sadeem.app import create_app

    make_user(db, "ada")
    secure = settings.model_copy(update={"cookie_secure": True, "cookie_samesite": "lax"})
    with TestClient(create_app(secure, db), base_url="https://testserver") as client:
        response = client.post("/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})
        for header in response.headers.get_list("set-cookie"):
            assert "; secure" in header.lower()
            assert "samesite=lax" in header.lower()
        assert client.get("/api/v1/me").status_code == 200


def test_session_cookie_authenticates(client: TestClient, db: Database) -> None:
    make_user(db, "ada")
    login(client, "ada")
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["username"] == "ada"


# --- CSRF --------------------------------------------------------------------------------------


def test_cookie_request_without_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, world: World
) -> None:
    login(client, "ws_editor")
    refused = client.post("/api/v1/workspaces", json={"slug": "forged"})
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:sadeem:problem:permission-denied"
    assert CSRF_HEADER in refused.json()["detail"]
    assert not workspace_exists(client, world, "forged")

    wrong = client.post("/api/v1/workspaces", json={"slug": "forged"}, headers={CSRF_HEADER: "nope"})
    assert wrong.status_code == 403
    assert not workspace_exists(client, world, "forged")


def test_cookie_request_with_csrf_token_passes(client: TestClient, world: World) -> None:
    csrf = login(client, "ws_editor")
    assert client.cookies[CSRF_COOKIE] == csrf
    created = client.post("/api/v1/workspaces", json={"slug": "honest"}, headers={CSRF_HEADER: csrf})
    assert created.status_code == 201, created.text
    assert workspace_exists(client, world, "honest")


def test_csrf_token_of_another_session_is_refused(client: TestClient, world: World) -> None:
    other_csrf = login(client, "ws_viewer")
    login(client, "ws_editor")  # the jar now holds ws_editor's session
    response = client.post("/api/v1/workspaces", json={"slug": "mixed"}, headers={CSRF_HEADER: other_csrf})
    assert response.status_code == 403
    assert not workspace_exists(client, world, "mixed")


def test_bearer_token_needs_no_csrf_token(client: TestClient, world: World) -> None:
    created = client.post("/api/v1/workspaces", json={"slug": "scripted"}, headers=world.headers("ws_editor"))
    assert created.status_code == 201, created.text


def test_safe_methods_need_no_csrf_token(client: TestClient, world: World) -> None:
    login(client, "ws_editor")
    assert client.get("/api/v1/workspaces").status_code == 200


# --- logout and timeouts -----------------------------------------------------------------------


def test_logout_revokes_the_session(client: TestClient, db: Database) -> None:
    make_user(db, "ada")
    csrf = login(client, "ada")
    session_value = client.cookies[SESSION_COOKIE]
    assert client.post("/api/v1/auth/logout").status_code == 403  # logout is CSRF-protected too
    response = client.post("/api/v1/auth/logout", headers={CSRF_HEADER: csrf})
    assert response.status_code == 204
    assert SESSION_COOKIE not in client.cookies  # the response deletes the cookies
    for header in response.headers.get_list("set-cookie"):  # deleted with the attributes they had
        assert "max-age=0" in header.lower()
        assert "samesite=strict" in header.lower()
    replay = client.get("/api/v1/me", headers={"Cookie": f"{SESSION_COOKIE}={session_value}"})
    assert replay.status_code == 401
    assert replay.headers["content-type"] == "application/problem+json"
    with db.reads() as session:
        assert session.scalars(select(UserSession.revoked_at)).one() is not None


def test_session_times_out_after_inactivity(client: TestClient, db: Database, settings: Settings) -> None:
    make_user(db, "ada")
    login(client, "ada")
    headers = only_cookie(client)
    idle = timedelta(seconds=settings.session_idle_timeout_seconds)
    set_session_times(db, "ada", last_seen_at=utcnow() - idle + timedelta(seconds=30))
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # still inside the window
    set_session_times(db, "ada", last_seen_at=utcnow() - idle - timedelta(seconds=1))
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert "inactivity" in response.json()["detail"]


def test_activity_extends_the_idle_window(client: TestClient, db: Database, settings: Settings) -> None:
    make_user(db, "ada")
    login(client, "ada")
    headers = only_cookie(client)
    long_ago = utcnow() - timedelta(seconds=settings.session_idle_timeout_seconds - 5)
    set_session_times(db, "ada", last_seen_at=long_ago)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with db.reads() as session:
        touched = session.scalars(select(UserSession.last_seen_at)).one()
    assert touched > long_ago + timedelta(seconds=60)


def test_state_changing_cookie_request_touches_the_session(
    client: TestClient, world: World, db: Database
) -> None:
    """The touch runs while the request holds its own write transaction (serialized on SQLite)."""
    csrf = login(client, "ws_editor")
    two_minutes_ago = utcnow() - timedelta(minutes=2)
    set_session_times(db, "ws_editor", last_seen_at=two_minutes_ago)
    created = client.post("/api/v1/workspaces", json={"slug": "touched"}, headers={CSRF_HEADER: csrf})
    assert created.status_code == 201, created.text
    with db.reads() as session:
        assert session.scalars(select(UserSession.last_seen_at)).one() > two_minutes_ago


def test_refused_cookie_request_does_not_touch_the_session(
    client: TestClient, world: World, db: Database
) -> None:
    login(client, "ws_editor")
    two_minutes_ago = utcnow() - timedelta(minutes=2)
    set_session_times(db, "ws_editor", last_seen_at=two_minutes_ago)
    assert client.post("/api/v1/workspaces", json={"slug": "nope"}).status_code == 403
    with db.reads() as session:
        assert session.scalars(select(UserSession.last_seen_at)).one() == two_minutes_ago


def test_session_expires_at_the_absolute_timeout(client: TestClient, db: Database) -> None:
    make_user(db, "ada")
    login(client, "ada")
    headers = only_cookie(client)
    set_session_times(db, "ada", expires_at=utcnow() - timedelta(seconds=1), last_seen_at=utcnow())
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_small_timeout_settings_apply(settings: Settings, db: Database) -> None:
    from sadeem.app import create_app

    short = settings.model_copy(
        update={"session_idle_timeout_seconds": 60, "session_absolute_timeout_seconds": 300}
    )
    make_user(db, "ada")
    with TestClient(create_app(short, db)) as client:
        response = client.post("/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})
        expires = response.json()["expires_at"]
        assert "max-age=300" in response.headers["set-cookie"].lower()
        with db.reads() as session:
            row = session.scalars(select(UserSession)).one()
        assert abs((row.expires_at - row.created_at).total_seconds() - 300) < 1
        assert expires.startswith(row.expires_at.strftime("%Y-%m-%dT%H:%M"))
        headers = only_cookie(client)
        set_session_times(db, "ada", last_seen_at=utcnow() - timedelta(seconds=61))
        assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_an_active_session_survives_a_short_idle_timeout(settings: Settings, db: Database) -> None:
    """With the shortest idle timeout (60 s), `last_seen_at` is kept fresher than once a minute."""
    from sadeem.app import create_app

    short = settings.model_copy(update={"session_idle_timeout_seconds": 60})
    make_user(db, "ada")
    with TestClient(create_app(short, db)) as client:
        login(client, "ada")
        forty_seconds_ago = utcnow() - timedelta(seconds=40)
        set_session_times(db, "ada", last_seen_at=forty_seconds_ago)
        assert client.get("/api/v1/me").status_code == 200
        with db.reads() as session:
            assert session.scalars(select(UserSession.last_seen_at)).one() > forty_seconds_ago
        # 30 seconds later the user is still active: 40 + 30 s since the last touch would be over.
        set_session_times(db, "ada", last_seen_at=utcnow() - timedelta(seconds=30))
        assert client.get("/api/v1/me").status_code == 200


def test_garbage_session_cookie_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/me", headers={"Cookie": f"{SESSION_COOKIE}=forged"})
    assert response.status_code == 401
    assert client.get("/api/v1/me").status_code == 401
    bad_scheme = client.get("/api/v1/me", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert bad_scheme.status_code == 401
    assert bad_scheme.headers["www-authenticate"].startswith("Bearer")


# --- login failures, throttling, lockout -------------------------------------------------------


def test_unknown_user_and_wrong_password_get_the_same_answer(client: TestClient, db: Database) -> None:
    make_user(db, "ada")
    unknown = client.post("/api/v1/auth/login", json={"username": "nobody", "password": PASSWORD})
    wrong = client.post("/api/v1/auth/login", json={"username": "ada", "password": "wrong password!"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.headers["content-type"] == wrong.headers["content-type"] == "application/problem+json"
    strip = ("request_id",)
    assert {k: v for k, v in unknown.json().items() if k not in strip} == {
        k: v for k, v in wrong.json().items() if k not in strip
    }
    assert SESSION_COOKIE not in client.cookies


def test_lockout_after_max_failures(client: TestClient, db: Database, settings: Settings) -> None:
    make_user(db, "ada")
    bad = {"username": "ada", "password": "not the password"}
    for _ in range(settings.login_max_failures):
        assert client.post("/api/v1/auth/login", json=bad).status_code == 401
    locked = client.post("/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})
    assert locked.status_code == 429, locked.text
    assert locked.headers["content-type"] == "application/problem+json"
    retry_after = int(locked.headers["retry-after"])
    assert 0 < retry_after <= settings.login_lockout_seconds + 1
    assert locked.json()["retry_after_seconds"] == retry_after
    assert SESSION_COOKIE not in client.cookies
    assert client.post("/api/v1/auth/login", json=bad).status_code == 429

    # The lockout passes.
    with db.writes() as session:
        session.execute(
            update(User).where(User.username == "ada").values(locked_until=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    login(client, "ada")
    row = user_row(db, "ada")
    assert row.failed_logins == 0
    assert row.locked_until is None


def test_successful_login_resets_the_failure_count(
    client: TestClient, db: Database, settings: Settings
) -> None:
    make_user(db, "ada")
    bad = {"username": "ada", "password": "not the password"}
    for _ in range(settings.login_max_failures - 1):
        assert client.post("/api/v1/auth/login", json=bad).status_code == 401
    login(client, "ada")
    for _ in range(settings.login_max_failures - 1):
        assert client.post("/api/v1/auth/login", json=bad).status_code == 401
    login(client, "ada")


def test_admin_password_reset_lifts_a_lockout(client: TestClient, world: World, db: Database) -> None:
    with db.writes() as session:
        session.execute(
            update(User)
            .where(User.username == "ws_viewer")
            .values(locked_until=utcnow() + timedelta(hours=1))
        )
        session.commit()
    blocked = client.post("/api/v1/auth/login", json={"username": "ws_viewer", "password": PASSWORD})
    assert blocked.status_code == 429
    reset = client.post(
        "/api/v1/users/ws_viewer/password", json={"password": NEW_PASSWORD}, headers=world.headers("root")
    )
    assert reset.status_code == 204, reset.text
    login(client, "ws_viewer", NEW_PASSWORD)


def test_disabled_user_cannot_log_in_and_token_stops_working(
    client: TestClient, world: World, db: Database
) -> None:
    viewer_session = TestClient(client.app)
    login(viewer_session, "ws_viewer")
    assert client.get("/api/v1/me", headers=world.headers("ws_viewer")).status_code == 200
    disabled = client.patch("/api/v1/users/ws_viewer", json={"disabled": True}, headers=world.headers("root"))
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled"] is True

    refused = client.post("/api/v1/auth/login", json={"username": "ws_viewer", "password": PASSWORD})
    unknown = client.post("/api/v1/auth/login", json={"username": "nobody", "password": PASSWORD})
    assert refused.status_code == 401
    assert refused.json()["detail"] == unknown.json()["detail"]
    assert client.get("/api/v1/me", headers=world.headers("ws_viewer")).status_code == 401
    assert viewer_session.get("/api/v1/me").status_code == 401  # open sessions end too

    enabled = client.patch("/api/v1/users/ws_viewer", json={"disabled": False}, headers=world.headers("root"))
    assert enabled.status_code == 200
    assert client.get("/api/v1/me", headers=world.headers("ws_viewer")).status_code == 200
    login(client, "ws_viewer")


def test_login_rejects_malformed_bodies(client: TestClient, db: Database) -> None:
    make_user(db, "ada")
    assert client.post("/api/v1/auth/login", json={"username": "ada"}).status_code == 422
    extra = client.post("/api/v1/auth/login", json={"username": "a", "password": "b", "remember": True})
    assert extra.status_code == 422
    # A cross-site HTML form can send `text/plain` without a CORS preflight; it is no JSON body.
    form_post = client.post(
        "/api/v1/auth/login",
        content=json.dumps({"username": "ada", "password": PASSWORD}).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert form_post.status_code == 422
    assert SESSION_COOKIE not in client.cookies
    malformed = client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.headers["content-type"] == "application/problem+json"


# --- passwords ---------------------------------------------------------------------------------


def test_password_change_ends_sessions(client: TestClient, db: Database) -> None:
    make_user(db, "ada")
    other_device = TestClient(client.app)
    login(other_device, "ada")
    csrf = login(client, "ada")
    wrong = client.post(
        "/api/v1/me/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers={CSRF_HEADER: csrf},
    )
    assert wrong.status_code == 403
    assert client.get("/api/v1/me").status_code == 200  # a refused change ends nothing

    short = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers={CSRF_HEADER: csrf},
    )
    assert short.status_code == 422

    changed = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={CSRF_HEADER: csrf},
    )
    assert changed.status_code == 204, changed.text
    assert client.get("/api/v1/me").status_code == 401
    assert other_device.get("/api/v1/me").status_code == 401
    old = client.post("/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})
    assert old.status_code == 401
    login(client, "ada", NEW_PASSWORD)


def test_admin_reset_password(client: TestClient, world: World) -> None:
    viewer = TestClient(client.app)
    login(viewer, "ws_viewer")
    refused = client.post(
        "/api/v1/users/ws_viewer/password", json={"password": NEW_PASSWORD}, headers=world.headers("ws_admin")
    )
    assert refused.status_code == 403
    reset = client.post(
        "/api/v1/users/ws_viewer/password", json={"password": NEW_PASSWORD}, headers=world.headers("root")
    )
    assert reset.status_code == 204, reset.text
    assert viewer.get("/api/v1/me").status_code == 401
    assert (
        client.post("/api/v1/auth/login", json={"username": "ws_viewer", "password": PASSWORD}).status_code
        == 401
    )
    login(client, "ws_viewer", NEW_PASSWORD)
    missing = client.post(
        "/api/v1/users/ghost/password", json={"password": NEW_PASSWORD}, headers=world.headers("root")
    )
    assert missing.status_code == 404
    short = client.post(
        "/api/v1/users/ws_viewer/password", json={"password": "short"}, headers=world.headers("root")
    )
    assert short.status_code == 422


# --- users API ---------------------------------------------------------------------------------


def test_last_platform_admin_cannot_be_demoted_or_disabled(client: TestClient, world: World) -> None:
    root = world.headers("root")
    for change in ({"role": "user"}, {"disabled": True}):
        response = client.patch("/api/v1/users/root", json=change, headers=root)
        assert response.status_code == 409, (change, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/users/root", headers=root).json()["role"] == "admin"

    promoted = client.patch("/api/v1/users/ws_admin", json={"role": "admin"}, headers=root)
    assert promoted.status_code == 200
    demoted = client.patch("/api/v1/users/root", json={"role": "user"}, headers=root)
    assert demoted.status_code == 200, demoted.text
    assert client.get("/api/v1/users", headers=root).status_code == 403  # root is no admin now
    last = client.patch("/api/v1/users/ws_admin", json={"role": "user"}, headers=world.headers("ws_admin"))
    assert last.status_code == 409
    assert "last active platform admin" in last.json()["detail"]


def test_an_admin_cannot_disable_themselves(client: TestClient, world: World) -> None:
    root = world.headers("root")
    assert client.patch("/api/v1/users/ws_admin", json={"role": "admin"}, headers=root).status_code == 200
    # Not the last admin, and still refused: a disabled account cannot undo its own disabling.
    refused = client.patch("/api/v1/users/root", json={"disabled": True}, headers=root)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == "You cannot disable your own account; another platform admin can."
    assert client.get("/api/v1/users/root", headers=root).json()["disabled"] is False
    assert client.patch("/api/v1/users/root", json={"disabled": False}, headers=root).status_code == 200
    other = client.patch("/api/v1/users/root", json={"disabled": True}, headers=world.headers("ws_admin"))
    assert other.status_code == 200, other.text
    assert client.get("/api/v1/me", headers=root).status_code == 401


def test_users_details_change_and_a_null_email_removes_it(client: TestClient, world: World) -> None:
    root = world.headers("root")
    url = "/api/v1/users/ws_viewer"
    both = {"display_name": "Vera Viewer", "email": "vera@example.org"}
    set_both = client.patch(url, json=both, headers=root)
    assert set_both.status_code == 200, set_both.text
    assert (set_both.json()["display_name"], set_both.json()["email"]) == ("Vera Viewer", "vera@example.org")
    unrelated = client.patch(url, json={"display_name": "Vera V."}, headers=root).json()
    assert unrelated["email"] == "vera@example.org"  # not sent: unchanged
    cleared = client.patch(url, json={"email": None}, headers=root)
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["display_name"], cleared.json()["email"]) == ("Vera V.", None)
    assert client.patch(url, json={"email": ""}, headers=root).status_code == 422


def test_users_list_searches_username_display_name_and_email(client: TestClient, world: World) -> None:
    root = world.headers("root")
    for username, display_name, email in (
        ("grace.h", "Grace Hopper", "grace@navy.example"),
        ("alan", "Alan Turing", "alan@bletchley.example"),
        ("under_score", "", None),
    ):
        body = {"username": username, "password": NEW_PASSWORD, "display_name": display_name, "email": email}
        assert client.post("/api/v1/users", json=body, headers=root).status_code == 201

    def found(q: str, **params: str | int) -> list[str]:
        response = client.get("/api/v1/users", params={"q": q, **params}, headers=root)
        assert response.status_code == 200, response.text
        return [u["username"] for u in response.json()["items"]]

    assert found("GRACE") == ["grace.h"]  # username, any case
    assert found("turing") == ["alan"]  # display name
    assert found("bletchley") == ["alan"]  # email
    assert found("_") == ["ws_admin", "ws_editor", "ws_viewer", "under_score"]  # '_' matches itself
    assert found("%") == []
    assert found("nobody") == []
    first = client.get("/api/v1/users", params={"q": "ws_", "limit": 2}, headers=root).json()
    assert [u["username"] for u in first["items"]] == ["ws_admin", "ws_editor"]
    assert found("ws_", limit=2, cursor=first["next_cursor"]) == ["ws_viewer"]
    assert client.get("/api/v1/users", params={"q": "x" * 101}, headers=root).status_code == 422


def test_users_api_create_list_get(client: TestClient, world: World) -> None:
    root = world.headers("root")
    created = client.post(
        "/api/v1/users",
        json={"username": "grace.h", "password": NEW_PASSWORD, "display_name": "Grace", "email": "g@x.io"},
        headers=root,
    )
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "user"
    assert "password" not in created.text
    assert NEW_PASSWORD not in created.text
    assert client.get("/api/v1/users/grace.h", headers=root).json()["display_name"] == "Grace"
    names: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/users", params=params, headers=root).json()
        names += [u["username"] for u in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(names) == sorted(["root", "ws_admin", "ws_editor", "ws_viewer", "outsider", "grace.h"])
    assert len(names) == len(set(names))
    login(client, "grace.h", NEW_PASSWORD)


def test_users_api_refuses_bad_input(client: TestClient, world: World) -> None:
    root = world.headers("root")
    duplicate = client.post(
        "/api/v1/users", json={"username": "ws_viewer", "password": NEW_PASSWORD}, headers=root
    )
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"] == "application/problem+json"
    for username in ("Upper", "a", "with space", "-dash", "x" * 65, "", "émile"):
        bad = client.post(
            "/api/v1/users", json={"username": username, "password": NEW_PASSWORD}, headers=root
        )
        assert bad.status_code == 422, (username, bad.text)
        assert bad.json()["errors"][0]["loc"] == ["body", "username"]
    short = client.post("/api/v1/users", json={"username": "shorty", "password": "tiny"}, headers=root)
    assert short.status_code == 422
    assert short.json()["errors"][0]["loc"] == ["body", "password"]
    assert "tiny" not in short.text  # rejected input is never echoed
    unknown = client.post(
        "/api/v1/users",
        json={"username": "extra", "password": NEW_PASSWORD, "is_superuser": True},
        headers=root,
    )
    assert unknown.status_code == 422
    bad_role = client.post(
        "/api/v1/users", json={"username": "roleless", "password": NEW_PASSWORD, "role": "god"}, headers=root
    )
    assert bad_role.status_code == 422
    bad_patch = client.patch("/api/v1/users/ws_viewer", json={"password_hash": "x"}, headers=root)
    assert bad_patch.status_code == 422
    missing = client.patch("/api/v1/users/ghost", json={"display_name": "x"}, headers=root)
    assert missing.status_code == 404
    for name in ("shorty", "extra", "roleless"):
        assert client.get(f"/api/v1/users/{name}", headers=root).status_code == 404


def test_users_api_needs_platform_admin(client: TestClient, world: World) -> None:
    body = {"username": "sneaky", "password": NEW_PASSWORD}
    assert client.post("/api/v1/users", json=body).status_code == 401
    assert client.post("/api/v1/users", json=body, headers=world.headers("ws_admin")).status_code == 403
    assert client.get("/api/v1/users", headers=world.headers("ws_admin")).status_code == 403
    assert client.get("/api/v1/users/sneaky", headers=world.headers("root")).status_code == 404


def test_me_for_token_and_session(client: TestClient, world: World) -> None:
    me = client.get("/api/v1/me", headers=bearer(world.tokens["ws_editor"]))
    assert me.json()["username"] == "ws_editor"
    assert me.json()["role"] == PlatformRole.user


# --- races -------------------------------------------------------------------------------------


def test_parallel_wrong_guesses_cannot_outrun_the_lockout(db: Database, settings: Settings) -> None:
    make_user(db, "ada")
    attempts = settings.login_max_failures + 7
    outcomes: list[str] = []
    start = threading.Barrier(attempts)

    def guess() -> None:
        start.wait()
        try:
            with db.unit_of_work("test.login") as session:
                auth_service.login(
                    session, Actor.system("cli"), settings, LocalIdentityProvider(), "ada", "wrong!"
                )
        except NotAuthenticated:
            outcomes.append("bad")
        except TooManyAttempts:
            outcomes.append("locked")

    threads = [threading.Thread(target=guess) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["bad"] * settings.login_max_failures + ["locked"] * 7
    assert user_row(db, "ada").locked_until is not None


def test_two_admins_demoting_each_other_at_once_leave_one_admin(db: Database) -> None:
    make_user(db, "ada", PlatformRole.admin)
    make_user(db, "bob", PlatformRole.admin)
    first = db.writes()
    ada = auth_service.get_user(first, "ada")
    auth_service.ensure_not_last_admin(first, ada)  # ada's demotion is decided, not yet committed
    ada.role = PlatformRole.user
    first.flush()
    results: list[object] = []

    def demote_bob() -> None:
        with db.unit_of_work("test.demote") as second:
            bob = auth_service.get_user(second, "bob")
            try:
                auth_service.update_user(
                    second,
                    Actor.system("cli"),
                    bob,
                    auth_service.UserChanges(role=PlatformRole.user),
                )
                results.append("demoted")
            except Conflict as exc:
                results.append(exc)

    other = threading.Thread(target=demote_bob)
    other.start()
    other.join(timeout=0.5)
    assert other.is_alive()  # waits for the first demotion to be decided
    first.commit()
    first.close()
    other.join()
    assert len(results) == 1 and isinstance(results[0], Conflict)
    with db.reads() as session:
        admins = session.scalars(select(User.username).where(User.role == PlatformRole.admin)).all()
    assert admins == ["bob"]
