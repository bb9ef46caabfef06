import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";

import type { Schemas } from "@/api/client";
import { renderApp } from "@/test/render";
import { admin, problem, server, signedIn } from "@/test/server";

const BASE = "*/api/v1/workspaces/lake/catalog";
const firstRender = { timeout: 5000 };
// Beyond 2^53: a JS number would round both to 9007199254740992.
const OLD = "9007199254740993";
const NEW = "9007199254740995";

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

const tree: Schemas["NamespaceNode"] = {
  name: "lake",
  namespace: "lake",
  table_count: 1,
  total_table_count: 3,
  children: [{ name: "sales", namespace: "lake.sales", table_count: 2, total_table_count: 2, children: [] }],
};
const items: Schemas["TableListItem"][] = [
  { identifier: "lake.readings", namespace: "lake", name: "readings", dataset: { owner: "ada", description: "Meter readings", tags: ["iot"] } },
  { identifier: "lake.sales.orders", namespace: "lake.sales", name: "orders", dataset: null },
  { identifier: "lake.sales.refunds", namespace: "lake.sales", name: "refunds", dataset: null },
];
const snapshot = (id: string, parent: string | null, operation: string, added: string): Schemas["Snapshot"] => ({
  snapshot_id: id,
  parent_snapshot_id: parent,
  sequence_number: 1,
  timestamp: "2026-12-01T10:00:00Z",
  operation,
  summary: { operation, "added-records": added, "total-records": "3" },
  manifest_list: "s3://lake/m.avro",
  schema_id: 0,
});
const detail: Schemas["TableDetail"] = {
  identifier: "lake.readings",
  namespace: "lake",
  name: "readings",
  table_uuid: "1b0c0f7e-0000-4000-8000-000000000001",
  location: "s3://lake/warehouse/lake/readings",
  metadata_location: "s3://lake/warehouse/lake/readings/metadata/00002.json",
  format_version: 2,
  last_updated: "2026-12-01T10:05:00Z",
  last_sequence_number: 2,
  current_snapshot_id: NEW,
  current_snapshot: snapshot(NEW, OLD, "overwrite", "3"),
  snapshots: [snapshot(OLD, null, "append", "2"), snapshot(NEW, OLD, "overwrite", "3")],
  history: [],
  refs: [{ name: "main", type: "branch", snapshot_id: NEW, max_ref_age_ms: null, max_snapshot_age_ms: null, min_snapshots_to_keep: null }],
  schema: {
    schema_id: 0,
    identifier_field_ids: [],
    fields: [
      { id: 1, name: "meter", type: "string", required: true, doc: "The meter's serial", children: [] },
      {
        id: 2,
        name: "reading",
        type: "struct<kwh: double>",
        required: false,
        doc: null,
        children: [{ id: 3, name: "kwh", type: "double", required: false, doc: null, children: [] }],
      },
    ],
  },
  partition_spec: { spec_id: 0, fields: [{ field_id: 1000, name: "meter_bucket", source_id: 1, source_name: "meter", transform: "bucket[4]" }] },
  sort_order: { order_id: 0, fields: [] },
  properties: { "write.format.default": "parquet" },
  totals: { row_count: 3, data_files: 1, delete_files: 0, total_size_bytes: 2048, source: "snapshot-summary" },
  data_files: { items: [], next_cursor: null, snapshot_id: NEW, total: 1 },
  dataset: { owner: "ada", description: "Meter readings", tags: ["iot"] },
};

function setup(role: Schemas["WorkspaceRole"] = "editor") {
  signedIn(role === "viewer" ? viewer : admin, [workspace(role)]);
  server.use(
    http.get(`${BASE}/namespaces`, () => HttpResponse.json(tree)),
    http.get(`${BASE}/tables`, ({ request }) => {
      const url = new URL(request.url);
      const q = url.searchParams.get("q") ?? "";
      const ns = url.searchParams.get("namespace");
      const found = items.filter((item) => item.name.includes(q) && (!ns || item.namespace === ns));
      return HttpResponse.json({ items: found, next_cursor: null });
    }),
    http.get(`${BASE}/tables/lake/readings`, () => HttpResponse.json(detail)),
  );
}

test("the list shows the namespace tree with counts and the tables with their datasets", async () => {
  setup();
  renderApp("/workspaces/lake/tables");
  const link = await screen.findByRole("link", { name: "readings" }, firstRender);
  const row = link.closest("tr")!;
  expect(within(row).getByText("ada")).toBeInTheDocument();
  expect(within(row).getByText("iot")).toBeInTheDocument();
  const tree = screen.getByRole("navigation", { name: "Namespaces" });
  expect(within(tree).getByRole("button", { name: /All namespaces/ })).toHaveTextContent("3");
  expect(within(tree).getByRole("button", { name: /sales/ })).toHaveTextContent("2");
  expect(screen.getAllByRole("link", { name: /orders|refunds|readings/ })).toHaveLength(3);
});

test("search and namespace live in the URL and narrow the list", async () => {
  setup();
  const { router } = renderApp("/workspaces/lake/tables?namespace=lake.sales");
  await screen.findByRole("link", { name: "orders" }, firstRender);
  expect(screen.queryByRole("link", { name: "readings" })).not.toBeInTheDocument();
  await userEvent.type(screen.getByRole("searchbox", { name: "Search tables by name" }), "ref");
  await waitFor(() => expect(screen.queryByRole("link", { name: "orders" })).not.toBeInTheDocument());
  expect(screen.getByRole("link", { name: "refunds" })).toBeInTheDocument();
  expect(router.state.location.search).toEqual({ namespace: "lake.sales", q: "ref" });
  await userEvent.type(screen.getByRole("searchbox", { name: "Search tables by name" }), "zzz");
  expect(await screen.findByText("No table matches this search.")).toBeInTheDocument();
  await userEvent.click(screen.getByRole("button", { name: "Clear the search" }));
  await waitFor(() => expect(router.state.location.search).toEqual({}));
});

test("tag and owner filters go to the API and into the URL", async () => {
  setup();
  const asked: string[] = [];
  server.use(
    http.get(`${BASE}/tables`, ({ request }) => {
      const url = new URL(request.url);
      asked.push(`${url.searchParams.get("tag") ?? ""}/${url.searchParams.get("owner") ?? ""}`);
      const tag = url.searchParams.get("tag");
      return HttpResponse.json({ items: tag ? items.slice(0, 1) : items, next_cursor: null });
    }),
  );
  const { router } = renderApp("/workspaces/lake/tables");
  await screen.findByRole("link", { name: "orders" }, firstRender);
  await userEvent.type(screen.getByRole("searchbox", { name: "Tag" }), "IoT{Enter}");
  await waitFor(() => expect(screen.queryByRole("link", { name: "orders" })).not.toBeInTheDocument());
  expect(router.state.location.search).toEqual({ tag: "iot" });
  await userEvent.type(screen.getByRole("searchbox", { name: "Owner" }), "ada");
  await userEvent.tab();
  await waitFor(() => expect(router.state.location.search).toEqual({ tag: "iot", owner: "ada" }));
  expect(asked).toContain("iot/ada");
});

test("an editor registers an unregistered table as a dataset", async () => {
  setup("editor");
  let registered: unknown;
  let detailNow = { ...detail, dataset: null } as Schemas["TableDetail"];
  server.use(
    http.get(`${BASE}/tables/lake/readings`, () => HttpResponse.json(detailNow)),
    http.post("*/api/v1/workspaces/lake/datasets", async ({ request }) => {
      registered = await request.json();
      detailNow = { ...detail, dataset: { owner: "admin", description: "", tags: [] } };
      return HttpResponse.json({}, { status: 201 });
    }),
  );
  renderApp("/workspaces/lake/tables/lake/readings");
  await userEvent.click(await screen.findByRole("button", { name: "Register as a dataset" }, firstRender));
  expect(await screen.findByRole("dialog")).toBeInTheDocument();
  expect(registered).toEqual({ namespace: "lake", table: "readings", description: "", tags: [] });
  expect(within(screen.getByRole("dialog")).getByLabelText("Owner")).toHaveValue("admin");
});

test("an empty catalog says how to load a table; a failed list says why", async () => {
  setup();
  server.use(http.get(`${BASE}/tables`, () => HttpResponse.json({ items: [], next_cursor: null })));
  const first = renderApp("/workspaces/lake/tables");
  expect(await screen.findByText("No tables yet", undefined, firstRender)).toBeInTheDocument();
  first.unmount();
  server.use(http.get(`${BASE}/tables`, () => problem(503, "unavailable", "Unavailable", "The catalog is not reachable.")));
  renderApp("/workspaces/lake/tables");
  expect(await screen.findByText("The catalog is not reachable.", undefined, firstRender)).toBeInTheDocument();
});

test("paging loads the next page with the cursor", async () => {
  setup();
  const cursors: (string | null)[] = [];
  server.use(
    http.get(`${BASE}/tables`, ({ request }) => {
      const cursor = new URL(request.url).searchParams.get("cursor");
      cursors.push(cursor);
      return HttpResponse.json(cursor ? { items: items.slice(2), next_cursor: null } : { items: items.slice(0, 2), next_cursor: "c2" });
    }),
  );
  renderApp("/workspaces/lake/tables");
  await screen.findByRole("link", { name: "orders" }, firstRender);
  expect(screen.queryByRole("link", { name: "refunds" })).not.toBeInTheDocument();
  await userEvent.click(screen.getByRole("button", { name: "Load more" }));
  await screen.findByRole("link", { name: "refunds" });
  expect(cursors).toEqual([null, "c2"]);
});

test("the table page: facts, dataset, and Query this table links the worksheet", async () => {
  setup("editor");
  renderApp("/workspaces/lake/tables/lake/readings");
  expect(await screen.findByRole("heading", { level: 1, name: "lake.readings" }, firstRender)).toBeInTheDocument();
  expect(await screen.findByText("s3://lake/warehouse/lake/readings")).toBeInTheDocument();
  expect(screen.getByText("2.0 KiB")).toBeInTheDocument();
  expect(screen.getAllByText(NEW).length).toBeGreaterThan(0);
  expect(screen.getByTestId("dataset-owner")).toHaveTextContent("ada");
  const query = screen.getByRole("link", { name: "Query this table" });
  const href = new URL(query.getAttribute("href")!, "http://x");
  expect(href.pathname).toBe("/workspaces/lake/sql");
  expect(href.searchParams.get("sql")).toBe("SELECT * FROM lake.readings LIMIT 100");
});

test("an editor edits the dataset's owner, description and tags", async () => {
  setup("editor");
  let sent: unknown;
  server.use(
    http.patch("*/api/v1/workspaces/lake/datasets/lake/readings", async ({ request }) => {
      sent = await request.json();
      return HttpResponse.json({});
    }),
  );
  renderApp("/workspaces/lake/tables/lake/readings");
  await userEvent.click(await screen.findByRole("button", { name: "Edit dataset" }, firstRender));
  const dialog = await screen.findByRole("dialog");
  const owner = within(dialog).getByLabelText("Owner");
  await userEvent.clear(owner);
  await userEvent.type(owner, "grace");
  const tags = within(dialog).getByLabelText("Tags");
  await userEvent.clear(tags);
  await userEvent.type(tags, "iot, daily");
  await userEvent.click(within(dialog).getByRole("button", { name: "Save" }));
  await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  expect(sent).toEqual({ owner: "grace", description: "Meter readings", tags: ["iot", "daily"] });
});

test("a refused dataset edit says why; a viewer has no edit button", async () => {
  setup("editor");
  server.use(
    http.patch("*/api/v1/workspaces/lake/datasets/lake/readings", () =>
      problem(403, "forbidden", "Forbidden", "Only the workspace's editors and admins change datasets."),
    ),
  );
  const first = renderApp("/workspaces/lake/tables/lake/readings");
  await userEvent.click(await screen.findByRole("button", { name: "Edit dataset" }, firstRender));
  await userEvent.click(within(await screen.findByRole("dialog")).getByRole("button", { name: "Save" }));
  expect(await within(screen.getByRole("dialog")).findByRole("alert")).toHaveTextContent("Only the workspace's editors and admins");
  first.unmount();

  setup("viewer");
  renderApp("/workspaces/lake/tables/lake/readings");
  await screen.findByTestId("dataset-owner", undefined, firstRender);
  expect(screen.queryByRole("button", { name: "Edit dataset" })).not.toBeInTheDocument();
});

test("schema shows field ids, types, required, docs and nested fields", async () => {
  setup();
  renderApp("/workspaces/lake/tables/lake/readings?tab=schema");
  const table = await screen.findByRole("table", { name: "Schema" }, firstRender);
  const meter = within(table).getByText("meter").closest("tr")!;
  expect(meter).toHaveTextContent("1");
  expect(meter).toHaveTextContent("string");
  expect(meter).toHaveTextContent("Yes");
  expect(meter).toHaveTextContent("The meter's serial");
  expect(within(table).getByText("struct<kwh: double>")).toBeInTheDocument();
  expect(within(table).getByText("kwh").closest("tr")).toHaveTextContent("3");
});

test("snapshots keep their exact 64-bit ids and travel back in the preview", async () => {
  setup();
  const asked: (string | null)[] = [];
  server.use(
    http.get(`${BASE}/tables/lake/readings/preview`, ({ request }) => {
      const id = new URL(request.url).searchParams.get("snapshot_id");
      asked.push(id);
      return HttpResponse.json({
        identifier: "lake.readings",
        snapshot_id: id ?? NEW,
        columns: [
          { name: "meter", type: "large_string", field_id: 1 },
          { name: "kwh", type: "double", field_id: 3 },
        ],
        rows: id === OLD ? [["m-1", 1.5], ["m-2", null]] : [["m-1", 2.5], ["", 3], ["m-3", 4]],
        row_count: id === OLD ? 2 : 3,
        truncated: false,
        columns_truncated: false,
      });
    }),
  );
  const { router } = renderApp("/workspaces/lake/tables/lake/readings?tab=snapshots");
  await screen.findByRole("table", { name: "Snapshots" }, firstRender);
  const ids = screen.getAllByTestId("snapshot-id").map((cell) => cell.textContent);
  expect(ids).toEqual([NEW, OLD]);
  expect(screen.getByText("+2 rows · 3 rows in total")).toBeInTheDocument();

  await userEvent.click(screen.getByRole("link", { name: `Preview the rows of snapshot ${OLD}` }));
  await waitFor(() => expect(router.state.location.search).toEqual({ tab: "preview", snapshot: OLD }));
  const grid = await screen.findByRole("table", { name: "Preview" });
  await waitFor(() => expect(within(grid).getAllByRole("row")).toHaveLength(3));
  expect(within(grid).getByText("NULL")).toBeInTheDocument();
  expect(within(grid).getByText("double")).toBeInTheDocument();
  expect(screen.getByTestId("preview-snapshot-id")).toHaveTextContent(OLD);
  expect(asked).toEqual([OLD]);

  // Back to the current snapshot with the picker.
  await userEvent.selectOptions(screen.getByLabelText("Snapshot"), "");
  await waitFor(() => expect(within(screen.getByRole("table", { name: "Preview" })).getAllByRole("row")).toHaveLength(4));
  expect(asked).toEqual([OLD, null]);
  expect(screen.getByText('""')).toBeInTheDocument(); // an empty string is not NULL
});

test("a deep link to a snapshot's preview reads that exact snapshot", async () => {
  setup();
  const asked: (string | null)[] = [];
  server.use(
    http.get(`${BASE}/tables/lake/readings/preview`, ({ request }) => {
      const id = new URL(request.url).searchParams.get("snapshot_id");
      asked.push(id);
      return HttpResponse.json({
        identifier: "lake.readings",
        snapshot_id: id,
        columns: [{ name: "meter", type: "large_string", field_id: 1 }],
        rows: [["m-1"]],
        row_count: 1,
        truncated: false,
        columns_truncated: false,
      });
    }),
  );
  const { router } = renderApp(`/workspaces/lake/tables/lake/readings?tab=preview&snapshot=${OLD}`);
  expect(await screen.findByTestId("preview-snapshot-id", undefined, firstRender)).toHaveTextContent(OLD);
  expect(asked).toEqual([OLD]);
  expect(screen.getByLabelText("Snapshot")).toHaveValue(OLD);
  expect(router.state.location.href).toContain(`snapshot=${OLD}`);
});

test("time travel by timestamp: as of a time in the URL, sent as as_of", async () => {
  setup();
  const asked: (string | null)[] = [];
  server.use(
    http.get(`${BASE}/tables/lake/readings/preview`, ({ request }) => {
      const asOf = new URL(request.url).searchParams.get("as_of");
      asked.push(asOf);
      if (asOf?.startsWith("2020")) return problem(404, "not-found", "Not found", "The table had no snapshot at 2020-01-01T00:00:00Z.");
      return HttpResponse.json({
        identifier: "lake.readings",
        snapshot_id: OLD,
        columns: [{ name: "meter", type: "large_string", field_id: 1 }],
        rows: [["m-1"]],
        row_count: 1,
        truncated: false,
        columns_truncated: false,
      });
    }),
  );
  const first = renderApp("/workspaces/lake/tables/lake/readings?tab=preview&asOf=2026-12-01T10:01:00.000Z");
  expect(await screen.findByTestId("preview-snapshot-id", undefined, firstRender)).toHaveTextContent(OLD);
  expect(asked).toEqual(["2026-12-01T10:01:00.000Z"]);
  first.unmount();
  renderApp("/workspaces/lake/tables/lake/readings?tab=preview&asOf=2020-01-01T00:00:00.000Z");
  expect(await screen.findByText(/had no snapshot at 2020/, undefined, firstRender)).toBeInTheDocument();
});

test("partitioning, refs and properties as the API gives them", async () => {
  setup();
  renderApp("/workspaces/lake/tables/lake/readings?tab=layout");
  const spec = await screen.findByRole("table", { name: "Partition spec" }, firstRender);
  expect(within(spec).getByText("bucket[4]")).toBeInTheDocument();
  expect(screen.getByText("Unsorted.")).toBeInTheDocument();
  expect(within(screen.getByRole("table", { name: "Branches and tags" })).getByText(NEW)).toBeInTheDocument();
  expect(within(screen.getByRole("table", { name: "Properties" })).getByText("write.format.default")).toBeInTheDocument();
});

test("files page through with the cursor", async () => {
  setup();
  const file = (n: number): Schemas["DataFile"] => ({
    path: `s3://lake/data/f${n}.parquet`,
    format: "PARQUET",
    record_count: n,
    size_bytes: 1000,
    partition: { meter_bucket: String(n) },
  });
  server.use(
    http.get(`${BASE}/tables/lake/readings/files`, ({ request }) => {
      const cursor = new URL(request.url).searchParams.get("cursor");
      return HttpResponse.json(
        cursor ? { items: [file(2)], next_cursor: null, snapshot_id: NEW, total: 2 } : { items: [file(1)], next_cursor: "f2", snapshot_id: NEW, total: 2 },
      );
    }),
  );
  renderApp("/workspaces/lake/tables/lake/readings?tab=files");
  const table = await screen.findByRole("table", { name: "Files" }, firstRender);
  expect(within(table).getByText("s3://lake/data/f1.parquet")).toBeInTheDocument();
  expect(within(table).getByText("meter_bucket=1")).toBeInTheDocument();
  await userEvent.click(screen.getByRole("button", { name: "Load more" }));
  expect(await within(table).findByText("s3://lake/data/f2.parquet")).toBeInTheDocument();
});

test("a missing table says so in plain words", async () => {
  setup();
  server.use(http.get(`${BASE}/tables/lake/gone`, () => problem(404, "not-found", "Not found", "No table lake.gone in this workspace.")));
  renderApp("/workspaces/lake/tables/lake/gone");
  expect(await screen.findByText("No table lake.gone in this workspace.", undefined, firstRender)).toBeInTheDocument();
});
