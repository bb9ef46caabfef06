import { createFileRoute } from "@tanstack/react-router";

import { NewConnection } from "@/features/connections/new-connection";

/** `/connections/-/new`: "-" cannot be a connection's name, so no connection hides this page. */
export const Route = createFileRoute("/_app/workspaces/$workspace/connections/-/new")({
  validateSearch: (search: Record<string, unknown>): { type?: string } => ({
    type: typeof search.type === "string" && search.type ? search.type : undefined,
  }),
  component: Page,
});

function Page() {
  const { workspace } = Route.useParams();
  const { type } = Route.useSearch();
  return <NewConnection workspace={workspace} type={type} />;
}
