import { createFileRoute } from "@tanstack/react-router";

import { UsersPage } from "@/features/users/users-page";

type UsersSearch = { q?: string };

/** Platform admins manage users here; anyone else is told why the page is closed to them. */
export const Route = createFileRoute("/_app/users")({
  validateSearch: (search: Record<string, unknown>): UsersSearch => ({
    q: typeof search.q === "string" && search.q.trim() ? search.q.trim().slice(0, 100) : undefined,
  }),
  component: Users,
});

function Users() {
  const { q } = Route.useSearch();
  const { me } = Route.useRouteContext();
  return <UsersPage q={q} me={me} />;
}
