import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { useEffect, useRef } from "react";
import { describe, expect, it, vi } from "vitest";

import { buildJob, reportJob, sparkJob, workspaceAs } from "@/features/runs/fixtures";
import type { EditorProps } from "@/features/worksheet/editor-handle";
import { renderApp } from "@/test/render";
import { server, signedIn } from "@/test/server";

import type { Definition } from "./api";
import { sideBySide, textSideBySide } from "./diff";
import { definitionFrom, draftFrom, emptyDraft, typedValue } from "./draft";
import { formatFireTime } from "./schedule-editor";

// CodeMirror needs layout jsdom lacks: a textarea keeps the editor's contract (as in the worksheet's tests).
vi.mock("@/features/worksheet/sql-editor", () => ({
  default: function FakeEditor({ initialText, onChange, handleRef, errorLine, label }: EditorProps) {
    const area = useRef<HTMLTextAreaElement>(null);
    useEffect(() => {
      const el = area.current!;
      handleRef.current = {
        getText: () => el.value,
        getSelection: () => ({ from: 0, to: 0 }),
        setText: (text) => onChange((el.value = text)),
        insert: () => undefined,
        goTo: () => undefined,
        focus: () => el.focus(),
      };
      // eslint-disable-next-line react-hooks/exhaustive-deps
    }, []);
    return (
      <textarea
        ref={area}
        aria-label={label}
        defaultValue={initialText}
        data-error-line={errorLine ?? ""}
        onChange={(event) => onChange(event.target.value)}
      />
    );
  },
}));

const BASE = "*/api/v1/workspaces/lake";
const firstRender = { timeout: 5000 };
// Whole-app renders with many clicks: more than the default 5 s on a loaded, shared machine.
const SLOW = 20_000;
const RIYADH_MINUTES = ["2026-12-08T00:14:00+03:00", "2026-12-08T00:15:00+03:00", "2026-12-08T00:16:00+03:00", "2026-12-08T00:17:00+03:00", "2026-12-08T00:18:00+03:00"];

function commonAnswers() {
  return [
    http.get(`${BASE}/connections`, () =>
      HttpResponse.json({ items: [{ name: "warehouse", type: "trino" }, { name: "k8s", type: "spark_k8s" }], next_cursor: null }),
    ),
    http.get(`${BASE}/catalog/schema-tree`, () => HttpResponse.json({ default_namespace: "main", namespaces: [] })),
    http.get(`${BASE}/runs`, () => HttpResponse.json({ items: [], next_cursor: null })),
    http.get("*/api/v1/schedule-preview", ({ request }) => {
      const url = new URL(request.url);
      const zone = url.searchParams.get("timezone")!;
      if (zone === "Mars/Olympus")
        return HttpResponse.json(
          { type: "urn:sadeem:problem:invalid-input", title: "Bad request", status: 400, detail: "Unknown time zone 'Mars/Olympus'; use an IANA name like 'Asia/Riyadh'." },
          { status: 400, headers: { "Content-Type": "application/problem+json" } },
        );
      return HttpResponse.json({ cron: url.searchParams.get("cron"), timezone: zone, fire_times: RIYADH_MINUTES });
    }),
  ];
}

describe("the job draft", () => {
  it("keeps a number default a number, refuses a bad one, and names the field as the server does", () => {
    expect(typedValue("integer", "42")).toEqual({ value: 42 });
    expect(typedValue("integer", "4.2").error).toBe("Enter a whole number.");
    expect(typedValue("number", "4.25")).toEqual({ value: 4.25 });
    expect(typedValue("boolean", "false")).toEqual({ value: false });
    expect(typedValue("decimal", "10.50")).toEqual({ value: "10.50" });
    expect(typedValue("date", "08/12/2026").error).toBe("Enter a date as YYYY-MM-DD.");

    const draft = emptyDraft();
    draft.sql.sql = "SELECT :n";
    draft.parameters = [
      { name: "n", type: "integer", required: false, default: "7", description: "" },
      { name: "day", type: "date", required: true, default: "", description: "" },
      { name: "n", type: "string", required: false, default: "", description: "" },
    ];
    const { body, errors } = definitionFrom(draft);
    expect(errors).toEqual({ "parameters.2.name": "Another parameter has this name." });
    expect((body.parameters as unknown[])[0]).toEqual({ name: "n", type: "integer", default: 7, description: "" });
    expect((body.parameters as unknown[])[1]).toMatchObject({ name: "day", default: null });
  });

  it("reads a stored definition back into the same definition (what the form does not show is kept)", () => {
    for (const job of [buildJob, reportJob, sparkJob]) {
      const definition = job.definition as unknown as Definition;
      const { body, errors } = definitionFrom(draftFrom(job.name, definition));
      expect(errors).toEqual({});
      expect(body.task).toMatchObject(definition.task);
      expect(body.schedule ?? null).toEqual(definition.schedule ?? null);
      expect(body.parameters).toEqual(definition.parameters ?? []);
    }
    const build = definitionFrom(draftFrom("nightly_build", buildJob.definition as unknown as Definition)).body;
    expect(build.retry).toEqual({ max_attempts: 2, backoff_seconds: 30 });
    expect(build.timeout_seconds).toBe(600);
    expect(build.max_concurrent_runs).toBe(1);
  });

  it("builds a Spark task: file, arguments a line each, properties, resources", () => {
    const draft = emptyDraft();
    draft.type = "spark";
    Object.assign(draft.spark, { from: "file", file: "/jobs/etl.py", args: "--day\n{{day}}\n", conf: [{ key: "spark.sql.shuffle.partitions", value: "4" }] });
    draft.spark.executor = { cores: "2", memory: "2g", instances: "3" };
    const { body, errors } = definitionFrom(draft);
    expect(errors).toEqual({});
    expect(body.task).toEqual({
      type: "spark",
      engine: "spark_local",
      connection: null,
      kind: "pyspark",
      file: "/jobs/etl.py",
      source: null,
      args: ["--day", "{{day}}"],
      conf: { "spark.sql.shuffle.partitions": "4" },
      driver: { cores: 1, memory: "1g" },
      executor: { cores: 2, memory: "2g", instances: 3 },
    });
    draft.spark.engine = "spark_k8s";
    draft.spark.executor.memory = "2 GB";
    expect(definitionFrom(draft).errors).toEqual({ "task.connection": "Choose a connection.", "task.executor.memory": "Like 512m or 2g." });
  });
});

describe("version diff", () => {
  it("lays a unified diff side by side, removals paired with the additions after them", () => {
    const rows = sideBySide(
      '--- version 1\n+++ version 2\n@@ -3,4 +3,5 @@\n   "a": 1,\n-  "sql": "SELECT 1",\n+  "sql": "SELECT 2",\n+  "x": true,\n   "z": 0\n',
    );
    expect(rows[0]).toEqual({ kind: "hunk", text: "@@ -3,4 +3,5 @@" });
    expect(rows.slice(1)).toEqual([
      { kind: "line", left: { number: 3, text: '  "a": 1,', changed: false }, right: { number: 3, text: '  "a": 1,', changed: false } },
      { kind: "line", left: { number: 4, text: '  "sql": "SELECT 1",', changed: true }, right: { number: 4, text: '  "sql": "SELECT 2",', changed: true } },
      { kind: "line", left: null, right: { number: 5, text: '  "x": true,', changed: true } },
      { kind: "line", left: { number: 5, text: '  "z": 0', changed: false }, right: { number: 6, text: '  "z": 0', changed: false } },
    ]);
  });

  it("diffs a multi-line text by lines", () => {
    const rows = textSideBySide("SELECT a\nFROM t\nWHERE x > 1", "SELECT a, b\nFROM t\nWHERE x > 1\nLIMIT 5");
    const pairs = rows.map((row) => (row.kind === "line" ? [row.left?.text ?? null, row.right?.text ?? null] : null));
    expect(pairs).toEqual([
      ["SELECT a", "SELECT a, b"],
      ["FROM t", "FROM t"],
      ["WHERE x > 1", "WHERE x > 1"],
      [null, "LIMIT 5"],
    ]);
  });

  it("compares any two versions side by side, and restores an older one", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    let restored: unknown = null;
    const three = { ...buildJob, current_version: 3 };
    server.use(
      ...commonAnswers(),
      http.get(`${BASE}/jobs/nightly_build`, () => HttpResponse.json(three)),
      http.get(`${BASE}/jobs/nightly_build/versions`, () =>
        HttpResponse.json({
          items: [3, 2, 1].map((v) => ({ version: v, message: `v${v}`, created_by: "admin", run_as: "admin", created_at: "2026-12-02T10:00:00Z", definition: {} })),
          next_cursor: null,
        }),
      ),
      http.get(`${BASE}/jobs/nightly_build/versions/1/diff/3`, () =>
        HttpResponse.json({
          from_version: 1,
          to_version: 3,
          changes: [{ path: "task.sql", before: "SELECT 1\nFROM a", after: "SELECT 2\nFROM a" }],
          unified: '--- version 1\n+++ version 3\n@@ -1 +1 @@\n-  "sql": "SELECT 1\\nFROM a"\n+  "sql": "SELECT 2\\nFROM a"\n',
        }),
      ),
      http.post(`${BASE}/jobs/nightly_build/rollback`, async ({ request }) => {
        restored = await request.json();
        return HttpResponse.json({ ...three, current_version: 4 });
      }),
    );
    const user = userEvent.setup();
    renderApp("/workspaces/lake/jobs/nightly_build");
    const compare = await screen.findByRole("group", { name: "Compare" }, firstRender);
    await user.selectOptions(within(compare).getByRole("combobox", { name: "From version" }), "1");
    expect(within(compare).getByRole("combobox", { name: "To version" })).toHaveValue("3");
    await user.click(within(compare).getByRole("button", { name: "Compare" }));
    const dialog = await screen.findByRole("dialog", { name: "Changes from v1 to v3" });
    const sql = await within(dialog).findByRole("region", { name: "task.sql: Changes from v1 to v3" });
    const rows = within(sql).getAllByRole("row").slice(1);
    expect(rows[0]).toHaveTextContent(/1− SELECT 11\+ SELECT 2/);
    expect(rows[1]).toHaveTextContent("2FROM a2FROM a");
    expect(within(sql).getAllByRole("columnheader").map((th) => th.textContent)).toEqual(["v1", "v3"]);
    await user.keyboard("{Escape}");

    await user.click(screen.getByRole("button", { name: "Restore v1" }));
    const confirm = await screen.findByRole("dialog", { name: "Restore version 1?" });
    expect(confirm).toHaveTextContent("becomes a new version, v4");
    await user.click(within(confirm).getByRole("button", { name: "Restore" }));
    await waitFor(() => expect(restored).toEqual({ version: 1, message: "Restore v1" }));
    expect(await screen.findByText("v1 restored as v4.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Restore v3" })).not.toBeInTheDocument();
  }, SLOW);
});

describe("run this version", () => {
  it("asks for the chosen version's own parameters, typed", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    let body: unknown = null;
    const v1 = { task: { type: "sql", engine: "duckdb", sql: "SELECT :days" }, parameters: [{ name: "days", type: "integer", default: null, description: "" }] };
    const job = { ...reportJob, current_version: 2 };
    server.use(
      ...commonAnswers(),
      http.get(`${BASE}/jobs/report`, () => HttpResponse.json(job)),
      http.get(`${BASE}/jobs/report/versions`, () =>
        HttpResponse.json({
          items: [
            { version: 2, message: "", created_by: "admin", run_as: "admin", created_at: "2026-12-02T10:00:00Z", definition: reportJob.definition },
            { version: 1, message: "", created_by: "admin", run_as: "admin", created_at: "2026-12-01T10:00:00Z", definition: v1 },
          ],
          next_cursor: null,
        }),
      ),
      http.post(`${BASE}/jobs/report/runs`, async ({ request }) => {
        body = await request.json();
        return HttpResponse.json({ id: 31, job: "report", state: "QUEUED", created: true }, { status: 201 });
      }),
    );
    const user = userEvent.setup();
    renderApp("/workspaces/lake/jobs/report");
    await user.click(await screen.findByRole("button", { name: "Run this version v1" }, firstRender));
    const dialog = await screen.findByRole("dialog", { name: "Run report" });
    expect(within(dialog).queryByLabelText("min_x (integer)")).not.toBeInTheDocument();
    await user.type(within(dialog).getByLabelText("days (integer)"), "3");
    await user.click(within(dialog).getByRole("button", { name: "Start the run" }));
    await waitFor(() => expect(body).toEqual({ parameters: { days: 3 }, version: 1 }));
  }, SLOW);
});

describe("schedule editor", () => {
  it("formats a fire time in the schedule's zone with its offset", () => {
    const { text, offset } = formatFireTime("2026-12-08T00:14:00+03:00", "Asia/Riyadh");
    expect(offset).toBe("+03:00");
    expect(text).toContain("00:14");
    expect(text).toMatch(/8/);
    expect(formatFireTime("2026-12-07T21:14:00Z", "UTC").offset).toBe("+00:00");
  });
});

describe("job form", () => {
  it("creates a SQL job with a typed parameter and a schedule, showing its next fire times", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    let sent: Record<string, unknown> | null = null;
    server.use(
      ...commonAnswers(),
      http.post(`${BASE}/jobs`, async ({ request }) => {
        sent = (await request.json()) as Record<string, unknown>;
        return HttpResponse.json({ ...reportJob, name: "hot_days", definition: sent }, { status: 201 });
      }),
      http.get(`${BASE}/jobs/hot_days`, () => HttpResponse.json({ ...reportJob, name: "hot_days", definition: sent })),
      http.get(`${BASE}/jobs/hot_days/versions`, () => HttpResponse.json({ items: [], next_cursor: null })),
    );
    const user = userEvent.setup();
    const { router } = renderApp("/workspaces/lake/jobs/-/new");
    await user.type(await screen.findByLabelText("Name", {}, firstRender), "hot_days");
    fireEvent.change(await screen.findByRole("textbox", { name: "SQL of the job" }), {
      target: { value: "SELECT * FROM t WHERE kwh > :min_kwh" },
    });
    await user.click(screen.getByRole("button", { name: "Add :min_kwh as parameters" }));
    const parameter = screen.getByRole("group", { name: "Parameter 1" });
    expect(within(parameter).getByLabelText("Name")).toHaveValue("min_kwh");
    await user.selectOptions(within(parameter).getByLabelText("Type"), "number");
    await user.click(within(parameter).getByLabelText("Required"));
    await user.type(within(parameter).getByLabelText("Default"), "abc");
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(within(parameter).getByText("Enter a number.")).toBeInTheDocument();
    expect(sent).toBeNull();
    await user.clear(within(parameter).getByLabelText("Default"));
    await user.type(within(parameter).getByLabelText("Default"), "2.5");

    await user.click(screen.getByLabelText("Run on a schedule"));
    await user.click(screen.getByRole("button", { name: "Every minute" }));
    await user.clear(screen.getByLabelText("Time zone (IANA)"));
    await user.type(screen.getByLabelText("Time zone (IANA)"), "Mars/Olympus");
    expect(await screen.findByText(/Unknown time zone 'Mars\/Olympus'/, {}, firstRender)).toBeInTheDocument();
    await user.clear(screen.getByLabelText("Time zone (IANA)"));
    await user.type(screen.getByLabelText("Time zone (IANA)"), "Asia/Riyadh");
    expect(screen.getByTestId("schedule-words")).toHaveTextContent("Every minute (Asia/Riyadh)");
    const times = await screen.findByTestId("fire-times", {}, firstRender);
    expect(await screen.findByText("Next five runs (Asia/Riyadh)")).toBeInTheDocument();
    expect(within(times).getAllByRole("listitem")).toHaveLength(5);
    expect(within(times).getAllByRole("listitem")[0]).toHaveTextContent(/00:14.*UTC\+03:00/);

    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/workspaces/lake/jobs/hot_days"));
    expect(sent).toMatchObject({
      name: "hot_days",
      task: { type: "sql", engine: "duckdb", sql: "SELECT * FROM t WHERE kwh > :min_kwh", connection: null },
      parameters: [{ name: "min_kwh", type: "number", default: 2.5, description: "" }],
      schedule: { cron: "* * * * *", timezone: "Asia/Riyadh", catch_up: "skip" },
      retry: { max_attempts: 1 },
      notifications: [],
    });
  }, SLOW);

  it("shows the server's field errors on their fields", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    server.use(
      ...commonAnswers(),
      http.post(`${BASE}/jobs`, () =>
        HttpResponse.json(
          {
            type: "urn:sadeem:problem:validation-error",
            title: "Unprocessable Entity",
            status: 422,
            detail: "The request is not valid; see `errors`.",
            errors: [
              { loc: ["body", "notifications", 0, "url"], msg: "String should match pattern", type: "string_pattern_mismatch" },
              { loc: ["body", "task", "sql", "sql"], msg: "String should have at most 200000 characters", type: "string_too_long" },
            ],
          },
          { status: 422, headers: { "Content-Type": "application/problem+json" } },
        ),
      ),
    );
    const user = userEvent.setup();
    renderApp("/workspaces/lake/jobs/-/new");
    await user.type(await screen.findByLabelText("Name", {}, firstRender), "x");
    fireEvent.change(await screen.findByRole("textbox", { name: "SQL of the job" }), { target: { value: "SELECT 1" } });
    await user.click(screen.getByRole("button", { name: "Add a notification" }));
    await user.type(screen.getByLabelText("Webhook URL"), "https://hooks.example.com/a");
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByText("String should match pattern")).toBeInTheDocument();
    expect(screen.getByText("String should have at most 200000 characters")).toBeInTheDocument();
    expect(screen.getByTestId("job-form-error")).toHaveTextContent("The request is not valid");
  }, SLOW);

  it("edits a job: the current version in the form, saved as a new version with a message", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    let sent: Record<string, unknown> | null = null;
    server.use(
      ...commonAnswers(),
      http.get(`${BASE}/jobs/nightly_build`, () => HttpResponse.json(buildJob)),
      http.get(`${BASE}/jobs/nightly_build/versions`, () => HttpResponse.json({ items: [], next_cursor: null })),
      http.put(`${BASE}/jobs/nightly_build`, async ({ request }) => {
        sent = (await request.json()) as Record<string, unknown>;
        return HttpResponse.json({ ...buildJob, current_version: 3 });
      }),
    );
    const user = userEvent.setup();
    const { router } = renderApp("/workspaces/lake/jobs/nightly_build/edit");
    expect(await screen.findByRole("heading", { name: "Edit nightly_build" }, firstRender)).toBeInTheDocument();
    expect(screen.queryByLabelText("Name")).not.toBeInTheDocument();
    const sql = await screen.findByRole("textbox", { name: "SQL of the job" });
    expect(sql).toHaveValue("CREATE TABLE t AS SELECT 1 AS <b>x</b>");
    expect(screen.getByLabelText("Cron (minute hour day month weekday)")).toHaveValue("0 1 * * *");
    expect(screen.getByLabelText("Automatic retries")).toHaveValue("1");
    fireEvent.change(sql, { target: { value: "CREATE TABLE t AS SELECT 2 AS x" } });
    await user.type(screen.getByLabelText("What changed"), "Two, not one");
    await user.click(screen.getByRole("button", { name: "Save a new version" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/workspaces/lake/jobs/nightly_build"));
    expect(sent).toMatchObject({
      message: "Two, not one",
      task: { sql: "CREATE TABLE t AS SELECT 2 AS x" },
      schedule: { cron: "0 1 * * *", timezone: "Asia/Riyadh" },
      retry: { max_attempts: 2, backoff_seconds: 30 },
      timeout_seconds: 600,
      max_concurrent_runs: 1,
    });
    expect(await screen.findByText("nightly_build: version 3 saved.")).toBeInTheDocument();
  }, SLOW);
});
