import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";

import { buildJob, reportJob, run, runDetail, sparkJob, viewerUser, workspaceAs } from "@/features/runs/fixtures";
import { renderApp } from "@/test/render";
import { problem, server, signedIn } from "@/test/server";

import { cronInWords } from "./api";

const BASE = "*/api/v1/workspaces/lake";
const firstRender = { timeout: 5000 };

function runsAnswer() {
  return http.get(`${BASE}/runs`, ({ request }) => {
    const job = new URL(request.url).searchParams.get("job");
    if (job === "nightly_build")
      return HttpResponse.json({ items: [run({ id: 7 }), run({ id: 4, state: "FAILED" })], next_cursor: null });
    return HttpResponse.json({ items: [], next_cursor: null });
  });
}

const versions = {
  items: [
    { version: 2, message: "Adds the region", created_by: "admin", created_at: "2026-12-02T10:00:00Z", run_as: "admin", definition: {} },
    { version: 1, message: "", created_by: "ada", created_at: "2026-12-01T10:00:00Z", run_as: "ada", definition: {} },
  ],
  next_cursor: null,
};

describe("schedule in words", () => {
  it("reads the common cron shapes", () => {
    expect(cronInWords("0 1 * * *")).toBe("Every day at 01:00");
    expect(cronInWords("*/15 * * * *")).toBe("Every 15 minutes");
    expect(cronInWords("30 * * * *")).toBe("Every hour at :30");
    expect(cronInWords("0 9 * * 1-5")).toBe("Weekdays at 09:00");
    expect(cronInWords("0 6 * * 1")).toBe("Every Monday at 06:00");
    expect(cronInWords("0 2 1 * *")).toBe("On day 1 of every month at 02:00");
    expect(cronInWords("0 2 1 1 *")).toBe("Cron 0 2 1 1 *");
  });
});

describe("jobs list", () => {
  it("lists jobs with schedule, paused state, next run and last run; filters in the URL", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    const asked: URL[] = [];
    server.use(
      http.get(`${BASE}/jobs`, ({ request }) => {
        const url = new URL(request.url);
        asked.push(url);
        const q = url.searchParams.get("q");
        const items = [buildJob, reportJob, sparkJob].filter((job) => !q || job.name.includes(q));
        return HttpResponse.json({ items, next_cursor: null });
      }),
      runsAnswer(),
    );
    const user = userEvent.setup();
    const { router } = renderApp("/workspaces/lake/jobs");
    const build = (await screen.findByRole("link", { name: "nightly_build" }, firstRender)).closest("tr")!;
    expect(build).toHaveTextContent("Every day at 01:00 (Asia/Riyadh)");
    expect(build).toHaveTextContent("active");
    expect(build).toHaveTextContent("in 3 hours");
    await waitFor(() => expect(within(build).getByText("Succeeded")).toBeInTheDocument());
    const report = screen.getByRole("link", { name: "report" }).closest("tr")!;
    expect(report).toHaveTextContent("manual only");
    expect(within(report).queryByRole("button", { name: "Pause" })).not.toBeInTheDocument();
    const spark = screen.getByRole("link", { name: "spark_etl" }).closest("tr")!;
    expect(spark).toHaveTextContent("Sparkspark_local · v2");
    expect(spark).toHaveTextContent("paused");
    expect(spark).toHaveTextContent("not firing");
    expect(within(spark).getByRole("button", { name: "Resume" })).toBeInTheDocument();

    await user.selectOptions(screen.getByRole("combobox", { name: "Type" }), "spark");
    await waitFor(() => expect(screen.queryByRole("link", { name: "report" })).not.toBeInTheDocument());
    expect(router.state.location.search).toEqual({ type: "spark" });

    await user.selectOptions(screen.getByRole("combobox", { name: "Type" }), "");
    await user.selectOptions(screen.getByRole("combobox", { name: "Schedule" }), "paused");
    await waitFor(() => expect(screen.queryByRole("link", { name: "nightly_build" })).not.toBeInTheDocument());
    expect(screen.getByRole("link", { name: "spark_etl" })).toBeInTheDocument();
    expect(screen.queryByRole("link", { name: "report" })).not.toBeInTheDocument();
    expect(router.state.location.search).toEqual({ status: "paused" });
    await user.selectOptions(screen.getByRole("combobox", { name: "Schedule" }), "manual");
    await waitFor(() => expect(screen.getByRole("link", { name: "report" })).toBeInTheDocument());
    expect(screen.queryByRole("link", { name: "spark_etl" })).not.toBeInTheDocument();
    await user.selectOptions(screen.getByRole("combobox", { name: "Schedule" }), "");
    await user.type(screen.getByRole("searchbox", { name: "Search jobs" }), "rep");
    await waitFor(() => expect(router.state.location.search).toEqual({ q: "rep" }));
    await waitFor(() => expect(asked.at(-1)?.searchParams.get("q")).toBe("rep"));
  });

  it("pauses a job, and explains a refusal", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    let paused = false;
    server.use(
      http.get(`${BASE}/jobs`, () => HttpResponse.json({ items: [{ ...buildJob, paused }, sparkJob], next_cursor: null })),
      runsAnswer(),
      http.post(`${BASE}/jobs/nightly_build/pause`, () => {
        paused = true;
        return HttpResponse.json({ ...buildJob, paused: true });
      }),
      http.post(`${BASE}/jobs/spark_etl/resume`, () =>
        problem(403, "forbidden", "Forbidden", "Only editors and admins of workspace lake may change its jobs."),
      ),
    );
    const user = userEvent.setup();
    renderApp("/workspaces/lake/jobs");
    const build = (await screen.findByRole("link", { name: "nightly_build" }, firstRender)).closest("tr")!;
    await user.click(within(build).getByRole("button", { name: "Pause" }));
    await waitFor(() => expect(within(build).getByRole("button", { name: "Resume" })).toBeInTheDocument());
    expect(build).toHaveTextContent("not firing");
    const spark = screen.getByRole("link", { name: "spark_etl" }).closest("tr")!;
    await user.click(within(spark).getByRole("button", { name: "Resume" }));
    expect(await screen.findByText("Only editors and admins of workspace lake may change its jobs.")).toBeInTheDocument();
  });

  it("gives a viewer no write buttons and says why", async () => {
    signedIn(viewerUser, [workspaceAs("viewer")]);
    server.use(
      http.get(`${BASE}/jobs`, () => HttpResponse.json({ items: [buildJob, sparkJob], next_cursor: null })),
      runsAnswer(),
    );
    renderApp("/workspaces/lake/jobs");
    await screen.findByRole("link", { name: "nightly_build" }, firstRender);
    expect(screen.getByText(/You are a viewer in this workspace/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Run now|Pause|Resume/ })).not.toBeInTheDocument();
  });

  it("shows the empty and error states", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    server.use(http.get(`${BASE}/jobs`, () => HttpResponse.json({ items: [], next_cursor: null })));
    renderApp("/workspaces/lake/jobs");
    expect(await screen.findByText("No jobs yet", {}, firstRender)).toBeInTheDocument();
  });

  it("explains a failed list", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    server.use(http.get(`${BASE}/jobs`, () => problem(500, "internal", "Internal error", "The database is unreachable.")));
    renderApp("/workspaces/lake/jobs");
    expect(await screen.findByText("The database is unreachable.", {}, firstRender)).toBeInTheDocument();
  });
});

describe("job page", () => {
  it("shows the definition read-only, schedule, versions and recent runs", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    server.use(
      http.get(`${BASE}/jobs/nightly_build`, () => HttpResponse.json(buildJob)),
      http.get(`${BASE}/jobs/nightly_build/versions`, () => HttpResponse.json(versions)),
      runsAnswer(),
    );
    renderApp("/workspaces/lake/jobs/nightly_build");
    const sql = await screen.findByTestId("job-sql", {}, firstRender);
    expect(sql.tagName).toBe("PRE");
    // What the author wrote is text, never HTML.
    expect(sql).toHaveTextContent("CREATE TABLE t AS SELECT 1 AS <b>x</b>");
    expect(screen.getByTestId("job-schedule")).toHaveTextContent("Every day at 01:00 (Asia/Riyadh)");
    expect(screen.getByTestId("job-schedule")).toHaveTextContent("0 1 * * * Asia/Riyadh");
    expect(await screen.findByText("Adds the region")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "#7" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "#4" }).closest("tr")).toHaveTextContent("Failed");
    expect(screen.getByText("up to 1 automatic retry, first after 30 s")).toBeInTheDocument();
    for (const name of ["Pause", "Run now", "Rerun failed", "Delete job"])
      expect(screen.getByRole("button", { name })).toBeInTheDocument();
  });

  it("runs a job with typed parameters and opens the run", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    let body: unknown = null;
    server.use(
      http.get(`${BASE}/jobs/report`, () => HttpResponse.json(reportJob)),
      http.get(`${BASE}/jobs/report/versions`, () => HttpResponse.json({ items: [versions.items[1]], next_cursor: null })),
      runsAnswer(),
      http.post(`${BASE}/jobs/report/runs`, async ({ request }) => {
        body = await request.json();
        return HttpResponse.json({ ...run({ id: 12, job: "report", state: "QUEUED" }), created: true }, { status: 201 });
      }),
      http.get(`${BASE}/runs/12`, () => HttpResponse.json(runDetail({ id: 12, job: "report", state: "QUEUED", started_at: null, ended_at: null }))),
      http.get(`${BASE}/runs/12/logs`, () => HttpResponse.json({ attempt: 1, text: "", next_after: 0, complete: false })),
    );
    const user = userEvent.setup();
    const { router } = renderApp("/workspaces/lake/jobs/report");
    await user.click(await screen.findByRole("button", { name: "Run now" }, firstRender));
    const dialog = await screen.findByRole("dialog", { name: "Run report" });
    await user.click(within(dialog).getByRole("button", { name: "Start the run" }));
    expect(within(dialog).getByText(/A value is needed/)).toBeInTheDocument();
    expect(body).toBeNull();
    await user.type(within(dialog).getByLabelText("min_x (integer)"), "1.5");
    await user.click(within(dialog).getByRole("button", { name: "Start the run" }));
    expect(within(dialog).getByText("Enter a number.")).toBeInTheDocument();
    await user.clear(within(dialog).getByLabelText("min_x (integer)"));
    await user.type(within(dialog).getByLabelText("min_x (integer)"), "5");
    await user.click(within(dialog).getByRole("button", { name: "Start the run" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/workspaces/lake/runs/12"));
    expect(body).toEqual({ parameters: { min_x: 5 } });
  });

  it("deletes a job, and explains a refusal", async () => {
    signedIn(undefined, [workspaceAs("admin")]);
    server.use(
      http.get(`${BASE}/jobs/nightly_build`, () => HttpResponse.json(buildJob)),
      http.get(`${BASE}/jobs/nightly_build/versions`, () => HttpResponse.json(versions)),
      runsAnswer(),
      http.delete(`${BASE}/jobs/nightly_build`, () =>
        problem(409, "conflict", "Conflict", "Job nightly_build has an unfinished run (#9): stop it first."),
      ),
    );
    const user = userEvent.setup();
    renderApp("/workspaces/lake/jobs/nightly_build");
    await user.click(await screen.findByRole("button", { name: "Delete job" }, firstRender));
    const dialog = await screen.findByRole("dialog", { name: "Delete nightly_build?" });
    await user.click(within(dialog).getByRole("button", { name: "Delete" }));
    expect(await within(dialog).findByText(/has an unfinished run \(#9\)/)).toBeInTheDocument();
  });

  it("shows a Spark job's file and arguments, read-only for a viewer", async () => {
    signedIn(viewerUser, [workspaceAs("viewer")]);
    server.use(
      http.get(`${BASE}/jobs/spark_etl`, () => HttpResponse.json(sparkJob)),
      http.get(`${BASE}/jobs/spark_etl/versions`, () => HttpResponse.json(versions)),
      runsAnswer(),
    );
    renderApp("/workspaces/lake/jobs/spark_etl");
    expect(await screen.findByText("/jobs/etl.py", {}, firstRender)).toBeInTheDocument();
    expect(screen.getByText("--day {{day}}")).toBeInTheDocument();
    expect(await screen.findByText("Adds the region")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Run now|Resume|Delete job|Rerun failed|Run this version/ })).not.toBeInTheDocument();
  });

  it("shows what changed between two versions", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    server.use(
      http.get(`${BASE}/jobs/nightly_build`, () => HttpResponse.json(buildJob)),
      http.get(`${BASE}/jobs/nightly_build/versions`, () => HttpResponse.json(versions)),
      runsAnswer(),
      http.get(`${BASE}/jobs/nightly_build/versions/1/diff/2`, () =>
        HttpResponse.json({
          from_version: 1,
          to_version: 2,
          changes: [{ path: "task.sql", before: "SELECT 1", after: "SELECT 2" }],
          unified: '--- v1\n+++ v2\n@@ -1 +1 @@\n-  "sql": "SELECT 1"\n+  "sql": "SELECT 2"',
        }),
      ),
    );
    const user = userEvent.setup();
    renderApp("/workspaces/lake/jobs/nightly_build");
    await user.click(await screen.findByRole("button", { name: "Changes from v1 to v2" }, firstRender));
    const dialog = await screen.findByRole("dialog", { name: "Changes from v1 to v2" });
    expect(await within(dialog).findByText("Changed: task.sql")).toBeInTheDocument();
    expect(within(dialog).getByTestId("version-diff")).toHaveTextContent(/\+\s+"sql": "SELECT 2"/);
    expect(screen.queryByRole("button", { name: "Changes from v0 to v1" })).not.toBeInTheDocument();
  });

  it("says when the job does not exist", async () => {
    signedIn(undefined, [workspaceAs("editor")]);
    server.use(http.get(`${BASE}/jobs/gone`, () => problem(404, "not-found", "Not found", "No job gone.")));
    renderApp("/workspaces/lake/jobs/gone");
    expect(await screen.findByText("There is no job gone in this workspace.", {}, firstRender)).toBeInTheDocument();
  });
});
