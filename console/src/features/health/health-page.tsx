import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import {
  CircleAlertIcon,
  CircleCheckIcon,
  CircleHelpIcon,
  CircleXIcon,
  LoaderCircleIcon,
  RefreshCwIcon,
  ShieldOffIcon,
  WifiOffIcon,
} from "lucide-react";
import { type ReactNode, useEffect, useState } from "react";

import { api, call, describeError, type Schemas } from "@/api/client";
import { ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { healthMessages } from "@/lib/messages/health";
import { cn, formatDateTime, formatRelative } from "@/lib/utils";

type Component = Schemas["Component"];
type Status = Schemas["ComponentStatus"];

export const REFRESH_MS = 10_000;

export const healthQuery = {
  queryKey: ["health", "components"] as const,
  queryFn: () => call(api.GET("/api/v1/health/components")),
};

const h = healthMessages;

const TONE: Record<Status, { text: string; border: string; bg: string; icon: ReactNode }> = {
  ok: { text: "text-success", border: "border-success/50", bg: "bg-card", icon: <CircleCheckIcon aria-hidden /> },
  degraded: {
    // The theme's warning colour is too light for text on a light background (axe): darker here.
    text: "text-amber-800 dark:text-warning",
    border: "border-warning/50",
    bg: "bg-warning/5",
    icon: <CircleAlertIcon aria-hidden />,
  },
  down: {
    text: "text-destructive",
    border: "border-destructive/60",
    bg: "bg-destructive/5",
    icon: <CircleXIcon aria-hidden />,
  },
  unknown: {
    text: "text-muted-foreground",
    border: "border-border",
    bg: "bg-card",
    icon: <CircleHelpIcon aria-hidden />,
  },
};

/** A status in words and colour, with its icon (never colour alone). */
export function StatusLabel({ status, className }: { status: Status; className?: string }) {
  return (
    <span className={cn("inline-flex items-center gap-1.5 font-medium [&_svg]:size-4", TONE[status].text, className)}>
      {TONE[status].icon}
      {h.status[status]}
    </span>
  );
}

const GROUPS: [string, Component["kind"][]][] = [
  ["platform", ["database", "catalog", "storage"]],
  ["engines", ["engine"]],
  ["services", ["workers", "scheduler", "queue", "runs"]],
  ["connections", ["connection"]],
];

function isScalar(value: unknown): value is string | number | boolean | null {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

function Details({ details }: { details: Component["details"] }) {
  const entries = Object.entries(details ?? {});
  if (!entries.length) return null;
  const scalars = entries.filter(([, value]) => isScalar(value));
  const nested = entries.filter(([, value]) => !isScalar(value));
  return (
    <details className="group mt-3 text-xs">
      <summary className="cursor-pointer select-none text-muted-foreground hover:text-foreground">{h.details}</summary>
      {scalars.length ? (
        <dl className="mt-2 grid grid-cols-[max-content_minmax(0,1fr)] gap-x-3 gap-y-1">
          {scalars.map(([key, value]) => (
            <div key={key} className="contents">
              <dt className="text-muted-foreground">{key.replaceAll("_", " ")}</dt>
              <dd className="break-all font-mono">{String(value)}</dd>
            </div>
          ))}
        </dl>
      ) : null}
      {nested.map(([key, value]) => (
        <div key={key} className="mt-2">
          <p className="text-muted-foreground">{key.replaceAll("_", " ")}</p>
          <pre
            tabIndex={0}
            aria-label={key.replaceAll("_", " ")}
            className="mt-1 max-h-48 overflow-auto rounded-md border bg-muted/50 p-2 font-mono"
          >
            {JSON.stringify(value, null, 2)}
          </pre>
        </div>
      ))}
    </details>
  );
}

function cardId(component: Component): string {
  return `component-${component.kind}-${component.name.replace(/[^A-Za-z0-9_-]+/g, "-")}`;
}

function ComponentCard({ component }: { component: Component }) {
  const tone = TONE[component.status];
  return (
    <li
      id={cardId(component)}
      data-testid="health-component"
      data-status={component.status}
      aria-label={`${component.name}: ${h.status[component.status]}`}
      className={cn("flex flex-col rounded-lg border border-s-4 p-4 shadow-xs", tone.border, tone.bg)}
    >
      <div className="flex items-start justify-between gap-3">
        <h3 className="min-w-0 break-words font-semibold">{component.name}</h3>
        <StatusLabel status={component.status} className="shrink-0 text-sm" />
      </div>
      <p className="mt-1.5 text-sm">{component.message}</p>
      <dl className="mt-3 flex flex-wrap gap-x-5 gap-y-1 text-xs text-muted-foreground">
        {component.version ? (
          <div className="flex gap-1">
            <dt>{h.version}</dt>
            <dd className="font-mono text-foreground">{component.version}</dd>
          </div>
        ) : null}
        {component.latency_ms != null ? (
          <div className="flex gap-1">
            <dt>{h.latency}</dt>
            <dd className="tabular-nums text-foreground">{h.ms(component.latency_ms)}</dd>
          </div>
        ) : null}
        <div className="flex gap-1">
          <dt>{h.checked}</dt>
          <dd className="text-foreground">
            {component.checked_at ? (
              <time dateTime={component.checked_at} title={formatDateTime(component.checked_at)}>
                {formatRelative(component.checked_at)}
              </time>
            ) : (
              h.neverChecked
            )}
          </dd>
        </div>
      </dl>
      {component.kind === "connection" &&
      typeof component.details?.workspace === "string" &&
      typeof component.details?.connection === "string" ? (
        <Link
          to="/workspaces/$workspace/connections/$name"
          params={{ workspace: component.details.workspace, name: component.details.connection }}
          className="mt-3 text-sm font-medium text-primary underline-offset-4 hover:underline"
        >
          {h.openConnection}
        </Link>
      ) : null}
      <Details details={component.details} />
    </li>
  );
}

function Overall({ report }: { report: Schemas["HealthReport"] }) {
  const counts = { ok: 0, degraded: 0, down: 0, unknown: 0 };
  for (const c of report.components) counts[c.status] += 1;
  const troubled = report.components.filter((c) => c.status === "down" || c.status === "degraded");
  const tone = TONE[report.status];
  return (
    <section
      aria-labelledby="health-overall"
      data-testid="health-overall"
      data-status={report.status}
      className={cn("mb-6 flex items-start gap-4 rounded-lg border-2 p-5", tone.border, tone.bg)}
    >
      <span className={cn("[&_svg]:size-8", tone.text)}>{tone.icon}</span>
      <div className="min-w-0 flex-1">
        <h2 id="health-overall" className="text-lg font-semibold">
          <span className={tone.text}>{h.status[report.status]}</span>
          <span className="text-muted-foreground"> — </span>
          {h.overall[report.status]}
        </h2>
        <p className="mt-0.5 text-sm text-muted-foreground">{h.summary(counts)}</p>
        {troubled.length ? (
          <p className="mt-1 text-sm">
            {h.needsLook}{" "}
            {troubled.map((c, i) => (
              <span key={cardId(c)}>
                {i ? ", " : null}
                <a href={`#${cardId(c)}`} className="font-medium underline underline-offset-4">
                  {c.name}
                </a>
              </span>
            ))}
          </p>
        ) : null}
      </div>
    </section>
  );
}

/** "12 seconds ago", kept current between refreshes. */
function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs]);
  return now;
}

function Report() {
  const query = useQuery({ ...healthQuery, refetchInterval: REFRESH_MS, refetchOnWindowFocus: true });
  const now = useNow(5_000);
  const report = query.data;
  const checkNow = (
    <div className="flex items-center gap-3">
      <span className="text-xs text-muted-foreground" aria-live="polite">
        {report ? h.lastChecked(formatRelative(report.checked_at, Math.max(now, Date.parse(report.checked_at)))) : null}
        <span className="hidden sm:inline"> · {h.autoRefresh}</span>
      </span>
      <Button variant="outline" onClick={() => void query.refetch()} disabled={query.isFetching}>
        {query.isFetching ? <LoaderCircleIcon className="animate-spin" aria-hidden /> : <RefreshCwIcon aria-hidden />}
        {query.isFetching ? h.checking : h.checkNow}
      </Button>
    </div>
  );
  return (
    <>
      <PageHeader title={h.title} description={h.description} actions={checkNow} />
      {query.isPending ? (
        <LoadingRows rows={6} />
      ) : !report ? (
        <ErrorState error={query.error} onRetry={() => void query.refetch()} />
      ) : (
        <>
          {query.isError ? (
            // The server did not answer the last check: that is itself the worst news.
            <Alert variant="destructive" className="mb-4 flex items-start gap-3" data-testid="health-unreachable">
              <WifiOffIcon className="mt-0.5 size-5 shrink-0" aria-hidden />
              <div>
                <p className="font-semibold">{h.unreachable}</p>
                <p className="text-foreground/90">
                  {h.unreachableDetail(describeError(query.error), formatDateTime(report.checked_at))}
                </p>
              </div>
            </Alert>
          ) : null}
          <Overall report={report} />
          {GROUPS.map(([group, kinds]) => {
            const members = report.components.filter((c) => kinds.includes(c.kind));
            if (!members.length && group !== "connections") return null;
            return (
              <section key={group} aria-labelledby={`health-${group}`} className="mb-6">
                <h2 id={`health-${group}`} className="mb-2 text-sm font-semibold text-muted-foreground">
                  {h.groups[group]}
                </h2>
                {members.length ? (
                  <ul className="grid gap-3 md:grid-cols-2 xl:grid-cols-3">
                    {members.map((c) => (
                      <ComponentCard key={`${c.kind}:${c.name}`} component={c} />
                    ))}
                  </ul>
                ) : (
                  <p className="text-sm text-muted-foreground">{h.noConnections}</p>
                )}
              </section>
            );
          })}
        </>
      )}
    </>
  );
}

/** The connection doctor (platform admins): every component, its status, version, latency and
 * last check, refreshed every 10 seconds. */
export function HealthPage({ me }: { me: Schemas["UserOut"] }) {
  if (me.role !== "admin") {
    return (
      <>
        <PageHeader title={h.title} />
        <div
          role="status"
          data-testid="health-refused"
          className="flex flex-col items-center gap-2 rounded-lg border border-dashed p-10 text-center"
        >
          <ShieldOffIcon className="size-6 text-muted-foreground" aria-hidden />
          <h2 className="font-medium">{h.refusedTitle}</h2>
          <p className="max-w-prose text-sm text-muted-foreground">{h.refusedDetail}</p>
        </div>
      </>
    );
  }
  return <Report />;
}
