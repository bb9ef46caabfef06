/** A workspace's runs: filters (job, state, trigger) in the URL, keyset paging, live while active. */
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import type * as React from "react";

import { EmptyState, ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { Button } from "@/components/ui/button";
import { NativeSelect } from "@/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { jobNamesQuery } from "@/features/jobs/api";
import { m } from "@/lib/messages";
import { runsMessages } from "@/lib/messages/runs";
import { formatDateTime } from "@/lib/utils";

import { duration, RUN_STATES, RUN_TRIGGERS, type Run, type RunFilters, runsQuery, SINCE_PRESETS, type SincePreset } from "./api";
import { RunStateBadge } from "./state-badge";

const t = runsMessages;

/** The runs as a table (the runs page and a job's recent runs). */
export function RunsTable({ workspace, runs, showJob = true }: { workspace: string; runs: Run[]; showJob?: boolean }) {
  return (
    <Table>
      <TableHeader>
        <TableRow>
          <TableHead>{t.columns.run}</TableHead>
          {showJob ? <TableHead>{t.columns.job}</TableHead> : null}
          <TableHead>{t.columns.state}</TableHead>
          <TableHead>{t.columns.trigger}</TableHead>
          <TableHead>{t.columns.version}</TableHead>
          <TableHead>{t.columns.attempt}</TableHead>
          <TableHead>{t.columns.started}</TableHead>
          <TableHead>{t.columns.duration}</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {runs.map((run) => (
          <TableRow key={run.id} data-run={run.id}>
            <TableCell>
              <Link
                to="/workspaces/$workspace/runs/$run"
                params={{ workspace, run: String(run.id) }}
                className="font-medium text-primary underline-offset-4 hover:underline"
              >
                #{run.id}
              </Link>
            </TableCell>
            {showJob ? (
              <TableCell>
                <Link
                  to="/workspaces/$workspace/jobs/$job"
                  params={{ workspace, job: run.job }}
                  className="underline-offset-4 hover:underline"
                >
                  {run.job}
                </Link>
              </TableCell>
            ) : null}
            <TableCell>
              <RunStateBadge state={run.state} />
            </TableCell>
            <TableCell>{t.triggers[run.trigger] ?? run.trigger}</TableCell>
            <TableCell>v{run.job_version}</TableCell>
            <TableCell>{run.attempt}</TableCell>
            <TableCell className="whitespace-nowrap">
              {run.started_at ? formatDateTime(run.started_at) : <span className="text-muted-foreground">{t.notStarted}</span>}
            </TableCell>
            <TableCell className="whitespace-nowrap">{duration(run.started_at, run.ended_at)}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

export function RunsList({ workspace, search }: { workspace: string; search: RunFilters }) {
  const navigate = useNavigate();
  const query = useInfiniteQuery(runsQuery(workspace, search));
  const jobs = useQuery(jobNamesQuery(workspace));
  const runs = query.data?.pages.flatMap((page) => page.items) ?? [];
  const filtered = Boolean(search.job || search.state || search.trigger || search.since);
  const setSearch = (next: Partial<Record<keyof RunFilters, string>>) =>
    void navigate({
      to: "/workspaces/$workspace/runs",
      params: { workspace },
      search: (() => {
        const merged = { ...search, ...next } as Record<string, string | undefined>;
        return {
          job: merged.job || undefined,
          state: (merged.state || undefined) as RunFilters["state"],
          trigger: (merged.trigger || undefined) as RunFilters["trigger"],
          since: (merged.since || undefined) as RunFilters["since"],
        };
      })(),
    });
  const jobOptions = [...new Set([...(jobs.data ?? []), ...(search.job ? [search.job] : [])])].sort();

  let body: React.ReactNode;
  if (query.isPending) body = <LoadingRows />;
  else if (query.isError) body = <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  else if (runs.length === 0)
    body = filtered ? (
      <EmptyState
        title={t.noMatch}
        action={
          <Button variant="outline" size="sm" onClick={() => setSearch({ job: "", state: "", trigger: "", since: "" })}>
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
          <RunsTable workspace={workspace} runs={runs} />
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
      <PageHeader title={t.title} description={t.description} />
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <NativeSelect
          aria-label={t.filters.job}
          className="w-56"
          value={search.job ?? ""}
          onChange={(event) => setSearch({ job: event.target.value })}
        >
          <option value="">{t.allJobs}</option>
          {jobOptions.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </NativeSelect>
        <NativeSelect
          aria-label={t.filters.state}
          className="w-48"
          value={search.state ?? ""}
          onChange={(event) => setSearch({ state: event.target.value })}
        >
          <option value="">{t.allStates}</option>
          {RUN_STATES.map((state) => (
            <option key={state} value={state}>
              {t.states[state]}
            </option>
          ))}
        </NativeSelect>
        <NativeSelect
          aria-label={t.filters.trigger}
          className="w-44"
          value={search.trigger ?? ""}
          onChange={(event) => setSearch({ trigger: event.target.value })}
        >
          <option value="">{t.allTriggers}</option>
          {RUN_TRIGGERS.map((trigger) => (
            <option key={trigger} value={trigger}>
              {t.triggers[trigger]}
            </option>
          ))}
        </NativeSelect>
        <NativeSelect
          aria-label={t.filters.since}
          className="w-44"
          value={search.since ?? ""}
          onChange={(event) => setSearch({ since: event.target.value })}
        >
          <option value="">{t.anyTime}</option>
          {(Object.keys(SINCE_PRESETS) as SincePreset[]).map((preset) => (
            <option key={preset} value={preset}>
              {t.since[preset]}
            </option>
          ))}
        </NativeSelect>
      </div>
      {body}
    </>
  );
}
