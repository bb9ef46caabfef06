import { createFileRoute } from "@tanstack/react-router";

import { ConnectionPage } from "@/features/connections/connection-page";

export const Route = createFileRoute("/_app/workspaces/$workspace/connections/$name")({
  component: Page,
});

function Page() {
  const { workspace, name } = Route.useParams();
  return <ConnectionPage key={`${workspace}/${name}`} workspace={workspace} name={name} />;
}
