import { createFileRoute } from "@tanstack/react-router";

import { MembersPage } from "@/features/members/members-page";

export const Route = createFileRoute("/_app/workspaces/$workspace/members")({
  component: Members,
});

function Members() {
  const { workspace } = Route.useParams();
  return <MembersPage slug={workspace} />;
}
