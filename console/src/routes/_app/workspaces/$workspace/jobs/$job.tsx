import { createFileRoute } from "@tanstack/react-router";

import { JobPage } from "@/features/jobs/job-page";

export const Route = createFileRoute("/_app/workspaces/$workspace/jobs/$job")({
  component: Page,
});

function Page() {
  const { workspace, job } = Route.useParams();
  return <JobPage key={job} workspace={workspace} name={job} />;
}
