/** An attempt's log, following it live until the attempt ends: over Server-Sent Events (the run's
 * `events` stream, which also pushes the run's state into the page's query), or by long-polling the
 * logs endpoint where EventSource is missing; pre-wrapped monospace, auto-scroll while "Follow" is
 * on, download. */
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { DownloadIcon } from "lucide-react";
import { useEffect, useRef, useState } from "react";

import { api, describeError } from "@/api/client";
import type { components } from "@/api/schema";
import { Button } from "@/components/ui/button";
import { runsMessages } from "@/lib/messages/runs";

import { runKeys } from "./api";

const t = runsMessages;
/** Seconds the server may hold a request while no new line comes. */
const LOG_WAIT_SECONDS = 10;

type LogState = { text: string; complete: boolean; error: string | null };
type SetLog = (update: (state: LogState) => LogState) => void;
type LogPage = components["schemas"]["LogPageOut"];
type RunDetail = components["schemas"]["RunDetailOut"];

export function useFollowLog(workspace: string, runId: number, attempt: number): LogState {
  const queryClient = useQueryClient();
  const [state, setState] = useState<LogState>({ text: "", complete: false, error: null });
  useEffect(() => {
    setState({ text: "", complete: false, error: null });
    if (typeof EventSource !== "undefined") return streamEvents(queryClient, workspace, runId, attempt, setState);
    const abort = new AbortController();
    void longPoll(workspace, runId, attempt, setState, abort.signal);
    return () => abort.abort();
  }, [queryClient, workspace, runId, attempt]);
  return state;
}

/** The run's event stream: `log` appends, `run` refreshes the page's run at once, `end` closes.
 * The browser reconnects by itself (resuming from the last event id); a refusal closes it. */
function streamEvents(queryClient: QueryClient, workspace: string, runId: number, attempt: number, setState: SetLog) {
  const url = `/api/v1/workspaces/${encodeURIComponent(workspace)}/runs/${runId}/events?attempt=${attempt}`;
  const source = new EventSource(url);
  source.addEventListener("log", (event) => {
    const page = JSON.parse((event as MessageEvent<string>).data) as LogPage;
    setState((s) => ({ text: s.text + page.text, complete: page.complete, error: null }));
  });
  source.addEventListener("run", (event) => {
    const run = JSON.parse((event as MessageEvent<string>).data) as RunDetail;
    queryClient.setQueryData(runKeys.one(workspace, runId), run);
  });
  source.addEventListener("end", () => {
    source.close();
    setState((s) => ({ ...s, complete: true }));
  });
  source.onerror = () => {
    // CLOSED: the server refused the stream (signed out, no access); else it is reconnecting.
    if (source.readyState === EventSource.CLOSED) setState((s) => ({ ...s, error: t.logUnavailable }));
  };
  return () => source.close();
}

async function longPoll(workspace: string, runId: number, attempt: number, setState: SetLog, signal: AbortSignal) {
  let after = 0;
  for (;;) {
    let answer;
    try {
      answer = await api.GET("/api/v1/workspaces/{workspace}/runs/{run_id}/logs", {
        params: { path: { workspace, run_id: runId }, query: { attempt, after, wait: LOG_WAIT_SECONDS } },
        signal,
      });
    } catch (error) {
      if (!signal.aborted) setState((s) => ({ ...s, error: describeError(error) }));
      return;
    }
    if (signal.aborted) return;
    const { data, error, response } = answer;
    if (!response.ok || !data) {
      const problem = error as { detail?: string; title?: string } | undefined;
      setState((s) => ({ ...s, error: problem?.detail || problem?.title || `HTTP ${response.status}` }));
      return;
    }
    const page = data;
    setState((s) => ({ text: s.text + page.text, complete: page.complete, error: null }));
    if (page.complete) return;
    // Nothing new although the server could wait: pause a little before asking again.
    if (page.next_after === after) await new Promise((resolve) => setTimeout(resolve, 500));
    after = page.next_after;
  }
}

export function RunLog({ workspace, runId, attempt }: { workspace: string; runId: number; attempt: number }) {
  const log = useFollowLog(workspace, runId, attempt);
  const [follow, setFollow] = useState(true);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [log.text, follow]);
  const download = () => {
    const url = URL.createObjectURL(new Blob([log.text], { type: "text/plain" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = `run-${runId}-attempt-${attempt}.log`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  const status = log.error ?? (log.complete ? t.logComplete : t.logFollowing);
  return (
    <div>
      <div className="mb-2 flex flex-wrap items-center gap-3">
        <span className="text-sm text-muted-foreground" data-testid="log-status">
          {t.logFor} {attempt} · {status}
        </span>
        <span className="flex-1" />
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={follow} onChange={(event) => setFollow(event.target.checked)} />
          {t.follow}
        </label>
        <Button variant="outline" size="sm" onClick={download} disabled={!log.text}>
          <DownloadIcon aria-hidden />
          {t.downloadLog}
        </Button>
      </div>
      <pre
        ref={pre}
        aria-label={t.logLabel(attempt)}
        tabIndex={0}
        className="max-h-[28rem] min-h-24 overflow-auto whitespace-pre-wrap break-words rounded-md border bg-muted/40 p-3 font-mono text-xs leading-relaxed"
      >
        {log.text || <span className="text-muted-foreground">{t.logEmpty}</span>}
      </pre>
    </div>
  );
}
