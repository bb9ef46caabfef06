/** Connections: query options and the caller's write access in a workspace. */
import { infiniteQueryOptions, queryOptions, useQuery } from "@tanstack/react-query";

import { api, call, type Schemas } from "@/api/client";
import { myWorkspacesQuery } from "@/api/queries";

export type Connection = Schemas["ConnectionOut"];
export type ConnectionType = Schemas["ConnectionType"];
export type ConnectionTypeInfo = Schemas["ConnectionTypeOut"];
export type TestResult = Schemas["ConnectionTestResult"];
export type TestStep = Schemas["ConnectionTestStep"];
export type ConfigBody = Schemas["ConnectionCreate"]["config"];

export const connectionKeys = {
  all: (workspace: string) => ["workspaces", workspace, "connections"] as const,
  one: (workspace: string, name: string) => ["workspaces", workspace, "connections", "one", name] as const,
};

export const connectionsQuery = (workspace: string) =>
  infiniteQueryOptions({
    queryKey: [...connectionKeys.all(workspace), "list"],
    queryFn: ({ pageParam }) =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/connections", {
          params: { path: { workspace }, query: { limit: 100, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });

export const connectionQuery = (workspace: string, name: string) =>
  queryOptions({
    queryKey: connectionKeys.one(workspace, name),
    queryFn: () =>
      call(api.GET("/api/v1/workspaces/{workspace}/connections/{name}", { params: { path: { workspace, name } } })),
  });

export const connectionTypesQuery = queryOptions({
  queryKey: ["connection-types"],
  queryFn: () => call(api.GET("/api/v1/connection-types")),
  staleTime: Infinity,
});

/** Whether the signed-in user may change this workspace's connections (editors and admins);
 * undefined while that is not known yet. */
export function useWriteAccess(workspace: string): boolean | undefined {
  const { data, isPending } = useQuery(myWorkspacesQuery);
  if (isPending) return undefined;
  const role = data?.items.find((item) => item.slug === workspace)?.my_role;
  return role === "editor" || role === "admin";
}

export function useCanWrite(workspace: string): boolean {
  return useWriteAccess(workspace) === true;
}
