/** The worksheet's server calls: statements, their results, the schema tree, saved queries. */
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";

import { api, ApiError, call, type Problem, type Schemas } from "@/api/client";

import { TERMINAL } from "./sql-text";

export type Statement = Schemas["StatementOut"];
export type ResultPage = Schemas["ResultPage"];
export type SchemaTree = Schemas["SchemaTree"];
export type SavedQuery = Schemas["SavedQueryOut"];
export type Engine = { engine: "duckdb" | "trino"; connection: string | null };

export const PAGE_ROWS = 1000;
export const POST_WAIT_SECONDS = 2;
const POLL_WAIT_SECONDS = 5;

export const worksheetKeys = {
  all: (workspace: string) => ["workspaces", workspace, "worksheet"] as const,
  statement: (workspace: string, id: string) => ["workspaces", workspace, "worksheet", "statement", id] as const,
  result: (workspace: string, id: string) => ["workspaces", workspace, "worksheet", "result", id] as const,
  history: (workspace: string) => ["workspaces", workspace, "worksheet", "history"] as const,
  running: (workspace: string) => ["workspaces", workspace, "worksheet", "running"] as const,
  queries: (workspace: string) => ["workspaces", workspace, "worksheet", "queries"] as const,
  tree: (workspace: string) => ["workspaces", workspace, "worksheet", "schema-tree"] as const,
};

/** Problem+json may carry the place of a SQL error. */
export function problemPosition(error: unknown): { line: number | null; column: number | null } {
  const problem = (error instanceof ApiError ? error.problem : null) as (Problem & Record<string, unknown>) | null;
  const num = (v: unknown) => (typeof v === "number" ? v : null);
  return { line: num(problem?.line), column: num(problem?.column) };
}

/** One statement; long-polls while it runs. */
export const statementQuery = (workspace: string, id: string) =>
  queryOptions({
    queryKey: worksheetKeys.statement(workspace, id),
    queryFn: ({ queryKey }) => {
      void queryKey;
      return call(
        api.GET("/api/v1/workspaces/{workspace}/statements/{statement_id}", {
          params: { path: { workspace, statement_id: id }, query: { wait: POLL_WAIT_SECONDS } },
        }),
      );
    },
    refetchInterval: (query) => (query.state.data && !TERMINAL.has(query.state.data.state) ? 200 : false),
    refetchIntervalInBackground: true,
  });

/** A statement's stored result, a page at a time ("Load more"). */
export const resultQuery = (workspace: string, id: string) =>
  infiniteQueryOptions({
    queryKey: worksheetKeys.result(workspace, id),
    queryFn: ({ pageParam }) =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/statements/{statement_id}/result", {
          params: {
            path: { workspace, statement_id: id },
            query: { limit: PAGE_ROWS, ...(pageParam ? { cursor: pageParam } : {}) },
          },
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (page) => page.next_cursor ?? undefined,
    staleTime: Infinity,
  });

export const historyQuery = (workspace: string, q: string) =>
  infiniteQueryOptions({
    queryKey: [...worksheetKeys.history(workspace), q],
    queryFn: ({ pageParam }) =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/statements", {
          params: {
            path: { workspace },
            query: { limit: 50, ...(q ? { q } : {}), ...(pageParam ? { cursor: pageParam } : {}) },
          },
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });

export const runningQuery = (workspace: string) =>
  queryOptions({
    queryKey: worksheetKeys.running(workspace),
    queryFn: () =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/statements", {
          params: { path: { workspace }, query: { all_users: true, state: "RUNNING", limit: 100 } },
        }),
      ),
    refetchInterval: 4000,
  });

export const savedQueriesQuery = (workspace: string, q: string) =>
  queryOptions({
    queryKey: [...worksheetKeys.queries(workspace), q],
    queryFn: () =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/queries", {
          params: { path: { workspace }, query: { limit: 100, ...(q ? { q } : {}) } },
        }),
      ),
  });

export const trinoConnectionsQuery = (workspace: string) =>
  queryOptions({
    queryKey: ["workspaces", workspace, "connections", "trino"],
    queryFn: async () => {
      const page = await call(
        api.GET("/api/v1/workspaces/{workspace}/connections", {
          params: { path: { workspace }, query: { limit: 200 } },
        }),
      );
      return page.items.filter((c) => c.type === "trino").map((c) => c.name);
    },
    staleTime: 60_000,
  });

/** The schema tree, revalidated with its ETag: an unchanged tree costs a 304. */
const treeCache = new Map<string, { etag: string; tree: SchemaTree }>();

export const schemaTreeQuery = (workspace: string) =>
  queryOptions({
    queryKey: worksheetKeys.tree(workspace),
    queryFn: async (): Promise<SchemaTree> => {
      const cached = treeCache.get(workspace);
      const { data, error, response } = await api.GET("/api/v1/workspaces/{workspace}/catalog/schema-tree", {
        params: { path: { workspace } },
        headers: cached ? { "If-None-Match": cached.etag } : {},
        cache: "no-store",
      });
      if (response.status === 304 && cached) return cached.tree;
      if (!response.ok) throw new ApiError(response.status, (error as Problem | undefined) ?? null);
      const tree = data as SchemaTree;
      const etag = response.headers.get("ETag");
      if (etag) treeCache.set(workspace, { etag, tree });
      return tree;
    },
    staleTime: 30_000,
  });

/** Forget cached trees (tests). */
export function clearTreeCache() {
  treeCache.clear();
}
