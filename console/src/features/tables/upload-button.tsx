import { Link } from "@tanstack/react-router";
import { UploadIcon } from "lucide-react";

import { Button } from "@/components/ui/button";
import { tablesMessages } from "@/lib/messages/tables";

import { useWorkspaceRole } from "./queries";

/** "Upload data", for those who may write tables (editors and admins of the workspace). */
export function UploadButton({
  workspace,
  search,
  variant = "default",
}: {
  workspace: string;
  search: { namespace?: string; table?: string };
  variant?: "default" | "outline";
}) {
  const role = useWorkspaceRole(workspace);
  if (role !== "editor" && role !== "admin") return null;
  return (
    <Button asChild variant={variant}>
      <Link to="/workspaces/$workspace/tables/upload" params={{ workspace }} search={search}>
        <UploadIcon aria-hidden />
        {tablesMessages.upload.button}
      </Link>
    </Button>
  );
}
