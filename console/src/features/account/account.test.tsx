import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { vi } from "vitest";

import type { Schemas } from "@/api/client";
import { renderApp } from "@/test/render";
import { admin, problem, server, signedIn } from "@/test/server";

// Whole flows through the real app: generous under a loaded machine (the suite shares two cores).
vi.setConfig({ testTimeout: 20_000 });

// jsdom lays nothing out; the router scrolls #password and #tokens into view.
beforeAll(() => {
  Element.prototype.scrollIntoView = () => {};
});

const SECRET = "sdm_0123456789abcdef_s3cr3t-value-shown-once";

function token(id: string, name: string, extra: Partial<Schemas["TokenOut"]> = {}): Schemas["TokenOut"] {
  return {
    id,
    name,
    created_at: "2026-12-01T10:00:00Z",
    expires_at: "2099-03-01T10:00:00Z",
    last_used_at: null,
    revoked_at: null,
    ...extra,
  };
}

/** A token store the handlers share, as the server would keep it. */
function tokenApi(initial: Schemas["TokenOut"][] = []) {
  const tokens = [...initial];
  const created: Schemas["TokenCreate"][] = [];
  server.use(
    http.get("*/api/v1/me/tokens", () => HttpResponse.json({ items: tokens, next_cursor: null })),
    http.post("*/api/v1/me/tokens", async ({ request }) => {
      const body = (await request.json()) as Schemas["TokenCreate"];
      created.push(body);
      const days = body.expires_in_days ?? 90;
      const row = token("0123456789abcdef", body.name, {
        created_at: new Date().toISOString(),
        expires_at: new Date(Date.now() + days * 86_400_000).toISOString(),
      });
      tokens.push(row);
      return HttpResponse.json({ ...row, token: SECRET }, { status: 201 });
    }),
    http.delete("*/api/v1/me/tokens/:id", ({ params }) => {
      const row = tokens.find((t) => t.id === params.id);
      if (!row) return problem(404, "not-found", "Not found", "No token.");
      row.revoked_at = new Date().toISOString();
      return new HttpResponse(null, { status: 204 });
    }),
  );
  return { tokens, created };
}

test("the account page shows who you are", async () => {
  signedIn({ ...admin, email: "ada@example.org" });
  tokenApi();
  renderApp("/account");
  expect(await screen.findByRole("heading", { level: 1, name: "Account" })).toBeInTheDocument();
  const profile = screen.getByRole("region", { name: "Profile" });
  expect(within(profile).getByText("admin")).toBeInTheDocument();
  expect(within(profile).getByText("Ada Admin")).toBeInTheDocument();
  expect(within(profile).getByText("ada@example.org")).toBeInTheDocument();
  expect(within(profile).getByText("Platform admin")).toBeInTheDocument();
  expect(within(profile).getByText("Sadeem password")).toBeInTheDocument();
  expect(await screen.findByText("No access tokens yet")).toBeInTheDocument();
});

test("a new token is shown once, can be copied, joins the list and can be revoked", async () => {
  const user = userEvent.setup({ delay: null });
  Object.defineProperty(window, "isSecureContext", { value: true, configurable: true });
  signedIn();
  const store = tokenApi([token("aaaaaaaaaaaaaaaa", "old laptop", { revoked_at: "2026-12-02T10:00:00Z" })]);
  renderApp("/account#tokens");
  const tokens = await screen.findByRole("region", { name: "Personal access tokens" });
  expect(await within(tokens).findByText("old laptop")).toBeInTheDocument();
  expect(within(tokens).getByText("Revoked")).toBeInTheDocument();
  expect(within(tokens).queryByRole("button", { name: /Revoke token/ })).not.toBeInTheDocument();

  await user.click(within(tokens).getByRole("button", { name: "Create token" }));
  const form = await screen.findByRole("dialog", { name: "Create a personal access token" });
  await user.click(within(form).getByRole("button", { name: "Create token" }));
  expect(within(form).getByText("Give the token a name.")).toBeInTheDocument();
  expect(store.created).toHaveLength(0);

  await user.type(within(form).getByLabelText("Name"), "nightly export");
  await user.selectOptions(within(form).getByLabelText("Expires after"), "30 days");
  await user.click(within(form).getByRole("button", { name: "Create token" }));

  const shown = await screen.findByRole("dialog", { name: "Copy your new token now" });
  expect(store.created).toEqual([{ name: "nightly export", expires_in_days: 30 }]);
  expect(within(shown).getByText(/only time the token is shown/)).toBeInTheDocument();
  expect(within(shown).getByTestId("new-token")).toHaveValue(SECRET);
  await user.click(within(shown).getByRole("button", { name: "Copy token" }));
  expect(await navigator.clipboard.readText()).toBe(SECRET);
  expect(within(shown).getByRole("button", { name: "Copied" })).toBeInTheDocument();

  await user.click(within(shown).getByRole("button", { name: "I have copied it" }));
  await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  // Shown once: the secret is in no page any more, only its non-secret prefix is listed.
  expect(screen.queryByDisplayValue(SECRET)).not.toBeInTheDocument();
  expect(screen.queryByText(SECRET)).not.toBeInTheDocument();
  const row = await screen.findByTestId("token-0123456789abcdef");
  expect(within(row).getByText("nightly export")).toBeInTheDocument();
  expect(within(row).getByText("sdm_0123456789abcdef_…")).toBeInTheDocument();
  expect(within(row).getByText("Active")).toBeInTheDocument();
  expect(within(row).getByText("never")).toBeInTheDocument();

  await user.click(within(row).getByRole("button", { name: "Revoke token nightly export" }));
  const confirm = await screen.findByRole("alertdialog", { name: "Revoke the token “nightly export”?" });
  await user.click(within(confirm).getByRole("button", { name: "Revoke token" }));
  await waitFor(() => expect(within(row).getByText("Revoked")).toBeInTheDocument());
  expect(store.tokens.find((t) => t.id === "0123456789abcdef")?.revoked_at).toBeTruthy();
  expect(await screen.findByText("Token “nightly export” revoked.")).toBeInTheDocument();
});

test("a custom expiry date is sent as days from today; a refused creation says why", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  tokenApi();
  const bodies: unknown[] = [];
  server.use(
    http.post("*/api/v1/me/tokens", async ({ request }) => {
      bodies.push(await request.json());
      return problem(400, "invalid-input", "Invalid input", "A token may live at least 1 and at most 365 days.");
    }),
  );
  renderApp("/account");
  await user.click(await screen.findByRole("button", { name: "Create token" }));
  const form = await screen.findByRole("dialog");
  await user.type(within(form).getByLabelText("Name"), "far future");
  await user.selectOptions(within(form).getByLabelText("Expires after"), "On a date…");
  const inTenYears = new Date();
  inTenYears.setFullYear(inTenYears.getFullYear() + 10);
  const iso = `${inTenYears.getFullYear()}-${String(inTenYears.getMonth() + 1).padStart(2, "0")}-${String(inTenYears.getDate()).padStart(2, "0")}`;
  await user.type(within(form).getByLabelText("Expiry date"), iso);
  await user.click(within(form).getByRole("button", { name: "Create token" }));
  expect(await within(form).findByText("A token may live at least 1 and at most 365 days.")).toBeInTheDocument();
  const days = (bodies[0] as { expires_in_days: number }).expires_in_days;
  expect(days).toBeGreaterThanOrEqual(3650);
  expect(days).toBeLessThanOrEqual(3654);
});

test("changing the password signs out everywhere and goes to sign-in", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  tokenApi();
  let changed: unknown = null;
  server.use(
    http.post("*/api/v1/me/password", async ({ request }) => {
      changed = await request.json();
      return new HttpResponse(null, { status: 204 });
    }),
  );
  const { router } = renderApp("/account#password");
  const card = await screen.findByRole("region", { name: "Change password" });
  expect(within(card).getByText(/12 to 256 characters/)).toBeInTheDocument();

  await user.type(within(card).getByLabelText("Current password"), "old passphrase here");
  await user.type(within(card).getByLabelText("New password"), "too short");
  await user.click(within(card).getByRole("button", { name: "Change password" }));
  expect(within(card).getByText("Use at least 12 characters.")).toBeInTheDocument();

  await user.clear(within(card).getByLabelText("New password"));
  await user.type(within(card).getByLabelText("New password"), "a brand new passphrase");
  await user.type(within(card).getByLabelText("New password again"), "a brand new passphrasE");
  await user.click(within(card).getByRole("button", { name: "Change password" }));
  expect(within(card).getByText("The two new passwords are not the same.")).toBeInTheDocument();
  expect(changed).toBeNull();

  await user.clear(within(card).getByLabelText("New password again"));
  await user.type(within(card).getByLabelText("New password again"), "a brand new passphrase");
  await user.click(within(card).getByRole("button", { name: "Change password" }));
  await waitFor(() => expect(router.state.location.pathname).toBe("/login"));
  expect(changed).toEqual({ current_password: "old passphrase here", new_password: "a brand new passphrase" });
  expect(router.state.location.search).toMatchObject({ redirect: "/account" });
  expect(await screen.findByText(/Password changed\. Every session was signed out/)).toBeInTheDocument();
});

test("a refused password change shows the server's reason and keeps you signed in", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  tokenApi();
  server.use(
    http.post("*/api/v1/me/password", () =>
      problem(403, "permission-denied", "Permission denied", "The current password is not correct."),
    ),
  );
  const { router } = renderApp("/account");
  const card = await screen.findByRole("region", { name: "Change password" });
  await user.type(within(card).getByLabelText("Current password"), "not my password");
  await user.type(within(card).getByLabelText("New password"), "a brand new passphrase");
  await user.type(within(card).getByLabelText("New password again"), "a brand new passphrase");
  await user.click(within(card).getByRole("button", { name: "Change password" }));
  expect(await within(card).findByText("The current password is not correct.")).toBeInTheDocument();
  expect(within(card).getByLabelText("Current password")).toHaveAttribute("aria-invalid", "true");
  expect(router.state.location.pathname).toBe("/account");
});

test("someone who signs in through another provider is sent there to change the password", async () => {
  signedIn({ ...admin, identity_provider: "keycloak" });
  tokenApi();
  renderApp("/account");
  const card = await screen.findByRole("region", { name: "Change password" });
  expect(within(card).getByText(/managed by keycloak/)).toBeInTheDocument();
  expect(within(card).queryByLabelText("Current password")).not.toBeInTheDocument();
});
