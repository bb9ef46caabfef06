import { createFileRoute } from "@tanstack/react-router";

import { WorkspaceSettings } from "@/features/workspaces/workspace-settings";

export const Route = createFileRoute("/_app/workspaces/$workspace/")({
  component: SettingsPage,
});

function SettingsPage() {
  const { workspace } = Route.useParams();
  return <WorkspaceSettings slug={workspace} />;
}
