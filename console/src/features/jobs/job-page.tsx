/** One job: its current definition, schedule, parameters, versions and recent runs; run, pause,
 * resume, rerun failed and delete for editors and admins. */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { ArrowLeftIcon, GitCompareIcon, HistoryIcon, PencilIcon, PlayIcon, RotateCcwIcon, Trash2Icon } from "lucide-react";
import type * as React from "react";
import { useState } from "react";
import { toast } from "sonner";

import { api, ApiError, call, describeError } from "@/api/client";
import { EmptyState, ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { NativeSelect } from "@/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { runKeys, runsQuery, useCanRun, useWorkspaceRole } from "@/features/runs/api";
import { RunsTable } from "@/features/runs/runs-list";
import { m } from "@/lib/messages";
import { jobsMessages } from "@/lib/messages/jobs";
import { formatDateTime, formatRelative } from "@/lib/utils";

import {
  type Definition,
  definitionOf,
  engineOf,
  type Job,
  jobKeys,
  jobQuery,
  scheduleInWords,
  versionsQuery,
} from "./api";
import { PauseResumeButton, RunNowButton } from "./job-actions";
import { RunDialog } from "./run-dialog";
import { VersionDiffDialog } from "./version-diff";

const t = jobsMessages;
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs text-muted-foreground">{label}</dt>
      <dd className="mt-0.5 break-words text-sm font-medium">{children}</dd>
    </div>
  );
}

function TaskView({ definition }: { definition: Definition }) {
  const task = definition.task;
  if (task.type === "sql") {
    const sql = task as Definition["task"] & { sql: string; connection?: string | null };
    return (
      <div className="grid gap-3">
        <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
          <Fact label={t.engine}>{engineOf(definition)}</Fact>
          {sql.connection ? <Fact label={t.connection}>{sql.connection}</Fact> : null}
        </dl>
        <div>
          <h3 className="mb-1 text-xs text-muted-foreground">{t.sql}</h3>
          <pre
            data-testid="job-sql"
            tabIndex={0}
            aria-label={t.sql}
            className="max-h-96 overflow-auto whitespace-pre-wrap break-words rounded-md border bg-muted/40 p-3 font-mono text-xs leading-relaxed"
          >
            {sql.sql}
          </pre>
        </div>
      </div>
    );
  }
  const spark = task as Definition["task"] & {
    kind?: string;
    file?: string | null;
    source?: string | null;
    args?: string[];
    conf?: Record<string, string>;
    connection?: string | null;
  };
  const conf = Object.entries(spark.conf ?? {});
  return (
    <div className="grid gap-3">
      <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
        <Fact label={t.engine}>{engineOf(definition)}</Fact>
        {spark.kind ? <Fact label={t.sparkKind}>{spark.kind}</Fact> : null}
        {spark.connection ? <Fact label={t.connection}>{spark.connection}</Fact> : null}
        {spark.file ? (
          <Fact label={t.sparkFile}>
            <code className="font-mono text-xs">{spark.file}</code>
          </Fact>
        ) : null}
        <Fact label={t.sparkArgs}>
          {spark.args && spark.args.length > 0 ? (
            <code className="font-mono text-xs">{spark.args.join(" ")}</code>
          ) : (
            <span className="text-muted-foreground">{t.noArgs}</span>
          )}
        </Fact>
      </dl>
      {spark.source ? (
        <div>
          <h3 className="mb-1 text-xs text-muted-foreground">{t.sparkSource}</h3>
          <pre tabIndex={0} aria-label={t.sparkSource} className="max-h-96 overflow-auto whitespace-pre-wrap break-words rounded-md border bg-muted/40 p-3 font-mono text-xs">
            {spark.source}
          </pre>
        </div>
      ) : null}
      {conf.length > 0 ? (
        <div>
          <h3 className="mb-1 text-xs text-muted-foreground">{t.sparkConf}</h3>
          <pre tabIndex={0} aria-label={t.sparkConf} className="overflow-auto rounded-md border bg-muted/40 p-3 font-mono text-xs">
            {conf.map(([key, value]) => `${key}=${value}`).join("\n")}
          </pre>
        </div>
      ) : null}
    </div>
  );
}

function ScheduleView({ job }: { job: Job }) {
  const schedule = definitionOf(job).schedule;
  if (!schedule) return <p className="text-sm text-muted-foreground">{t.noSchedule}</p>;
  return (
    <dl className="grid gap-4" data-testid="job-schedule">
      <Fact label={t.schedule}>
        <span className="flex flex-wrap items-center gap-2">
          {scheduleInWords(schedule)}
          <Badge variant={job.paused ? "warning" : "success"}>{job.paused ? t.paused : t.active}</Badge>
        </span>
        <code className="font-mono text-xs text-muted-foreground">
          {schedule.cron} {schedule.timezone ?? "UTC"}
        </code>
      </Fact>
      <Fact label={t.nextFire}>
        {job.paused ? (
          <span className="text-muted-foreground">{t.notFiring}</span>
        ) : job.next_fire_at ? (
          <>
            {formatDateTime(job.next_fire_at)}{" "}
            <span className="text-xs text-muted-foreground">({formatRelative(job.next_fire_at)})</span>
          </>
        ) : (
          "—"
        )}
      </Fact>
      <Fact label={t.catchUp}>{t.catchUpModes[schedule.catch_up ?? "skip"] ?? schedule.catch_up}</Fact>
    </dl>
  );
}

function ParametersView({ definition }: { definition: Definition }) {
  const parameters = definition.parameters ?? [];
  if (parameters.length === 0) return <p className="text-sm text-muted-foreground">{t.noParameters}</p>;
  return (
    <ul className="grid gap-2">
      {parameters.map((spec) => (
        <li key={spec.name} className="text-sm">
          <code className="font-mono font-medium">{spec.name}</code>{" "}
          <span className="text-muted-foreground">
            {spec.type ?? "string"} ·{" "}
            {spec.default !== null && spec.default !== undefined ? t.parameterDefault(String(spec.default)) : t.required}
          </span>
          {spec.description ? <p className="text-xs text-muted-foreground">{spec.description}</p> : null}
        </li>
      ))}
    </ul>
  );
}

function Versions({ workspace, job, canRun }: { workspace: string; job: Job; canRun: boolean }) {
  const query = useInfiniteQuery(versionsQuery(workspace, job.name));
  const [runVersion, setRunVersion] = useState<number | null>(null);
  const [diff, setDiff] = useState<{ from: number; to: number } | null>(null);
  const [restore, setRestore] = useState<number | null>(null);
  const [compareFrom, setCompareFrom] = useState(Math.max(1, job.current_version - 1));
  const [compareTo, setCompareTo] = useState(job.current_version);
  if (query.isPending) return <LoadingRows rows={2} />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  const versions = query.data.pages.flatMap((page) => page.items);
  const numbers = Array.from({ length: job.current_version }, (_, i) => job.current_version - i);
  const c = t.versionColumns;
  return (
    <>
      {job.current_version > 1 ? (
        <div className="mb-3 flex flex-wrap items-end gap-2" role="group" aria-label={t.compare}>
          <label className="grid gap-1 text-xs text-muted-foreground">
            {t.compareFrom}
            <NativeSelect className="w-28" value={compareFrom} onChange={(event) => setCompareFrom(Number(event.target.value))}>
              {numbers.map((n) => (
                <option key={n} value={n}>
                  {t.version(n)}
                </option>
              ))}
            </NativeSelect>
          </label>
          <label className="grid gap-1 text-xs text-muted-foreground">
            {t.compareTo}
            <NativeSelect className="w-28" value={compareTo} onChange={(event) => setCompareTo(Number(event.target.value))}>
              {numbers.map((n) => (
                <option key={n} value={n}>
                  {t.version(n)}
                </option>
              ))}
            </NativeSelect>
          </label>
          <Button
            variant="outline"
            disabled={compareFrom === compareTo}
            onClick={() => setDiff({ from: compareFrom, to: compareTo })}
          >
            <GitCompareIcon aria-hidden />
            {t.compare}
          </Button>
        </div>
      ) : null}
      <Table>
        <TableHeader>
          <TableRow>
            <TableHead>{c.version}</TableHead>
            <TableHead>{c.message}</TableHead>
            <TableHead>{c.author}</TableHead>
            <TableHead>{c.at}</TableHead>
            <TableHead>
              <span className="sr-only">{t.columns.actions}</span>
            </TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {versions.map((version) => (
            <TableRow key={version.version} data-version={version.version}>
              <TableCell className="whitespace-nowrap">
                {t.version(version.version)}{" "}
                {version.version === job.current_version ? <Badge variant="secondary">{t.current}</Badge> : null}
              </TableCell>
              <TableCell className="min-w-40 max-w-md break-words">
                {version.message || <span className="text-muted-foreground">{t.noMessage}</span>}
              </TableCell>
              <TableCell>
                {version.created_by ?? "—"}
                {version.run_as !== version.created_by ? (
                  <span className="block text-xs text-muted-foreground">{t.runsAsUser(version.run_as)}</span>
                ) : null}
              </TableCell>
              <TableCell className="whitespace-nowrap" title={formatDateTime(version.created_at)}>
                {dateOnly.format(new Date(version.created_at))}
              </TableCell>
              <TableCell className="whitespace-nowrap text-end">
                {version.version > 1 ? (
                  <Button
                    variant="ghost"
                    size="sm"
                    onClick={() => setDiff({ from: version.version - 1, to: version.version })}
                    aria-label={t.diffButtonLabel(version.version - 1, version.version)}
                    title={t.diffButtonLabel(version.version - 1, version.version)}
                  >
                    <GitCompareIcon aria-hidden />
                  </Button>
                ) : null}
                {canRun && version.version !== job.current_version ? (
                  <Button
                    variant="ghost"
                    size="sm"
                    onClick={() => setRestore(version.version)}
                    aria-label={t.rollbackLabel(version.version)}
                    title={t.rollbackLabel(version.version)}
                  >
                    <HistoryIcon aria-hidden />
                  </Button>
                ) : null}
                {canRun ? (
                  <Button
                    variant="ghost"
                    size="sm"
                    onClick={() => setRunVersion(version.version)}
                    aria-label={`${t.runVersion} ${t.version(version.version)}`}
                    title={`${t.runVersion} ${t.version(version.version)}`}
                  >
                    <PlayIcon aria-hidden />
                  </Button>
                ) : null}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      {query.hasNextPage ? (
        <div className="mt-3 flex justify-center">
          <Button variant="outline" size="sm" onClick={() => void query.fetchNextPage()}>
            {m.common.loadMore}
          </Button>
        </div>
      ) : null}
      {diff !== null ? (
        <VersionDiffDialog workspace={workspace} job={job.name} from={diff.from} to={diff.to} onClose={() => setDiff(null)} />
      ) : null}
      {restore !== null ? (
        <RestoreDialog workspace={workspace} job={job} version={restore} onClose={() => setRestore(null)} />
      ) : null}
      {runVersion !== null ? (
        <RunDialog
          workspace={workspace}
          job={job}
          version={runVersion}
          versions={versions.map((v) => v.version)}
          definitions={Object.fromEntries(versions.map((v) => [v.version, definitionOf(v)]))}
          open
          onOpenChange={(open) => !open && setRunVersion(null)}
        />
      ) : null}
    </>
  );
}

/** Rollback: the chosen version's definition saved as a new version. */
function RestoreDialog({ workspace, job, version, onClose }: { workspace: string; job: Job; version: number; onClose: () => void }) {
  const queryClient = useQueryClient();
  const restore = useMutation({
    mutationFn: () =>
      call(
        api.POST("/api/v1/workspaces/{workspace}/jobs/{job}/rollback", {
          params: { path: { workspace, job: job.name } },
          body: { version, message: t.rollbackLabel(version) },
        }),
      ),
    onSuccess: (updated) => {
      toast.success(t.rolledBack(version, updated.current_version));
      queryClient.setQueryData(jobKeys.one(workspace, job.name), updated);
      void queryClient.invalidateQueries({ queryKey: jobKeys.all(workspace) });
      onClose();
    },
  });
  return (
    <Dialog open onOpenChange={(open) => !open && onClose()}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>{t.rollbackTitle(version)}</DialogTitle>
          <DialogDescription>{t.rollbackBody(version, job.current_version + 1)}</DialogDescription>
        </DialogHeader>
        {restore.isError ? <Alert variant="destructive">{describeError(restore.error)}</Alert> : null}
        <DialogFooter>
          <Button variant="outline" onClick={onClose}>
            {m.common.cancel}
          </Button>
          <Button onClick={() => restore.mutate()} disabled={restore.isPending}>
            <HistoryIcon aria-hidden />
            {t.rollback}
          </Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}

function RecentRuns({ workspace, job }: { workspace: string; job: string }) {
  const query = useInfiniteQuery(runsQuery(workspace, { job }, 10));
  if (query.isPending) return <LoadingRows rows={2} />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  const runs = query.data.pages[0]?.items ?? [];
  if (runs.length === 0) return <EmptyState title={t.noRunsYet} />;
  return <RunsTable workspace={workspace} runs={runs} showJob={false} />;
}

function RepairButton({ workspace, job }: { workspace: string; job: string }) {
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const repair = useMutation({
    mutationFn: () =>
      call(
        api.POST("/api/v1/workspaces/{workspace}/jobs/{job}/repair", {
          params: { path: { workspace, job } },
          body: {},
        }),
      ),
    onSuccess: (runs) => {
      toast.success(t.repaired(runs.length));
      setOpen(false);
      void queryClient.invalidateQueries({ queryKey: runKeys.all(workspace) });
    },
  });
  return (
    <>
      <Button variant="outline" onClick={() => setOpen(true)}>
        <RotateCcwIcon aria-hidden />
        {t.repair}
      </Button>
      <Dialog open={open} onOpenChange={setOpen}>
        <DialogContent>
          <DialogHeader>
            <DialogTitle>{t.repairTitle}</DialogTitle>
            <DialogDescription>{t.repairBody}</DialogDescription>
          </DialogHeader>
          {repair.isError ? <Alert variant="destructive">{describeError(repair.error)}</Alert> : null}
          <DialogFooter>
            <Button variant="outline" onClick={() => setOpen(false)}>
              {m.common.cancel}
            </Button>
            <Button onClick={() => repair.mutate()} disabled={repair.isPending}>
              {t.repair}
            </Button>
          </DialogFooter>
        </DialogContent>
      </Dialog>
    </>
  );
}

function DeleteButton({ workspace, job }: { workspace: string; job: string }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const remove = useMutation({
    mutationFn: () =>
      call(api.DELETE("/api/v1/workspaces/{workspace}/jobs/{job}", { params: { path: { workspace, job } } })),
    onSuccess: () => {
      toast.success(t.deleted(job));
      setOpen(false);
      queryClient.removeQueries({ queryKey: jobKeys.one(workspace, job) });
      void queryClient.invalidateQueries({ queryKey: jobKeys.all(workspace) });
      void queryClient.invalidateQueries({ queryKey: runKeys.all(workspace) });
      void navigate({ to: "/workspaces/$workspace/jobs", params: { workspace }, search: {} });
    },
  });
  return (
    <>
      <Button variant="outline" className="text-destructive" onClick={() => setOpen(true)}>
        <Trash2Icon aria-hidden />
        {t.deleteJob}
      </Button>
      <Dialog open={open} onOpenChange={setOpen}>
        <DialogContent>
          <DialogHeader>
            <DialogTitle>{t.deleteTitle(job)}</DialogTitle>
            <DialogDescription>{t.deleteBody}</DialogDescription>
          </DialogHeader>
          {remove.isError ? <Alert variant="destructive">{describeError(remove.error)}</Alert> : null}
          <DialogFooter>
            <Button variant="outline" onClick={() => setOpen(false)}>
              {m.common.cancel}
            </Button>
            <Button variant="destructive" onClick={() => remove.mutate()} disabled={remove.isPending}>
              {m.common.delete}
            </Button>
          </DialogFooter>
        </DialogContent>
      </Dialog>
    </>
  );
}

export function JobPage({ workspace, name }: { workspace: string; name: string }) {
  const canRun = useCanRun(workspace);
  const role = useWorkspaceRole(workspace);
  const query = useQuery(jobQuery(workspace, name));
  const back = (
    <Link
      to="/workspaces/$workspace/jobs"
      params={{ workspace }}
      search={{}}
      className="mb-3 inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground"
    >
      <ArrowLeftIcon className="size-4 rtl:rotate-180" aria-hidden />
      {t.back}
    </Link>
  );
  if (query.isPending)
    return (
      <>
        {back}
        <PageHeader title={name} />
        <LoadingRows />
      </>
    );
  if (query.isError)
    return (
      <>
        {back}
        <PageHeader title={name} />
        <ErrorState
          error={query.error instanceof ApiError && query.error.status === 404 ? new Error(t.notFound(name)) : query.error}
          onRetry={() => void query.refetch()}
        />
      </>
    );
  const job = query.data;
  const definition = definitionOf(job);
  return (
    <>
      {back}
      <PageHeader
        title={job.name}
        description={definition.description || undefined}
        actions={
          canRun ? (
            <>
              <PauseResumeButton workspace={workspace} job={job} />
              <RepairButton workspace={workspace} job={job.name} />
              <DeleteButton workspace={workspace} job={job.name} />
              <Button variant="outline" asChild>
                <Link to="/workspaces/$workspace/jobs/$job/edit" params={{ workspace, job: job.name }}>
                  <PencilIcon aria-hidden />
                  {t.editJob}
                </Link>
              </Button>
              <RunNowButton workspace={workspace} job={job} />
            </>
          ) : null
        }
      />
      {role === "viewer" ? <p className="mb-4 text-sm text-muted-foreground">{t.readOnly}</p> : null}
      <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_17rem]">
        <div className="grid min-w-0 grid-cols-1 content-start gap-6">
          <Card>
            <CardHeader className="flex flex-row items-center justify-between gap-3">
              <CardTitle>{t.definition}</CardTitle>
              <Badge variant="secondary">
                {t.types[definition.task.type] ?? definition.task.type} · {t.version(job.current_version)}
              </Badge>
            </CardHeader>
            <CardContent>
              <TaskView definition={definition} />
            </CardContent>
          </Card>
          <Card>
            <CardHeader className="flex flex-row items-center justify-between gap-3">
              <CardTitle>{t.recentRuns}</CardTitle>
              <Link
                to="/workspaces/$workspace/runs"
                params={{ workspace }}
                search={{ job: job.name }}
                className="text-sm text-primary underline-offset-4 hover:underline"
              >
                {t.allRuns}
              </Link>
            </CardHeader>
            <CardContent>
              <RecentRuns workspace={workspace} job={job.name} />
            </CardContent>
          </Card>
          <Card>
            <CardHeader>
              <CardTitle>{t.versions}</CardTitle>
            </CardHeader>
            <CardContent>
              <Versions workspace={workspace} job={job} canRun={canRun} />
            </CardContent>
          </Card>
        </div>
        <div className="grid min-w-0 grid-cols-1 content-start gap-6">
          <Card>
            <CardHeader>
              <CardTitle>{t.schedule}</CardTitle>
            </CardHeader>
            <CardContent>
              <ScheduleView job={job} />
            </CardContent>
          </Card>
          <Card>
            <CardHeader>
              <CardTitle>{t.parameters}</CardTitle>
            </CardHeader>
            <CardContent>
              <ParametersView definition={definition} />
            </CardContent>
          </Card>
          <Card>
            <CardHeader>
              <CardTitle>{t.settings}</CardTitle>
            </CardHeader>
            <CardContent>
              <dl className="grid grid-cols-2 gap-4">
                <Fact label={t.runAs}>{job.run_as}</Fact>
                <Fact label={t.author}>{job.author ?? "—"}</Fact>
                <Fact label={t.retry}>{t.retryPolicy(Math.max(0, Number(definition.retry?.max_attempts ?? 1) - 1), Number(definition.retry?.backoff_seconds ?? 10))}</Fact>
                <Fact label={t.timeout}>
                  {definition.timeout_seconds ? t.seconds(definition.timeout_seconds) : t.noTimeout}
                </Fact>
                <Fact label={t.concurrency}>{definition.max_concurrent_runs ?? 1}</Fact>
                <Fact label={t.created}>
                  {formatDateTime(job.created_at)}
                  {job.created_by ? ` · ${job.created_by}` : ""}
                </Fact>
              </dl>
            </CardContent>
          </Card>
        </div>
      </div>
    </>
  );
}
