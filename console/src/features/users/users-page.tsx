import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import {
  BanIcon,
  CircleCheckIcon,
  KeyRoundIcon,
  LockIcon,
  MoreHorizontalIcon,
  PencilIcon,
  SearchIcon,
  ShieldIcon,
  UserPlusIcon,
  XIcon,
} from "lucide-react";
import { useEffect, useState } from "react";

import type { Schemas } from "@/api/client";
import { meQuery } from "@/api/queries";
import { EmptyState, ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { Input } from "@/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import {
  CreateUserDialog,
  DetailsDialog,
  DisableDialog,
  ResetPasswordDialog,
  RoleDialog,
} from "@/features/users/dialogs";
import { usersQuery } from "@/features/users/queries";
import { m } from "@/lib/messages";
import { usersMessages } from "@/lib/messages/users";
import { formatDateTime } from "@/lib/utils";

type User = Schemas["UserOut"];

const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

export function UsersPage({ q, me: first }: { q: string | undefined; me: User }) {
  const { data: me = first } = useQuery(meQuery);
  if (me.role !== "admin") {
    return (
      <>
        <PageHeader title={usersMessages.title} />
        <div
          role="status"
          className="flex flex-col items-center gap-2 rounded-lg border border-dashed p-10 text-center"
          data-testid="admins-only"
        >
          <LockIcon className="size-6 text-muted-foreground" aria-hidden />
          <p className="font-medium">{usersMessages.adminsOnlyTitle}</p>
          <p className="max-w-prose text-sm text-muted-foreground">{usersMessages.adminsOnlyBody}</p>
        </div>
      </>
    );
  }
  return <UsersList q={q} me={me} />;
}

function SearchBox({ q }: { q: string | undefined }) {
  const navigate = useNavigate({ from: "/users" });
  const [text, setText] = useState(q ?? "");
  // The URL is the truth (back/forward, deep links); typing writes it a moment after the last key.
  useEffect(() => setText(q ?? ""), [q]);
  useEffect(() => {
    const next = text.trim() || undefined;
    if (next === (q || undefined)) return;
    const timer = setTimeout(() => void navigate({ search: { q: next }, replace: true }), 250);
    return () => clearTimeout(timer);
  }, [text, q, navigate]);
  return (
    <div role="search" className="relative w-80 max-w-full">
      <SearchIcon className="pointer-events-none absolute start-2.5 top-2.5 size-4 text-muted-foreground" aria-hidden />
      <Input
        type="search"
        aria-label={usersMessages.search}
        placeholder={usersMessages.searchPlaceholder}
        value={text}
        maxLength={100}
        onChange={(event) => setText(event.target.value)}
        className="ps-8"
      />
    </div>
  );
}

function UsersList({ q, me }: { q: string | undefined; me: User }) {
  const users = useInfiniteQuery(usersQuery(q));
  const navigate = useNavigate({ from: "/users" });
  const [creating, setCreating] = useState(false);
  const [detailsOf, setDetailsOf] = useState<User | null>(null);
  const [roleOf, setRoleOf] = useState<User | null>(null);
  const [resetOf, setResetOf] = useState<User | null>(null);
  const [toggleOf, setToggleOf] = useState<User | null>(null);
  const items = users.data?.pages.flatMap((page) => page.items) ?? [];

  return (
    <>
      <PageHeader
        title={usersMessages.title}
        description={usersMessages.description}
        actions={
          <Button onClick={() => setCreating(true)}>
            <UserPlusIcon aria-hidden /> {usersMessages.create}
          </Button>
        }
      />
      <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
        <SearchBox q={q} />
        {users.isSuccess && items.length > 0 ? (
          <p className="text-sm text-muted-foreground" aria-live="polite">
            {usersMessages.shown(items.length)}
          </p>
        ) : null}
      </div>
      {users.isPending ? (
        <LoadingRows rows={6} />
      ) : users.isError ? (
        <ErrorState error={users.error} onRetry={() => void users.refetch()} />
      ) : items.length === 0 ? (
        q ? (
          <EmptyState
            title={usersMessages.emptySearch(q)}
            description={usersMessages.emptySearchHint}
            action={
              <Button variant="outline" onClick={() => void navigate({ search: {} })}>
                <XIcon aria-hidden /> {usersMessages.clearSearch}
              </Button>
            }
          />
        ) : (
          <EmptyState title={usersMessages.empty} />
        )
      ) : (
        <Table aria-label={usersMessages.title}>
          <TableHeader>
            <TableRow>
              <TableHead>{usersMessages.user}</TableHead>
              <TableHead>{usersMessages.email}</TableHead>
              <TableHead>{usersMessages.role}</TableHead>
              <TableHead>{usersMessages.provider}</TableHead>
              <TableHead>{usersMessages.status}</TableHead>
              <TableHead>{usersMessages.created}</TableHead>
              <TableHead className="w-12">
                <span className="sr-only">{usersMessages.actions}</span>
              </TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {items.map((user) => {
              const self = user.username === me.username;
              return (
                <TableRow key={user.username} data-testid={`user-${user.username}`}>
                  <TableCell>
                    <div className="flex flex-col">
                      <span className="font-medium">
                        {user.display_name || user.username}
                        {self ? <span className="ms-1.5 text-xs font-normal text-muted-foreground">({usersMessages.you})</span> : null}
                      </span>
                      {user.display_name ? (
                        <span className="font-mono text-xs text-muted-foreground">{user.username}</span>
                      ) : null}
                    </div>
                  </TableCell>
                  <TableCell className="max-w-56 truncate text-muted-foreground">{user.email || "—"}</TableCell>
                  <TableCell className="whitespace-nowrap">
                    {user.role === "admin" ? (
                      <Badge>
                        <ShieldIcon className="size-3" aria-hidden /> {usersMessages.roles.admin}
                      </Badge>
                    ) : (
                      <Badge variant="secondary">{usersMessages.roles.user}</Badge>
                    )}
                  </TableCell>
                  <TableCell className="whitespace-nowrap text-muted-foreground">
                    {usersMessages.providers[user.identity_provider] ?? user.identity_provider}
                  </TableCell>
                  <TableCell>
                    {user.disabled ? (
                      <Badge variant="destructive">{usersMessages.disabled}</Badge>
                    ) : (
                      <Badge variant="success">{usersMessages.active}</Badge>
                    )}
                  </TableCell>
                  <TableCell className="whitespace-nowrap text-muted-foreground">
                    <time dateTime={user.created_at} title={formatDateTime(user.created_at)}>
                      {dateOnly.format(new Date(user.created_at))}
                    </time>
                  </TableCell>
                  <TableCell className="text-end">
                    <DropdownMenu>
                      <DropdownMenuTrigger asChild>
                        <Button variant="ghost" size="icon" aria-label={usersMessages.actionsFor(user.username)}>
                          <MoreHorizontalIcon aria-hidden />
                        </Button>
                      </DropdownMenuTrigger>
                      <DropdownMenuContent align="end">
                        <DropdownMenuLabel>{user.username}</DropdownMenuLabel>
                        <DropdownMenuItem onSelect={() => setDetailsOf(user)}>
                          <PencilIcon aria-hidden /> {usersMessages.editDetails}
                        </DropdownMenuItem>
                        <DropdownMenuItem onSelect={() => setRoleOf(user)}>
                          <ShieldIcon aria-hidden /> {usersMessages.changeRole}
                        </DropdownMenuItem>
                        {user.identity_provider === "local" ? (
                          <DropdownMenuItem onSelect={() => setResetOf(user)}>
                            <KeyRoundIcon aria-hidden /> {usersMessages.resetPassword}
                          </DropdownMenuItem>
                        ) : null}
                        <DropdownMenuSeparator />
                        {user.disabled ? (
                          <DropdownMenuItem onSelect={() => setToggleOf(user)}>
                            <CircleCheckIcon aria-hidden /> {usersMessages.enable}
                          </DropdownMenuItem>
                        ) : self ? (
                          <DropdownMenuItem disabled>
                            <BanIcon aria-hidden /> {usersMessages.cannotDisableSelf}
                          </DropdownMenuItem>
                        ) : (
                          <DropdownMenuItem className="text-destructive" onSelect={() => setToggleOf(user)}>
                            <BanIcon aria-hidden /> {usersMessages.disable}
                          </DropdownMenuItem>
                        )}
                      </DropdownMenuContent>
                    </DropdownMenu>
                  </TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      )}
      {users.hasNextPage ? (
        <div className="mt-4 flex justify-center">
          <Button variant="outline" onClick={() => void users.fetchNextPage()} disabled={users.isFetchingNextPage}>
            {m.common.loadMore}
          </Button>
        </div>
      ) : null}
      <CreateUserDialog open={creating} onOpenChange={setCreating} />
      <DetailsDialog user={detailsOf} onClose={() => setDetailsOf(null)} />
      <RoleDialog user={roleOf} me={me} onClose={() => setRoleOf(null)} />
      <ResetPasswordDialog user={resetOf} me={me} onClose={() => setResetOf(null)} />
      <DisableDialog user={toggleOf} onClose={() => setToggleOf(null)} />
    </>
  );
}
