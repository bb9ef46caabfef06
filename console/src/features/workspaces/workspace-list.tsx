import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { PlusIcon, SearchIcon } from "lucide-react";
import { lazy, Suspense, useEffect, useRef, useState } from "react";

import { meQuery } from "@/api/queries";
import { EmptyState, ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { workspaceListQuery } from "@/features/workspaces/queries";
import { roleName, StatusBadge } from "@/features/workspaces/status-badge";
import { m } from "@/lib/messages";
import { workspacesMessages } from "@/lib/messages/workspaces";
import { formatDateTime, formatRelative } from "@/lib/utils";

/** Whether this user may create workspaces: the server says so in /me (platform admins always). */
export function useCanCreateWorkspaces(): boolean {
  // Fetched again on this page: the copy cached at sign-in is the login answer, which lacks the flag.
  const { data: me } = useQuery({ ...meQuery, staleTime: 0 });
  return me?.role === "admin" || me?.can_create_workspaces === true;
}

export function WorkspaceList({ q }: { q: string }) {
  const navigate = useNavigate();
  const { data: me } = useQuery(meQuery);
  const canCreate = useCanCreateWorkspaces();
  const [text, setText] = useState(q);
  const list = useInfiniteQuery(workspaceListQuery(q));

  // The filter box writes to the URL (after a short pause), so every filtered view has a link;
  // a change of the URL from elsewhere (back, a link) writes to the box.
  const pushed = useRef(q);
  useEffect(() => {
    if (q !== pushed.current) {
      pushed.current = q;
      setText(q);
    }
  }, [q]);
  useEffect(() => {
    const wanted = text.trim();
    if (wanted === pushed.current) return;
    const timer = setTimeout(() => {
      pushed.current = wanted;
      void navigate({ to: "/workspaces", search: wanted ? { q: wanted } : {}, replace: true });
    }, 250);
    return () => clearTimeout(timer);
  }, [text, navigate]);

  const items = list.data?.pages.flatMap((page) => page.items) ?? [];

  return (
    <>
      <PageHeader
        title={workspacesMessages.title}
        description={me?.role === "admin" ? workspacesMessages.descriptionAdmin : workspacesMessages.description}
        actions={canCreate ? <CreateWorkspaceButton /> : null}
      />
      <div className="mb-4 flex items-center gap-3">
        <div className="relative w-80">
          <SearchIcon
            className="pointer-events-none absolute start-2.5 top-1/2 size-4 -translate-y-1/2 text-muted-foreground"
            aria-hidden
          />
          <Input
            type="search"
            aria-label={workspacesMessages.filter}
            placeholder={workspacesMessages.filterPlaceholder}
            className="ps-8"
            value={text}
            onChange={(event) => setText(event.target.value)}
          />
        </div>
        {list.data ? (
          <p className="text-sm text-muted-foreground" aria-live="polite">
            {workspacesMessages.shown(items.length, list.hasNextPage)}
          </p>
        ) : null}
      </div>
      {list.isPending ? (
        <LoadingRows />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : items.length === 0 ? (
        q ? (
          <EmptyState
            title={workspacesMessages.noMatch(q)}
            action={
              <Button variant="outline" size="sm" onClick={() => setText("")}>
                {workspacesMessages.clearFilter}
              </Button>
            }
          />
        ) : (
          <EmptyState
            title={workspacesMessages.empty}
            description={canCreate ? workspacesMessages.emptyHint : workspacesMessages.emptyNoCreate}
            action={canCreate ? <CreateWorkspaceButton /> : null}
          />
        )
      ) : (
        <>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>{workspacesMessages.columns.name}</TableHead>
                <TableHead>{workspacesMessages.columns.slug}</TableHead>
                <TableHead>{workspacesMessages.columns.status}</TableHead>
                <TableHead>{workspacesMessages.columns.role}</TableHead>
                <TableHead>{workspacesMessages.columns.created}</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {items.map((workspace) => (
                <TableRow key={workspace.slug}>
                  <TableCell className="max-w-md">
                    <Link
                      to="/workspaces/$workspace"
                      params={{ workspace: workspace.slug }}
                      className="font-medium hover:underline focus-visible:underline"
                    >
                      {workspace.name}
                    </Link>
                    {workspace.description ? (
                      <p className="truncate text-xs text-muted-foreground">{workspace.description}</p>
                    ) : null}
                  </TableCell>
                  <TableCell className="font-mono text-xs">{workspace.slug}</TableCell>
                  <TableCell>
                    <StatusBadge status={workspace.status} />
                  </TableCell>
                  <TableCell>{roleName(workspace.my_role)}</TableCell>
                  <TableCell className="text-muted-foreground">
                    <time dateTime={workspace.created_at} title={formatDateTime(workspace.created_at)}>
                      {formatRelative(workspace.created_at)}
                    </time>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
          {list.hasNextPage ? (
            <div className="mt-4 flex justify-center">
              <Button variant="outline" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
                {list.isFetchingNextPage ? m.common.loading : m.common.loadMore}
              </Button>
            </div>
          ) : null}
        </>
      )}
    </>
  );
}

// The dialog's code loads on the first press, not with the list.
const CreateWorkspaceDialog = lazy(() => import("@/features/workspaces/create-workspace-dialog"));

function CreateWorkspaceButton() {
  const [open, setOpen] = useState(false);
  const [pressed, setPressed] = useState(false);
  return (
    <>
      <Button
        onClick={() => {
          setPressed(true);
          setOpen(true);
        }}
      >
        <PlusIcon aria-hidden /> {workspacesMessages.create.open}
      </Button>
      {pressed ? (
        <Suspense fallback={null}>
          <CreateWorkspaceDialog open={open} onOpenChange={setOpen} />
        </Suspense>
      ) : null}
    </>
  );
}
