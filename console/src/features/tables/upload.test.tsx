import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { afterEach, vi } from "vitest";

import type { Schemas } from "@/api/client";
import { renderApp } from "@/test/render";
import { admin, server, signedIn } from "@/test/server";

import { Progress } from "./upload-page";

const INGEST = "*/api/v1/workspaces/lake/ingest";
const firstRender = { timeout: 5000 };
// Beyond 2^53: the snapshot id must stay these exact digits all the way to the link.
const SNAPSHOT = "9007199254740993";
const CSV = "meter_id,kwh\nM1,1.5\nM2,2.25\n";

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
const tree: Schemas["NamespaceNode"] = {
  name: "lake",
  namespace: "lake",
  table_count: 1,
  total_table_count: 1,
  children: [{ name: "raw", namespace: "lake.raw", table_count: 0, total_table_count: 0, children: [] }],
};
const preview: Schemas["IngestPreviewOut"] = {
  table: "lake.readings",
  mode: "create",
  rows: 2,
  bytes_received: CSV.length,
  columns: [
    { name: "meter_id", type: "string", file_type: "string" },
    { name: "kwh", type: "double", file_type: "double" },
  ],
  sample_columns: [
    { name: "meter_id", type: "string" },
    { name: "kwh", type: "double" },
  ],
  sample_rows: [
    ["M1", 1.5],
    ["M2", 2.25],
  ],
};

function setup(role: Schemas["WorkspaceRole"] = "editor") {
  signedIn(admin, [workspace(role)]);
  server.use(
    http.get("*/api/v1/workspaces/lake/catalog/namespaces", () => HttpResponse.json(tree)),
    http.get("*/api/v1/workspaces/lake/catalog/tables", () =>
      HttpResponse.json({
        items: [{ identifier: "lake.meters", namespace: "lake", name: "meters", dataset: null }],
        next_cursor: null,
      }),
    ),
  );
}

afterEach(() => vi.unstubAllGlobals());

const csvFile = () => new File([CSV], "Readings.csv", { type: "text/csv" });

test("editors get 'Upload data' on the tables page; viewers do not", async () => {
  setup("viewer");
  const view = renderApp("/workspaces/lake/tables");
  await screen.findByRole("heading", { name: "Tables" }, firstRender);
  await screen.findByRole("button", { name: /All namespaces/ });
  expect(screen.queryByRole("link", { name: "Upload data" })).not.toBeInTheDocument();
  view.unmount();
  setup("editor");
  renderApp("/workspaces/lake/tables?namespace=lake.raw");
  const link = await screen.findByRole("link", { name: "Upload data" }, firstRender);
  expect(link.getAttribute("href")).toBe("/workspaces/lake/tables/upload?namespace=lake.raw");
}, 15_000);

/** A stand-in for the browser's XMLHttpRequest that the test drives: jsdom neither sends a File
 * body nor reports upload progress. The end-to-end test sends real bytes to a real server. */
class FakeXhr extends EventTarget {
  static sent: FakeXhr[] = [];
  readonly upload = new EventTarget();
  readonly headers: Record<string, string> = {};
  method = "";
  url = "";
  body: unknown = null;
  status = 0;
  responseText = "";
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  send(body: unknown) {
    this.body = body;
    FakeXhr.sent.push(this);
  }
  abort() {
    this.dispatchEvent(new Event("abort"));
  }
  progress(loaded: number, total: number) {
    this.upload.dispatchEvent(Object.assign(new Event("progress"), { loaded, total, lengthComputable: true }));
  }
  respond(status: number, body: unknown) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.dispatchEvent(new Event("load"));
  }
}

async function nextRequest(count: number): Promise<FakeXhr> {
  await waitFor(() => expect(FakeXhr.sent).toHaveLength(count));
  return FakeXhr.sent[count - 1]!;
}

const KEPT = "k".repeat(32);

test("a new table: the check shows the schema and first rows, the upload shows progress and links the snapshot", async () => {
  setup();
  FakeXhr.sent = [];
  vi.stubGlobal("XMLHttpRequest", FakeXhr);
  document.cookie = "sadeem_csrf=csrf-123; path=/";
  const file = csvFile();
  renderApp("/workspaces/lake/tables/upload");
  await screen.findByRole("heading", { name: "Upload data" }, firstRender);
  await waitFor(() => expect(screen.getByLabelText("Namespace")).toHaveValue("lake"));
  const check = screen.getByRole("button", { name: "Check the file" });
  expect(check).toBeDisabled();
  await userEvent.upload(screen.getByLabelText("File"), file);
  // The table is named after the file; the format follows its extension
  expect(screen.getByLabelText("Table name")).toHaveValue("readings");
  expect(screen.getByLabelText("Format")).toHaveValue("csv");
  await userEvent.click(check);

  const checking = await nextRequest(1);
  expect([checking.method, checking.url]).toEqual([
    "POST",
    "/api/v1/workspaces/lake/ingest/lake/readings/preview?format=csv&mode=create&keep=true",
  ]);
  expect(checking.headers).toMatchObject({ "Content-Type": "text/csv", "X-CSRF-Token": "csrf-123" });
  expect(checking.body).toBe(file); // the file itself, never read into memory
  const bar = screen.getByRole("progressbar", { name: "Upload progress" });
  expect(bar).toHaveAttribute("aria-valuenow", "0");
  act(() => checking.progress(8192, 32768));
  expect(bar).toHaveAttribute("aria-valuenow", "25");
  expect(screen.getByText("Sending 25% (8.0 KiB of 32.0 KiB)")).toBeInTheDocument();
  // Every byte sent, the answer not back yet: the server's turn, in words
  act(() => checking.progress(32768, 32768));
  expect(bar).toHaveAttribute("aria-valuenow", "100");
  expect(screen.getByText("Sent; the server is reading the file…")).toBeInTheDocument();
  act(() => checking.respond(200, { ...preview, upload_id: KEPT }));

  expect(await screen.findByTestId("upload-summary")).toHaveTextContent("Creates lake.readings with 2 rows.");
  const schema = screen.getByRole("table", { name: "Schema" });
  expect(within(schema).getAllByRole("row").slice(1).map((row) => row.textContent)).toEqual([
    "meter_idstringstring",
    "kwhdoubledouble",
  ]);
  const sample = screen.getByRole("table", { name: "First rows of the file (scrollable)" });
  expect(within(sample).getByText("2.25")).toBeInTheDocument();

  await userEvent.click(screen.getByRole("button", { name: "Upload 2 rows" }));
  const committing = await nextRequest(2);
  // The commit names the file the check kept: it is not sent again.
  expect(committing.url).toBe(`/api/v1/workspaces/lake/ingest/lake/readings?format=csv&mode=create&upload=${KEPT}`);
  expect(committing.headers["X-CSRF-Token"]).toBe("csrf-123");
  expect(committing.body).toBeNull();
  act(() =>
    committing.respond(201, {
      table: "lake.readings",
      mode: "create",
      rows: 2,
      data_files: 1,
      bytes_received: CSV.length,
      bytes_written: 900,
      snapshot_id: SNAPSHOT,
      attempts: 1,
      duration_s: 0.1,
    }),
  );

  expect(await screen.findByTestId("upload-done")).toHaveTextContent(
    `2 rows committed to lake.readings as snapshot ${SNAPSHOT}.`,
  );
  const link = screen.getByRole("link", { name: "See the snapshot's rows" });
  expect(decodeURIComponent(link.getAttribute("href")!)).toContain(`snapshot=${SNAPSHOT}`);
  expect(link.getAttribute("href")).toContain("/workspaces/lake/tables/lake/readings?");

  // Another file goes into the same table by default now
  await userEvent.click(screen.getByRole("button", { name: "Upload another file" }));
  expect(screen.getByRole("radio", { name: "An existing table" })).toBeChecked();
  expect(screen.getByLabelText("Table")).toHaveValue("readings");
});

test("a commit whose kept file is gone on the server (another API process) sends the file itself", async () => {
  setup();
  FakeXhr.sent = [];
  vi.stubGlobal("XMLHttpRequest", FakeXhr);
  const file = csvFile();
  renderApp("/workspaces/lake/tables/upload");
  await screen.findByRole("heading", { name: "Upload data" }, firstRender);
  await waitFor(() => expect(screen.getByLabelText("Namespace")).toHaveValue("lake"));
  await userEvent.upload(screen.getByLabelText("File"), file);
  await userEvent.click(screen.getByRole("button", { name: "Check the file" }));
  act(() => FakeXhr.sent[0]!.respond(200, { ...preview, upload_id: KEPT }));
  await userEvent.click(await screen.findByRole("button", { name: "Upload 2 rows" }));
  const named = await nextRequest(2);
  expect(named.body).toBeNull();
  act(() => named.respond(404, { title: "Not Found", status: 404, detail: "No such upload: check the file again." }));
  const resent = await nextRequest(3);
  expect(resent.url).toBe("/api/v1/workspaces/lake/ingest/lake/readings?format=csv&mode=create");
  expect(resent.body).toBe(file);
  act(() =>
    resent.respond(201, {
      table: "lake.readings",
      mode: "create",
      rows: 2,
      data_files: 1,
      bytes_received: CSV.length,
      bytes_written: 900,
      snapshot_id: SNAPSHOT,
      attempts: 1,
      duration_s: 0.1,
    }),
  );
  expect(await screen.findByTestId("upload-done")).toHaveTextContent(`2 rows committed to lake.readings`);
});

test("a cancelled upload says so and can be sent again", async () => {
  setup();
  FakeXhr.sent = [];
  vi.stubGlobal("XMLHttpRequest", FakeXhr);
  renderApp("/workspaces/lake/tables/upload");
  await screen.findByRole("heading", { name: "Upload data" }, firstRender);
  await waitFor(() => expect(screen.getByLabelText("Namespace")).toHaveValue("lake"));
  await userEvent.upload(screen.getByLabelText("File"), csvFile());
  await userEvent.click(screen.getByRole("button", { name: "Check the file" }));
  await nextRequest(1);
  await userEvent.click(screen.getByRole("button", { name: "Cancel upload" }));
  expect(await screen.findByRole("alert")).toHaveTextContent("The upload was cancelled.");
  expect(screen.getByRole("button", { name: "Check the file" })).toBeEnabled();
});

test("columns that do not fit are listed by name; nothing can be committed", async () => {
  setup();
  server.use(
    http.post(`${INGEST}/lake/meters/preview`, ({ request }) => {
      expect(new URL(request.url).searchParams.get("mode")).toBe("overwrite");
      return HttpResponse.json(
        {
          type: "urn:sadeem:problem:invalid-input",
          title: "Bad Request",
          status: 400,
          detail: "The file does not match table lake.meters: column 'colour' is not in the table.",
          mismatches: [
            { column: "kwh", kind: "type", file_type: "string", table_type: "double" },
            { column: "colour", kind: "not_in_table", file_type: "string", table_type: null },
          ],
        },
        { status: 400, headers: { "Content-Type": "application/problem+json" } },
      );
    }),
  );
  renderApp("/workspaces/lake/tables/upload?namespace=lake&table=meters");
  await screen.findByRole("heading", { name: "Upload data" }, firstRender);
  expect(screen.getByRole("radio", { name: "An existing table" })).toBeChecked();
  await waitFor(() => expect(screen.getByLabelText("Table")).toHaveValue("meters"));
  await userEvent.click(screen.getByRole("radio", { name: /Overwrite/ }));
  await userEvent.upload(screen.getByLabelText("File"), csvFile());
  await userEvent.click(screen.getByRole("button", { name: "Check the file" }));

  const alert = await screen.findByRole("alert");
  expect(alert).toHaveTextContent("column 'colour' is not in the table");
  const rows = within(within(alert).getByRole("table", { name: "Columns that do not fit the table" })).getAllByRole("row");
  expect(rows.slice(1).map((row) => row.textContent)).toEqual([
    "kwhtype cannot be convertedstringdouble",
    "colournot a column of the tablestring—",
  ]);
  expect(screen.queryByRole("button", { name: /^Upload \d/ })).not.toBeInTheDocument();
});

test("the progress bar counts the bytes sent", () => {
  render(<Progress busy={{ kind: "commit", progress: { loaded: 42 * 1024, total: 100 * 1024 }, abort: new AbortController() }} />);
  expect(screen.getByRole("progressbar", { name: "Upload progress" })).toHaveAttribute("aria-valuenow", "42");
  expect(screen.getByText("Sending 42% (42.0 KiB of 100.0 KiB)")).toBeInTheDocument();
});
