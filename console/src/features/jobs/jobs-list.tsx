/** A workspace's jobs: type, schedule in words, last run, next fire time; search and type in the URL. */
import { useInfiniteQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { PlusIcon, SearchIcon } from "lucide-react";
import type * as React from "react";

import { EmptyState, ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Input, NativeSelect } from "@/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { runsQuery, useCanRun, useWorkspaceRole } from "@/features/runs/api";
import { RunStateBadge } from "@/features/runs/state-badge";
import { m } from "@/lib/messages";
import { jobsMessages } from "@/lib/messages/jobs";
import { formatDateTime, formatRelative } from "@/lib/utils";

import { definitionOf, engineOf, type Job, jobsQuery, scheduleInWords } from "./api";
import { PauseResumeButton, RunNowButton } from "./job-actions";

const t = jobsMessages;
export type JobStatus = "active" | "paused" | "manual";
export type JobsSearch = { q?: string; type?: "sql" | "spark"; status?: JobStatus };

/** Scheduled and firing, scheduled but paused, or run only by hand. */
export function statusOf(job: Job): JobStatus {
  if (!definitionOf(job).schedule) return "manual";
  return job.paused ? "paused" : "active";
}

function LastRun({ workspace, job }: { workspace: string; job: string }) {
  const query = useInfiniteQuery(runsQuery(workspace, { job }, 1));
  const last = query.data?.pages[0]?.items[0];
  if (query.isPending) return <span className="text-muted-foreground">…</span>;
  if (!last) return <span className="text-muted-foreground">{t.noRuns}</span>;
  return (
    <Link
      to="/workspaces/$workspace/runs/$run"
      params={{ workspace, run: String(last.id) }}
      className="inline-flex items-center gap-2 underline-offset-4 hover:underline"
    >
      <RunStateBadge state={last.state} />
      <span className="text-xs text-muted-foreground">#{last.id}</span>
    </Link>
  );
}

export function ScheduleCell({ job }: { job: Job }) {
  const schedule = definitionOf(job).schedule;
  if (!schedule) return <span className="text-muted-foreground">{t.manual}</span>;
  return (
    <div className="grid min-w-44 gap-0.5">
      <span>{scheduleInWords(schedule)}</span>
      <span className="flex items-center gap-2 text-xs text-muted-foreground">
        <code className="whitespace-nowrap font-mono">{schedule.cron}</code>
        <Badge variant={job.paused ? "warning" : "success"}>{job.paused ? t.paused : t.active}</Badge>
      </span>
    </div>
  );
}

export function NextFire({ job }: { job: Job }) {
  if (!definitionOf(job).schedule) return <span className="text-muted-foreground">—</span>;
  if (job.paused) return <span className="text-muted-foreground">{t.notFiring}</span>;
  if (!job.next_fire_at) return <span className="text-muted-foreground">—</span>;
  return <span title={formatDateTime(job.next_fire_at)}>{formatRelative(job.next_fire_at)}</span>;
}

export function JobsList({ workspace, search }: { workspace: string; search: JobsSearch }) {
  const navigate = useNavigate();
  const canRun = useCanRun(workspace);
  const role = useWorkspaceRole(workspace);
  const query = useInfiniteQuery(jobsQuery(workspace, search.q));
  const all = query.data?.pages.flatMap((page) => page.items) ?? [];
  const shown = all.filter(
    (job) =>
      (!search.type || definitionOf(job).task.type === search.type) && (!search.status || statusOf(job) === search.status),
  );
  const filtered = Boolean(search.q || search.type || search.status);
  const setSearch = (next: Partial<Record<keyof JobsSearch, string>>) =>
    void navigate({
      to: "/workspaces/$workspace/jobs",
      params: { workspace },
      search: (() => {
        const merged = { ...search, ...next } as Record<string, string | undefined>;
        return {
          q: merged.q || undefined,
          type: (merged.type || undefined) as JobsSearch["type"],
          status: (merged.status || undefined) as JobsSearch["status"],
        };
      })(),
      replace: true,
    });

  let body: React.ReactNode;
  if (query.isPending) body = <LoadingRows />;
  else if (query.isError) body = <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  else if (shown.length === 0)
    body = filtered ? (
      <EmptyState
        title={t.noMatch}
        action={
          <Button variant="outline" size="sm" onClick={() => setSearch({ q: "", type: "", status: "" })}>
            {t.clearFilters}
          </Button>
        }
      />
    ) : (
      <EmptyState title={t.emptyTitle} description={t.emptyDescription} />
    );
  else
    body = (
      <>
        <div className="rounded-lg border bg-card">
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>{t.columns.name}</TableHead>
                <TableHead>{t.columns.type}</TableHead>
                <TableHead>{t.columns.schedule}</TableHead>
                <TableHead>{t.columns.next}</TableHead>
                <TableHead>{t.columns.lastRun}</TableHead>
                {canRun ? (
                  <TableHead>
                    <span className="sr-only">{t.columns.actions}</span>
                  </TableHead>
                ) : null}
              </TableRow>
            </TableHeader>
            <TableBody>
              {shown.map((job) => {
                const definition = definitionOf(job);
                return (
                  <TableRow key={job.name} data-job={job.name}>
                    <TableCell className="max-w-56">
                      <Link
                        to="/workspaces/$workspace/jobs/$job"
                        params={{ workspace, job: job.name }}
                        className="font-medium text-primary underline-offset-4 hover:underline"
                      >
                        {job.name}
                      </Link>
                      {definition.description ? (
                        <p className="truncate text-xs text-muted-foreground" title={definition.description}>
                          {definition.description}
                        </p>
                      ) : null}
                    </TableCell>
                    <TableCell className="whitespace-nowrap">
                      {t.types[definition.task.type] ?? definition.task.type}
                      <span className="block text-xs text-muted-foreground">
                        {engineOf(definition)} · {t.version(job.current_version)}
                      </span>
                    </TableCell>
                    <TableCell>
                      <ScheduleCell job={job} />
                    </TableCell>
                    <TableCell className="whitespace-nowrap">
                      <NextFire job={job} />
                    </TableCell>
                    <TableCell>
                      <LastRun workspace={workspace} job={job.name} />
                    </TableCell>
                    {canRun ? (
                      <TableCell>
                        <div className="flex justify-end gap-2">
                          <PauseResumeButton workspace={workspace} job={job} size="sm" />
                          <RunNowButton workspace={workspace} job={job} size="sm" />
                        </div>
                      </TableCell>
                    ) : null}
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        </div>
        {query.hasNextPage ? (
          <div className="mt-3 flex justify-center">
            <Button variant="outline" onClick={() => void query.fetchNextPage()} disabled={query.isFetchingNextPage}>
              {m.common.loadMore}
            </Button>
          </div>
        ) : null}
      </>
    );

  return (
    <>
      <PageHeader
        title={t.title}
        description={t.description}
        actions={
          canRun ? (
            <Button asChild>
              <Link to="/workspaces/$workspace/jobs/-/new" params={{ workspace }}>
                <PlusIcon aria-hidden />
                {t.newJob}
              </Link>
            </Button>
          ) : null
        }
      />
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <div className="relative w-72">
          <SearchIcon className="pointer-events-none absolute start-2.5 top-2.5 size-4 text-muted-foreground" aria-hidden />
          <Input
            type="search"
            aria-label={t.search}
            placeholder={t.search}
            className="ps-8"
            defaultValue={search.q ?? ""}
            onChange={(event) => setSearch({ q: event.target.value })}
          />
        </div>
        <NativeSelect
          aria-label={t.columns.type}
          className="w-40"
          value={search.type ?? ""}
          onChange={(event) => setSearch({ type: event.target.value })}
        >
          <option value="">{t.allTypes}</option>
          <option value="sql">{t.types.sql}</option>
          <option value="spark">{t.types.spark}</option>
        </NativeSelect>
        <NativeSelect
          aria-label={t.statusFilter}
          className="w-44"
          value={search.status ?? ""}
          onChange={(event) => setSearch({ status: event.target.value })}
        >
          <option value="">{t.allStatuses}</option>
          <option value="active">{t.statuses.active}</option>
          <option value="paused">{t.statuses.paused}</option>
          <option value="manual">{t.statuses.manual}</option>
        </NativeSelect>
      </div>
      {role === "viewer" ? <p className="mb-3 text-sm text-muted-foreground">{t.readOnly}</p> : null}
      {body}
    </>
  );
}
