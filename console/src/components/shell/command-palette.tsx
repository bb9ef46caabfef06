import { useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { Command } from "cmdk";
import { Dialog as DialogPrimitive } from "radix-ui";

import { myWorkspacesQuery } from "@/api/queries";
import { m } from "@/lib/messages";

const item =
  "flex cursor-default items-center gap-2 rounded-sm px-2 py-1.5 text-sm data-[selected=true]:bg-accent data-[selected=true]:text-accent-foreground";

/** Jump to any page or workspace by typing (opened with Ctrl/Cmd+K; loaded on first use). */
export default function CommandPalette({
  open,
  onOpenChange,
  isAdmin,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  isAdmin: boolean;
}) {
  const navigate = useNavigate();
  const { data } = useQuery({ ...myWorkspacesQuery, enabled: open });

  function go(to: () => Promise<void>) {
    onOpenChange(false);
    void to();
  }

  const pages: { label: string; to: string; admin?: boolean }[] = [
    { label: m.shell.workspaces, to: "/workspaces" },
    { label: m.shell.users, to: "/users", admin: true },
    { label: m.shell.audit, to: "/audit" },
    { label: m.shell.health, to: "/system/health" },
    { label: m.shell.tokens, to: "/account" },
  ];

  return (
    <DialogPrimitive.Root open={open} onOpenChange={onOpenChange}>
      <DialogPrimitive.Portal>
        <DialogPrimitive.Overlay className="fixed inset-0 z-50 bg-black/40" />
        <DialogPrimitive.Content
          className="fixed start-1/2 top-24 z-50 w-full max-w-lg -translate-x-1/2 overflow-hidden rounded-lg border bg-popover shadow-xl rtl:translate-x-1/2"
          aria-describedby={undefined}
        >
          <DialogPrimitive.Title className="sr-only">{m.shell.search}</DialogPrimitive.Title>
          <Command label={m.shell.search}>
            <Command.Input
              placeholder={m.palette.placeholder}
              className="h-11 w-full border-b bg-transparent px-3 text-sm outline-none"
            />
            <Command.List className="max-h-80 overflow-y-auto p-1">
              <Command.Empty className="p-4 text-center text-sm text-muted-foreground">
                {m.palette.empty}
              </Command.Empty>
              <Command.Group heading={m.palette.pages} className="text-xs text-muted-foreground [&_[cmdk-group-heading]]:px-2 [&_[cmdk-group-heading]]:py-1">
                {pages
                  .filter((page) => isAdmin || !page.admin)
                  .map((page) => (
                    <Command.Item key={page.to} className={item} onSelect={() => go(() => navigate({ to: page.to }))}>
                      {page.label}
                    </Command.Item>
                  ))}
              </Command.Group>
              <Command.Group heading={m.palette.workspaces} className="text-xs text-muted-foreground [&_[cmdk-group-heading]]:px-2 [&_[cmdk-group-heading]]:py-1">
                {data?.items.map((workspace) => (
                  <Command.Item
                    key={workspace.slug}
                    value={`${workspace.name} ${workspace.slug}`}
                    className={item}
                    onSelect={() =>
                      go(() => navigate({ to: "/workspaces/$workspace", params: { workspace: workspace.slug } }))
                    }
                  >
                    {workspace.name}
                    <span className="ms-auto text-muted-foreground">{workspace.slug}</span>
                  </Command.Item>
                ))}
              </Command.Group>
            </Command.List>
          </Command>
        </DialogPrimitive.Content>
      </DialogPrimitive.Portal>
    </DialogPrimitive.Root>
  );
}
