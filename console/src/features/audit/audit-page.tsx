import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { DownloadIcon, FilterXIcon, LoaderCircleIcon, ShieldOffIcon } from "lucide-react";
import { useEffect, useMemo } from "react";

import type { Schemas } from "@/api/client";
import { myWorkspacesQuery } from "@/api/queries";
import { EmptyState, ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { Button } from "@/components/ui/button";
import { m } from "@/lib/messages";
import { auditMessages } from "@/lib/messages/audit";

import { AuditFilters } from "./audit-filters";
import { ChainStatus } from "./chain-status";
import { EventDialog } from "./event-dialog";
import { EventsTable } from "./events-table";
import { type AuditScope, type AuditSearch, auditEventsQuery, exportHref, hasFilters } from "./queries";

function Refused() {
  return (
    <>
      <PageHeader title={auditMessages.title} />
      <div
        role="status"
        data-testid="audit-refused"
        className="flex flex-col items-center gap-2 rounded-lg border border-dashed p-10 text-center"
      >
        <ShieldOffIcon className="size-6 text-muted-foreground" aria-hidden />
        <h2 className="font-medium">{auditMessages.refusedTitle}</h2>
        <p className="max-w-prose text-sm text-muted-foreground">{auditMessages.refusedDetail}</p>
      </div>
    </>
  );
}

/** The audit log: platform admins read the whole trail, a workspace's admins their workspace's. */
export function AuditPage({ me, search }: { me: Schemas["UserOut"]; search: AuditSearch }) {
  const platform = me.role === "admin";
  const workspacesQuery = useQuery(myWorkspacesQuery);
  const adminOf = useMemo(
    () => (workspacesQuery.data?.items ?? []).filter((w) => platform || w.my_role === "admin"),
    [workspacesQuery.data, platform],
  );
  const navigate = useNavigate({ from: "/audit" });

  // A workspace admin always reads one workspace: the URL's, else the first they administer.
  const workspace = platform ? search.workspace : (search.workspace ?? adminOf[0]?.slug);
  useEffect(() => {
    if (!platform && !search.workspace && workspace) {
      void navigate({ search: (prev) => ({ ...prev, workspace }), replace: true });
    }
  }, [platform, search.workspace, workspace, navigate]);

  if (!platform && workspacesQuery.isPending) return <LoadingRows />;
  if (!platform && workspacesQuery.isError) {
    return <ErrorState error={workspacesQuery.error} onRetry={() => void workspacesQuery.refetch()} />;
  }
  if (!platform && !workspace) return <Refused />;
  const scope: AuditScope = platform ? { platform: true, workspace } : { platform: false, workspace: workspace! };

  return <AuditTrail scope={scope} search={{ ...search, workspace }} workspaces={adminOf} />;
}

function AuditTrail({
  scope,
  search,
  workspaces,
}: {
  scope: AuditScope;
  search: AuditSearch;
  workspaces: Schemas["WorkspaceOut"][];
}) {
  const navigate = useNavigate({ from: "/audit" });
  const events = useInfiniteQuery(auditEventsQuery(scope, search));
  const rows = useMemo(() => events.data?.pages.flatMap((page) => page.items) ?? [], [events.data]);
  const filtered = hasFilters(search, scope.platform);

  const setSearch = (patch: Partial<AuditSearch>) =>
    void navigate({ search: (prev) => ({ ...prev, ...patch, event: undefined }) });
  const clear = () =>
    void navigate({ search: scope.platform ? {} : { workspace: scope.workspace } });
  const open = (seq: number | undefined) =>
    void navigate({ search: (prev) => ({ ...prev, event: seq }), resetScroll: false });

  const clearButton = (
    <Button type="button" variant="ghost" size="sm" onClick={clear}>
      <FilterXIcon aria-hidden /> {auditMessages.clear}
    </Button>
  );

  // Suggestions for the typed filters, from what the loaded pages hold.
  const actions = useMemo(() => [...new Set(rows.map((r) => r.action))].sort(), [rows]);
  const actors = useMemo(
    () => [...new Set(rows.map((r) => r.actor).filter((a): a is string => Boolean(a)))].sort(),
    [rows],
  );

  return (
    <>
      <PageHeader
        title={auditMessages.title}
        description={
          <span className="block max-w-2xl">
            {scope.platform ? auditMessages.descriptionPlatform : auditMessages.descriptionWorkspace}
          </span>
        }
        actions={
          <Button asChild variant="outline">
            <a href={exportHref(scope, search, Date.now())} download title={auditMessages.exportHint} data-testid="audit-export">
              <DownloadIcon aria-hidden /> {auditMessages.export}
            </a>
          </Button>
        }
      />
      {scope.platform ? <ChainStatus /> : null}
      <AuditFilters
        search={search}
        platform={scope.platform}
        workspaces={workspaces.map((w) => ({ slug: w.slug, name: w.name }))}
        actions={actions}
        actors={actors}
        onChange={setSearch}
      />
      {events.isPending ? (
        <LoadingRows rows={8} />
      ) : !events.data ? (
        <ErrorState error={events.error} onRetry={() => void events.refetch()} />
      ) : rows.length === 0 ? (
        <EmptyState
          title={auditMessages.empty}
          description={filtered ? auditMessages.emptyFiltered : auditMessages.emptyNone}
          action={filtered ? clearButton : undefined}
        />
      ) : (
        <>
          <EventsTable
            events={rows}
            search={search}
            showWorkspace={scope.platform && !scope.workspace}
            onOpen={open}
          />
          <div className="mt-3 flex flex-wrap items-center justify-between gap-3">
            <div className="flex items-center gap-2">
              <p className="text-sm text-muted-foreground" aria-live="polite">
                {auditMessages.shown(rows.length, events.hasNextPage)}
              </p>
              {filtered ? clearButton : null}
            </div>
            {events.hasNextPage ? (
              <Button variant="outline" disabled={events.isFetchingNextPage} onClick={() => void events.fetchNextPage()}>
                {events.isFetchingNextPage ? <LoaderCircleIcon className="animate-spin" aria-hidden /> : null}
                {events.isFetchingNextPage ? auditMessages.loadingMore : m.common.loadMore}
              </Button>
            ) : (
              <p className="text-sm text-muted-foreground">{auditMessages.end}</p>
            )}
          </div>
          {events.isFetchNextPageError ? <ErrorState error={events.error} onRetry={() => void events.fetchNextPage()} /> : null}
        </>
      )}
      <EventDialog
        scope={scope}
        seq={search.event}
        known={rows.find((r) => r.seq === search.event)}
        onClose={() => open(undefined)}
      />
    </>
  );
}
