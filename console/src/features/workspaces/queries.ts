/** The workspace area's queries. Every key starts with "workspaces", so invalidating that one
 * prefix refreshes the lists, the shell's switcher and the open workspace together. */
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";

import { api, ApiError, call, type Schemas } from "@/api/client";

export type Workspace = Schemas["WorkspaceOut"];
export type Provisioning = Schemas["ProvisioningOut"];
export type DeletionBlocker = Schemas["DeletionBlockerOut"];
export type Member = Schemas["MemberOut"];
export type WorkspaceRole = Member["role"];
export const ROLES: WorkspaceRole[] = ["viewer", "editor", "admin"];

const PAGE = 50;

export const workspaceListQuery = (q: string) =>
  infiniteQueryOptions({
    queryKey: ["workspaces", "list", { q }],
    queryFn: ({ pageParam }) =>
      call(
        api.GET("/api/v1/workspaces", {
          params: { query: { limit: PAGE, cursor: pageParam ?? undefined, q: q || undefined } },
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });

export const workspaceQuery = (slug: string) =>
  queryOptions({
    queryKey: ["workspaces", "detail", slug],
    queryFn: () => call(api.GET("/api/v1/workspaces/{workspace}", { params: { path: { workspace: slug } } })),
  });

export const membersQuery = (slug: string) =>
  infiniteQueryOptions({
    queryKey: ["workspaces", "members", slug],
    queryFn: ({ pageParam }) =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/members", {
          params: { path: { workspace: slug }, query: { limit: 200, cursor: pageParam ?? undefined } },
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });

export const deletionBlockersQuery = (slug: string) =>
  queryOptions({
    queryKey: ["workspaces", "blockers", slug],
    queryFn: () =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/deletion-blockers", { params: { path: { workspace: slug } } }),
      ),
    staleTime: 0,
  });

/** The blockers a refused deletion (409) carries in its problem, when it carries them. */
export function blockersOf(error: unknown): DeletionBlocker[] | null {
  if (!(error instanceof ApiError) || error.status !== 409) return null;
  const blockers = (error.problem as { blockers?: unknown } | null)?.blockers;
  if (!Array.isArray(blockers)) return null;
  return blockers.filter(
    (b): b is DeletionBlocker => typeof b === "object" && b !== null && typeof b.detail === "string",
  );
}
