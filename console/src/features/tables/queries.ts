/** The catalog explorer's queries: namespaces, tables, one table, its files, its preview, its dataset. */
import { infiniteQueryOptions, queryOptions, useQuery } from "@tanstack/react-query";

import { api, call, type Schemas } from "@/api/client";
import { myWorkspacesQuery } from "@/api/queries";

export type TableItem = Schemas["TableListItem"];
export type TableDetail = Schemas["TableDetail"];
export type NamespaceNode = Schemas["NamespaceNode"];
export type SchemaField = Schemas["SchemaField"];
export type Snapshot = Schemas["Snapshot"];

export const TABLE_TABS = ["overview", "schema", "snapshots", "layout", "files", "preview"] as const;
export type TableTab = (typeof TABLE_TABS)[number];

export type TablesSearch = { q?: string; namespace?: string; tag?: string; owner?: string };
export type TableSearch = { tab?: TableTab; snapshot?: string; asOf?: string };

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;

export function validateTablesSearch(search: Record<string, unknown>): TablesSearch {
  return {
    q: text(search.q),
    namespace: text(search.namespace),
    tag: text(search.tag)?.toLowerCase(),
    owner: text(search.owner)?.toLowerCase(),
  };
}

/** A snapshot id stays the exact digits it was written with: never a JS number (64-bit ids lose precision). */
export function validateTableSearch(search: Record<string, unknown>): TableSearch {
  const tab = TABLE_TABS.find((candidate) => candidate === search.tab);
  const raw = search.snapshot;
  // Long ids arrive as text (lib/search.ts); a short one as a number, exact below 2^53.
  const snapshot =
    typeof raw === "string" && /^-?\d{1,19}$/.test(raw)
      ? raw
      : typeof raw === "number" && Number.isSafeInteger(raw)
        ? String(raw)
        : undefined;
  const asOf = typeof search.asOf === "string" && !Number.isNaN(Date.parse(search.asOf)) ? search.asOf : undefined;
  return { tab: tab && tab !== "overview" ? tab : undefined, snapshot, asOf: snapshot ? undefined : asOf };
}

const PAGE = 50;

export const namespacesQuery = (workspace: string) =>
  queryOptions({
    queryKey: ["catalog", workspace, "namespaces"],
    queryFn: () => call(api.GET("/api/v1/workspaces/{workspace}/catalog/namespaces", { params: { path: { workspace } } })),
  });

export const tablesQuery = (workspace: string, search: TablesSearch) =>
  infiniteQueryOptions({
    queryKey: ["catalog", workspace, "tables", search.q ?? "", search.namespace ?? "", search.tag ?? "", search.owner ?? ""],
    queryFn: ({ pageParam }) =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/catalog/tables", {
          params: {
            path: { workspace },
            query: {
              q: search.q,
              namespace: search.namespace,
              tag: search.tag,
              owner: search.owner,
              limit: PAGE,
              cursor: pageParam ?? undefined,
            },
          },
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? null,
  });

type TablePath = { workspace: string; namespace: string; table: string };

export const tableQuery = ({ workspace, namespace, table }: TablePath) =>
  queryOptions({
    queryKey: ["catalog", workspace, "table", namespace, table],
    queryFn: () =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/catalog/tables/{namespace}/{table}", {
          params: { path: { workspace, namespace, table } },
        }),
      ),
  });

/** The API takes a snapshot id as an integer in the query string: it is sent as its exact digits. */
const snapshotParam = (snapshot: string | undefined) => snapshot as unknown as number | undefined;

export const filesQuery = (path: TablePath, snapshot: string | undefined) =>
  infiniteQueryOptions({
    queryKey: ["catalog", path.workspace, "files", path.namespace, path.table, snapshot ?? ""],
    queryFn: ({ pageParam }) =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/catalog/tables/{namespace}/{table}/files", {
          params: { path, query: { limit: PAGE, cursor: pageParam ?? undefined, snapshot_id: snapshotParam(snapshot) } },
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? null,
  });

export const PREVIEW_ROWS = 100;

/** The rows of the current snapshot, of `snapshot`, or of the snapshot current at `asOf` (ISO time). */
export const previewQuery = (path: TablePath, snapshot: string | undefined, asOf?: string) =>
  queryOptions({
    queryKey: ["catalog", path.workspace, "preview", path.namespace, path.table, snapshot ?? "", asOf ?? ""],
    queryFn: () =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/catalog/tables/{namespace}/{table}/preview", {
          params: { path, query: { limit: PREVIEW_ROWS, snapshot_id: snapshotParam(snapshot), as_of: asOf } },
        }),
      ),
  });

/** The workspace role of the signed-in user; undefined while unknown. */
export function useWorkspaceRole(workspace: string): Schemas["WorkspaceRole"] | undefined {
  const { data } = useQuery(myWorkspacesQuery);
  return data?.items.find((item) => item.slug === workspace)?.my_role ?? undefined;
}

/** How SQL names a table: `namespace.table`, each part quoted only when it must be. */
export function sqlName(namespace: string, table: string): string {
  const part = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`);
  return [...namespace.split("."), table].map(part).join(".");
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** The upload page's address: a namespace and table to preselect. Here, not in the page's module,
 * so the route's search check does not pull the page into the first bundle. */
export type UploadSearch = { namespace?: string; table?: string };

export function validateUploadSearch(search: Record<string, unknown>): UploadSearch {
  const text = (value: unknown) => (typeof value === "string" && value.trim() ? value.trim() : undefined);
  return { namespace: text(search.namespace), table: text(search.table) };
}
