import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";

import { person, platformAdmin, signedInAs, SLOW, workspace } from "@/features/workspaces/fixtures";
import { renderApp } from "@/test/render";
import { problem, server } from "@/test/server";

test("the settings page shows the facts, and an admin edits the name and description", async () => {
  let demo = workspace("demo", { name: "Demo", description: "Sample data" });
  signedInAs(platformAdmin, [demo]);
  let patched: unknown = null;
  server.use(
    http.get("*/api/v1/workspaces/demo", () => HttpResponse.json(demo)),
    http.patch("*/api/v1/workspaces/demo", async ({ request }) => {
      patched = await request.json();
      demo = { ...demo, ...(patched as object), updated_at: "2026-12-07T10:00:00Z" };
      return HttpResponse.json(demo);
    }),
  );
  renderApp("/workspaces/demo");
  expect(await screen.findByRole("heading", { level: 1, name: /Demo/ }, SLOW)).toBeInTheDocument();
  expect(screen.getByText("file:///srv/warehouse/demo")).toBeInTheDocument();

  const form = screen.getByRole("form", { name: "Name and description" });
  const save = within(form).getByRole("button", { name: "Save" });
  expect(save).toBeDisabled();
  await userEvent.clear(within(form).getByLabelText("Display name"));
  await userEvent.type(within(form).getByLabelText("Display name"), "Demo data");
  await userEvent.clear(within(form).getByLabelText("Description"));
  await userEvent.type(within(form).getByLabelText("Description"), "Meters and readings");
  await userEvent.click(save);
  expect(await screen.findByRole("heading", { level: 1, name: /Demo data/ })).toBeInTheDocument();
  expect(patched).toEqual({ name: "Demo data", description: "Meters and readings" });
  expect(await screen.findByText("Workspace saved")).toBeInTheDocument();
});

test("archiving asks first, and an archived workspace says it is read-only", async () => {
  let demo = workspace("demo", { name: "Demo" });
  signedInAs(platformAdmin, [demo]);
  server.use(
    http.get("*/api/v1/workspaces/demo", () => HttpResponse.json(demo)),
    http.post("*/api/v1/workspaces/demo/archive", () => {
      demo = { ...demo, status: "archived" };
      return HttpResponse.json(demo);
    }),
  );
  renderApp("/workspaces/demo");
  await userEvent.click(await screen.findByRole("button", { name: "Archive workspace" }, SLOW));
  const dialog = await screen.findByRole("dialog", { name: "Archive Demo?" });
  await userEvent.click(within(dialog).getByRole("button", { name: "Archive workspace" }));
  expect(await screen.findByText(/This workspace is archived/)).toBeInTheDocument();
  expect(screen.getByRole("button", { name: "Unarchive workspace" })).toBeInTheDocument();
});

test("deleting lists what the workspace still owns, then purges it once the slug is typed", async () => {
  const demo = workspace("demo", { name: "Demo" });
  signedInAs(platformAdmin, [demo]);
  const deletes: string[] = [];
  server.use(
    http.get("*/api/v1/workspaces/demo/deletion-blockers", () =>
      HttpResponse.json({
        blockers: [
          { kind: "tables", count: 12, detail: "12 table(s) in namespace demo", names: ["demo.meters", "demo.readings"] },
          { kind: "jobs", count: 2, detail: "2 job(s) and their runs", names: ["nightly", "hourly"] },
        ],
      }),
    ),
    http.delete("*/api/v1/workspaces/demo", ({ request }) => {
      deletes.push(new URL(request.url).search);
      return new HttpResponse(null, { status: 204 });
    }),
  );
  const { router } = renderApp("/workspaces/demo");
  await userEvent.click(await screen.findByRole("button", { name: "Delete workspace" }, SLOW));
  const dialog = await screen.findByRole("dialog", { name: "Delete Demo?" });
  const blockers = await within(dialog).findAllByTestId("blocker");
  expect(blockers.map((b) => b.textContent)).toEqual([
    "Tables: 12 table(s) in namespace demodemo.meters, demo.readings and 10 more",
    "Jobs: 2 job(s) and their runs" + "nightly, hourly",
  ]);
  const purge = within(dialog).getByRole("button", { name: "Delete workspace and its data" });
  expect(purge).toBeDisabled();
  await userEvent.type(within(dialog).getByLabelText("Type demo to confirm"), "dem");
  expect(purge).toBeDisabled();
  await userEvent.type(within(dialog).getByLabelText("Type demo to confirm"), "o");
  expect(purge).toBeEnabled();
  await userEvent.click(purge);
  await waitFor(() => expect(router.state.location.pathname).toBe("/workspaces"));
  expect(deletes).toEqual(["?purge=true"]);
});

test("a deletion refused for something new shows what and asks for the purge", async () => {
  const demo = workspace("demo", { name: "Demo" });
  signedInAs(platformAdmin, [demo]);
  const deletes: string[] = [];
  server.use(
    http.get("*/api/v1/workspaces/demo/deletion-blockers", () => HttpResponse.json({ blockers: [] })),
    http.delete("*/api/v1/workspaces/demo", ({ request }) => {
      const search = new URL(request.url).search;
      deletes.push(search);
      if (search === "?purge=true") return new HttpResponse(null, { status: 204 });
      return HttpResponse.json(
        {
          type: "urn:sadeem:problem:conflict",
          title: "Conflict",
          status: 409,
          detail: "Workspace 'demo' still owns: 3 data file(s) under file:///srv/warehouse/demo.",
          blockers: [{ kind: "files", count: 3, detail: "3 data file(s) under file:///srv/warehouse/demo", names: [] }],
        },
        { status: 409, headers: { "Content-Type": "application/problem+json" } },
      );
    }),
  );
  renderApp("/workspaces/demo");
  await userEvent.click(await screen.findByRole("button", { name: "Delete workspace" }, SLOW));
  const dialog = await screen.findByRole("dialog", { name: "Delete Demo?" });
  expect(await within(dialog).findByText(/owns no tables, data files or jobs/)).toBeInTheDocument();
  await userEvent.type(within(dialog).getByLabelText("Type demo to confirm"), "demo");
  await userEvent.click(within(dialog).getByRole("button", { name: "Delete workspace" }));
  expect(await within(dialog).findByText(/3 data file\(s\) under/)).toBeInTheDocument();
  await userEvent.click(within(dialog).getByRole("button", { name: "Delete workspace and its data" }));
  await waitFor(() => expect(deletes).toEqual(["", "?purge=true"]));
});

test("a viewer sees the facts without any way to change them", async () => {
  signedInAs(person("vera"), [workspace("demo", { name: "Demo", my_role: "viewer" })]);
  renderApp("/workspaces/demo");
  expect(await screen.findByText("file:///srv/warehouse/demo", {}, SLOW)).toBeInTheDocument();
  expect(screen.getByText("Only workspace admins can change these settings.")).toBeInTheDocument();
  expect(screen.queryByRole("form")).not.toBeInTheDocument();
  for (const name of ["Save", "Archive workspace", "Delete workspace", "Run provisioning"]) {
    expect(screen.queryByRole("button", { name })).not.toBeInTheDocument();
  }
});

test("a workspace that does not exist, or is not yours, says so", async () => {
  signedInAs(person("vera"), []);
  server.use(http.get("*/api/v1/workspaces/nope", () => problem(404, "not-found", "Not found", "No workspace 'nope'.")));
  renderApp("/workspaces/nope");
  expect(await screen.findByText("No workspace 'nope'.", {}, SLOW)).toBeInTheDocument();
});
