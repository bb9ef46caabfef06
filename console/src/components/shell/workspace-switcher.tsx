import { useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { ChevronsUpDownIcon, LayersIcon } from "lucide-react";

import { myWorkspacesQuery } from "@/api/queries";
import { Button } from "@/components/ui/button";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { m } from "@/lib/messages";

export function WorkspaceSwitcher({ current }: { current: string | undefined }) {
  const { data } = useQuery(myWorkspacesQuery);
  const navigate = useNavigate();
  const active = data?.items.find((workspace) => workspace.slug === current);
  return (
    <DropdownMenu>
      <DropdownMenuTrigger asChild>
        <Button variant="outline" className="min-w-52 justify-between">
          <span className="flex items-center gap-2 truncate">
            <LayersIcon aria-hidden />
            <span className="sr-only">{m.shell.switchWorkspace}: </span>
            {active?.name ?? current ?? m.shell.noWorkspace}
          </span>
          <ChevronsUpDownIcon className="opacity-50" aria-hidden />
        </Button>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="start" className="max-h-80 overflow-y-auto">
        <DropdownMenuLabel>{m.shell.workspaces}</DropdownMenuLabel>
        {data?.items.map((workspace) => (
          <DropdownMenuItem
            key={workspace.slug}
            onSelect={() => void navigate({ to: "/workspaces/$workspace", params: { workspace: workspace.slug } })}
          >
            <span className="truncate">{workspace.name}</span>
            <span className="ms-auto text-xs text-muted-foreground">{workspace.my_role ?? ""}</span>
          </DropdownMenuItem>
        ))}
      </DropdownMenuContent>
    </DropdownMenu>
  );
}
