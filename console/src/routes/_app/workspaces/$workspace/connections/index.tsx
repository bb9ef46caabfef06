import { createFileRoute } from "@tanstack/react-router";

import { ConnectionsList, type ListSearch } from "@/features/connections/connections-list";

export const Route = createFileRoute("/_app/workspaces/$workspace/connections/")({
  validateSearch: (search: Record<string, unknown>): ListSearch => ({
    q: typeof search.q === "string" && search.q ? search.q : undefined,
    type: typeof search.type === "string" && search.type ? search.type : undefined,
  }),
  component: Page,
});

function Page() {
  const { workspace } = Route.useParams();
  return <ConnectionsList workspace={workspace} search={Route.useSearch()} />;
}
