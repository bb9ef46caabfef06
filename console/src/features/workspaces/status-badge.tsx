import { ArchiveIcon } from "lucide-react";

import { Badge } from "@/components/ui/badge";
import type { Workspace } from "@/features/workspaces/queries";
import { workspacesMessages } from "@/lib/messages/workspaces";

export function StatusBadge({ status }: { status: Workspace["status"] }) {
  return status === "archived" ? (
    <Badge variant="warning">
      <ArchiveIcon className="size-3" aria-hidden />
      {workspacesMessages.status.archived}
    </Badge>
  ) : (
    <Badge variant="success">{workspacesMessages.status.active}</Badge>
  );
}

export function roleName(role: string | null | undefined): string {
  return role ? (workspacesMessages.roles[role] ?? role) : workspacesMessages.noRole;
}
