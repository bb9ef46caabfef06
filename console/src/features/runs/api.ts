/** Runs: query options, live polling and the caller's write access in a workspace. */
import { infiniteQueryOptions, queryOptions, useQuery } from "@tanstack/react-query";

import { api, call, type Schemas } from "@/api/client";
import { myWorkspacesQuery } from "@/api/queries";

export type Run = Schemas["RunOut"];
export type RunDetail = Schemas["RunDetailOut"];
export type RunState = Schemas["RunState"];
export type RunTrigger = Schemas["RunTrigger"];

export const RUN_STATES: RunState[] = [
  "QUEUED",
  "RUNNING",
  "CANCELLING",
  "WAITING_FOR_RETRY",
  "SUCCEEDED",
  "FAILED",
  "CANCELLED",
  "TIMED_OUT",
];
export const RUN_TRIGGERS: RunTrigger[] = ["manual", "schedule", "retry", "repair"];
export const TERMINAL = new Set<RunState>(["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]);
export const STOPPABLE = new Set<RunState>(["QUEUED", "RUNNING", "WAITING_FOR_RETRY"]);
export const RETRYABLE = new Set<RunState>(["FAILED", "CANCELLED", "TIMED_OUT"]);
export const ENDED = new Set<RunState>(["SUCCEEDED", ...RETRYABLE]);

/** While something runs, poll every second (a state change shows within ~1 s); else now and then. */
export const ACTIVE_POLL_MS = 1000;
const STREAMED_POLL_MS = 10_000;
export const IDLE_POLL_MS = 15_000;

export const isActive = (state: RunState) => !TERMINAL.has(state);

export const runKeys = {
  all: (workspace: string) => ["workspaces", workspace, "runs"] as const,
  one: (workspace: string, id: number) => ["workspaces", workspace, "runs", "one", id] as const,
};

export const SINCE_PRESETS = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 } as const;
export type SincePreset = keyof typeof SINCE_PRESETS;
export const isSincePreset = (value: unknown): value is SincePreset =>
  typeof value === "string" && Object.hasOwn(SINCE_PRESETS, value);

/** A run list's filters: `since` a preset relative to now, or `from`/`until` an absolute range (ISO,
 * `until` exclusive). */
export type RunFilters = {
  job?: string;
  state?: RunState;
  trigger?: RunTrigger;
  since?: SincePreset;
  from?: string;
  until?: string;
};

export const PAGE_SIZES = [50, 100, 200] as const;
export const MATRIX_RUNS = [10, 20, 40] as const;
export type RunsView = "list" | "matrix";

/** Everything the runs page keeps in its URL: filters, the page (a keyset cursor), the view. */
export type RunsSearch = RunFilters & { cursor?: string; limit?: number; view?: "matrix"; per?: number };

const isoInstant = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" && !Number.isNaN(Date.parse(value)) ? value : undefined;

export function validateRunsSearch(search: Record<string, unknown>): RunsSearch {
  const from = isoInstant(search.from);
  const until = isoInstant(search.until);
  const limit = PAGE_SIZES.find((size) => size === Number(search.limit));
  const per = MATRIX_RUNS.find((size) => size === Number(search.per));
  return {
    job: typeof search.job === "string" && search.job ? search.job : undefined,
    state: RUN_STATES.find((state) => state === search.state),
    trigger: RUN_TRIGGERS.find((trigger) => trigger === search.trigger),
    // An absolute range replaces a relative one.
    since: !from && !until && isSincePreset(search.since) ? search.since : undefined,
    from,
    until,
    cursor: typeof search.cursor === "string" && search.cursor ? search.cursor : undefined,
    limit: limit === PAGE_SIZES[0] ? undefined : limit,
    view: search.view === "matrix" ? "matrix" : undefined,
    per: per === 20 ? undefined : per,
  };
}

/** The API's query parameters for these filters (a relative `since` is resolved now). */
export function runsApiFilters(filters: RunFilters, now = Date.now()) {
  const since = filters.since ? new Date(now - SINCE_PRESETS[filters.since] * 1000).toISOString() : filters.from;
  return {
    ...(filters.job ? { job: filters.job } : {}),
    ...(filters.state ? { state: filters.state } : {}),
    ...(filters.trigger ? { trigger: filters.trigger } : {}),
    ...(since ? { since } : {}),
    ...(filters.until ? { until: filters.until } : {}),
  };
}

const listRuns = (workspace: string, filters: RunFilters, limit: number, cursor?: string) =>
  call(
    api.GET("/api/v1/workspaces/{workspace}/runs", {
      params: { path: { workspace }, query: { limit, ...runsApiFilters(filters), ...(cursor ? { cursor } : {}) } },
    }),
  );

const pollWhileActive = (runs: Run[] | undefined) => (runs?.some((run) => isActive(run.state)) ? ACTIVE_POLL_MS : IDLE_POLL_MS);

export const runsQuery = (workspace: string, filters: RunFilters, limit = 50) =>
  infiniteQueryOptions({
    queryKey: [...runKeys.all(workspace), "list", filters, limit],
    queryFn: ({ pageParam }) => listRuns(workspace, filters, limit, pageParam || undefined),
    initialPageParam: "",
    getNextPageParam: (page) => page.next_cursor ?? undefined,
    refetchInterval: (query) => pollWhileActive(query.state.data?.pages.flatMap((page) => page.items)),
  });

/** One page of runs, the page being a keyset cursor kept in the URL (newest first). */
export const runsPageQuery = (workspace: string, filters: RunFilters, cursor: string | undefined, limit: number) =>
  queryOptions({
    queryKey: [...runKeys.all(workspace), "page", filters, cursor ?? "", limit],
    queryFn: () => listRuns(workspace, filters, limit, cursor),
    placeholderData: (previous) => previous,
    refetchInterval: (query) => pollWhileActive(query.state.data?.items),
  });

/** A job's most recent runs for the matrix, oldest first (time runs left to right). */
export const jobRecentRunsQuery = (workspace: string, job: string, filters: RunFilters, per: number) =>
  queryOptions({
    queryKey: [...runKeys.all(workspace), "matrix", job, filters, per],
    queryFn: async () => (await listRuns(workspace, { ...filters, job }, per)).items.slice().reverse(),
    refetchInterval: (query) => pollWhileActive(query.state.data),
  });

export const runQuery = (workspace: string, id: number) =>
  queryOptions({
    queryKey: runKeys.one(workspace, id),
    queryFn: () =>
      call(api.GET("/api/v1/workspaces/{workspace}/runs/{run_id}", { params: { path: { workspace, run_id: id } } })),
    // An open run page gets the run's changes pushed over its event stream (see run-log.tsx); the
    // poll is only a safety net there, and the way where EventSource is missing.
    refetchInterval: (query) =>
      query.state.data && !isActive(query.state.data.state)
        ? false
        : typeof EventSource === "undefined"
          ? ACTIVE_POLL_MS
          : STREAMED_POLL_MS,
  });

export const runResultQuery = (workspace: string, id: number, attempt: number) =>
  queryOptions({
    queryKey: [...runKeys.one(workspace, id), "result", attempt],
    queryFn: () =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/runs/{run_id}/result", {
          params: { path: { workspace, run_id: id }, query: { attempt } },
        }),
      ),
    staleTime: Infinity,
  });

export const resultDownloadHref = (workspace: string, id: number, attempt: number) =>
  `/api/v1/workspaces/${encodeURIComponent(workspace)}/runs/${id}/result.parquet?attempt=${attempt}`;

/** The caller's role in the workspace: undefined while not known yet. */
export function useWorkspaceRole(workspace: string): string | null | undefined {
  const { data, isPending } = useQuery(myWorkspacesQuery);
  if (isPending) return undefined;
  return data?.items.find((item) => item.slug === workspace)?.my_role ?? null;
}

/** Editors and admins may start, stop, retry and change jobs; viewers read. */
export function useCanRun(workspace: string): boolean {
  const role = useWorkspaceRole(workspace);
  return role === "editor" || role === "admin";
}

/** "1 min 5 s": the time the run's attempts spent running, as the server counted it (a running
 * attempt up to the answer). The waits between attempts, such as days before a manual retry, are
 * not running time, so this is not `ended_at - started_at`. */
export function duration(run: { run_time_seconds: number | null }) {
  if (run.run_time_seconds === null) return "—";
  const seconds = Math.round(run.run_time_seconds);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1048576) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1048576).toFixed(1)} MiB`;
}
