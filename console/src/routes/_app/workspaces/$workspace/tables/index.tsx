import { createFileRoute } from "@tanstack/react-router";

import { PageHeader } from "@/components/page";

export const Route = createFileRoute("/_app/workspaces/$workspace/tables/")({
  component: () => <PageHeader title="Tables" />,
});
