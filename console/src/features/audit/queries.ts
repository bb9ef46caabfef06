/** The audit page's URL state, its API calls and the CSV export link. */
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";

import { api, call, type Schemas } from "@/api/client";

export type AuditEvent = Schemas["AuditEventOut"];
export type Outcome = "success" | "failure" | "denied";
export const OUTCOMES: Outcome[] = ["success", "failure", "denied"];
export const RANGES = { "1h": 3600, "24h": 86_400, "7d": 7 * 86_400, "30d": 30 * 86_400 } as const;
export type Range = keyof typeof RANGES | "custom";

/** Everything the page shows is in its URL: the filters, the time range and the open event. */
export type AuditSearch = {
  workspace?: string;
  actor?: string;
  action?: string;
  outcome?: Outcome;
  /** A time window relative to now ("24h"), or "custom" with `since`/`until`. */
  range?: Range;
  /** ISO 8601 bounds of a custom range (inclusive / exclusive). */
  since?: string;
  until?: string;
  /** The sequence number of the event shown in the detail dialog. */
  event?: number;
};

function text(value: unknown, max = 200): string | undefined {
  if (typeof value === "number") value = String(value);
  return typeof value === "string" && value.trim() !== "" ? value.trim().slice(0, max) : undefined;
}

function isoTime(value: unknown): string | undefined {
  const found = text(value, 64);
  return found && !Number.isNaN(Date.parse(found)) ? found : undefined;
}

export function validateAuditSearch(search: Record<string, unknown>): AuditSearch {
  const range = text(search.range);
  const seq = Number(search.event);
  return {
    workspace: text(search.workspace, 63),
    actor: text(search.actor),
    action: text(search.action),
    outcome: OUTCOMES.includes(search.outcome as Outcome) ? (search.outcome as Outcome) : undefined,
    range: range === "custom" || (range && range in RANGES) ? (range as Range) : undefined,
    since: isoTime(search.since),
    until: isoTime(search.until),
    event: Number.isInteger(seq) && seq > 0 ? seq : undefined,
  };
}

/** Who is asking decides where the events come from: platform admins read the whole trail (a
 * workspace is then a filter); a workspace admin reads one workspace's trail. */
export type AuditScope = { platform: true; workspace?: string } | { platform: false; workspace: string };

type ApiFilters = {
  actor?: string;
  action?: string;
  outcome?: Outcome;
  since?: string;
  until?: string;
};

/** The API's filters for the URL's: a relative range becomes `since` measured from `now`. */
export function apiFilters(search: AuditSearch, now: number): ApiFilters {
  const filters: ApiFilters = { actor: search.actor, action: search.action, outcome: search.outcome };
  if (search.range === "custom") {
    filters.since = search.since;
    filters.until = search.until;
  } else if (search.range) {
    filters.since = new Date(now - RANGES[search.range] * 1000).toISOString();
  }
  return filters;
}

function defined(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export const PAGE_SIZE = 50;

type PageParam = { cursor?: string; since?: string };

/** The events, newest first, one keyset page at a time. A relative range is fixed when the first
 * page is read, so later pages continue the same window. */
export function auditEventsQuery(scope: AuditScope, search: AuditSearch) {
  const { event: _event, ...filters } = search;
  return infiniteQueryOptions({
    queryKey: ["audit", "events", scope, filters],
    initialPageParam: {} as PageParam,
    queryFn: ({ pageParam, signal }) => {
      const query = { ...apiFilters(search, Date.now()), limit: PAGE_SIZE, cursor: pageParam.cursor };
      if (pageParam.since) query.since = pageParam.since;
      const request = scope.platform
        ? api.GET("/api/v1/audit/events", { params: { query: { ...query, workspace: scope.workspace } }, signal })
        : api.GET("/api/v1/workspaces/{workspace}/audit/events", {
            params: { path: { workspace: scope.workspace }, query },
            signal,
          });
      return call(request).then((page) => ({ ...page, since: query.since }));
    },
    getNextPageParam: (last): PageParam | undefined =>
      last.next_cursor ? { cursor: last.next_cursor, since: last.since } : undefined,
  });
}

export function auditEventQuery(scope: AuditScope, seq: number) {
  return queryOptions({
    queryKey: ["audit", "event", scope, seq],
    queryFn: () =>
      call(
        scope.platform
          ? api.GET("/api/v1/audit/events/{seq}", { params: { path: { seq } } })
          : api.GET("/api/v1/workspaces/{workspace}/audit/events/{seq}", {
              params: { path: { workspace: scope.workspace, seq } },
            }),
      ),
    staleTime: Infinity, // an event never changes
  });
}

/** The chain check reads every event (up to its time limit): run once per visit, not per render. */
export const verificationQuery = queryOptions({
  queryKey: ["audit", "verification"],
  queryFn: () => call(api.GET("/api/v1/audit/verification")),
  staleTime: 5 * 60_000,
  refetchOnWindowFocus: false,
});

/** The CSV export's address: the same filters as the list, streamed by the server. */
export function exportHref(scope: AuditScope, search: AuditSearch, now: number): string {
  const path = scope.platform
    ? "/api/v1/audit/events.csv"
    : `/api/v1/workspaces/${encodeURIComponent(scope.workspace)}/audit/events.csv`;
  const params = new URLSearchParams(
    defined({ ...apiFilters(search, now), workspace: scope.platform ? scope.workspace : undefined }),
  );
  const query = params.toString();
  return query ? `${path}?${query}` : path;
}

export function hasFilters(search: AuditSearch, platform: boolean): boolean {
  return Boolean(
    search.actor || search.action || search.outcome || search.range || (platform && search.workspace),
  );
}
