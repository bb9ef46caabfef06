import { createFileRoute } from "@tanstack/react-router";

import { PageHeader } from "@/components/page";

export const Route = createFileRoute("/_app/system/health")({
  component: () => <PageHeader title="Health" />,
});
