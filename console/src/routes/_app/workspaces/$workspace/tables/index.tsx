import { createFileRoute } from "@tanstack/react-router";

import { validateTablesSearch } from "@/features/tables/queries";
import { TablesPage } from "@/features/tables/tables-page";

export const Route = createFileRoute("/_app/workspaces/$workspace/tables/")({
  validateSearch: validateTablesSearch,
  component: Tables,
});

function Tables() {
  const { workspace } = Route.useParams();
  return <TablesPage workspace={workspace} search={Route.useSearch()} />;
}
