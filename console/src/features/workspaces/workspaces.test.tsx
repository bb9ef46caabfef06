import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";

import type { Schemas } from "@/api/client";
import { person, platformAdmin, SLOW, workspace } from "@/features/workspaces/fixtures";
import { renderApp } from "@/test/render";
import { problem, server } from "@/test/server";

const user = person("ana");

function me(who: Schemas["MeOut"] = platformAdmin) {
  server.use(http.get("*/api/v1/me", () => HttpResponse.json(who)));
}

test("lists my workspaces, filters them through the URL and loads more pages", async () => {
  me();
  const asked: { q: string | null; cursor: string | null }[] = [];
  server.use(
    http.get("*/api/v1/workspaces", ({ request }) => {
      const url = new URL(request.url);
      const q = url.searchParams.get("q");
      const cursor = url.searchParams.get("cursor");
      asked.push({ q, cursor });
      if (q === "sal") return HttpResponse.json({ items: [workspace("sales")], next_cursor: null });
      if (q) return HttpResponse.json({ items: [], next_cursor: null });
      if (cursor === "c1") return HttpResponse.json({ items: [workspace("sales")], next_cursor: null });
      return HttpResponse.json({
        items: [workspace("demo", { description: "The demo" }), workspace("old_one", { status: "archived", my_role: "viewer" })],
        next_cursor: "c1",
      });
    }),
  );
  const { router } = renderApp("/workspaces");
  const table = await screen.findByRole("table", {}, SLOW);
  expect(within(table).getByRole("link", { name: "demo" })).toHaveAttribute("href", "/workspaces/demo");
  const archived = within(table).getByRole("link", { name: "old_one" }).closest("tr")!;
  expect(within(archived).getByText("Archived")).toBeInTheDocument();
  expect(within(archived).getByText("Viewer")).toBeInTheDocument();

  await userEvent.click(screen.getByRole("button", { name: "Load more" }));
  expect(await within(table).findByRole("link", { name: "sales" })).toBeInTheDocument();
  expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();

  await userEvent.type(screen.getByRole("searchbox", { name: "Filter workspaces" }), "sal");
  await waitFor(() => expect(router.state.location.search).toEqual({ q: "sal" }));
  await waitFor(() => expect(screen.queryByRole("link", { name: "demo" })).not.toBeInTheDocument());
  expect(screen.getByRole("link", { name: "sales" })).toBeInTheDocument();

  await userEvent.type(screen.getByRole("searchbox", { name: "Filter workspaces" }), "zzz");
  expect(await screen.findByText("No workspace matches “salzzz”.")).toBeInTheDocument();
  await userEvent.click(screen.getByRole("button", { name: "Clear the filter" }));
  await waitFor(() => expect(router.state.location.search).toEqual({}));
  expect(asked.some((a) => a.q === "sal")).toBe(true);
});

test("a filter in the URL is applied when the page opens", async () => {
  me();
  server.use(
    http.get("*/api/v1/workspaces", ({ request }) =>
      HttpResponse.json({
        items: new URL(request.url).searchParams.get("q") === "demo" ? [workspace("demo")] : [],
        next_cursor: null,
      }),
    ),
  );
  renderApp("/workspaces?q=demo");
  expect(await screen.findByRole("link", { name: "demo" }, SLOW)).toBeInTheDocument();
  expect(screen.getByRole("searchbox", { name: "Filter workspaces" })).toHaveValue("demo");
});

test("creating a workspace shows each provisioning step, and a failed one can be retried", async () => {
  me();
  let bodies: unknown[] = [];
  server.use(
    http.get("*/api/v1/workspaces", () => HttpResponse.json({ items: [], next_cursor: null })),
    http.post("*/api/v1/workspaces", async ({ request }) => {
      const body = (await request.json()) as { slug: string };
      bodies.push(body);
      if (body.slug === "Bad") {
        return HttpResponse.json(
          {
            type: "urn:sadeem:problem:validation-error",
            title: "Invalid request",
            status: 422,
            detail: "The request is not valid.",
            errors: [{ loc: ["body", "slug"], msg: "String should match pattern '^[a-z][a-z0-9_]*$'", type: "string_pattern_mismatch" }],
          },
          { status: 422, headers: { "Content-Type": "application/problem+json" } },
        );
      }
      return HttpResponse.json(
        {
          ...workspace("water"),
          provisioning: {
            ok: false,
            steps: [
              { name: "namespace", ok: true, detail: "namespace water created" },
              { name: "storage", ok: false, detail: "s3://lake/water: EndpointConnectionError: Could not connect" },
            ],
          },
        },
        { status: 201 },
      );
    }),
    http.post("*/api/v1/workspaces/water/provision", () =>
      HttpResponse.json({
        ok: true,
        steps: [
          { name: "namespace", ok: true, detail: "namespace water exists" },
          { name: "storage", ok: true, detail: "s3://lake/water: prefix created" },
        ],
      }),
    ),
  );
  renderApp("/workspaces");
  expect(await screen.findByText("No workspaces yet", {}, SLOW)).toBeInTheDocument();
  await userEvent.click(screen.getAllByRole("button", { name: "Create workspace" })[0]!);
  const form = await screen.findByRole("form", { name: "Create a workspace" });

  await userEvent.type(within(form).getByLabelText("Slug"), "Bad");
  await userEvent.click(within(form).getByRole("button", { name: "Create workspace" }));
  expect(await within(form).findByText(/Use lower-case letters/)).toBeInTheDocument();
  expect(within(form).getByLabelText("Slug")).toHaveAttribute("aria-invalid", "true");

  await userEvent.clear(within(form).getByLabelText("Slug"));
  await userEvent.type(within(form).getByLabelText("Slug"), "water");
  await userEvent.type(within(form).getByLabelText("Description"), "Meters");
  await userEvent.click(within(form).getByRole("button", { name: "Create workspace" }));

  const dialog = await screen.findByRole("dialog", { name: "Provisioning water" });
  await waitFor(() => expect(within(dialog).getByTestId("step-storage")).toHaveAttribute("data-state", "failed"));
  expect(within(dialog).getByTestId("step-namespace")).toHaveAttribute("data-state", "ok");
  expect(within(dialog).getByText("s3://lake/water: EndpointConnectionError: Could not connect")).toBeInTheDocument();
  expect(bodies.at(-1)).toEqual({ slug: "water", name: null, description: "Meters" });

  await userEvent.click(within(dialog).getByRole("button", { name: "Retry provisioning" }));
  await waitFor(() => expect(within(dialog).getByTestId("step-storage")).toHaveAttribute("data-state", "ok"));
  expect(within(dialog).getByText("s3://lake/water: prefix created")).toBeInTheDocument();
  expect(within(dialog).queryByRole("button", { name: "Retry provisioning" })).not.toBeInTheDocument();
  expect(within(dialog).getByRole("link", { name: "Open workspace" })).toHaveAttribute("href", "/workspaces/water");
  bodies = [];
});

test("creating is offered only to those the server lets create workspaces", async () => {
  me(user);
  server.use(http.get("*/api/v1/workspaces", () => HttpResponse.json({ items: [], next_cursor: null })));
  renderApp("/workspaces");
  expect(await screen.findByText("Ask a platform admin to add you to a workspace.", {}, SLOW)).toBeInTheDocument();
  expect(screen.queryByRole("button", { name: "Create workspace" })).not.toBeInTheDocument();
});

test("a list that cannot be read says why and offers to try again", async () => {
  me();
  server.use(
    http.get("*/api/v1/workspaces", () => problem(503, "unavailable", "Unavailable", "The database is not reachable.")),
  );
  renderApp("/workspaces");
  expect(await screen.findByText("The database is not reachable.", {}, SLOW)).toBeInTheDocument();
  expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
});
