import { createFileRoute } from "@tanstack/react-router";

import { WorkspaceList } from "@/features/workspaces/workspace-list";

type Search = { q?: string };

export const Route = createFileRoute("/_app/workspaces/")({
  validateSearch: (search: Record<string, unknown>): Search => ({
    q: typeof search.q === "string" && search.q.trim() ? search.q.trim().slice(0, 100) : undefined,
  }),
  component: WorkspacesPage,
});

function WorkspacesPage() {
  const { q } = Route.useSearch();
  return <WorkspaceList q={q ?? ""} />;
}
