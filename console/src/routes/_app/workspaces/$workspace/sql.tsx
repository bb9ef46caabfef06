import { createFileRoute } from "@tanstack/react-router";

import { Worksheet, type WorksheetSearch } from "@/features/worksheet/worksheet";

const SIDES = new Set(["schema", "history", "saved"]);

export const Route = createFileRoute("/_app/workspaces/$workspace/sql")({
  validateSearch: (search: Record<string, unknown>): WorksheetSearch => ({
    statement: typeof search.statement === "string" && search.statement ? search.statement : undefined,
    side:
      typeof search.side === "string" && SIDES.has(search.side) && search.side !== "schema"
        ? (search.side as WorksheetSearch["side"])
        : undefined,
    sql: typeof search.sql === "string" && search.sql ? search.sql.slice(0, 100_000) : undefined,
  }),
  component: Page,
});

function Page() {
  const { workspace } = Route.useParams();
  return <Worksheet key={workspace} workspace={workspace} search={Route.useSearch()} />;
}
