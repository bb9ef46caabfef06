/** API answers the jobs and runs tests share. */
import type { Schemas } from "@/api/client";
import { admin } from "@/test/server";

export const workspaceAs = (role: Schemas["WorkspaceRole"]): Schemas["WorkspaceOut"] => ({
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
export const viewerUser: Schemas["UserOut"] = { ...admin, username: "vic", display_name: "Vic Viewer", role: "user" };

export const buildJob: Schemas["JobOut"] = {
  name: "nightly_build",
  current_version: 2,
  paused: false,
  run_as: "admin",
  author: "admin",
  created_by: "admin",
  created_at: "2026-12-01T10:00:00Z",
  updated_at: "2026-12-02T10:00:00Z",
  next_fire_at: new Date(Date.now() + 3 * 3600_000).toISOString(),
  definition: {
    description: "Builds the daily table",
    task: { type: "sql", engine: "duckdb", sql: "CREATE TABLE t AS SELECT 1 AS <b>x</b>" },
    schedule: { cron: "0 1 * * *", timezone: "Asia/Riyadh", catch_up: "skip" },
    parameters: [],
    retry: { max_attempts: 2, backoff_seconds: 30 },
    timeout_seconds: 600,
    max_concurrent_runs: 1,
  },
};

export const reportJob: Schemas["JobOut"] = {
  ...buildJob,
  name: "report",
  current_version: 1,
  next_fire_at: null,
  definition: {
    description: "",
    task: { type: "sql", engine: "duckdb", sql: "SELECT * FROM t WHERE x >= :min_x" },
    schedule: null,
    parameters: [
      { name: "min_x", type: "integer", default: null, description: "Smallest x" },
      { name: "label", type: "string", default: "all", description: "" },
    ],
  },
};

export const sparkJob: Schemas["JobOut"] = {
  ...buildJob,
  name: "spark_etl",
  paused: true,
  definition: {
    task: {
      type: "spark",
      engine: "spark_local",
      kind: "pyspark",
      file: "/jobs/etl.py",
      args: ["--day", "{{day}}"],
      conf: {},
    },
    schedule: { cron: "*/15 * * * *", timezone: "UTC", catch_up: "skip" },
    parameters: [],
  },
};

export function run(overrides: Partial<Schemas["RunOut"]> = {}): Schemas["RunOut"] {
  return {
    id: 7,
    job: "nightly_build",
    job_version: 2,
    state: "SUCCEEDED",
    trigger: "manual",
    attempt: 1,
    max_attempts: 2,
    owner: "admin",
    parameters: {},
    created_at: "2026-12-07T10:00:00Z",
    started_at: "2026-12-07T10:00:01Z",
    ended_at: "2026-12-07T10:00:04Z",
    run_time_seconds: 3,
    scheduled_for: null,
    next_attempt_at: null,
    idempotency_key: null,
    state_reason: null,
    state_message: null,
    triggered_by: "admin",
    version_author: "admin",
    ...overrides,
  } as Schemas["RunOut"];
}

export function runDetail(overrides: Partial<Schemas["RunDetailOut"]> = {}): Schemas["RunDetailOut"] {
  const base = run(overrides as Partial<Schemas["RunOut"]>);
  return {
    ...base,
    attempts: [
      {
        number: 1,
        state: base.state,
        queued_at: "2026-12-07T10:00:00Z",
        started_at: base.started_at,
        ended_at: base.ended_at,
        reason: "manual",
        message: null,
        worker_id: "w1",
        result_rows: base.state === "SUCCEEDED" ? 2 : null,
      },
    ],
    transitions: [
      { at: "2026-12-07T10:00:00Z", attempt: 1, from_state: null, to_state: "QUEUED", reason: "manual", actor: "admin", rule: null, decision: null },
    ],
    ...overrides,
  } as Schemas["RunDetailOut"];
}
