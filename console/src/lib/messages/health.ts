/** The health area's strings (see lib/messages.ts). */
export const healthMessages = {
  title: "Health",
  description: "Every component Sadeem depends on, checked every 10 seconds.",
  refusedTitle: "Health is for platform admins",
  refusedDetail:
    "The component report shows every workspace's connections and the platform's services, so only platform admins see it. Ask one if something seems down.",
  checkNow: "Check now",
  checking: "Checking…",
  autoRefresh: "Refreshes every 10 s",
  lastChecked: (when: string) => `Last checked ${when}`,
  status: {
    ok: "OK",
    degraded: "Degraded",
    down: "Down",
    unknown: "Not checked",
  } as Record<string, string>,
  overall: {
    ok: "All systems working",
    degraded: "Working, but something needs a look",
    down: "Something is down",
    unknown: "Status unknown",
  } as Record<string, string>,
  summary: (counts: { ok: number; degraded: number; down: number; unknown: number }) =>
    [
      `${counts.ok} OK`,
      counts.degraded ? `${counts.degraded} degraded` : null,
      counts.down ? `${counts.down} down` : null,
      counts.unknown ? `${counts.unknown} not checked` : null,
    ]
      .filter(Boolean)
      .join(" · "),
  needsLook: "Needs a look:",
  unreachable: "The last check did not reach the server",
  unreachableDetail: (error: string, when: string) => `${error} The components below are as of ${when}.`,
  groups: {
    platform: "Platform",
    engines: "Engines",
    services: "Workers, scheduler and runs",
    connections: "Connections",
  } as Record<string, string>,
  noConnections: "No workspace has a connection yet.",
  openConnection: "Open the connection (test it there)",
  version: "Version",
  latency: "Check took",
  checked: "Checked",
  neverChecked: "never",
  details: "Details",
  ms: (value: number) => `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`,
} as const;
