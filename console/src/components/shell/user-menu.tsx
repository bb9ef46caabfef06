import { useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { KeyRoundIcon, LogOutIcon, UserIcon } from "lucide-react";

import { api, type Schemas } from "@/api/client";
import { Button } from "@/components/ui/button";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { m } from "@/lib/messages";

export function UserMenu({ me }: { me: Schemas["UserOut"] }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();

  async function signOut() {
    await api.POST("/api/v1/auth/logout");
    queryClient.clear();
    await navigate({ to: "/login", search: {} });
  }

  return (
    <DropdownMenu>
      <DropdownMenuTrigger asChild>
        <Button variant="ghost" className="gap-2">
          <span className="sr-only">{m.shell.userMenu}: </span>
          <span aria-hidden className="flex size-7 items-center justify-center rounded-full bg-primary/15 text-xs font-semibold text-primary">
            {me.username.slice(0, 2).toUpperCase()}
          </span>
          <span className="text-sm max-md:sr-only" data-testid="who">
            {me.username}
          </span>
        </Button>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="end">
        <DropdownMenuLabel>
          <span className="block text-sm font-medium text-foreground">{me.display_name || me.username}</span>
          <span className="block">{me.role === "admin" ? m.shell.platformAdmin : me.username}</span>
        </DropdownMenuLabel>
        <DropdownMenuSeparator />
        <DropdownMenuItem onSelect={() => void navigate({ to: "/account", hash: "password" })}>
          <UserIcon aria-hidden /> {m.shell.changePassword}
        </DropdownMenuItem>
        <DropdownMenuItem onSelect={() => void navigate({ to: "/account", hash: "tokens" })}>
          <KeyRoundIcon aria-hidden /> {m.shell.tokens}
        </DropdownMenuItem>
        <DropdownMenuSeparator />
        <DropdownMenuItem onSelect={() => void signOut()} data-testid="sign-out">
          <LogOutIcon aria-hidden /> {m.shell.signOut}
        </DropdownMenuItem>
      </DropdownMenuContent>
    </DropdownMenu>
  );
}
