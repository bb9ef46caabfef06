/** A workspace's runs: filters (job, state, trigger, time range), the page and the view (list or
 * matrix) all in the URL, so any view can be linked; live while something runs. */
import { useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { useState } from "react";

import { EmptyState, ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { Button } from "@/components/ui/button";
import { Input, NativeSelect } from "@/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { jobNamesQuery } from "@/features/jobs/api";
import { runsMessages } from "@/lib/messages/runs";
import { cn, formatDateTime } from "@/lib/utils";

import {
  duration,
  MATRIX_RUNS,
  PAGE_SIZES,
  RUN_STATES,
  RUN_TRIGGERS,
  type Run,
  type RunFilters,
  type RunState,
  runsPageQuery,
  type RunsSearch,
  type RunTrigger,
  SINCE_PRESETS,
  type SincePreset,
  validateRunsSearch,
} from "./api";
import { RunsMatrix } from "./runs-matrix";
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
            <TableCell className="whitespace-nowrap">{duration(run)}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

/** A datetime-local input's value (local time, minutes) for an ISO instant, and back. */
function toLocalInput(iso: string | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}
function fromLocalInput(value: string): string | undefined {
  return value ? new Date(value).toISOString() : undefined;
}

export function RunsList({ workspace, search }: { workspace: string; search: RunsSearch }) {
  const navigate = useNavigate();
  const jobs = useQuery(jobNamesQuery(workspace));
  const [customRange, setCustomRange] = useState(Boolean(search.from || search.until));
  const filtered = Boolean(search.job || search.state || search.trigger || search.since || search.from || search.until);
  /** Change the URL: a new filter starts from the newest page; turning a page keeps history. */
  const setSearch = (next: Partial<RunsSearch>, page = false) =>
    void navigate({
      to: "/workspaces/$workspace/runs",
      params: { workspace },
      search: validateRunsSearch({ ...search, ...(page ? {} : { cursor: undefined }), ...next }) as never,
      replace: !page,
    });
  const jobOptions = [...new Set([...(jobs.data ?? []), ...(search.job ? [search.job] : [])])].sort();
  const timeValue = customRange ? "custom" : (search.since ?? "");

  return (
    <>
      <PageHeader title={t.title} description={search.view === "matrix" ? t.matrix.description : t.description} />
      <nav aria-label={t.views.label} className="mb-4 flex gap-1 border-b">
        {(["list", "matrix"] as const).map((view) => {
          const current = (search.view ?? "list") === view;
          return (
            <Link
              key={view}
              to="/workspaces/$workspace/runs"
              params={{ workspace }}
              search={{ ...search, cursor: undefined, view: view === "matrix" ? "matrix" : undefined } as never}
              aria-current={current ? "page" : undefined}
              className={cn(
                "-mb-px border-b-2 px-3 py-2 text-sm font-medium text-muted-foreground hover:text-foreground",
                current ? "border-primary text-foreground" : "border-transparent",
              )}
            >
              {t.views[view]}
            </Link>
          );
        })}
      </nav>
      <div className="mb-3 flex flex-wrap items-end gap-2">
        <NativeSelect
          aria-label={t.filters.job}
          className="w-56"
          value={search.job ?? ""}
          onChange={(event) => setSearch({ job: event.target.value || undefined })}
        >
          <option value="">{t.allJobs}</option>
          {jobOptions.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </NativeSelect>
        {search.view === "matrix" ? null : (
          <NativeSelect
            aria-label={t.filters.state}
            className="w-48"
            value={search.state ?? ""}
            onChange={(event) => setSearch({ state: (event.target.value || undefined) as RunState | undefined })}
          >
            <option value="">{t.allStates}</option>
            {RUN_STATES.map((state) => (
              <option key={state} value={state}>
                {t.states[state]}
              </option>
            ))}
          </NativeSelect>
        )}
        <NativeSelect
          aria-label={t.filters.trigger}
          className="w-44"
          value={search.trigger ?? ""}
          onChange={(event) => setSearch({ trigger: (event.target.value || undefined) as RunTrigger | undefined })}
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
          value={timeValue}
          onChange={(event) => {
            const value = event.target.value;
            setCustomRange(value === "custom");
            if (value !== "custom") setSearch({ since: (value || undefined) as SincePreset | undefined, from: undefined, until: undefined });
          }}
        >
          <option value="">{t.anyTime}</option>
          {(Object.keys(SINCE_PRESETS) as SincePreset[]).map((preset) => (
            <option key={preset} value={preset}>
              {t.since[preset]}
            </option>
          ))}
          <option value="custom">{t.customRange}</option>
        </NativeSelect>
        {customRange ? (
          <>
            <label className="grid gap-1 text-xs text-muted-foreground">
              {t.from}
              <Input
                type="datetime-local"
                className="w-52"
                value={toLocalInput(search.from)}
                onChange={(event) => setSearch({ since: undefined, from: fromLocalInput(event.target.value) })}
              />
            </label>
            <label className="grid gap-1 text-xs text-muted-foreground">
              {t.until}
              <Input
                type="datetime-local"
                className="w-52"
                value={toLocalInput(search.until)}
                onChange={(event) => setSearch({ since: undefined, until: fromLocalInput(event.target.value) })}
              />
            </label>
          </>
        ) : null}
        {search.view === "matrix" ? (
          <NativeSelect
            aria-label={t.matrix.runsPerJob}
            className="w-40"
            value={String(search.per ?? 20)}
            onChange={(event) => setSearch({ per: Number(event.target.value) })}
          >
            {MATRIX_RUNS.map((n) => (
              <option key={n} value={n}>
                {t.matrix.perJob(n)}
              </option>
            ))}
          </NativeSelect>
        ) : (
          <NativeSelect
            aria-label={t.pageSize}
            className="w-36"
            value={String(search.limit ?? PAGE_SIZES[0])}
            onChange={(event) => setSearch({ limit: Number(event.target.value) })}
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {t.perPage(n)}
              </option>
            ))}
          </NativeSelect>
        )}
        {filtered ? (
          <Button
            variant="ghost"
            size="sm"
            onClick={() => {
              setCustomRange(false);
              setSearch({ job: undefined, state: undefined, trigger: undefined, since: undefined, from: undefined, until: undefined });
            }}
          >
            {t.clearFilters}
          </Button>
        ) : null}
      </div>
      {search.view === "matrix" ? (
        <RunsMatrix workspace={workspace} search={search} />
      ) : (
        <RunsPage workspace={workspace} search={search} filtered={filtered} onSearch={setSearch} />
      )}
    </>
  );
}

function RunsPage({
  workspace,
  search,
  filtered,
  onSearch,
}: {
  workspace: string;
  search: RunsSearch;
  filtered: boolean;
  onSearch: (next: Partial<RunsSearch>, page?: boolean) => void;
}) {
  const limit = search.limit ?? PAGE_SIZES[0];
  const filters: RunFilters = {
    job: search.job,
    state: search.state,
    trigger: search.trigger,
    since: search.since,
    from: search.from,
    until: search.until,
  };
  const query = useQuery(runsPageQuery(workspace, filters, search.cursor, limit));
  if (query.isPending) return <LoadingRows />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  const runs = query.data.items;
  if (runs.length === 0 && !search.cursor)
    return filtered ? <EmptyState title={t.noMatch} /> : <EmptyState title={t.emptyTitle} description={t.emptyDescription} />;
  const next = query.data.next_cursor;
  return (
    <>
      <div className="rounded-lg border bg-card">
        <RunsTable workspace={workspace} runs={runs} />
      </div>
      <div className="mt-3 flex flex-wrap items-center justify-between gap-3">
        <p className="text-sm text-muted-foreground" aria-live="polite">
          {runs.length ? t.pageRange(runs[0]!.id, runs[runs.length - 1]!.id) : t.noMatch}
        </p>
        <div className="flex gap-2">
          <Button variant="outline" size="sm" disabled={!search.cursor} onClick={() => onSearch({ cursor: undefined }, true)}>
            {t.newest}
          </Button>
          <Button variant="outline" size="sm" disabled={!next} onClick={() => onSearch({ cursor: next ?? undefined }, true)}>
            {t.older}
          </Button>
        </div>
      </div>
    </>
  );
}
