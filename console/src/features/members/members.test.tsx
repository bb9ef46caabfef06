import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";

import type { Schemas } from "@/api/client";
import { person, platformAdmin, signedInAs, SLOW, workspace } from "@/features/workspaces/fixtures";
import { renderApp } from "@/test/render";
import { problem, server } from "@/test/server";

type Member = Schemas["MemberOut"];

function member(username: string, role: Member["role"]): Member {
  return { username, display_name: username[0]!.toUpperCase() + username.slice(1), role, created_at: "2026-12-02T09:00:00Z" };
}

/** A members API over a list the handlers change, as the server would. */
function membersApi(initial: Member[]) {
  let members = [...initial];
  const calls: string[] = [];
  server.use(
    http.get("*/api/v1/workspaces/demo/members", () => HttpResponse.json({ items: members, next_cursor: null })),
    http.post("*/api/v1/workspaces/demo/members", async ({ request }) => {
      const body = (await request.json()) as { username: string; role: Member["role"] };
      calls.push(`add ${body.username} ${body.role}`);
      if (body.username === "ghost") return problem(404, "not-found", "Not found", "No user 'ghost'.");
      const added = member(body.username, body.role);
      members = [...members, added];
      return HttpResponse.json(added, { status: 201 });
    }),
    http.patch("*/api/v1/workspaces/demo/members/:username", async ({ params, request }) => {
      const { role } = (await request.json()) as { role: Member["role"] };
      calls.push(`role ${String(params.username)} ${role}`);
      const admins = members.filter((m) => m.role === "admin");
      if (role !== "admin" && admins.length === 1 && admins[0]!.username === params.username) {
        return problem(409, "conflict", "Conflict", "This is the last admin of workspace 'demo'; make someone else admin first.");
      }
      members = members.map((m) => (m.username === params.username ? { ...m, role } : m));
      return HttpResponse.json(members.find((m) => m.username === params.username));
    }),
    http.delete("*/api/v1/workspaces/demo/members/:username", ({ params }) => {
      calls.push(`remove ${String(params.username)}`);
      members = members.filter((m) => m.username !== params.username);
      return new HttpResponse(null, { status: 204 });
    }),
  );
  return calls;
}

test("an admin adds a member, changes a role and removes a member", async () => {
  signedInAs(platformAdmin, [workspace("demo", { name: "Demo" })]);
  const calls = membersApi([member("admin", "admin"), member("eddie", "editor")]);
  renderApp("/workspaces/demo/members");
  expect(await screen.findByTestId("member-eddie", {}, SLOW)).toBeInTheDocument();

  await userEvent.click(screen.getByRole("button", { name: "Add member" }));
  let dialog = await screen.findByRole("dialog", { name: "Add a member" });
  await userEvent.type(within(dialog).getByLabelText("Username"), "ghost");
  await userEvent.click(within(dialog).getByRole("button", { name: "Add member" }));
  expect(await within(dialog).findByText("No user 'ghost'.")).toBeInTheDocument();
  await userEvent.clear(within(dialog).getByLabelText("Username"));
  await userEvent.type(within(dialog).getByLabelText("Username"), "vera");
  await userEvent.selectOptions(within(dialog).getByLabelText("Role"), "editor");
  await userEvent.click(within(dialog).getByRole("button", { name: "Add member" }));
  const vera = await screen.findByTestId("member-vera");
  expect(within(vera).getByRole("combobox", { name: "Role of vera" })).toHaveValue("editor");

  await userEvent.selectOptions(within(vera).getByRole("combobox", { name: "Role of vera" }), "viewer");
  await waitFor(() => expect(calls).toContain("role vera viewer"));
  await waitFor(() =>
    expect(within(screen.getByTestId("member-vera")).getByRole("combobox", { name: "Role of vera" })).toHaveValue(
      "viewer",
    ),
  );

  await userEvent.click(screen.getByRole("button", { name: "Remove eddie" }));
  dialog = await screen.findByRole("dialog", { name: "Remove eddie?" });
  expect(dialog).toHaveTextContent("eddie loses access to Demo");
  await userEvent.click(within(dialog).getByRole("button", { name: "Remove member" }));
  await waitFor(() => expect(screen.queryByTestId("member-eddie")).not.toBeInTheDocument());
  expect(calls).toEqual(["add ghost viewer", "add vera editor", "role vera viewer", "remove eddie"]);
});

test("the last admin cannot be demoted or removed, and the page says why", async () => {
  signedInAs(platformAdmin, [workspace("demo", { name: "Demo" })]);
  membersApi([member("ada", "admin"), member("vera", "viewer")]);
  renderApp("/workspaces/demo/members");
  const ada = await screen.findByTestId("member-ada", {}, SLOW);
  const role = within(ada).getByRole("combobox", { name: "Role of ada" });
  expect(role).toBeDisabled();
  expect(within(ada).getByRole("button", { name: "Remove ada" })).toBeDisabled();
  expect(role).toHaveAccessibleDescription(
    "The only admin: make someone else admin before changing this role or removing them.",
  );
  expect(within(screen.getByTestId("member-vera")).getByRole("button", { name: "Remove vera" })).toBeEnabled();
});

test("a refusal from the server (the last admin, seen late) is shown in plain words", async () => {
  signedInAs(platformAdmin, [workspace("demo", { name: "Demo" })]);
  // The page read two admins; by the time of the change, the other one has left.
  let first = true;
  server.use(
    http.get("*/api/v1/workspaces/demo/members", () => {
      const items = first ? [member("ada", "admin"), member("bob", "admin")] : [member("ada", "admin")];
      first = false;
      return HttpResponse.json({ items, next_cursor: null });
    }),
    http.patch("*/api/v1/workspaces/demo/members/ada", () =>
      problem(409, "conflict", "Conflict", "This is the last admin of workspace 'demo'; make someone else admin first."),
    ),
  );
  renderApp("/workspaces/demo/members");
  const ada = await screen.findByTestId("member-ada", {}, SLOW);
  await userEvent.selectOptions(within(ada).getByRole("combobox", { name: "Role of ada" }), "editor");
  expect(await screen.findByTestId("member-refusal")).toHaveTextContent(
    "The server refused: This is the last admin of workspace 'demo'; make someone else admin first.",
  );
  // The list is read again: now the page can tell, and disables the change.
  await waitFor(() => expect(screen.queryByTestId("member-bob")).not.toBeInTheDocument());
  expect(within(screen.getByTestId("member-ada")).getByRole("combobox", { name: "Role of ada" })).toBeDisabled();
  expect(within(screen.getByTestId("member-ada")).getByRole("combobox", { name: "Role of ada" })).toHaveValue("admin");
});

test("viewers and editors see the members without any write control", async () => {
  for (const role of ["viewer", "editor"] as const) {
    signedInAs(person("vera"), [workspace("demo", { name: "Demo", my_role: role })]);
    membersApi([member("ada", "admin"), member("vera", role)]);
    const view = renderApp("/workspaces/demo/members");
    const vera = await screen.findByTestId("member-vera", {}, SLOW);
    expect(within(vera).getByText(role === "viewer" ? "Viewer" : "Editor")).toBeInTheDocument();
    expect(within(vera).getByText("you")).toBeInTheDocument();
    expect(screen.getByText(/Only workspace admins can add, change or remove members\./)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Add member" })).not.toBeInTheDocument();
    expect(screen.queryByRole("combobox")).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /^Remove / })).not.toBeInTheDocument();
    view.unmount();
  }
});

test("an admin who leaves the workspace is taken back to their list", async () => {
  signedInAs(person("ada"), [workspace("demo", { name: "Demo" })]);
  const calls = membersApi([member("ada", "admin"), member("bob", "admin")]);
  const { router } = renderApp("/workspaces/demo/members");
  const ada = await screen.findByTestId("member-ada", {}, SLOW);
  expect(within(ada).getByText("you")).toBeInTheDocument();
  await userEvent.click(within(ada).getByRole("button", { name: "Remove ada" }));
  const dialog = await screen.findByRole("dialog", { name: "Remove ada?" });
  expect(dialog).toHaveTextContent("You lose access to Demo. Only an admin can add you back.");
  await userEvent.click(within(dialog).getByRole("button", { name: "Remove member" }));
  await waitFor(() => expect(router.state.location.pathname).toBe("/workspaces"));
  expect(calls).toEqual(["remove ada"]);
});
