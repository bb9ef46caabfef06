import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { LoaderCircleIcon, RefreshCwIcon, ShieldAlertIcon, ShieldCheckIcon, ShieldQuestionIcon } from "lucide-react";
import type * as React from "react";

import { describeError } from "@/api/client";
import { Button } from "@/components/ui/button";
import { auditMessages } from "@/lib/messages/audit";
import { cn, formatDateTime, formatRelative } from "@/lib/utils";

import { verificationQuery } from "./queries";

const v = auditMessages.verification;

function Frame({
  tone,
  icon,
  title,
  children,
  action,
}: {
  tone: "ok" | "broken" | "warning" | "neutral";
  icon: React.ReactNode;
  title: string;
  children?: React.ReactNode;
  action?: React.ReactNode;
}) {
  return (
    <section
      aria-labelledby="audit-chain-title"
      data-testid="chain-status"
      data-status={tone}
      className={cn(
        "mb-4 flex flex-wrap items-start gap-3 rounded-lg border p-4",
        tone === "ok" && "border-success/40 bg-success/5",
        tone === "broken" && "border-destructive/50 bg-destructive/5",
        tone === "warning" && "border-warning/50 bg-warning/5",
        tone === "neutral" && "bg-card",
      )}
    >
      <span
        className={cn(
          "mt-0.5 [&_svg]:size-5",
          tone === "ok" && "text-success",
          tone === "broken" && "text-destructive",
          tone === "warning" && "text-warning",
          tone === "neutral" && "text-muted-foreground",
        )}
      >
        {icon}
      </span>
      <div className="min-w-0 flex-1">
        <p className="text-xs font-medium uppercase tracking-wide text-muted-foreground">{v.title}</p>
        <h2 id="audit-chain-title" className="font-semibold">
          {title}
        </h2>
        {children ? <div className="mt-1 max-w-prose text-sm text-foreground/90">{children}</div> : null}
      </div>
      {action ? <div className="flex items-center gap-3">{action}</div> : null}
    </section>
  );
}

/** The hash chain's verification (platform admins): run when the page opens, again on demand. */
export function ChainStatus() {
  const query = useQuery(verificationQuery);
  const again = (
    <>
      {query.data ? (
        <span className="text-xs text-muted-foreground" title={formatDateTime(query.data.checked_at)}>
          {v.checkedAt(formatRelative(query.data.checked_at))}
        </span>
      ) : null}
      <Button variant="outline" size="sm" disabled={query.isFetching} onClick={() => void query.refetch()}>
        {query.isFetching ? (
          <LoaderCircleIcon className="animate-spin" aria-hidden />
        ) : (
          <RefreshCwIcon aria-hidden />
        )}
        {v.again}
      </Button>
    </>
  );
  if (query.isPending) {
    return (
      <Frame tone="neutral" icon={<LoaderCircleIcon className="animate-spin" aria-hidden />} title={v.checking} />
    );
  }
  if (query.isError) {
    return (
      <Frame tone="warning" icon={<ShieldQuestionIcon aria-hidden />} title={v.failed} action={again}>
        {describeError(query.error)}
      </Frame>
    );
  }
  const report = query.data;
  const seconds = (report.duration_ms / 1000).toFixed(report.duration_ms < 10_000 ? 1 : 0);
  if (report.status === "ok") {
    return (
      <Frame tone="ok" icon={<ShieldCheckIcon aria-hidden />} title={v.ok} action={again}>
        {v.okDetail(report.events_checked, seconds)}
      </Frame>
    );
  }
  if (report.status === "broken") {
    const seq = report.first_broken_seq ?? 0;
    return (
      <Frame tone="broken" icon={<ShieldAlertIcon aria-hidden />} title={v.broken} action={again}>
        <p>{v.brokenDetail(seq, report.problem ?? "", report.events_checked)}</p>
        <Link
          to="/audit"
          search={{ event: seq }}
          className="mt-1 inline-block font-medium text-destructive underline underline-offset-4"
        >
          {v.showBroken(seq)}
        </Link>
      </Frame>
    );
  }
  return (
    <Frame tone="warning" icon={<ShieldQuestionIcon aria-hidden />} title={v.incomplete} action={again}>
      {v.incompleteDetail(report.events_checked, report.chain_length ?? report.events_checked, report.time_limit_seconds)}
    </Frame>
  );
}
