import { createFileRoute } from "@tanstack/react-router";

import { JobForm } from "@/features/jobs/job-form";

/** `/jobs/-/new`: "-" cannot start a job's name, so no job hides this page. */
export const Route = createFileRoute("/_app/workspaces/$workspace/jobs/-/new")({
  component: Page,
});

function Page() {
  const { workspace } = Route.useParams();
  return <JobForm key={workspace} workspace={workspace} />;
}
