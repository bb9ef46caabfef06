/** Jobs × their recent runs (Airflow's grid, Dagster's run timeline): one row per job, its last
 * runs oldest to newest, each a square linking to the run. A state is told by colour AND by the
 * icon inside the square (and the square's name for screen readers), so colour is never the only
 * clue; a bar marks where the job's version changed. */
import { useQueries, useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import {
  BanIcon,
  CheckIcon,
  ClockIcon,
  type LucideIcon,
  OctagonXIcon,
  PlayIcon,
  RotateCwIcon,
  TimerOffIcon,
  XIcon,
} from "lucide-react";

import { EmptyState, ErrorState, LoadingRows } from "@/components/page";
import { jobNamesQuery } from "@/features/jobs/api";
import { runsMessages } from "@/lib/messages/runs";
import { cn, formatDateTime } from "@/lib/utils";

import { jobRecentRunsQuery, RUN_STATES, type Run, type RunFilters, type RunState, type RunsSearch } from "./api";

const t = runsMessages;

export const STATE_LOOK: Record<RunState, { icon: LucideIcon; className: string }> = {
  QUEUED: { icon: ClockIcon, className: "border border-muted-foreground/50 bg-muted text-muted-foreground" },
  RUNNING: { icon: PlayIcon, className: "bg-primary text-primary-foreground" },
  CANCELLING: { icon: OctagonXIcon, className: "bg-warning/60 text-foreground" },
  WAITING_FOR_RETRY: { icon: RotateCwIcon, className: "bg-warning text-background" },
  SUCCEEDED: { icon: CheckIcon, className: "bg-success text-background" },
  FAILED: { icon: XIcon, className: "bg-destructive text-destructive-foreground" },
  CANCELLED: { icon: BanIcon, className: "border border-dashed border-muted-foreground bg-background text-muted-foreground" },
  TIMED_OUT: { icon: TimerOffIcon, className: "bg-destructive/75 text-destructive-foreground" },
};

function StateSquare({ state, className }: { state: RunState; className?: string }) {
  const { icon: Icon, className: look } = STATE_LOOK[state];
  return (
    <span className={cn("inline-flex size-7 items-center justify-center rounded-sm", look, className)} data-state={state}>
      <Icon className="size-4" aria-hidden />
    </span>
  );
}

function VersionMarker({ version }: { version: number }) {
  return (
    <span
      role="img"
      aria-label={t.matrix.versionMarker(version)}
      title={t.matrix.versionMarker(version)}
      className="relative mx-0.5 inline-flex h-7 w-0.5 bg-foreground"
      data-version-marker={version}
    >
      <span aria-hidden className="absolute -top-4 start-1/2 -translate-x-1/2 text-[10px] font-medium leading-none text-foreground rtl:translate-x-1/2">
        v{version}
      </span>
    </span>
  );
}

/** The runs of one job, with a marker before each run whose version differs from the one before. */
export function JobRunCells({ workspace, runs }: { workspace: string; runs: Run[] }) {
  if (runs.length === 0) return <span className="text-sm text-muted-foreground">{t.matrix.noRuns}</span>;
  const changes = runs.some((run, index) => index > 0 && runs[index - 1]!.job_version !== run.job_version);
  return (
    // Room above the squares for the version labels, in rows that have one.
    <div className={cn("flex flex-wrap items-center gap-1", changes && "pt-4")}>
      {runs.map((run, index) => {
        const previous = runs[index - 1];
        const when = run.started_at ? formatDateTime(run.started_at) : `${t.matrix.notStarted} ${formatDateTime(run.created_at)}`;
        const label = t.matrix.cell(run.id, t.states[run.state] ?? run.state, run.job_version, when);
        return (
          <span key={run.id} className="inline-flex items-center gap-1">
            {previous && previous.job_version !== run.job_version ? <VersionMarker version={run.job_version} /> : null}
            <Link
              to="/workspaces/$workspace/runs/$run"
              params={{ workspace, run: String(run.id) }}
              aria-label={label}
              title={label}
              data-run={run.id}
              className="rounded-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring focus-visible:ring-offset-1"
            >
              <StateSquare state={run.state} className="hover:opacity-80" />
            </Link>
          </span>
        );
      })}
    </div>
  );
}

export function MatrixLegend() {
  return (
    <section aria-label={t.matrix.legend} className="mb-4 flex flex-wrap items-center gap-x-4 gap-y-2 text-sm">
      <h2 className="text-xs font-medium uppercase tracking-wide text-muted-foreground">{t.matrix.legend}</h2>
      <ul className="flex flex-wrap items-center gap-x-4 gap-y-2">
        {RUN_STATES.map((state) => (
          <li key={state} className="flex items-center gap-1.5">
            <StateSquare state={state} className="size-5 [&_svg]:size-3" />
            {t.states[state]}
          </li>
        ))}
        <li className="flex items-center gap-1.5">
          <span aria-hidden className="inline-block h-5 w-0.5 bg-foreground" />
          {t.matrix.versionChange}
        </li>
      </ul>
    </section>
  );
}

export function RunsMatrix({ workspace, search }: { workspace: string; search: RunsSearch }) {
  const names = useQuery({ ...jobNamesQuery(workspace), enabled: !search.job });
  const jobs = search.job ? [search.job] : (names.data ?? []);
  const per = search.per ?? 20;
  // The state filter and the page belong to the list; the matrix shows every state.
  const filters: RunFilters = { trigger: search.trigger, since: search.since, from: search.from, until: search.until };
  const rows = useQueries({ queries: jobs.map((job) => jobRecentRunsQuery(workspace, job, filters, per)) });

  if (!search.job && names.isPending) return <LoadingRows />;
  if (!search.job && names.isError) return <ErrorState error={names.error} onRetry={() => void names.refetch()} />;
  if (jobs.length === 0) return <EmptyState title={t.matrix.noJobs} description={t.emptyDescription} />;
  return (
    <>
      <MatrixLegend />
      <div className="overflow-x-auto rounded-lg border bg-card">
        <table className="w-full text-sm" aria-label={t.views.matrix}>
          <thead>
            <tr className="border-b bg-muted/50">
              <th scope="col" className="w-56 px-3 py-2 text-start font-medium">
                {t.matrix.job}
              </th>
              <th scope="col" className="px-3 py-2 text-start font-medium">
                {t.matrix.runs}
              </th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((job, index) => {
              const row = rows[index];
              return (
                <tr key={job} className="border-b last:border-0" data-job={job}>
                  <th scope="row" className="px-3 py-2 text-start align-middle font-normal">
                    <Link
                      to="/workspaces/$workspace/jobs/$job"
                      params={{ workspace, job }}
                      className="font-medium underline-offset-4 hover:underline"
                    >
                      {job}
                    </Link>
                  </th>
                  <td className="px-3 py-2">
                    {!row || row.isPending ? (
                      <LoadingRows rows={1} />
                    ) : row.isError ? (
                      <ErrorState error={row.error} onRetry={() => void row.refetch()} />
                    ) : (
                      <JobRunCells workspace={workspace} runs={row.data} />
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}
