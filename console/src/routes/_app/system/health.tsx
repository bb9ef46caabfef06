import { createFileRoute } from "@tanstack/react-router";

import { HealthPage } from "@/features/health/health-page";

export const Route = createFileRoute("/_app/system/health")({
  component: Health,
});

function Health() {
  const { me } = Route.useRouteContext();
  return <HealthPage me={me} />;
}
