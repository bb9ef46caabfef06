/** An attempt's log, following it live (long-polling the logs endpoint from its last offset)
 * until the attempt ends; pre-wrapped monospace, auto-scroll while "Follow" is on, download. */
import { DownloadIcon } from "lucide-react";
import { useEffect, useRef, useState } from "react";

import { api, describeError } from "@/api/client";
import { Button } from "@/components/ui/button";
import { runsMessages } from "@/lib/messages/runs";

const t = runsMessages;
/** Seconds the server may hold a request while no new line comes. */
const LOG_WAIT_SECONDS = 10;

type LogState = { text: string; complete: boolean; error: string | null };

export function useFollowLog(workspace: string, runId: number, attempt: number): LogState {
  const [state, setState] = useState<LogState>({ text: "", complete: false, error: null });
  useEffect(() => {
    const abort = new AbortController();
    setState({ text: "", complete: false, error: null });
    void (async () => {
      let after = 0;
      for (;;) {
        let answer;
        try {
          answer = await api.GET("/api/v1/workspaces/{workspace}/runs/{run_id}/logs", {
            params: { path: { workspace, run_id: runId }, query: { attempt, after, wait: LOG_WAIT_SECONDS } },
            signal: abort.signal,
          });
        } catch (error) {
          if (!abort.signal.aborted) setState((s) => ({ ...s, error: describeError(error) }));
          return;
        }
        if (abort.signal.aborted) return;
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
    })();
    return () => abort.abort();
  }, [workspace, runId, attempt]);
  return state;
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
