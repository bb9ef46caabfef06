import { createFileRoute } from "@tanstack/react-router";

import { AuditPage } from "@/features/audit/audit-page";
import { validateAuditSearch } from "@/features/audit/queries";

export const Route = createFileRoute("/_app/audit")({
  validateSearch: validateAuditSearch,
  component: Audit,
});

function Audit() {
  const { me } = Route.useRouteContext();
  return <AuditPage me={me} search={Route.useSearch()} />;
}
