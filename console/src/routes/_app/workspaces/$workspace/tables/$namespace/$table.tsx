import { createFileRoute } from "@tanstack/react-router";

import { validateTableSearch } from "@/features/tables/queries";
import { TablePage } from "@/features/tables/table-page";

export const Route = createFileRoute("/_app/workspaces/$workspace/tables/$namespace/$table")({
  validateSearch: validateTableSearch,
  component: TableRoute,
});

function TableRoute() {
  const { workspace, namespace, table } = Route.useParams();
  return <TablePage workspace={workspace} namespace={namespace} table={table} search={Route.useSearch()} />;
}
