import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { useEffect, useRef } from "react";
import { beforeEach, describe, expect, it, vi } from "vitest";

import type { Schemas } from "@/api/client";
import { renderApp } from "@/test/render";
import { admin, problem, server, signedIn } from "@/test/server";

import { clearTreeCache } from "./api";
import type { EditorProps } from "./editor-handle";

// CodeMirror needs layout jsdom lacks: the page is tested with a textarea in its place, which keeps
// the editor's contract (its handle, Ctrl+Enter, the error line).
vi.mock("./sql-editor", () => ({
  default: function FakeEditor({ initialText, onChange, onRun, handleRef, errorLine, label, onReady }: EditorProps) {
    const area = useRef<HTMLTextAreaElement>(null);
    useEffect(() => {
      const el = area.current!;
      handleRef.current = {
        getText: () => el.value,
        getSelection: () => ({ from: el.selectionStart, to: el.selectionEnd }),
        setText: (text) => {
          el.value = text;
          onChange(text);
        },
        insert: (text) => {
          el.setRangeText(text, el.selectionStart, el.selectionEnd, "end");
          onChange(el.value);
        },
        goTo: () => el.focus(),
        focus: () => el.focus(),
      };
      onReady?.();
      // eslint-disable-next-line react-hooks/exhaustive-deps
    }, []);
    return (
      <textarea
        ref={area}
        aria-label={label}
        defaultValue={initialText}
        data-error-line={errorLine ?? ""}
        onChange={(event) => onChange(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === "Enter" && event.ctrlKey) {
            event.preventDefault();
            onRun();
          }
        }}
      />
    );
  },
}));

type Statement = Schemas["StatementOut"];
const BASE = "*/api/v1/workspaces/demo";
const firstRender = { timeout: 10_000 };
const workspace = (role: Schemas["WorkspaceRole"]): Schemas["WorkspaceOut"] => ({
  slug: "demo",
  name: "Demo",
  description: "",
  namespace: "demo",
  storage_location: "s3://lake/demo",
  status: "active",
  created_at: "2026-12-01T10:00:00Z",
  updated_at: "2026-12-01T10:00:00Z",
  my_role: role,
});
const viewer: Schemas["UserOut"] = { ...admin, username: "vic", display_name: "Vic Viewer", role: "user" };

const tree: Schemas["SchemaTree"] = {
  catalog: "demo",
  default_namespace: "demo",
  fingerprint: "abc",
  namespaces: [
    {
      name: "demo",
      sql_name: "demo",
      tables: [
        {
          name: "meter_readings",
          more_columns: false,
          columns: [
            { name: "meter_id", type: "string", nullable: true },
            { name: "kwh", type: "double", nullable: true },
          ],
        },
      ],
    },
  ],
};

const columns = [
  { name: "meter_id", type: "large_string" },
  { name: "kwh", type: "double" },
  { name: "big", type: "int64" },
];
function statement(over: Partial<Statement> = {}): Statement {
  return {
    id: "s1",
    workspace: "demo",
    user: "admin",
    sql: "SELECT * FROM meter_readings",
    engine: "duckdb",
    connection: null,
    parameters: {},
    state: "SUCCEEDED",
    cancel_requested: false,
    created_at: "2026-12-07T10:00:00Z",
    started_at: "2026-12-07T10:00:00Z",
    ended_at: "2026-12-07T10:00:01Z",
    duration_ms: 120,
    error: null,
    result: { columns, total_rows: 3, size_bytes: 2048, truncated: false, row_limit: null, expired: false },
    ...over,
  };
}
const firstPage: Schemas["ResultPage"] = {
  columns,
  rows: [
    ["MTR-1", 1.5, "9007199254740993"],
    ["MTR-2", null, 2],
  ],
  row_offset: 0,
  next_cursor: "c2",
  complete: false,
};

function base(role: Schemas["WorkspaceRole"] = "admin", me: Schemas["UserOut"] = admin) {
  signedIn(me, [workspace(role)]);
  server.use(
    http.get(`${BASE}/catalog/schema-tree`, () => HttpResponse.json(tree, { headers: { ETag: '"t1"' } })),
    http.get(`${BASE}/connections`, () =>
      HttpResponse.json({
        items: [{ name: "tri", type: "trino", description: "", config: { type: "trino" }, secrets_set: [], used_by: [], last_test: null, created_at: "", updated_at: "" }],
        next_cursor: null,
      }),
    ),
    http.get(`${BASE}/statements`, ({ request }) => {
      const url = new URL(request.url);
      if (url.searchParams.get("all_users")) return HttpResponse.json({ items: [], next_cursor: null });
      return HttpResponse.json({ items: [statement({ id: "old", sql: "SELECT 42 AS answer" })], next_cursor: null });
    }),
    http.get(`${BASE}/queries`, () => HttpResponse.json({ items: [], next_cursor: null })),
  );
}

beforeEach(() => {
  localStorage.clear();
  clearTreeCache();
});

async function typeSql(text: string) {
  const editor = await screen.findByRole("textbox", { name: "SQL" }, firstRender);
  fireEvent.change(editor, { target: { value: text } });
  return editor as HTMLTextAreaElement;
}

describe("SQL worksheet", () => {
  it("opens with the SQL another page sent (?sql=), then drops it from the address", async () => {
    base();
    localStorage.setItem("sadeem.sql.demo", "SELECT 'old draft'");
    const { router } = renderApp("/workspaces/demo/sql?sql=SELECT%20*%20FROM%20demo.meter_readings%20LIMIT%20100");
    const editor = (await screen.findByRole("textbox", { name: "SQL" }, firstRender)) as HTMLTextAreaElement;
    expect(editor.value).toBe("SELECT * FROM demo.meter_readings LIMIT 100");
    await waitFor(() => expect(router.state.location.search).not.toHaveProperty("sql"));
  });

  it("keeps tabs, each with its SQL and statement, across a reload; SQL sent by another page opens a tab", async () => {
    base();
    server.use(
      http.get(`${BASE}/statements/s1`, () => HttpResponse.json(statement())),
      http.get(`${BASE}/statements/s1/result`, () => HttpResponse.json({ ...firstPage, next_cursor: null })),
    );
    const first = renderApp("/workspaces/demo/sql?statement=s1");
    await screen.findByRole("region", { name: "Result rows" }, firstRender);
    const tabs = screen.getByRole("group", { name: "Worksheet tabs" });
    await userEvent.click(within(tabs).getByRole("button", { name: "New tab" }));
    await waitFor(() => expect(first.router.state.location.search).not.toHaveProperty("statement"));
    await typeSql("SELECT 2 AS second_tab");
    expect(within(tabs).getByRole("button", { name: "Query 2" })).toHaveAttribute("aria-pressed", "true");
    first.unmount();

    // A reload: both tabs, the second active with its SQL; the first one's statement comes back with it.
    const again = renderApp("/workspaces/demo/sql");
    let editor = (await screen.findByRole("textbox", { name: "SQL" }, firstRender)) as HTMLTextAreaElement;
    expect(editor.value).toBe("SELECT 2 AS second_tab");
    await userEvent.click(screen.getByRole("button", { name: "Query 1" }));
    await screen.findByRole("region", { name: "Result rows" });
    expect(again.router.state.location.search).toMatchObject({ statement: "s1" });
    editor = screen.getByRole("textbox", { name: "SQL" }) as HTMLTextAreaElement;
    expect(editor.value).toBe("SELECT * FROM meter_readings");
    await userEvent.click(screen.getByRole("button", { name: "Close Query 2" }));
    expect(screen.queryByRole("button", { name: "Query 2" })).not.toBeInTheDocument();
    again.unmount();

    renderApp("/workspaces/demo/sql?sql=SELECT%203");
    editor = (await screen.findByRole("textbox", { name: "SQL" }, firstRender)) as HTMLTextAreaElement;
    expect(editor.value).toBe("SELECT 3");
    expect(screen.getByRole("button", { name: "Query 2" })).toHaveAttribute("aria-pressed", "true");
    expect(screen.getByRole("button", { name: "Query 1" })).toHaveAttribute("aria-pressed", "false");
  });

  it("runs the SQL with its parameters and shows typed results, NULLs, exact numbers and more pages", async () => {
    base();
    let submitted: Record<string, unknown> | null = null;
    server.use(
      http.post(`${BASE}/statements`, async ({ request }) => {
        submitted = (await request.json()) as Record<string, unknown>;
        return HttpResponse.json({ ...statement(), first_page: firstPage }, { status: 201 });
      }),
      http.get(`${BASE}/statements/s1`, () => HttpResponse.json(statement())),
      http.get(`${BASE}/statements/s1/result`, ({ request }) => {
        expect(new URL(request.url).searchParams.get("cursor")).toBe("c2");
        return HttpResponse.json({ columns, rows: [["MTR-3", 3.25, 7]], row_offset: 2, next_cursor: null, complete: true });
      }),
    );
    const { router } = renderApp("/workspaces/demo/sql");
    const editor = await typeSql("SELECT * FROM meter_readings WHERE region = :region AND kwh > :min");
    await userEvent.type(screen.getByRole("textbox", { name: "Value of :region" }), "north");
    await userEvent.type(screen.getByRole("textbox", { name: "Value of :min" }), "2");
    fireEvent.keyDown(editor, { key: "Enter", ctrlKey: true });

    const grid = await screen.findByRole("region", { name: "Result rows" });
    expect(submitted).toMatchObject({ engine: "duckdb", parameters: { region: "north", min: 2 } });
    expect(within(grid).getByRole("columnheader", { name: /kwh\s*double/ })).toBeInTheDocument();
    expect(within(grid).getByText("9007199254740993")).toBeInTheDocument();
    expect(within(grid).getByText("NULL")).toHaveAttribute("data-null", "true");
    expect(screen.getByTestId("result-summary")).toHaveTextContent("2 of 3 rows");
    expect(screen.getByRole("link", { name: "CSV" })).toHaveAttribute("href", "/api/v1/workspaces/demo/statements/s1/result.csv");
    expect(screen.getByRole("link", { name: "Parquet" })).toHaveAttribute("href", "/api/v1/workspaces/demo/statements/s1/result.parquet");
    expect(router.state.location.search).toMatchObject({ statement: "s1" });
    expect(localStorage.getItem("sadeem.sql.demo")).toContain("region = :region");

    await userEvent.click(screen.getByRole("button", { name: "Load more" }));
    expect(await within(grid).findByText("MTR-3")).toBeInTheDocument();
    expect(screen.getByTestId("result-summary")).toHaveTextContent("3 rows");
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
    // Workspace admins see the running list; the engine picker offers the Trino connection.
    expect(screen.getByRole("heading", { name: "Running now" })).toBeInTheDocument();
    expect(screen.getByRole("option", { name: "Trino · tri" })).toBeInTheDocument();
  });

  it("shows a failed statement's error at its line and column, counted from the selection", async () => {
    base();
    server.use(
      http.post(`${BASE}/statements`, async ({ request }) => {
        const body = (await request.json()) as { sql: string };
        expect(body.sql).toBe("SELECT\n  nope FROM t");
        return HttpResponse.json(
          statement({ state: "FAILED", result: null, error: { message: 'column "nope" not found', line: 2, column: 3 } }),
          { status: 201 },
        );
      }),
      http.get(`${BASE}/statements/s1`, () =>
        HttpResponse.json(statement({ state: "FAILED", result: null, error: { message: 'column "nope" not found', line: 2, column: 3 } })),
      ),
    );
    renderApp("/workspaces/demo/sql");
    const editor = await typeSql("SELECT 1;\nSELECT\n  nope FROM t");
    editor.setSelectionRange(10, editor.value.length);
    await userEvent.click(screen.getByRole("button", { name: "Run" }));
    const alert = await screen.findByTestId("sql-error");
    expect(alert).toHaveTextContent('Line 3, column 3: column "nope" not found');
    expect(editor).toHaveAttribute("data-error-line", "3");
    expect(screen.getByTestId("sql-state")).toHaveTextContent("Failed");
  });

  it("cancels a long statement", async () => {
    base();
    let cancelled = false;
    server.use(
      http.post(`${BASE}/statements`, () => HttpResponse.json(statement({ state: "RUNNING", result: null, duration_ms: null }), { status: 201 })),
      http.get(`${BASE}/statements/s1`, () =>
        HttpResponse.json(
          cancelled
            ? statement({ state: "CANCELLED", result: null, error: { message: "Cancelled by admin." } })
            : statement({ state: "RUNNING", result: null, duration_ms: null }),
        ),
      ),
      http.post(`${BASE}/statements/s1/cancel`, () => {
        cancelled = true;
        return HttpResponse.json(statement({ state: "RUNNING", cancel_requested: true, result: null }));
      }),
    );
    renderApp("/workspaces/demo/sql");
    await typeSql("SELECT count(*) FROM range(1000000000000)");
    await userEvent.click(screen.getByRole("button", { name: "Run" }));
    await userEvent.click(await screen.findByRole("button", { name: "Cancel" }));
    expect(await screen.findByText("Cancelled by admin.", {}, { timeout: 5000 })).toBeInTheDocument();
    expect(cancelled).toBe(true);
    expect(screen.getByRole("button", { name: "Run" })).toBeEnabled();
    expect(screen.queryByRole("button", { name: "Cancel" })).not.toBeInTheDocument();
  });

  it("explains a viewer's refused write, and shows no Running now list", async () => {
    base("viewer", viewer);
    server.use(
      http.post(`${BASE}/statements`, () =>
        problem(
          403,
          "permission-denied",
          "Forbidden",
          "CREATE TABLE (line 1) changes data, and your role in workspace 'demo' is viewer, which may only read (SELECT, WITH, VALUES, EXPLAIN, DESCRIBE, SHOW). Ask for the editor role.",
        ),
      ),
    );
    renderApp("/workspaces/demo/sql");
    await typeSql("CREATE TABLE t AS SELECT 1 AS x");
    await userEvent.click(screen.getByRole("button", { name: "Run" }));
    const alert = await screen.findByTestId("sql-error");
    expect(alert).toHaveTextContent("is viewer, which may only read");
    expect(alert).toHaveTextContent("Ask a workspace admin for the editor role");
    expect(screen.getByRole("button", { name: "Run" })).toBeEnabled();
    expect(screen.queryByRole("heading", { name: "Running now" })).not.toBeInTheDocument();
  });

  it("opens a deep-linked statement with its SQL and result", { timeout: 20_000 }, async () => {
    base();
    server.use(
      http.get(`${BASE}/statements/s1`, () => HttpResponse.json(statement({ sql: "SELECT 'deep' AS link" }))),
      http.get(`${BASE}/statements/s1/result`, () => HttpResponse.json({ ...firstPage, next_cursor: null })),
    );
    renderApp("/workspaces/demo/sql?statement=s1");
    expect(await screen.findByRole("region", { name: "Result rows" }, firstRender)).toBeInTheDocument();
    await waitFor(() => expect(screen.getByRole("textbox", { name: "SQL" })).toHaveValue("SELECT 'deep' AS link"));
  });

  it("reopens a statement from the history", async () => {
    base();
    server.use(
      http.get(`${BASE}/statements/old`, () =>
        HttpResponse.json(
          statement({
            id: "old",
            sql: "SELECT 42 AS answer",
            result: { columns: [{ name: "answer", type: "int32" }], total_rows: 1, size_bytes: 8, truncated: false, row_limit: null, expired: false },
          }),
        ),
      ),
      http.get(`${BASE}/statements/old/result`, () =>
        HttpResponse.json({ columns: [{ name: "answer", type: "int32" }], rows: [[42]], row_offset: 0, next_cursor: null, complete: true }),
      ),
    );
    const { router } = renderApp("/workspaces/demo/sql?side=history");
    await userEvent.click(await screen.findByRole("button", { name: /SELECT 42 AS answer/ }, firstRender));
    await waitFor(() => expect(router.state.location.search).toMatchObject({ statement: "old", side: "history" }));
    expect(await screen.findByRole("columnheader", { name: /answer/ })).toBeInTheDocument();
    expect(screen.getByRole("textbox", { name: "SQL" })).toHaveValue("SELECT 42 AS answer");
  });

  it("saves the SQL as a query", async () => {
    base();
    let body: Record<string, unknown> | null = null;
    server.use(
      http.post(`${BASE}/queries`, async ({ request }) => {
        body = (await request.json()) as Record<string, unknown>;
        return HttpResponse.json(
          {
            name: "by_region",
            description: "",
            sql: body.sql,
            engine: "duckdb",
            connection: null,
            parameters: body.parameters,
            shared: true,
            tags: [],
            current_version: 1,
            can_edit: true,
            owner: "admin",
            created_by: "admin",
            created_at: "2026-12-07T10:00:00Z",
            updated_at: "2026-12-07T10:00:00Z",
          },
          { status: 201 },
        );
      }),
    );
    renderApp("/workspaces/demo/sql");
    await typeSql("SELECT * FROM meter_readings WHERE region = :region");
    await userEvent.click(screen.getByRole("button", { name: "Save…" }));
    const dialog = await screen.findByRole("dialog");
    await userEvent.type(within(dialog).getByLabelText("Name"), "by_region");
    await userEvent.click(within(dialog).getByLabelText("Shared with the workspace"));
    await userEvent.click(within(dialog).getByRole("button", { name: "Save" }));
    expect(await screen.findByText("Saved as by_region.")).toBeInTheDocument();
    expect(body).toMatchObject({ name: "by_region", shared: true, parameters: [{ name: "region", type: "string" }] });
    expect(screen.getByTestId("open-query")).toHaveTextContent("by_region · v1 · shared");
    expect(screen.getByRole("button", { name: "Run as job" })).toBeInTheDocument();
  });

  it("says when a result was cut at the row limit, and when it is no longer kept", async () => {
    base();
    const truncated = statement({
      result: { columns, total_rows: 2, size_bytes: 10, truncated: true, row_limit: 2, expired: false },
    });
    server.use(
      http.get(`${BASE}/statements/s1`, () => HttpResponse.json(truncated)),
      http.get(`${BASE}/statements/s1/result`, () => HttpResponse.json({ ...firstPage, next_cursor: null })),
      http.get(`${BASE}/statements/s2`, () =>
        HttpResponse.json(statement({ id: "s2", result: { ...truncated.result!, truncated: false, expired: true } })),
      ),
    );
    const { router } = renderApp("/workspaces/demo/sql?statement=s1");
    expect(await screen.findByText(/Truncated: the result was cut at the limit \(2 rows kept, row limit 2\)/, {}, firstRender)).toBeInTheDocument();
    await router.navigate({ to: "/workspaces/$workspace/sql", params: { workspace: "demo" }, search: { statement: "s2" } });
    expect(await screen.findByText(/no longer kept/)).toBeInTheDocument();
    expect(screen.queryByRole("region", { name: "Result rows" })).not.toBeInTheDocument();
  });

  it("copies the rows with headers, resizes a column, charts the result and names downloads after the query", async () => {
    base();
    server.use(
      http.get(`${BASE}/statements/s1`, () => HttpResponse.json(statement({ sql: "SELECT * FROM demo.meter_readings WHERE kwh > 1" }))),
      http.get(`${BASE}/statements/s1/result`, () => HttpResponse.json({ ...firstPage, next_cursor: null })),
    );
    const user = userEvent.setup();
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    renderApp("/workspaces/demo/sql?statement=s1");
    const grid = await screen.findByRole("region", { name: "Result rows" }, firstRender);
    expect(screen.getByRole("link", { name: "CSV" })).toHaveAttribute("download", "demo.meter_readings.csv");

    await user.click(screen.getByRole("button", { name: "Copy with headers" }));
    expect(writeText).toHaveBeenCalledWith("meter_id\tkwh\tbig\nMTR-1\t1.5\t9007199254740993\nMTR-2\t\t2");

    const kwh = within(grid).getByRole("columnheader", { name: "kwh double" });
    const handle = within(grid).getByRole("separator", { name: "Resize column kwh" });
    handle.focus();
    await user.keyboard("{ArrowRight}{ArrowRight}");
    expect(kwh.style.width).toBe("64px"); // no layout here: the 48 px minimum, then one 16 px step
    expect(within(grid).getAllByRole("row")[1]!.querySelectorAll("td")[2]!.style.maxWidth).toBe("64px");

    await user.click(screen.getByRole("button", { name: "Chart" }));
    const chart = await screen.findByRole("img", { name: "Bar chart of kwh by meter_id, 2 bars" });
    expect(chart.querySelectorAll("rect")).toHaveLength(2);
    await user.selectOptions(screen.getByLabelText("Values"), "big");
    expect(screen.getByRole("img", { name: "Bar chart of big by meter_id, 2 bars" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Table" }));
    expect(screen.getByRole("region", { name: "Result rows" })).toBeInTheDocument();
  });

  it("explains the SQL with the engine's plan, and shows a refused explain's place", async () => {
    base();
    let calls = 0;
    server.use(
      http.post(`${BASE}/statements/explain`, () => {
        calls += 1;
        return calls === 1
          ? HttpResponse.json({ engine: "duckdb", engine_sql: "SELECT 1", plan: "PROJECTION" })
          : HttpResponse.json(
              { type: "urn:sadeem:problem:invalid-input", title: "Invalid", status: 400, detail: "Syntax error", line: 1, column: 8 },
              { status: 400, headers: { "Content-Type": "application/problem+json" } },
            );
      }),
    );
    renderApp("/workspaces/demo/sql");
    await typeSql("SELECT 1");
    await userEvent.click(screen.getByRole("button", { name: "Explain" }));
    expect(await screen.findByTestId("sql-plan")).toHaveTextContent("duckdb runs: SELECT 1 PROJECTION");
    await userEvent.click(screen.getByRole("button", { name: "Explain" }));
    expect(await screen.findByTestId("sql-error")).toHaveTextContent("Line 1, column 8: Syntax error");
    expect(screen.queryByTestId("sql-plan")).not.toBeInTheDocument();
  });

  it("inserts a table from the schema tree and revalidates the tree with its ETag", async () => {
    base();
    const seen: (string | null)[] = [];
    server.use(
      http.get(`${BASE}/catalog/schema-tree`, ({ request }) => {
        const tag = request.headers.get("If-None-Match");
        seen.push(tag);
        return tag === '"t1"' ? new HttpResponse(null, { status: 304 }) : HttpResponse.json(tree, { headers: { ETag: '"t1"' } });
      }),
    );
    renderApp("/workspaces/demo/sql");
    await typeSql("SELECT * FROM ");
    await userEvent.click(await screen.findByRole("button", { name: "meter_readings" }));
    expect(screen.getByRole("textbox", { name: "SQL" })).toHaveValue("SELECT * FROM meter_readings");
    await userEvent.click(screen.getByRole("button", { name: "Columns of meter_readings" }));
    expect(screen.getByRole("button", { name: /kwh\s*double/ })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Reload the schema" }));
    await waitFor(() => expect(seen).toEqual([null, '"t1"']));
    expect(screen.getByRole("button", { name: "meter_readings" })).toBeInTheDocument();
  });
});
