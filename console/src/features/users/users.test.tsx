import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { vi } from "vitest";

import type { Schemas } from "@/api/client";
import { renderApp } from "@/test/render";
import { admin, problem, server, signedIn } from "@/test/server";

// Whole flows through the real app: generous under a loaded machine (the suite shares two cores).
vi.setConfig({ testTimeout: 20_000 });

type User = Schemas["UserOut"];

function person(username: string, extra: Partial<User> = {}): User {
  return {
    username,
    display_name: "",
    email: null,
    role: "user",
    identity_provider: "local",
    disabled: false,
    created_at: "2026-12-02T10:00:00Z",
    ...extra,
  };
}

/** The users API as the server keeps it: a list, searchable with `q`, and its writes. */
function usersApi(initial: User[]) {
  const users = [...initial];
  const calls: { method: string; path: string; body: unknown }[] = [];
  const lookup = (name: unknown) => users.find((u) => u.username === name);
  server.use(
    http.get("*/api/v1/users", ({ request }) => {
      const q = new URL(request.url).searchParams.get("q")?.toLowerCase();
      const items = q
        ? users.filter((u) => [u.username, u.display_name, u.email ?? ""].some((v) => v.toLowerCase().includes(q)))
        : users;
      return HttpResponse.json({ items, next_cursor: null });
    }),
    http.post("*/api/v1/users", async ({ request }) => {
      const body = (await request.json()) as Schemas["UserCreate"];
      calls.push({ method: "POST", path: "/users", body });
      if (lookup(body.username)) {
        return problem(409, "conflict", "Conflict", `A user named '${body.username}' already exists.`);
      }
      const user = person(body.username, {
        display_name: body.display_name ?? "",
        email: body.email ?? null,
        role: body.role ?? "user",
      });
      users.push(user);
      return HttpResponse.json(user, { status: 201 });
    }),
    http.patch("*/api/v1/users/:username", async ({ params, request }) => {
      const body = (await request.json()) as Schemas["UserUpdate"];
      calls.push({ method: "PATCH", path: `/users/${String(params.username)}`, body });
      const user = lookup(params.username);
      if (!user) return problem(404, "not-found", "Not found", "No such user.");
      const admins = users.filter((u) => u.role === "admin" && !u.disabled);
      if (user.role === "admin" && (body.disabled || body.role === "user") && admins.length <= 1) {
        return problem(409, "conflict", "Conflict", "This is the last active platform admin; promote another admin first.");
      }
      Object.assign(user, Object.fromEntries(Object.entries(body).filter(([k, v]) => v !== undefined && (v !== null || k === "email"))));
      return HttpResponse.json(user);
    }),
    http.post("*/api/v1/users/:username/password", async ({ params, request }) => {
      calls.push({ method: "POST", path: `/users/${String(params.username)}/password`, body: await request.json() });
      return new HttpResponse(null, { status: 204 });
    }),
  );
  return { users, calls };
}

const grace = person("grace.h", { display_name: "Grace Hopper", email: "grace@navy.example" });
const alan = person("alan", { display_name: "Alan Turing" });

test("a platform admin sees the users, searches them, and the search is in the URL", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  usersApi([admin, grace, alan]);
  const { router } = renderApp("/users");
  expect(await screen.findByRole("heading", { level: 1, name: "Users" })).toBeInTheDocument();
  const table = await screen.findByRole("table", { name: "Users" });
  expect(within(table).getAllByRole("row")).toHaveLength(4);
  expect(within(screen.getByTestId("user-admin")).getByText("(you)")).toBeInTheDocument();
  expect(within(screen.getByTestId("user-admin")).getByText("Platform admin")).toBeInTheDocument();

  await user.type(screen.getByRole("searchbox", { name: "Search users" }), "turing");
  await waitFor(() => expect(router.state.location.search).toEqual({ q: "turing" }));
  await waitFor(() => expect(screen.queryByTestId("user-grace.h")).not.toBeInTheDocument());
  expect(screen.getByTestId("user-alan")).toBeInTheDocument();

  await user.clear(screen.getByRole("searchbox", { name: "Search users" }));
  await user.type(screen.getByRole("searchbox", { name: "Search users" }), "nobody");
  expect(await screen.findByText("No user matches “nobody”")).toBeInTheDocument();
  await user.click(screen.getByRole("button", { name: "Clear search" }));
  await waitFor(() => expect(router.state.location.search).toEqual({}));
  expect(await screen.findByTestId("user-grace.h")).toBeInTheDocument();
});

test("a deep link with a search opens with it", async () => {
  signedIn();
  usersApi([admin, grace, alan]);
  renderApp("/users?q=grace");
  expect(await screen.findByTestId("user-grace.h")).toBeInTheDocument();
  expect(screen.queryByTestId("user-alan")).not.toBeInTheDocument();
  expect(screen.getByRole("searchbox", { name: "Search users" })).toHaveValue("grace");
});

test("an admin creates a user; a taken username is refused in plain words", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  const store = usersApi([admin, grace]);
  renderApp("/users");
  await user.click(await screen.findByRole("button", { name: "Create user" }));
  const dialog = await screen.findByRole("dialog", { name: "Create a user" });
  await user.type(within(dialog).getByLabelText("Username"), "Bad Name");
  await user.type(within(dialog).getByLabelText("Initial password"), "short");
  await user.click(within(dialog).getByRole("button", { name: "Create user" }));
  expect(within(dialog).getByText("Use at least 12 characters.")).toBeInTheDocument();
  expect(within(dialog).getByLabelText("Username")).toHaveAttribute("aria-invalid", "true");
  expect(store.calls).toHaveLength(0);

  await user.clear(within(dialog).getByLabelText("Username"));
  await user.type(within(dialog).getByLabelText("Username"), "grace.h");
  await user.click(within(dialog).getByRole("button", { name: "Generate a strong password" }));
  const generated = (within(dialog).getByLabelText("Initial password") as HTMLInputElement).value;
  expect(generated).toHaveLength(20);
  expect(within(dialog).getByLabelText("Initial password")).toHaveAttribute("type", "text");
  await user.click(within(dialog).getByRole("button", { name: "Create user" }));
  expect(await within(dialog).findByTestId("refusal")).toHaveTextContent("A user named 'grace.h' already exists.");

  await user.clear(within(dialog).getByLabelText("Username"));
  await user.type(within(dialog).getByLabelText("Username"), "edsger");
  await user.type(within(dialog).getByLabelText("Display name"), "Edsger Dijkstra");
  await user.type(within(dialog).getByLabelText("Email"), "not an email");
  await user.click(within(dialog).getByRole("button", { name: "Create user" }));
  expect(within(dialog).getByText("Enter an email address such as name@example.org.")).toBeInTheDocument();
  await user.clear(within(dialog).getByLabelText("Email"));
  await user.type(within(dialog).getByLabelText("Email"), "ewd@example.org");
  await user.selectOptions(within(dialog).getByLabelText("Platform role"), "Platform admin");
  expect(within(dialog).getByText(/Manages users and every workspace/)).toBeInTheDocument();
  await user.click(within(dialog).getByRole("button", { name: "Create user" }));
  await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  expect(store.calls.at(-1)?.body).toEqual({
    username: "edsger",
    password: generated,
    role: "admin",
    display_name: "Edsger Dijkstra",
    email: "ewd@example.org",
  });
  const row = await screen.findByTestId("user-edsger");
  expect(within(row).getByText("Edsger Dijkstra")).toBeInTheDocument();
  expect(within(row).getByText("Platform admin")).toBeInTheDocument();
  expect(await screen.findByText("User edsger created.")).toBeInTheDocument();
});

async function openAction(user: ReturnType<typeof userEvent.setup>, username: string, item: string) {
  await user.click(await screen.findByRole("button", { name: `Actions for ${username}` }));
  await user.click(await screen.findByRole("menuitem", { name: item }));
}

test("an admin changes a role; demoting the last admin is refused with the server's reason", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  const store = usersApi([admin, grace]);
  renderApp("/users");
  await openAction(user, "grace.h", "Change role…");
  let dialog = await screen.findByRole("dialog", { name: "Platform role of grace.h" });
  await user.selectOptions(within(dialog).getByLabelText("Platform role"), "Platform admin");
  await user.click(within(dialog).getByRole("button", { name: "Save" }));
  await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  expect(store.calls.at(-1)).toEqual({ method: "PATCH", path: "/users/grace.h", body: { role: "admin" } });
  expect(await within(screen.getByTestId("user-grace.h")).findByText("Platform admin")).toBeInTheDocument();
  expect(await screen.findByText("grace.h is now a platform admin.")).toBeInTheDocument();

  // Back to user, so admin is the last admin again; then admin tries to demote themselves.
  store.users[1]!.role = "user";
  await openAction(user, "admin", "Change role…");
  dialog = await screen.findByRole("dialog", { name: "Platform role of admin" });
  expect(within(dialog).getByText(/you lose this page at once/)).toBeInTheDocument();
  await user.selectOptions(within(dialog).getByLabelText("Platform role"), "User");
  await user.click(within(dialog).getByRole("button", { name: "Save" }));
  expect(await within(dialog).findByTestId("refusal")).toHaveTextContent(
    "This is the last active platform admin; promote another admin first.",
  );
});

test("an admin resets a password and is told what happens to the user's sessions", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  const store = usersApi([admin, grace]);
  renderApp("/users");
  await openAction(user, "grace.h", "Reset password…");
  const dialog = await screen.findByRole("dialog", { name: "Reset the password of grace.h" });
  expect(within(dialog).getByText(/signed out everywhere at once/)).toBeInTheDocument();
  await user.type(within(dialog).getByLabelText("New password"), "tiny");
  await user.click(within(dialog).getByRole("button", { name: "Set password" }));
  expect(within(dialog).getByText("Use at least 12 characters.")).toBeInTheDocument();
  await user.clear(within(dialog).getByLabelText("New password"));
  await user.type(within(dialog).getByLabelText("New password"), "a long new passphrase");
  await user.click(within(dialog).getByRole("button", { name: "Set password" }));
  await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  expect(store.calls.at(-1)).toEqual({
    method: "POST",
    path: "/users/grace.h/password",
    body: { password: "a long new passphrase" },
  });
  expect(await screen.findByText("Password of grace.h set; their sessions were ended.")).toBeInTheDocument();
});

test("an admin disables and enables a user after confirming, and cannot disable themselves", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  const store = usersApi([admin, grace]);
  renderApp("/users");

  await user.click(await screen.findByRole("button", { name: "Actions for admin" }));
  expect(await screen.findByRole("menuitem", { name: "You cannot disable your own account." })).toHaveAttribute(
    "aria-disabled",
    "true",
  );
  await user.keyboard("{Escape}");

  await openAction(user, "grace.h", "Disable…");
  let dialog = await screen.findByRole("alertdialog", { name: "Disable grace.h?" });
  expect(within(dialog).getByText(/access tokens stop working/)).toBeInTheDocument();
  await user.click(within(dialog).getByRole("button", { name: "Disable user" }));
  await waitFor(() => expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument());
  expect(store.calls.at(-1)).toEqual({ method: "PATCH", path: "/users/grace.h", body: { disabled: true } });
  expect(await within(screen.getByTestId("user-grace.h")).findByText("Disabled")).toBeInTheDocument();

  await openAction(user, "grace.h", "Enable…");
  dialog = await screen.findByRole("alertdialog", { name: "Enable grace.h?" });
  await user.click(within(dialog).getByRole("button", { name: "Enable user" }));
  await waitFor(() => expect(store.calls.at(-1)?.body).toEqual({ disabled: false }));
  expect(await within(screen.getByTestId("user-grace.h")).findByText("Active")).toBeInTheDocument();
});

test("a refused disable shows the server's reason in the dialog", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  usersApi([admin, grace]);
  server.use(
    http.patch("*/api/v1/users/:username", () =>
      problem(409, "conflict", "Conflict", "This is the last active platform admin; promote another admin first."),
    ),
  );
  renderApp("/users");
  await openAction(user, "grace.h", "Disable…");
  const dialog = await screen.findByRole("alertdialog");
  await user.click(within(dialog).getByRole("button", { name: "Disable user" }));
  expect(await within(dialog).findByTestId("refusal")).toHaveTextContent("last active platform admin");
});

test("someone who is not a platform admin is told the page is for platform admins, and the nav hides it", async () => {
  signedIn({ ...admin, username: "viewer", role: "user" });
  let asked = false;
  server.use(
    http.get("*/api/v1/users", () => {
      asked = true;
      return problem(403, "permission-denied", "Permission denied", "Platform admins only.");
    }),
  );
  renderApp("/users");
  expect(await screen.findByTestId("admins-only")).toHaveTextContent("Only platform admins manage users");
  expect(screen.queryByRole("button", { name: "Create user" })).not.toBeInTheDocument();
  const nav = screen.getByRole("navigation", { name: "Main navigation" });
  expect(within(nav).queryByRole("link", { name: "Users" })).not.toBeInTheDocument();
  expect(asked).toBe(false);
});

test("an admin who gives up their own platform role sees the page close and the nav follow", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  const store = usersApi([{ ...admin }, { ...grace, role: "admin" }]);
  server.use(http.get("*/api/v1/me", () => HttpResponse.json(store.users[0])));
  renderApp("/users");
  await openAction(user, "admin", "Change role…");
  const dialog = await screen.findByRole("dialog", { name: "Platform role of admin" });
  await user.selectOptions(within(dialog).getByLabelText("Platform role"), "User");
  await user.click(within(dialog).getByRole("button", { name: "Save" }));
  expect(await screen.findByTestId("admins-only")).toBeInTheDocument();
  const nav = screen.getByRole("navigation", { name: "Main navigation" });
  await waitFor(() => expect(within(nav).queryByRole("link", { name: "Users" })).not.toBeInTheDocument());
});

test("an admin edits a user's display name and removes their email", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  const store = usersApi([admin, { ...grace }]);
  renderApp("/users");
  await openAction(user, "grace.h", "Edit details…");
  const dialog = await screen.findByRole("dialog", { name: "Details of grace.h" });
  expect(within(dialog).getByLabelText("Email")).toHaveValue("grace@navy.example");
  await user.clear(within(dialog).getByLabelText("Display name"));
  await user.type(within(dialog).getByLabelText("Display name"), "Rear Admiral Hopper");
  await user.clear(within(dialog).getByLabelText("Email"));
  await user.click(within(dialog).getByRole("button", { name: "Save" }));
  await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  expect(store.calls.at(-1)).toEqual({
    method: "PATCH",
    path: "/users/grace.h",
    body: { display_name: "Rear Admiral Hopper", email: null },
  });
  const row = screen.getByTestId("user-grace.h");
  expect(await within(row).findByText("Rear Admiral Hopper")).toBeInTheDocument();
  expect(within(row).queryByText("grace@navy.example")).not.toBeInTheDocument();
});
