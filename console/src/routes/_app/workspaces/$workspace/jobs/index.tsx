import { createFileRoute } from "@tanstack/react-router";

import { JobsList, type JobsSearch } from "@/features/jobs/jobs-list";

export const Route = createFileRoute("/_app/workspaces/$workspace/jobs/")({
  validateSearch: (search: Record<string, unknown>): JobsSearch => ({
    q: typeof search.q === "string" && search.q ? search.q : undefined,
    type: search.type === "sql" || search.type === "spark" ? search.type : undefined,
    status: search.status === "active" || search.status === "paused" || search.status === "manual" ? search.status : undefined,
  }),
  component: Page,
});

function Page() {
  const { workspace } = Route.useParams();
  return <JobsList workspace={workspace} search={Route.useSearch()} />;
}
