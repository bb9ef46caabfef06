/** A job being written in the form (every field as the inputs hold it) and the API's definition:
 * turning one into the other, with the form's own checks (a number default stays a number). */
import { jobsMessages } from "@/lib/messages/jobs";

import type { Definition } from "./api";

const t = jobsMessages;

export type TaskType = "sql" | "spark";
export type ParameterType = "string" | "integer" | "number" | "decimal" | "boolean" | "date" | "timestamp";
export const PARAMETER_TYPES: ParameterType[] = ["string", "integer", "number", "decimal", "boolean", "date", "timestamp"];
export type NotificationEvent = "failure" | "success" | "duration_exceeded";
export const NOTIFICATION_EVENTS: NotificationEvent[] = ["failure", "success", "duration_exceeded"];

export type ParameterDraft = { name: string; type: ParameterType; required: boolean; default: string; description: string };
export type NotificationDraft = { url: string; on: NotificationEvent[]; threshold: string };
export type Resources = { cores: string; memory: string; instances: string };

export type Draft = {
  name: string;
  description: string;
  message: string;
  type: TaskType;
  sql: { engine: "duckdb" | "trino"; connection: string; sql: string };
  spark: {
    engine: "spark_local" | "spark_k8s";
    connection: string;
    kind: "pyspark" | "sql" | "jar";
    from: "file" | "source";
    file: string;
    source: string;
    mainClass: string;
    /** One argument a line. */
    args: string;
    conf: { key: string; value: string }[];
    driver: Resources;
    executor: Resources;
  };
  parameters: ParameterDraft[];
  scheduled: boolean;
  schedule: { cron: string; timezone: string; catchUp: "skip" | "backfill" };
  notifications: NotificationDraft[];
  retries: string;
  timeout: string;
  /** What the form does not edit (backoff, concurrency, …), kept as it was. */
  rest: Record<string, unknown>;
};

const browserZone = () => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
};

const resources = (value: unknown): Resources => {
  const r = (value ?? {}) as { cores?: number; memory?: string; instances?: number };
  return { cores: String(r.cores ?? 1), memory: r.memory ?? "1g", instances: String(r.instances ?? 1) };
};

export function emptyDraft(): Draft {
  return {
    name: "",
    description: "",
    message: "",
    type: "sql",
    sql: { engine: "duckdb", connection: "", sql: "" },
    spark: {
      engine: "spark_local",
      connection: "",
      kind: "pyspark",
      from: "source",
      file: "",
      source: "",
      mainClass: "",
      args: "",
      conf: [],
      driver: resources(null),
      executor: resources(null),
    },
    parameters: [],
    scheduled: false,
    schedule: { cron: "0 2 * * *", timezone: browserZone(), catchUp: "skip" },
    notifications: [],
    retries: "0",
    timeout: "",
    rest: {},
  };
}

/** The form's fields for a stored definition. */
export function draftFrom(name: string, definition: Definition): Draft {
  const draft = emptyDraft();
  const { task, parameters, schedule, retry, timeout_seconds, description, ...rest } = definition as Definition & {
    notifications?: { url: string; on: NotificationEvent[]; duration_threshold_seconds?: number | null }[];
  };
  const { notifications, ...others } = rest as { notifications?: unknown[] } & Record<string, unknown>;
  draft.name = name;
  draft.description = description ?? "";
  draft.type = task.type;
  const anyTask = task as Record<string, unknown>;
  if (task.type === "sql") {
    draft.sql = {
      engine: (anyTask.engine as "duckdb" | "trino") ?? "duckdb",
      connection: (anyTask.connection as string | null) ?? "",
      sql: (anyTask.sql as string) ?? "",
    };
  } else {
    draft.spark = {
      engine: (anyTask.engine as "spark_local" | "spark_k8s") ?? "spark_local",
      connection: (anyTask.connection as string | null) ?? "",
      kind: (anyTask.kind as "pyspark" | "sql" | "jar") ?? "pyspark",
      from: anyTask.file ? "file" : "source",
      file: (anyTask.file as string | null) ?? "",
      source: (anyTask.source as string | null) ?? "",
      mainClass: (anyTask.main_class as string | null) ?? "",
      args: ((anyTask.args as string[] | undefined) ?? []).join("\n"),
      conf: Object.entries((anyTask.conf as Record<string, string> | undefined) ?? {}).map(([key, value]) => ({ key, value })),
      driver: resources(anyTask.driver),
      executor: resources(anyTask.executor),
    };
  }
  draft.parameters = (parameters ?? []).map((spec) => ({
    name: spec.name,
    type: (spec.type ?? "string") as ParameterType,
    required: spec.default === null || spec.default === undefined,
    default: spec.default === null || spec.default === undefined ? "" : String(spec.default),
    description: spec.description ?? "",
  }));
  if (schedule) {
    draft.scheduled = true;
    draft.schedule = { cron: schedule.cron, timezone: schedule.timezone ?? "UTC", catchUp: schedule.catch_up ?? "skip" };
  }
  draft.notifications = ((notifications ?? []) as { url: string; on: NotificationEvent[]; duration_threshold_seconds?: number | null }[]).map(
    (n) => ({ url: n.url, on: [...n.on], threshold: n.duration_threshold_seconds ? String(n.duration_threshold_seconds) : "" }),
  );
  const { max_attempts, ...retryRest } = (retry ?? {}) as { max_attempts?: number } & Record<string, unknown>;
  draft.retries = String(Math.max(0, (max_attempts ?? 1) - 1));
  draft.timeout = timeout_seconds ? String(timeout_seconds) : "";
  draft.rest = { ...others, ...(Object.keys(retryRest).length ? { retry: retryRest } : {}) };
  return draft;
}

type Json = string | number | boolean;

/** A parameter's default as the API wants it: a number for integer/number, a boolean, text otherwise. */
export function typedValue(type: ParameterType, text: string): { value?: Json; error?: string } {
  if (type === "integer" || type === "number") {
    const value = Number(text.trim());
    if (text.trim() === "" || !Number.isFinite(value)) return { error: t.badNumber };
    if (type === "integer" && !Number.isInteger(value)) return { error: t.badInteger };
    return { value };
  }
  if (type === "boolean") {
    if (text !== "true" && text !== "false") return { error: t.badBoolean };
    return { value: text === "true" };
  }
  if (type === "date" && !/^\d{4}-\d{2}-\d{2}$/.test(text)) return { error: t.badDate };
  if (type === "decimal" && !/^[-+]?\d+(\.\d+)?$/.test(text.trim())) return { error: t.badNumber };
  return { value: type === "decimal" ? text.trim() : text };
}

const positiveInteger = (text: string) => /^\d+$/.test(text.trim()) && Number(text) >= 1;

/** The definition the API takes (`errors` by field path, as the server names them, when the form
 * finds something wrong first). */
export function definitionFrom(draft: Draft): { body: Record<string, unknown>; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  let task: Record<string, unknown>;
  if (draft.type === "sql") {
    const sql = draft.sql;
    if (!sql.sql.trim()) errors["task.sql"] = t.sqlNeeded;
    if (sql.engine === "trino" && !sql.connection) errors["task.connection"] = t.connectionNeeded;
    task = { type: "sql", engine: sql.engine, sql: sql.sql, connection: sql.engine === "trino" ? sql.connection : null };
  } else {
    const s = draft.spark;
    if (s.engine === "spark_k8s" && !s.connection) errors["task.connection"] = t.connectionNeeded;
    const fromFile = s.from === "file" || s.kind === "jar";
    if (fromFile && !s.file.trim()) errors["task.file"] = t.fileNeeded;
    if (!fromFile && !s.source.trim()) errors["task.source"] = t.sourceNeeded;
    const conf: Record<string, string> = {};
    s.conf.forEach(({ key, value }, index) => {
      if (!key.trim() && !value.trim()) return;
      if (!key.trim()) errors[`task.conf.${index}`] = t.confKeyNeeded;
      else conf[key.trim()] = value;
    });
    const res = (r: Resources, path: string, executor: boolean) => {
      for (const [field, text] of [["cores", r.cores], ...(executor ? [["instances", r.instances]] : [])] as [string, string][])
        if (!positiveInteger(text)) errors[`${path}.${field}`] = t.wholeNumber;
      if (!/^[1-9][0-9]{0,6}[kmgt]$/.test(r.memory.trim())) errors[`${path}.memory`] = t.badMemory;
      return {
        cores: Number(r.cores),
        memory: r.memory.trim(),
        ...(executor ? { instances: Number(r.instances) } : {}),
      };
    };
    task = {
      type: "spark",
      engine: s.engine,
      connection: s.connection || null,
      kind: s.kind,
      ...(fromFile ? { file: s.file.trim(), source: null } : { source: s.source, file: null }),
      ...(s.kind === "jar" && s.mainClass.trim() ? { main_class: s.mainClass.trim() } : {}),
      args: s.args.split("\n").filter((line) => line.trim() !== ""),
      conf,
      driver: res(s.driver, "task.driver", false),
      executor: res(s.executor, "task.executor", true),
    };
  }
  const seen = new Set<string>();
  const parameters = draft.parameters.map((p, index) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(p.name)) errors[`parameters.${index}.name`] = t.badParameterName;
    else if (seen.has(p.name)) errors[`parameters.${index}.name`] = t.duplicateParameter;
    seen.add(p.name);
    let value: Json | null = null;
    if (!p.required) {
      const typed = typedValue(p.type, p.default);
      if (typed.error) errors[`parameters.${index}.default`] = typed.error;
      else value = typed.value ?? null;
    }
    return { name: p.name, type: p.type, default: value, description: p.description };
  });
  const notifications = draft.notifications.map((n, index) => {
    if (!/^https?:\/\/\S+$/.test(n.url.trim())) errors[`notifications.${index}.url`] = t.badUrl;
    if (n.on.length === 0) errors[`notifications.${index}.on`] = t.eventNeeded;
    const wantsThreshold = n.on.includes("duration_exceeded");
    if (wantsThreshold && !positiveInteger(n.threshold)) errors[`notifications.${index}.duration_threshold_seconds`] = t.wholeNumber;
    return {
      url: n.url.trim(),
      on: n.on,
      duration_threshold_seconds: wantsThreshold && positiveInteger(n.threshold) ? Number(n.threshold) : null,
    };
  });
  if (!/^\d+$/.test(draft.retries.trim()) || Number(draft.retries) > 19) errors["retry.max_attempts"] = t.badRetries;
  if (draft.timeout.trim() && !positiveInteger(draft.timeout)) errors.timeout_seconds = t.wholeNumber;
  const { retry: retryRest, ...rest } = draft.rest as { retry?: Record<string, unknown> } & Record<string, unknown>;
  const body: Record<string, unknown> = {
    ...rest,
    description: draft.description,
    task,
    parameters,
    schedule: draft.scheduled
      ? { cron: draft.schedule.cron.trim(), timezone: draft.schedule.timezone.trim(), catch_up: draft.schedule.catchUp }
      : null,
    notifications,
    retry: { ...(retryRest ?? {}), max_attempts: Number(draft.retries) + 1 },
    timeout_seconds: draft.timeout.trim() ? Number(draft.timeout) : null,
  };
  return { body, errors };
}

/** The server's field errors under the form's names: pydantic names a task's fields under its
 * type (`task.sql.sql`, `task.spark.file`), the form under the task (`task.sql`, `task.file`). */
export function formFieldErrors(fieldErrors: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, message] of Object.entries(fieldErrors)) {
    const key = path.replace(/^task\.(sql|spark)\./, "task.");
    out[key] ??= message;
  }
  return out;
}
