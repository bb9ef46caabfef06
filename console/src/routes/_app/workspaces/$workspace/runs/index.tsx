import { createFileRoute } from "@tanstack/react-router";

import { validateRunsSearch } from "@/features/runs/api";
import { RunsList } from "@/features/runs/runs-list";

export const Route = createFileRoute("/_app/workspaces/$workspace/runs/")({
  validateSearch: validateRunsSearch,
  component: Page,
});

function Page() {
  const { workspace } = Route.useParams();
  return <RunsList workspace={workspace} search={Route.useSearch()} />;
}
