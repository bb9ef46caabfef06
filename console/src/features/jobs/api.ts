/** Jobs: query options and how a job's definition reads (schedule in words, task, parameters). */
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";

import { api, call, type Schemas } from "@/api/client";
import { jobsMessages } from "@/lib/messages/jobs";

export type Job = Schemas["JobOut"];
export type JobVersion = Schemas["JobVersionOut"];
export type ParameterSpec = Schemas["ParameterSpec"];
export type Schedule = Schemas["Schedule"];
export type SqlTask = Schemas["SqlTaskSpec"];
export type SparkTask = Schemas["SparkTaskSpec"];

/** The parts of a job's stored definition the pages show (the API gives it as an object). */
export type Definition = {
  description?: string;
  task: (SqlTask | SparkTask) & { type: "sql" | "spark" };
  schedule?: Schedule | null;
  parameters?: ParameterSpec[];
  retry?: { max_attempts?: number; backoff_seconds?: number; [key: string]: unknown };
  timeout_seconds?: number | null;
  max_concurrent_runs?: number;
};

export const definitionOf = (job: { definition: Record<string, unknown> }) => job.definition as unknown as Definition;

export const jobKeys = {
  all: (workspace: string) => ["workspaces", workspace, "jobs"] as const,
  one: (workspace: string, job: string) => ["workspaces", workspace, "jobs", "one", job] as const,
};

export const jobsQuery = (workspace: string, q?: string) =>
  infiniteQueryOptions({
    queryKey: [...jobKeys.all(workspace), "list", q ?? ""],
    queryFn: ({ pageParam }) =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/jobs", {
          params: {
            path: { workspace },
            query: { limit: 50, ...(q ? { q } : {}), ...(pageParam ? { cursor: pageParam } : {}) },
          },
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });

/** Every job's name, for the runs page's job filter. */
export const jobNamesQuery = (workspace: string) =>
  queryOptions({
    queryKey: [...jobKeys.all(workspace), "names"],
    queryFn: async () => {
      const page = await call(
        api.GET("/api/v1/workspaces/{workspace}/jobs", { params: { path: { workspace }, query: { limit: 200 } } }),
      );
      return page.items.map((job) => job.name);
    },
    staleTime: 60_000,
  });

export const jobQuery = (workspace: string, job: string) =>
  queryOptions({
    queryKey: jobKeys.one(workspace, job),
    queryFn: () => call(api.GET("/api/v1/workspaces/{workspace}/jobs/{job}", { params: { path: { workspace, job } } })),
  });

export const versionsQuery = (workspace: string, job: string) =>
  infiniteQueryOptions({
    queryKey: [...jobKeys.one(workspace, job), "versions"],
    queryFn: ({ pageParam }) =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/jobs/{job}/versions", {
          params: { path: { workspace, job }, query: { limit: 20, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });

const pad = (value: string) => value.padStart(2, "0");
const isNumber = (value: string) => /^\d+$/.test(value);

/** A five-field cron in words for the common shapes; the cron itself otherwise. */
export function cronInWords(cron: string): string {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) return jobsMessages.cron(cron);
  const [minute, hour, day, month, weekday] = fields as [string, string, string, string, string];
  const time = isNumber(minute) && isNumber(hour) ? `${pad(hour)}:${pad(minute)}` : null;
  const everyDay = day === "*" && month === "*";
  if (minute === "*" && hour === "*" && everyDay && weekday === "*") return jobsMessages.everyMinute;
  const step = /^\*\/(\d+)$/.exec(minute);
  if (step && hour === "*" && everyDay && weekday === "*") return jobsMessages.everyMinutes(step[1]!);
  if (isNumber(minute) && hour === "*" && everyDay && weekday === "*") return jobsMessages.everyHourAt(pad(minute));
  if (time && everyDay && weekday === "*") return jobsMessages.everyDayAt(time);
  if (time && everyDay && weekday === "1-5") return jobsMessages.weekdaysAt(time);
  if (time && everyDay && isNumber(weekday) && Number(weekday) <= 7)
    return jobsMessages.everyWeekdayAt(jobsMessages.weekdays[Number(weekday) % 7]!, time);
  if (time && isNumber(day) && month === "*" && weekday === "*") return jobsMessages.monthlyAt(day, time);
  return jobsMessages.cron(cron);
}

export function scheduleInWords(schedule: Schedule | null | undefined): string {
  if (!schedule) return jobsMessages.manual;
  return `${cronInWords(schedule.cron)} ${jobsMessages.inZone(schedule.timezone ?? "UTC")}`;
}

export function engineOf(definition: Definition): string {
  return String((definition.task as { engine?: string }).engine ?? definition.task.type);
}
