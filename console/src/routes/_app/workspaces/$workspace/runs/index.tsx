import { createFileRoute } from "@tanstack/react-router";

import { isSincePreset, RUN_STATES, RUN_TRIGGERS, type RunFilters } from "@/features/runs/api";
import { RunsList } from "@/features/runs/runs-list";

export const Route = createFileRoute("/_app/workspaces/$workspace/runs/")({
  validateSearch: (search: Record<string, unknown>): RunFilters => ({
    job: typeof search.job === "string" && search.job ? search.job : undefined,
    state: RUN_STATES.find((state) => state === search.state),
    trigger: RUN_TRIGGERS.find((trigger) => trigger === search.trigger),
    since: isSincePreset(search.since) ? search.since : undefined,
  }),
  component: Page,
});

function Page() {
  const { workspace } = Route.useParams();
  return <RunsList workspace={workspace} search={Route.useSearch()} />;
}
