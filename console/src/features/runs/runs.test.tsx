import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import type { Schemas } from "@/api/client";
import { renderApp } from "@/test/render";
import { problem, server, signedIn } from "@/test/server";

import { buildJob, reportJob, run, runDetail, viewerUser, workspaceAs } from "./fixtures";

const BASE = "*/api/v1/workspaces/lake";
const firstRender = { timeout: 5000 };

function jobsAnswer() {
  return http.get(`${BASE}/jobs`, () => HttpResponse.json({ items: [buildJob, reportJob], next_cursor: null }));
}

describe("runs list", () => {
  it("lists runs, filters by state and job in the URL and the request, and pages", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    const asked: URL[] = [];
    server.use(
      jobsAnswer(),
      http.get(`${BASE}/runs`, ({ request }) => {
        const url = new URL(request.url);
        asked.push(url);
        if (url.searchParams.get("cursor") === "next")
          return HttpResponse.json({ items: [run({ id: 3, state: "FAILED" })], next_cursor: null });
        if (url.searchParams.get("state") === "FAILED")
          return HttpResponse.json({ items: [run({ id: 5, state: "FAILED", job: "report" })], next_cursor: null });
        return HttpResponse.json({
          items: [run({ id: 7 }), run({ id: 6, state: "RUNNING", ended_at: null, trigger: "schedule" })],
          next_cursor: "next",
        });
      }),
    );
    const user = userEvent.setup();
    const { router } = renderApp("/workspaces/lake/runs");
    const first = await screen.findByRole("link", { name: "#7" }, firstRender);
    const row = first.closest("tr")!;
    expect(within(row).getByText("Succeeded")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "#6" }).closest("tr")).toHaveTextContent("Running");
    expect(screen.getByRole("link", { name: "#6" }).closest("tr")).toHaveTextContent("schedule");

    expect(screen.getByText("Runs #7 to #6, newest first")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Newest runs" })).toBeDisabled();

    // A page is a place in the URL (history keeps it: Back returns to the newer page)
    await user.click(screen.getByRole("button", { name: "Older runs" }));
    expect(await screen.findByRole("link", { name: "#3" })).toBeInTheDocument();
    expect(screen.queryByRole("link", { name: "#7" })).not.toBeInTheDocument();
    expect(router.state.location.search).toEqual({ cursor: "next" });
    expect(screen.getByRole("button", { name: "Older runs" })).toBeDisabled();
    router.history.back();
    expect(await screen.findByRole("link", { name: "#7" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Older runs" }));
    await screen.findByRole("link", { name: "#3" });

    // A new filter starts again from the newest runs
    await user.selectOptions(screen.getByRole("combobox", { name: "State" }), "FAILED");
    expect(await screen.findByRole("link", { name: "#5" })).toBeInTheDocument();
    expect(router.state.location.search).toEqual({ state: "FAILED" });
    expect(asked.at(-1)?.searchParams.get("state")).toBe("FAILED");

    await user.selectOptions(screen.getByRole("combobox", { name: "Job" }), "report");
    await waitFor(() => expect(router.state.location.search).toEqual({ state: "FAILED", job: "report" }));
    await waitFor(() => expect(asked.at(-1)?.searchParams.get("job")).toBe("report"));

    await user.selectOptions(screen.getByRole("combobox", { name: "Created since" }), "24h");
    await waitFor(() => expect(router.state.location.search).toEqual({ state: "FAILED", job: "report", since: "24h" }));
    await waitFor(() => expect(asked.at(-1)?.searchParams.get("since")).toBeTruthy());
    const since = new Date(asked.at(-1)!.searchParams.get("since")!).getTime();
    expect(Math.abs(Date.now() - 86_400_000 - since)).toBeLessThan(60_000);
  }, 15_000);

  it("takes a custom time range and a page size, both in the URL and the request", async () => {
    signedIn(undefined, [workspaceAs("viewer")]);
    const asked: URL[] = [];
    server.use(
      jobsAnswer(),
      http.get(`${BASE}/runs`, ({ request }) => {
        asked.push(new URL(request.url));
        return HttpResponse.json({ items: [run({ id: 4 })], next_cursor: null });
      }),
    );
    const user = userEvent.setup();
    const { router } = renderApp("/workspaces/lake/runs?since=7d");
    await screen.findByRole("link", { name: "#4" }, firstRender);
    await user.selectOptions(screen.getByRole("combobox", { name: "Runs per page" }), "200");
    await waitFor(() => expect(asked.at(-1)?.searchParams.get("limit")).toBe("200"));
    await user.selectOptions(screen.getByRole("combobox", { name: "Created since" }), "custom");
    const from = screen.getByLabelText("From");
    await user.type(from, "2026-12-01T08:00");
    const until = screen.getByLabelText("Until");
    await user.type(until, "2026-12-02T08:00");
    const expected = { from: new Date("2026-12-01T08:00").toISOString(), until: new Date("2026-12-02T08:00").toISOString() };
    await waitFor(() => expect(router.state.location.search).toEqual({ limit: 200, ...expected }));
    await waitFor(() => expect(asked.at(-1)?.searchParams.get("until")).toBe(expected.until));
    expect(asked.at(-1)?.searchParams.get("since")).toBe(expected.from);
    // A link to this range opens it as it was
    router.history.push(`/workspaces/lake/runs?from=${expected.from}&until=${expected.until}`);
    await waitFor(() => expect(screen.getByLabelText("From")).toHaveValue("2026-12-01T08:00"));
    expect(screen.getByRole("combobox", { name: "Created since" })).toHaveValue("custom");
  });

  it("says when nothing matches, and explains an error", async () => {
    signedIn(undefined, [workspaceAs("viewer")]);
    server.use(
      jobsAnswer(),
      http.get(`${BASE}/runs`, () => problem(500, "internal", "Internal error", "The database is unreachable.")),
    );
    renderApp("/workspaces/lake/runs?trigger=retry");
    expect(await screen.findByText("The database is unreachable.", {}, firstRender)).toBeInTheDocument();
  });
});

describe("run page", () => {
  it("follows an active run's log and state, and stops it", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    let state: Schemas["RunState"] = "RUNNING";
    const logCalls: string[] = [];
    let stopped = false;
    server.use(
      http.get(`${BASE}/runs/9`, () =>
        HttpResponse.json(runDetail({ id: 9, state, ended_at: state === "RUNNING" ? null : "2026-12-07T10:00:09Z" })),
      ),
      http.get(`${BASE}/runs/9/logs`, ({ request }) => {
        const after = new URL(request.url).searchParams.get("after") ?? "0";
        logCalls.push(after);
        if (after === "0") return HttpResponse.json({ attempt: 1, text: "line one\n", next_after: 1, complete: false });
        if (after === "1") return HttpResponse.json({ attempt: 1, text: "line two\n", next_after: 2, complete: false });
        return HttpResponse.json({ attempt: 1, text: stopped ? "attempt ended: CANCELLED\n" : "", next_after: stopped ? 3 : 2, complete: stopped });
      }),
      http.post(`${BASE}/runs/9/stop`, () => {
        stopped = true;
        state = "CANCELLED";
        return HttpResponse.json(run({ id: 9, state: "CANCELLED" }));
      }),
    );
    const user = userEvent.setup();
    renderApp("/workspaces/lake/runs/9");
    expect(await screen.findByRole("heading", { level: 1, name: /Run #9 · nightly_build/ }, firstRender)).toHaveTextContent("Running");
    const log = screen.getByLabelText("Log of attempt 1");
    await waitFor(() => expect(logLines(log)).toEqual(["line one", "line two"]));
    expect(screen.queryByRole("button", { name: "Retry" })).not.toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Stop" }));
    await waitFor(() => expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Cancelled"), { timeout: 4000 });
    await waitFor(() => expect(logLines(log).at(-1)).toBe("attempt ended: CANCELLED"), { timeout: 4000 });
    expect(screen.getByTestId("log-status")).toHaveTextContent("complete");
    expect(screen.queryByRole("button", { name: "Stop" })).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Retry" })).toBeInTheDocument();
    expect(logCalls[0]).toBe("0");
  });

  it("shows an ended run's attempts, timeline, result and download", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    server.use(
      http.get(`${BASE}/runs/7`, () =>
        HttpResponse.json(
          runDetail({
            transitions: [
              { at: "2026-12-07T10:00:00Z", attempt: 1, from_state: null, to_state: "QUEUED", reason: "manual", actor: "admin", rule: null, decision: null },
              { at: "2026-12-07T10:00:01Z", attempt: 1, from_state: "QUEUED", to_state: "RUNNING", reason: null, actor: "worker:w1", rule: null, decision: null },
              { at: "2026-12-07T10:00:04Z", attempt: 1, from_state: "RUNNING", to_state: "SUCCEEDED", reason: null, actor: "worker:w1", rule: null, decision: null },
            ],
          }),
        ),
      ),
      http.get(`${BASE}/runs/7/logs`, () =>
        HttpResponse.json({ attempt: 1, text: "attempt ended: SUCCEEDED\n", next_after: 4, complete: true }),
      ),
      http.get(`${BASE}/runs/7/result`, () =>
        HttpResponse.json({
          attempt: 1,
          columns: [
            { name: "day", type: "date32[day]" },
            { name: "kwh", type: "double" },
          ],
          rows: [
            ["2026-12-01", 1.5],
            ["2026-12-02", null],
          ],
          total_rows: 2,
          truncated: false,
          size_bytes: 2048,
        }),
      ),
    );
    renderApp("/workspaces/lake/runs/7");
    const grid = await screen.findByTestId("result-grid", {}, firstRender);
    expect(within(grid).getAllByRole("columnheader").map((th) => th.textContent)).toEqual(["daydate32[day]", "kwhdouble"]);
    expect(within(grid).getAllByRole("row")).toHaveLength(3);
    expect(screen.getByTestId("result-summary")).toHaveTextContent("2 rows");
    expect(screen.getByRole("link", { name: "Download Parquet (2.0 KiB)" })).toHaveAttribute(
      "href",
      "/api/v1/workspaces/lake/runs/7/result.parquet?attempt=1",
    );
    const timeline = screen.getByTestId("run-timeline");
    expect(within(timeline).getByText("QUEUED → RUNNING")).toBeInTheDocument();
    expect(within(timeline).getByText("RUNNING → SUCCEEDED")).toBeInTheDocument();
    expect(screen.getByTestId("run-facts")).toHaveTextContent("1 of 2");
    await waitFor(() => expect(screen.getByTestId("log-status")).toHaveTextContent("Attempt 1 · complete"));
    expect(screen.queryByRole("button", { name: "Stop" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Retry" })).not.toBeInTheDocument();
  });

  it("retries an ended run, and explains a refusal", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    server.use(
      http.get(`${BASE}/runs/8`, () =>
        HttpResponse.json(runDetail({ id: 8, state: "FAILED", state_reason: "engine_failed", state_message: "table t does not exist" })),
      ),
      http.get(`${BASE}/runs/8/logs`, () => HttpResponse.json({ attempt: 1, text: "", next_after: 0, complete: true })),
      http.post(`${BASE}/runs/8/retry`, () =>
        problem(409, "conflict", "Conflict", "The job has reached its limit of 1 concurrent run."),
      ),
    );
    const user = userEvent.setup();
    renderApp("/workspaces/lake/runs/8");
    expect(await screen.findByTestId("run-message", {}, firstRender)).toHaveTextContent("The engine reported an error: table t does not exist");
    await user.click(screen.getByRole("button", { name: "Retry" }));
    expect(await screen.findByText("The job has reached its limit of 1 concurrent run.")).toBeInTheDocument();
  });

  it("counts running time only, puts reasons in words, and runs a succeeded run again", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    let body: unknown = null;
    server.use(
      http.get(`${BASE}/runs/7`, () =>
        HttpResponse.json(
          // Retried two days after its first attempt failed: 65 s of running, not two days.
          runDetail({
            started_at: "2026-12-05T10:00:00Z",
            ended_at: "2026-12-07T10:00:40Z",
            run_time_seconds: 65.2,
            parameters: { min_n: 7 },
            attempt: 2,
            transitions: [
              { at: "2026-12-05T10:00:25Z", attempt: 1, from_state: "RUNNING", to_state: "FAILED", reason: "worker_lost", actor: "system", rule: null, decision: null },
              { at: "2026-12-07T10:00:00Z", attempt: 2, from_state: "FAILED", to_state: "QUEUED", reason: "retry", actor: "admin", rule: "retry-ended-run", decision: "attempt 2 of 2" },
            ],
          }),
        ),
      ),
      http.get(`${BASE}/runs/7/logs`, () => HttpResponse.json({ attempt: 2, text: "", next_after: 0, complete: true })),
      http.get(`${BASE}/runs/7/result`, () =>
        HttpResponse.json({ attempt: 2, columns: [], rows: [], total_rows: 0, truncated: false, size_bytes: 0 }),
      ),
      http.post(`${BASE}/jobs/nightly_build/runs`, async ({ request }) => {
        body = await request.json();
        return HttpResponse.json({ ...run({ id: 12, state: "QUEUED" }), created: true }, { status: 201 });
      }),
      http.get(`${BASE}/runs/12`, () => HttpResponse.json(runDetail({ id: 12, state: "QUEUED", started_at: null, ended_at: null, run_time_seconds: null }))),
      http.get(`${BASE}/runs/12/logs`, () => HttpResponse.json({ attempt: 1, text: "", next_after: 0, complete: false })),
    );
    const user = userEvent.setup();
    renderApp("/workspaces/lake/runs/7");
    const facts = await screen.findByTestId("run-facts", {}, firstRender);
    expect(facts).toHaveTextContent("Duration1 min 5 s");
    const timeline = screen.getByTestId("run-timeline");
    expect(within(timeline).getByText("The worker stopped answering")).toBeInTheDocument();
    expect(within(timeline).getByText("Retried · attempt 2 of 2")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Retry" })).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Run again" }));
    expect(await screen.findByRole("heading", { level: 1, name: /Run #12 · nightly_build/ })).toBeInTheDocument();
    expect(body).toEqual({ version: 2, parameters: { min_n: 7 } });
  });

  it("gives a viewer no Stop or Retry", async () => {
    signedIn(viewerUser, [workspaceAs("viewer")]);
    server.use(
      http.get(`${BASE}/runs/9`, () => HttpResponse.json(runDetail({ id: 9, state: "QUEUED", started_at: null, ended_at: null }))),
      http.get(`${BASE}/runs/9/logs`, () => HttpResponse.json({ attempt: 1, text: "", next_after: 0, complete: false })),
    );
    renderApp("/workspaces/lake/runs/9");
    expect(await screen.findByRole("heading", { level: 1, name: /Run #9 · nightly_build/ }, firstRender)).toHaveTextContent("Queued");
    await screen.findByText(/following/);
    expect(screen.queryByRole("button", { name: "Stop" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Retry" })).not.toBeInTheDocument();
  });

  it("says when the run does not exist", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    server.use(
      http.get(`${BASE}/runs/404`, () => problem(404, "not-found", "Not found", "There is no run 404 in workspace lake.")),
    );
    renderApp("/workspaces/lake/runs/404");
    expect(await screen.findByText("There is no run 404 in workspace lake.", {}, firstRender)).toBeInTheDocument();
  });
});

/** The log viewer's lines as shown (line numbers are drawn by CSS, not text). */
function logLines(log: HTMLElement): string[] {
  return Array.from(log.querySelectorAll("[data-line]"), (line) => line.textContent ?? "");
}

describe("runs matrix", () => {
  it("shows jobs × recent runs oldest first, states by icon and name, and where the version changed", async () => {
    signedIn(undefined, [workspaceAs("viewer")]);
    const asked: URL[] = [];
    server.use(
      jobsAnswer(),
      http.get(`${BASE}/runs`, ({ request }) => {
        const url = new URL(request.url);
        asked.push(url);
        if (url.searchParams.get("job") === "report") return HttpResponse.json({ items: [], next_cursor: null });
        // Newest first, as the API answers: version 2 since run 12
        return HttpResponse.json({
          items: [
            run({ id: 13, job_version: 2, state: "RUNNING", ended_at: null }),
            run({ id: 12, job_version: 2, state: "FAILED" }),
            run({ id: 11, job_version: 1, state: "SUCCEEDED" }),
            run({ id: 10, job_version: 1, state: "TIMED_OUT" }),
          ],
          next_cursor: null,
        });
      }),
    );
    const { router } = renderApp("/workspaces/lake/runs?view=matrix&trigger=schedule&per=40");
    const matrix = await screen.findByRole("table", { name: "Matrix" }, firstRender);
    const build = await waitFor(() => {
      const row = matrix.querySelector('[data-job="nightly_build"]') as HTMLElement;
      expect(within(row).getAllByRole("link").length).toBeGreaterThan(1);
      return row;
    });
    const cells = within(build)
      .getAllByRole("link")
      .filter((link) => link.hasAttribute("data-run"));
    expect(cells.map((cell) => cell.getAttribute("data-run"))).toEqual(["10", "11", "12", "13"]);
    expect(cells[2]).toHaveAccessibleName(/^Run #12: Failed, version 2, /);
    expect(cells[2]).toHaveAttribute("href", "/workspaces/lake/runs/12");
    // Each state has its own icon too, not only a colour
    expect(cells.map((cell) => cell.querySelector("[data-state]")!.getAttribute("data-state"))).toEqual([
      "TIMED_OUT",
      "SUCCEEDED",
      "FAILED",
      "RUNNING",
    ]);
    const markers = within(build).getAllByRole("img", { name: "version 2 from here" });
    expect(markers).toHaveLength(1);
    expect(markers[0]!.nextElementSibling).toBe(cells[2]);
    const report = matrix.querySelector('[data-job="report"]') as HTMLElement;
    await waitFor(() => expect(report).toHaveTextContent("no runs"));
    // The legend names every state beside its square
    const legend = screen.getByRole("region", { name: "Legend" });
    expect(within(legend).getByText("Timed out")).toBeInTheDocument();
    expect(within(legend).getByText("version changed")).toBeInTheDocument();
    // Per job, the trigger and the count from the URL reach the API; the list's state filter is not offered
    const buildAsk = asked.find((url) => url.searchParams.get("job") === "nightly_build")!;
    expect([buildAsk.searchParams.get("trigger"), buildAsk.searchParams.get("limit")]).toEqual(["schedule", "40"]);
    expect(screen.queryByRole("combobox", { name: "State" })).not.toBeInTheDocument();
    expect(router.state.location.search).toEqual({ view: "matrix", trigger: "schedule", per: 40 });
    await userEvent.click(screen.getByRole("link", { name: "List" }));
    await waitFor(() => expect(router.state.location.search).toEqual({ trigger: "schedule", per: 40 }));
  });
});
