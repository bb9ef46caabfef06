import { ArchiveIcon } from "lucide-react";

import { Badge } from "@/components/ui/badge";
import type { Workspace } from "@/features/workspaces/queries";
import { m } from "@/lib/messages";

export function StatusBadge({ status }: { status: Workspace["status"] }) {
  return status === "archived" ? (
    <Badge variant="warning">
      <ArchiveIcon className="size-3" aria-hidden />
      {m.workspaces.status.archived}
    </Badge>
  ) : (
    <Badge variant="success">{m.workspaces.status.active}</Badge>
  );
}

export function roleName(role: string | null | undefined): string {
  return role ? (m.workspaces.roles[role] ?? role) : m.workspaces.noRole;
}
