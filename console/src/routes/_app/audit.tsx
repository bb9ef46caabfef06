import { createFileRoute } from "@tanstack/react-router";

import { PageHeader } from "@/components/page";

export const Route = createFileRoute("/_app/audit")({
  component: () => <PageHeader title="Audit log" />,
});
