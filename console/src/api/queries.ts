/** Query options shared by several areas (each area keeps its own next to its pages). */
import { queryOptions } from "@tanstack/react-query";

import { api, call } from "./client";

export const meQuery = queryOptions({
  queryKey: ["me"],
  queryFn: () => call(api.GET("/api/v1/me")),
  staleTime: 60_000,
  retry: false,
});

export const myWorkspacesQuery = queryOptions({
  queryKey: ["workspaces", "mine"],
  queryFn: () => call(api.GET("/api/v1/workspaces", { params: { query: { limit: 200 } } })),
  staleTime: 30_000,
});
