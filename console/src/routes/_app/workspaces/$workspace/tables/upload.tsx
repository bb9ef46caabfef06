import { createFileRoute } from "@tanstack/react-router";

import { validateUploadSearch } from "@/features/tables/queries";
import { UploadPage } from "@/features/tables/upload-page";

export const Route = createFileRoute("/_app/workspaces/$workspace/tables/upload")({
  validateSearch: validateUploadSearch,
  component: Upload,
});

function Upload() {
  const { workspace } = Route.useParams();
  return <UploadPage workspace={workspace} search={Route.useSearch()} />;
}
