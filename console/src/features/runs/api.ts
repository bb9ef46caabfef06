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

export type RunFilters = { job?: string; state?: RunState; trigger?: RunTrigger; since?: SincePreset };

export const runsQuery = (workspace: string, filters: RunFilters, limit = 50) =>
  infiniteQueryOptions({
    queryKey: [...runKeys.all(workspace), "list", filters, limit],
    queryFn: ({ pageParam }) =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/runs", {
          params: {
            path: { workspace },
            query: {
              limit,
              ...(filters.job ? { job: filters.job } : {}),
              ...(filters.state ? { state: filters.state } : {}),
              ...(filters.trigger ? { trigger: filters.trigger } : {}),
              ...(filters.since
                ? { since: new Date(Date.now() - SINCE_PRESETS[filters.since] * 1000).toISOString() }
                : {}),
              ...(pageParam ? { cursor: pageParam } : {}),
            },
          },
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (page) => page.next_cursor ?? undefined,
    refetchInterval: (query) =>
      query.state.data?.pages.some((page) => page.items.some((run) => isActive(run.state)))
        ? ACTIVE_POLL_MS
        : IDLE_POLL_MS,
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

/** "1 min 5 s", from start to end (or to now while running). */
export function duration(startedAt: string | null | undefined, endedAt: string | null | undefined, now = Date.now()) {
  if (!startedAt) return "—";
  const seconds = Math.max(0, Math.round(((endedAt ? new Date(endedAt).getTime() : now) - new Date(startedAt).getTime()) / 1000));
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
