/** One run: state, facts, attempts, timeline, the live log and the result; Stop and Retry. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { ArrowLeftIcon, DownloadIcon, PlayIcon, RotateCcwIcon, SquareIcon } from "lucide-react";
import type * as React from "react";
import { useState } from "react";
import { toast } from "sonner";

import { api, call, describeError } from "@/api/client";
import { ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { NativeSelect } from "@/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { jobKeys } from "@/features/jobs/api";
import { runsMessages } from "@/lib/messages/runs";
import { formatDateTime } from "@/lib/utils";

import {
  duration,
  ENDED,
  formatBytes,
  resultDownloadHref,
  RETRYABLE,
  type RunDetail,
  runKeys,
  runQuery,
  runResultQuery,
  STOPPABLE,
  useCanRun,
} from "./api";
import { RunLog } from "./run-log";
import { RunStateBadge } from "./state-badge";

const t = runsMessages;

/** "Stopped by a user", "The engine reported an error: <its message>": a reason reads as words,
 * with the engine's or system's message after it. */
export function reasonInWords(reason: string | null | undefined, message?: string | null): string {
  const words = reason ? (t.reasons[reason] ?? reason.replaceAll("_", " ")) : "";
  const text = [words, message].filter(Boolean).join(": ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs text-muted-foreground">{label}</dt>
      <dd className="mt-0.5 truncate text-sm font-medium">{children}</dd>
    </div>
  );
}

function RunFacts({ workspace, run }: { workspace: string; run: RunDetail }) {
  const parameters = Object.entries(run.parameters)
    .map(([name, value]) => `${name}=${String(value)}`)
    .join(", ");
  return (
    <dl className="grid grid-cols-2 gap-4 rounded-lg border bg-card p-4 sm:grid-cols-4" data-testid="run-facts">
      <Fact label={t.facts.job}>
        <Link
          to="/workspaces/$workspace/jobs/$job"
          params={{ workspace, job: run.job }}
          className="text-primary underline-offset-4 hover:underline"
        >
          {run.job}
        </Link>
      </Fact>
      <Fact label={t.facts.version}>v{run.job_version}</Fact>
      <Fact label={t.facts.trigger}>{t.triggers[run.trigger] ?? run.trigger}</Fact>
      <Fact label={t.facts.runAs}>{run.owner}</Fact>
      <Fact label={t.facts.attempt}>{t.attemptOf(run.attempt, run.max_attempts)}</Fact>
      <Fact label={t.facts.created}>{formatDateTime(run.created_at)}</Fact>
      <Fact label={t.facts.started}>{formatDateTime(run.started_at)}</Fact>
      <Fact label={t.facts.duration}>{duration(run)}</Fact>
      {run.scheduled_for ? <Fact label={t.facts.scheduledFor}>{formatDateTime(run.scheduled_for)}</Fact> : null}
      {run.next_attempt_at ? <Fact label={t.facts.nextAttempt}>{formatDateTime(run.next_attempt_at)}</Fact> : null}
      <div className="col-span-2 min-w-0 sm:col-span-4">
        <dt className="text-xs text-muted-foreground">{t.facts.parameters}</dt>
        <dd className="mt-0.5 break-words font-mono text-xs">{parameters || t.noParameters}</dd>
      </div>
    </dl>
  );
}

function Attempts({ run }: { run: RunDetail }) {
  const c = t.attemptColumns;
  return (
    <Table>
      <TableHeader>
        <TableRow>
          <TableHead>{c.number}</TableHead>
          <TableHead>{c.state}</TableHead>
          <TableHead>{c.queued}</TableHead>
          <TableHead>{c.started}</TableHead>
          <TableHead>{c.ended}</TableHead>
          <TableHead>{c.reason}</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {run.attempts.map((attempt) => (
          <TableRow key={attempt.number} data-attempt={attempt.number}>
            <TableCell>{attempt.number}</TableCell>
            <TableCell>
              <RunStateBadge state={attempt.state} />
            </TableCell>
            <TableCell className="whitespace-nowrap">{formatDateTime(attempt.queued_at)}</TableCell>
            <TableCell className="whitespace-nowrap">{formatDateTime(attempt.started_at)}</TableCell>
            <TableCell className="whitespace-nowrap">{formatDateTime(attempt.ended_at)}</TableCell>
            <TableCell className="max-w-md break-words">
              {reasonInWords(attempt.reason, attempt.message) || "—"}
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

function Timeline({ run }: { run: RunDetail }) {
  const c = t.timelineColumns;
  return (
    <Table data-testid="run-timeline">
      <TableHeader>
        <TableRow>
          <TableHead>{c.at}</TableHead>
          <TableHead>{c.attempt}</TableHead>
          <TableHead>{c.change}</TableHead>
          <TableHead>{c.reason}</TableHead>
          <TableHead>{c.by}</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {run.transitions.map((transition, index) => (
          <TableRow key={index}>
            <TableCell className="whitespace-nowrap">{formatDateTime(transition.at)}</TableCell>
            <TableCell>{transition.attempt}</TableCell>
            <TableCell className="whitespace-nowrap font-mono text-xs">
              {transition.from_state ? `${transition.from_state} → ${transition.to_state}` : transition.to_state}
            </TableCell>
            <TableCell className="max-w-md break-words">
              {[reasonInWords(transition.reason), transition.decision].filter(Boolean).join(" · ") || "—"}
            </TableCell>
            <TableCell className="break-all">{transition.actor}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

function Result({ workspace, run, attempt }: { workspace: string; run: RunDetail; attempt: number }) {
  const query = useQuery(runResultQuery(workspace, run.id, attempt));
  if (query.isPending) return <LoadingRows rows={2} />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  const result = query.data;
  return (
    <div>
      <div className="mb-2 flex flex-wrap items-center gap-3">
        <span className="text-sm text-muted-foreground" data-testid="result-summary">
          {t.resultSummary(result.rows.length, result.total_rows, result.truncated)}
        </span>
        <span className="flex-1" />
        <Button variant="outline" size="sm" asChild>
          <a href={resultDownloadHref(workspace, run.id, result.attempt)} download>
            <DownloadIcon aria-hidden />
            {t.downloadResult(formatBytes(result.size_bytes))}
          </a>
        </Button>
      </div>
      <div className="max-h-96 overflow-auto rounded-md border" tabIndex={0} role="region" aria-label={t.result}>
        <table className="w-full text-sm" data-testid="result-grid">
          <thead className="sticky top-0 bg-muted">
            <tr>
              {result.columns.map((column) => (
                <th key={column.name} title={column.type} className="px-3 py-2 text-start font-medium">
                  {column.name}
                  <span className="ms-1 text-xs font-normal text-muted-foreground">{column.type}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {result.rows.map((row, index) => (
              <tr key={index} className="border-t">
                {row.map((value, column) => (
                  <td key={column} className="whitespace-nowrap px-3 py-1.5 font-mono text-xs">
                    {value === null ? <span className="text-muted-foreground">null</span> : typeof value === "object" ? JSON.stringify(value) : String(value)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export function RunPage({ workspace, runId }: { workspace: string; runId: number }) {
  const queryClient = useQueryClient();
  const canRun = useCanRun(workspace);
  const query = useQuery(runQuery(workspace, runId));
  const [logAttempt, setLogAttempt] = useState<number | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const action = useMutation({
    mutationFn: (kind: "stop" | "retry") =>
      kind === "stop"
        ? call(api.POST("/api/v1/workspaces/{workspace}/runs/{run_id}/stop", { params: { path: { workspace, run_id: runId } } }))
        : call(api.POST("/api/v1/workspaces/{workspace}/runs/{run_id}/retry", { params: { path: { workspace, run_id: runId } } })),
    onSuccess: (_run, kind) => {
      setRefusal(null);
      toast.success(kind === "stop" ? t.stopped(runId) : t.retried(runId));
      setLogAttempt(null);
      void queryClient.invalidateQueries({ queryKey: runKeys.all(workspace) });
      void queryClient.invalidateQueries({ queryKey: jobKeys.all(workspace) });
    },
    onError: (error) => setRefusal(describeError(error)),
  });
  // A new run of the same job version with the same parameters (a retry adds an attempt to this one).
  const navigate = useNavigate();
  const again = useMutation({
    mutationFn: (run: RunDetail) =>
      call(
        api.POST("/api/v1/workspaces/{workspace}/jobs/{job}/runs", {
          params: { path: { workspace, job: run.job } },
          body: { version: run.job_version, parameters: run.parameters as Record<string, string | number | boolean> },
        }),
      ),
    onSuccess: (started) => {
      setRefusal(null);
      toast.success(t.ranAgain(started.id));
      void queryClient.invalidateQueries({ queryKey: runKeys.all(workspace) });
      void queryClient.invalidateQueries({ queryKey: jobKeys.all(workspace) });
      void navigate({ to: "/workspaces/$workspace/runs/$run", params: { workspace, run: String(started.id) } });
    },
    onError: (error) => setRefusal(describeError(error)),
  });

  if (query.isPending)
    return (
      <>
        <PageHeader title={t.runTitle(runId)} />
        <LoadingRows />
      </>
    );
  if (query.isError)
    return (
      <>
        <PageHeader title={t.runTitle(runId)} />
        <ErrorState error={query.error} onRetry={() => void query.refetch()} />
      </>
    );
  const run = query.data;
  const shownAttempt = logAttempt ?? run.attempt;
  const attemptInfo = run.attempts.find((a) => a.number === shownAttempt);
  const hasResult = attemptInfo?.state === "SUCCEEDED" && attemptInfo.result_rows != null;
  const message = reasonInWords(run.state_reason, run.state_message);

  return (
    <>
      <Link
        to="/workspaces/$workspace/runs"
        params={{ workspace }}
        search={{}}
        className="mb-3 inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground"
      >
        <ArrowLeftIcon className="size-4 rtl:rotate-180" aria-hidden />
        {t.back}
      </Link>
      <PageHeader
        title={
          <span className="flex flex-wrap items-center gap-3">
            <span>
              {t.runTitle(run.id)} · {run.job}
            </span>
            <RunStateBadge state={run.state} />
          </span>
        }
        documentTitle={`${t.runTitle(run.id)} · ${run.job}`}
        actions={
          canRun ? (
            <>
              {STOPPABLE.has(run.state) ? (
                <Button variant="outline" onClick={() => action.mutate("stop")} disabled={action.isPending}>
                  <SquareIcon aria-hidden />
                  {t.stop}
                </Button>
              ) : null}
              {RETRYABLE.has(run.state) ? (
                <Button onClick={() => action.mutate("retry")} disabled={action.isPending}>
                  <RotateCcwIcon aria-hidden />
                  {t.retry}
                </Button>
              ) : null}
              {ENDED.has(run.state) ? (
                <Button variant={RETRYABLE.has(run.state) ? "outline" : "default"} onClick={() => again.mutate(run)} disabled={again.isPending}>
                  <PlayIcon aria-hidden />
                  {t.runAgain}
                </Button>
              ) : null}
            </>
          ) : null
        }
      />
      <div className="grid gap-6">
        {refusal ? <Alert variant="destructive">{refusal}</Alert> : null}
        {message && run.state !== "SUCCEEDED" ? (
          <p className="rounded-md border bg-card px-4 py-3 text-sm" data-testid="run-message">
            {message}
          </p>
        ) : null}
        <RunFacts workspace={workspace} run={run} />
        <Card>
          <CardHeader>
            <CardTitle>{t.attempts}</CardTitle>
          </CardHeader>
          <CardContent>
            <Attempts run={run} />
          </CardContent>
        </Card>
        <Card>
          <CardHeader className="flex flex-row flex-wrap items-center justify-between gap-3">
            <CardTitle>{t.log}</CardTitle>
            {run.attempts.length > 1 ? (
              <NativeSelect
                aria-label={t.logFor}
                className="w-40"
                value={shownAttempt}
                onChange={(event) => setLogAttempt(Number(event.target.value))}
              >
                {run.attempts.map((attempt) => (
                  <option key={attempt.number} value={attempt.number}>
                    {t.logFor} {attempt.number}
                  </option>
                ))}
              </NativeSelect>
            ) : null}
          </CardHeader>
          <CardContent>
            <RunLog
              key={shownAttempt}
              workspace={workspace}
              runId={run.id}
              attempt={shownAttempt}
            />
          </CardContent>
        </Card>
        {hasResult ? (
          <Card>
            <CardHeader>
              <CardTitle>{t.result}</CardTitle>
            </CardHeader>
            <CardContent>
              <Result workspace={workspace} run={run} attempt={shownAttempt} />
            </CardContent>
          </Card>
        ) : null}
        <Card>
          <CardHeader>
            <CardTitle>{t.timeline}</CardTitle>
          </CardHeader>
          <CardContent>
            <Timeline run={run} />
          </CardContent>
        </Card>
      </div>
    </>
  );
}
