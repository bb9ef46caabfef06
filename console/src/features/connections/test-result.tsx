/** A connection test's result, step by step: which step failed, where, how long each took, and
 * what a person can do about it. */
import { CheckCircle2Icon, CircleAlertIcon, XCircleIcon } from "lucide-react";

import { Badge } from "@/components/ui/badge";
import { connectionsMessages } from "@/lib/messages/connections";
import { cn, formatDateTime, formatRelative } from "@/lib/utils";

import type { TestResult, TestStep } from "./api";

const t = connectionsMessages;

export function netloc(host: string | null | undefined, port: number | null | undefined): string | null {
  if (!host) return null;
  const shown = host.includes(":") ? `[${host}]` : host;
  return port ? `${shown}:${port}` : shown;
}

export function kindLabel(kind: string): string {
  return t.stepKinds[kind] ?? kind;
}

/** ok / failed, and when, for lists. */
export function LastTestBadge({ result }: { result: TestResult | null | undefined }) {
  if (!result) return <span className="text-sm text-muted-foreground">{t.notTested}</span>;
  return (
    <span className="flex flex-wrap items-center gap-2">
      <Badge variant={result.ok ? "success" : "destructive"}>
        {result.ok ? <CheckCircle2Icon aria-hidden /> : <XCircleIcon aria-hidden />}
        {result.ok ? t.testOk : t.testFailed}
      </Badge>
      <time dateTime={result.checked_at} title={formatDateTime(result.checked_at)} className="text-xs text-muted-foreground">
        {t.testedAt(formatRelative(result.checked_at))}
      </time>
    </span>
  );
}

function Step({ step, index }: { step: TestStep; index: number }) {
  const where = netloc(step.host, step.port);
  return (
    <li
      className={cn(
        "grid grid-cols-[1.25rem_1fr_auto] items-start gap-x-3 gap-y-1 rounded-md px-3 py-2",
        !step.ok && "bg-destructive/5 ring-1 ring-destructive/30",
      )}
      data-testid={`step-${step.kind}`}
    >
      {step.ok ? (
        <CheckCircle2Icon className="mt-0.5 size-4 text-success" aria-label={t.stepOk} />
      ) : (
        <XCircleIcon className="mt-0.5 size-4 text-destructive" aria-label={t.stepFailed} />
      )}
      <div className="min-w-0">
        <p className="text-sm font-medium">
          <span className="sr-only">{index + 1}. </span>
          {kindLabel(step.kind)}
          {where ? <span className="ms-2 font-mono text-xs font-normal text-muted-foreground">{where}</span> : null}
        </p>
        <p className={cn("break-words text-sm", step.ok ? "text-muted-foreground" : "text-destructive")}>{step.detail}</p>
        {!step.ok ? (
          <p className="mt-1 flex gap-1.5 text-sm text-foreground">
            <CircleAlertIcon className="mt-0.5 size-4 shrink-0 text-muted-foreground" aria-hidden />
            {t.stepHints[step.kind] ?? t.stepHints.check}
          </p>
        ) : null}
      </div>
      <span className="text-end font-mono text-xs tabular-nums text-muted-foreground">{t.ms(step.latency_ms)}</span>
    </li>
  );
}

export function TestResultView({ result, title }: { result: TestResult; title: string }) {
  const steps = result.steps ?? [];
  const failed = steps.find((step) => !step.ok);
  const where = netloc(result.host, result.port);
  return (
    <section aria-label={title} data-testid="test-result" className="grid gap-3">
      <div
        role="status"
        className={cn(
          "flex flex-wrap items-center gap-x-4 gap-y-1 rounded-md border px-4 py-3",
          result.ok ? "border-success/40 bg-success/5" : "border-destructive/40 bg-destructive/5",
        )}
      >
        <span className={cn("flex items-center gap-2 font-medium", result.ok ? "text-success" : "text-destructive")}>
          {result.ok ? <CheckCircle2Icon className="size-5" aria-hidden /> : <XCircleIcon className="size-5" aria-hidden />}
          {result.ok ? t.resultOk : t.resultFailed}
          {failed ? <span className="font-normal">· {t.failedAt(kindLabel(failed.kind))}</span> : null}
        </span>
        {where ? <span className="font-mono text-xs text-muted-foreground">{t.resultWhere(where)}</span> : null}
        <span className="text-xs text-muted-foreground">{t.resultTotal(t.ms(result.latency_ms))}</span>
        <time dateTime={result.checked_at} title={formatDateTime(result.checked_at)} className="ms-auto text-xs text-muted-foreground">
          {t.resultWhen(formatRelative(result.checked_at))}
        </time>
      </div>
      {steps.length > 0 ? (
        <ol aria-label={t.steps} className="grid gap-1">
          {steps.map((step, index) => (
            <Step key={index} step={step} index={index} />
          ))}
        </ol>
      ) : (
        <p className={cn("text-sm", result.ok ? "text-muted-foreground" : "text-destructive")}>{result.detail}</p>
      )}
    </section>
  );
}
