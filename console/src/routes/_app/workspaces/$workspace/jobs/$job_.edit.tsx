import { createFileRoute } from "@tanstack/react-router";

import { EditJob } from "@/features/jobs/job-form";

export const Route = createFileRoute("/_app/workspaces/$workspace/jobs/$job_/edit")({
  component: Page,
});

function Page() {
  const { workspace, job } = Route.useParams();
  return <EditJob key={`${workspace}/${job}`} workspace={workspace} name={job} />;
}
