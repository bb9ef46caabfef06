import { createFileRoute } from "@tanstack/react-router";

import { ErrorState, PageHeader } from "@/components/page";
import { RunPage } from "@/features/runs/run-page";
import { m } from "@/lib/messages";
import { runsMessages } from "@/lib/messages/runs";

export const Route = createFileRoute("/_app/workspaces/$workspace/runs/$run")({
  component: Page,
});

function Page() {
  const { workspace, run } = Route.useParams();
  const id = Number(run);
  if (!Number.isInteger(id) || id < 1)
    return (
      <>
        <PageHeader title={runsMessages.title} />
        <ErrorState error={new Error(m.common.notFound)} />
      </>
    );
  return <RunPage key={id} workspace={workspace} runId={id} />;
}
