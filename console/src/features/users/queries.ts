import { infiniteQueryOptions } from "@tanstack/react-query";

import { api, call } from "@/api/client";

export const PAGE_SIZE = 50;

export function usersQuery(q: string | undefined) {
  return infiniteQueryOptions({
    queryKey: ["users", { q: q ?? "" }],
    queryFn: ({ pageParam }) =>
      call(api.GET("/api/v1/users", { params: { query: { q: q || undefined, limit: PAGE_SIZE, cursor: pageParam } } })),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor,
  });
}
