import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";

import type { Schemas } from "@/api/client";
import { renderApp } from "@/test/render";
import { admin, problem, server, signedIn } from "@/test/server";

import types from "./connection-types.fixture.json";

type Connection = Schemas["ConnectionOut"];
type Result = Schemas["ConnectionTestResult"];

const BASE = "*/api/v1/workspaces/lake/connections";
// The first render of a test loads the route's code: on a busy machine that takes a while.
const firstRender = { timeout: 5000 };
const workspace = (role: Schemas["WorkspaceRole"]): Schemas["WorkspaceOut"] => ({
  slug: "lake",
  name: "Lake",
  description: "",
  namespace: "lake",
  storage_location: "s3://lake",
  status: "active",
  created_at: "2026-12-01T10:00:00Z",
  updated_at: "2026-12-01T10:00:00Z",
  my_role: role,
});
const viewer: Schemas["UserOut"] = { ...admin, username: "vic", display_name: "Vic Viewer", role: "user" };

const s3: Connection = {
  name: "warehouse",
  type: "s3",
  description: "The lake's bucket",
  config: {
    type: "s3",
    endpoint_url: "http://weed.internal:8333",
    region: "us-east-1",
    bucket: "lake",
    access_key_id: "AKIAEXAMPLE",
    path_style: true,
    verify_tls: true,
  },
  secrets_set: ["secret_access_key"],
  created_at: "2026-12-01T10:00:00Z",
  updated_at: "2026-12-01T10:00:00Z",
  last_test: null,
  used_by: [
    { kind: "job", name: "nightly_load" },
    { kind: "job", name: "hourly_sync" },
    { kind: "job", name: "backfill" },
  ],
};
const pg: Connection = {
  name: "sales-db",
  type: "postgres",
  description: "",
  config: { type: "postgres", host: "db.internal", port: 5432, database: "sales", user: "reader", sslmode: "prefer" },
  secrets_set: [],
  created_at: "2026-12-01T10:00:00Z",
  updated_at: "2026-12-01T10:00:00Z",
  used_by: [],
  last_test: {
    ok: false,
    latency_ms: 3.2,
    detail: "Could not connect to db.internal:5432: Connection refused",
    checked_at: new Date(Date.now() - 5 * 60_000).toISOString(),
    host: "db.internal",
    port: 5432,
    steps: [],
  },
};

const passed: Result = {
  ok: true,
  latency_ms: 48.6,
  detail: "bucket 'lake' is reachable",
  checked_at: new Date().toISOString(),
  host: "weed.internal",
  port: 8333,
  steps: [
    { kind: "dns", ok: true, latency_ms: 1.2, detail: "weed.internal resolved to 10.0.0.7", host: "weed.internal", port: 8333 },
    { kind: "tcp", ok: true, latency_ms: 0.8, detail: "weed.internal:8333 accepted a connection (at 10.0.0.7)", host: "weed.internal", port: 8333 },
    { kind: "privilege", ok: true, latency_ms: 41.5, detail: "HEAD bucket 'lake' as 'AKIAEXAMPLE' answered", host: "weed.internal", port: 8333 },
  ],
};
const refused: Result = {
  ok: false,
  latency_ms: 2.4,
  detail: "Could not connect to 127.0.0.1:9: Connection refused",
  checked_at: new Date().toISOString(),
  host: "127.0.0.1",
  port: 9,
  steps: [
    { kind: "tcp", ok: false, latency_ms: 0.4, detail: "Could not connect to 127.0.0.1:9: Connection refused", host: "127.0.0.1", port: 9 },
  ],
};

function setup(role: Schemas["WorkspaceRole"], connections: Connection[] = [s3, pg]) {
  signedIn(role === "viewer" ? viewer : admin, [workspace(role)]);
  server.use(
    http.get("*/api/v1/connection-types", () => HttpResponse.json(types)),
    http.get(BASE, () => HttpResponse.json({ items: connections, next_cursor: null })),
    http.get(`${BASE}/:name`, ({ params }) => {
      const found = connections.find((item) => item.name === params.name);
      return found ? HttpResponse.json(found) : problem(404, "not-found", "Not found", `No connection '${String(params.name)}'.`);
    }),
  );
}

test("the list shows each connection's type, endpoint and last test", async () => {
  setup("editor");
  renderApp("/workspaces/lake/connections");
  const row = (await screen.findByRole("link", { name: "warehouse" }, firstRender)).closest("tr")!;
  expect(within(row).getByText("S3 storage")).toBeInTheDocument();
  expect(within(row).getByText("http://weed.internal:8333 · lake")).toBeInTheDocument();
  expect(within(row).getByText("Not tested")).toBeInTheDocument();
  expect(within(row).getByText("nightly_load, hourly_sync")).toBeInTheDocument();
  expect(within(row).getByText("+1 more")).toBeInTheDocument();
  const other = screen.getByRole("link", { name: "sales-db" }).closest("tr")!;
  expect(within(other).getByText("db.internal:5432/sales")).toBeInTheDocument();
  expect(within(other).getByText("Failed")).toBeInTheDocument();
  expect(within(other).getByText("tested 5 minutes ago")).toBeInTheDocument();
  expect(within(other).getByText("no job")).toBeInTheDocument();
  expect(screen.getByRole("link", { name: "New connection" })).toBeInTheDocument();
});

test("the list filters by type in the URL", async () => {
  setup("editor");
  const { router } = renderApp("/workspaces/lake/connections?type=postgres");
  await screen.findByRole("link", { name: "sales-db" }, firstRender);
  expect(screen.queryByRole("link", { name: "warehouse" })).not.toBeInTheDocument();
  await userEvent.selectOptions(screen.getByRole("combobox", { name: "Type" }), "");
  await screen.findByRole("link", { name: "warehouse" });
  expect(router.state.location.search).toEqual({});
});

test("an empty workspace says what a connection is and offers to create one", async () => {
  setup("editor", []);
  renderApp("/workspaces/lake/connections");
  await screen.findByText("No connections yet", undefined, firstRender);
  expect(screen.getByRole("link", { name: "New connection" })).toBeInTheDocument();
});

test("a failed list says why in plain words", async () => {
  setup("editor");
  server.use(http.get(BASE, () => problem(503, "unavailable", "Unavailable", "The database is not reachable.")));
  renderApp("/workspaces/lake/connections");
  expect(await screen.findByRole("alert", undefined, firstRender)).toHaveTextContent("The database is not reachable.");
});

test("a viewer sees connections but no button that changes them", async () => {
  setup("viewer");
  renderApp("/workspaces/lake/connections");
  await screen.findByRole("link", { name: "warehouse" }, firstRender);
  expect(screen.queryByRole("link", { name: "New connection" })).not.toBeInTheDocument();
  expect(screen.getByText(/editors and admins change them/)).toBeInTheDocument();

  await userEvent.click(screen.getByRole("link", { name: "warehouse" }));
  await screen.findByRole("heading", { level: 1, name: "warehouse" });
  expect(await screen.findByTestId("value-endpoint_url")).toHaveTextContent("http://weed.internal:8333");
  expect(screen.getByTestId("value-secret_access_key")).toHaveTextContent("Set");
  expect(screen.queryByRole("button", { name: /test/i })).not.toBeInTheDocument();
  expect(screen.queryByRole("button", { name: /delete/i })).not.toBeInTheDocument();
  expect(screen.queryByRole("button", { name: /save/i })).not.toBeInTheDocument();
  expect(screen.queryByRole("textbox")).not.toBeInTheDocument();
});

test("a viewer who opens the new-connection page is told who may create one", async () => {
  setup("viewer");
  renderApp("/workspaces/lake/connections/-/new?type=s3");
  expect(await screen.findByText(/editors and admins change them/, undefined, firstRender)).toBeInTheDocument();
  expect(screen.queryByRole("button", { name: "Create connection" })).not.toBeInTheDocument();
});

test("create an S3 connection with the generated form, testing it first", async () => {
  setup("editor", []);
  let tested: unknown;
  let created: { name: string; description: string; config: Record<string, unknown> } | undefined;
  server.use(
    http.post("*/api/v1/workspaces/lake/connection-tests", async ({ request }) => {
      tested = ((await request.json()) as { config: unknown }).config;
      return HttpResponse.json(passed);
    }),
    http.post(BASE, async ({ request }) => {
      created = (await request.json()) as typeof created;
      return HttpResponse.json({ ...s3, name: created!.name }, { status: 201 });
    }),
  );
  const { router } = renderApp("/workspaces/lake/connections/-/new");
  await userEvent.click(await screen.findByRole("link", { name: /S3 storage/ }, firstRender));
  await screen.findByRole("heading", { level: 1, name: "New connection: S3 storage" });
  // The form comes from the type's schema: labels, defaults, a password input for the secret.
  expect(screen.getByLabelText("Region")).toHaveValue("us-east-1");
  expect(screen.getByLabelText("Path-style addressing")).toBeChecked();
  expect(screen.getByLabelText("Secret access key (optional)")).toHaveAttribute("type", "password");

  await userEvent.type(screen.getByLabelText("Name"), "warehouse");
  await userEvent.type(screen.getByLabelText("Endpoint URL (optional)"), "http://weed.internal:8333");
  await userEvent.type(screen.getByLabelText("Bucket (optional)"), "lake");
  await userEvent.type(screen.getByLabelText("Access key ID (optional)"), "AKIAEXAMPLE");
  await userEvent.type(screen.getByLabelText("Secret access key (optional)"), "s3cr3t-value");

  await userEvent.click(screen.getByRole("button", { name: "Test these settings" }));
  const result = await screen.findByTestId("test-result");
  expect(tested).toEqual({
    type: "s3",
    endpoint_url: "http://weed.internal:8333",
    region: "us-east-1",
    bucket: "lake",
    access_key_id: "AKIAEXAMPLE",
    secret_access_key: "s3cr3t-value",
    path_style: true,
    verify_tls: true,
  });
  expect(within(result).getByText("Connection works")).toBeInTheDocument();
  expect(within(result).getByText("49 ms in total")).toBeInTheDocument();
  const steps = within(result).getAllByRole("listitem");
  expect(steps.map((step) => step.dataset.testid)).toEqual(["step-dns", "step-tcp", "step-privilege"]);
  expect(within(steps[2]!).getByText("Privileges")).toBeInTheDocument();
  expect(within(steps[2]!).getByText("42 ms")).toBeInTheDocument();

  await userEvent.click(screen.getByRole("button", { name: "Create connection" }));
  await waitFor(() => expect(router.state.location.pathname).toBe("/workspaces/lake/connections/warehouse"));
  expect(created).toEqual({ name: "warehouse", description: "", config: tested });
});

test("the server's field errors land on their fields", async () => {
  setup("editor", []);
  server.use(
    http.post(BASE, () =>
      HttpResponse.json(
        {
          type: "urn:sadeem:problem:invalid-input",
          title: "Invalid input",
          status: 422,
          detail: "config.s3.endpoint_url: String should match pattern",
          errors: [{ loc: ["body", "config", "s3", "endpoint_url"], msg: "String should match pattern", type: "string_pattern_mismatch" }],
        },
        { status: 422, headers: { "Content-Type": "application/problem+json" } },
      ),
    ),
  );
  renderApp("/workspaces/lake/connections/-/new?type=s3");
  await userEvent.type(await screen.findByLabelText("Name", undefined, firstRender), "warehouse");
  await userEvent.type(screen.getByLabelText("Endpoint URL (optional)"), "weed:8333");
  await userEvent.click(screen.getByRole("button", { name: "Create connection" }));
  expect(await screen.findByText("String should match pattern")).toBeInTheDocument();
  expect(screen.getByLabelText("Endpoint URL (optional)")).toHaveAttribute("aria-invalid", "true");
  expect(screen.getByTestId("form-error")).toHaveTextContent("Some settings need a fix");
});

test("a stored secret shows as set, never as a value; untouched it is kept, replaced it is sent", async () => {
  setup("editor");
  const bodies: { config: Record<string, unknown> }[] = [];
  server.use(
    http.patch(`${BASE}/warehouse`, async ({ request }) => {
      bodies.push((await request.json()) as { config: Record<string, unknown> });
      return HttpResponse.json(s3);
    }),
  );
  renderApp("/workspaces/lake/connections/warehouse");
  const secret = await screen.findByTestId("secret-secret_access_key", undefined, firstRender);
  expect(secret).toHaveTextContent("Set");
  expect(document.querySelectorAll('input[type="password"]')).toHaveLength(0);

  await userEvent.clear(screen.getByLabelText("Access key ID (optional)"));
  await userEvent.type(screen.getByLabelText("Access key ID (optional)"), "AKIANEW");
  await userEvent.click(screen.getByRole("button", { name: "Save changes" }));
  await waitFor(() => expect(bodies).toHaveLength(1));
  expect(bodies[0]!.config).not.toHaveProperty("secret_access_key");
  expect(bodies[0]!.config.access_key_id).toBe("AKIANEW");

  await userEvent.click(screen.getByRole("button", { name: "Replace Secret access key" }));
  await userEvent.type(screen.getByLabelText("Secret access key (optional)"), "new-secret-1");
  await userEvent.click(screen.getByRole("button", { name: "Save changes" }));
  await waitFor(() => expect(bodies).toHaveLength(2));
  expect(bodies[1]!.config.secret_access_key).toBe("new-secret-1");
});

test("moving the endpoint warns that kept secrets will be dropped", async () => {
  setup("editor");
  renderApp("/workspaces/lake/connections/warehouse");
  const url = await screen.findByLabelText("Endpoint URL (optional)", undefined, firstRender);
  await userEvent.clear(url);
  await userEvent.type(url, "http://elsewhere:8333");
  expect(screen.getByText(/stored secrets not entered again \(Secret access key\) will be dropped/)).toBeInTheDocument();
});

test("testing a saved connection shows the failed step naming host and port", async () => {
  setup("editor");
  server.use(http.post(`${BASE}/sales-db/test`, () => HttpResponse.json(refused)));
  renderApp("/workspaces/lake/connections/sales-db");
  const last = await screen.findByTestId("test-result", undefined, firstRender);
  expect(within(last).getByText("Connection failed")).toBeInTheDocument();

  await userEvent.click(screen.getByRole("button", { name: "Test connection" }));
  await waitFor(() => expect(screen.getByTestId("step-tcp")).toBeInTheDocument());
  const result = screen.getByTestId("test-result");
  expect(within(result).getByText(/Failed at: TCP connection/)).toBeInTheDocument();
  expect(within(result).getByText("Target 127.0.0.1:9")).toBeInTheDocument();
  const step = screen.getByTestId("step-tcp");
  expect(within(step).getByText("Could not connect to 127.0.0.1:9: Connection refused")).toBeInTheDocument();
  expect(within(step).getByText("127.0.0.1:9")).toBeInTheDocument();
  expect(within(step).getByText(/check the host and port/)).toBeInTheDocument();
  expect(within(step).getByText("0.4 ms")).toBeInTheDocument();
});

test("a test the egress policy refuses is explained", async () => {
  setup("editor");
  server.use(
    http.post(`${BASE}/sales-db/test`, () =>
      problem(403, "destination-refused", "Forbidden", "A connection test may not connect to 169.254.169.254."),
    ),
  );
  renderApp("/workspaces/lake/connections/sales-db");
  await userEvent.click(await screen.findByRole("button", { name: "Test connection" }, firstRender));
  expect(await screen.findByTestId("test-error")).toHaveTextContent("may not connect to 169.254.169.254");
});

test("delete asks first, and a refusal says why", async () => {
  setup("editor");
  let refuse = true;
  server.use(
    http.delete(`${BASE}/warehouse`, () =>
      refuse
        ? problem(409, "conflict", "Conflict", "Workspace 'lake' is archived; unarchive it to change it.")
        : new HttpResponse(null, { status: 204 }),
    ),
  );
  const { router } = renderApp("/workspaces/lake/connections/warehouse");
  await userEvent.click(await screen.findByRole("button", { name: "Delete" }, firstRender));
  const dialog = await screen.findByRole("dialog", { name: "Delete connection warehouse?" });
  expect(within(dialog).getByTestId("delete-used-by")).toHaveTextContent("nightly_load, hourly_sync, backfill");
  await userEvent.click(within(dialog).getByRole("button", { name: "Delete connection" }));
  expect(await within(dialog).findByTestId("delete-error")).toHaveTextContent("archived");
  refuse = false;
  await userEvent.click(within(dialog).getByRole("button", { name: "Delete connection" }));
  await waitFor(() => expect(router.state.location.pathname).toBe("/workspaces/lake/connections"));
});
