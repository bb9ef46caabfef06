/** An attempt's log, following it live until the attempt ends: over Server-Sent Events (the run's
 * `events` stream, which also pushes the run's state into the page's query), or by long-polling the
 * logs endpoint where EventSource is missing; pre-wrapped monospace, auto-scroll while "Follow" is
 * on, download. */
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { ChevronDownIcon, ChevronUpIcon, DownloadIcon } from "lucide-react";
import { useDeferredValue, useEffect, useMemo, useRef, useState } from "react";

import { api, describeError } from "@/api/client";
import type { components } from "@/api/schema";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { runsMessages } from "@/lib/messages/runs";
import { cn } from "@/lib/utils";

import { runKeys } from "./api";
import { ansiSegments, findLines, LogLines, stripAnsi } from "./log-text";

const t = runsMessages;
/** Seconds the server may hold a request while no new line comes. */
const LOG_WAIT_SECONDS = 10;

/** `version` changes whenever `lines` (a store appended in place) has grown. */
type LogState = { lines: LogLines; version: number; complete: boolean; error: string | null };
type SetLog = (update: (state: LogState) => LogState) => void;
type LogPage = components["schemas"]["LogPageOut"];
type RunDetail = components["schemas"]["RunDetailOut"];

const emptyLog = (): LogState => ({ lines: new LogLines(), version: 0, complete: false, error: null });

function appended(state: LogState, text: string, complete: boolean): LogState {
  state.lines.append(text);
  return { ...state, version: state.version + 1, complete, error: null };
}

export function useFollowLog(workspace: string, runId: number, attempt: number): LogState {
  const queryClient = useQueryClient();
  const [state, setState] = useState<LogState>(emptyLog);
  useEffect(() => {
    setState(emptyLog());
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
    setState((s) => appended(s, page.text, page.complete));
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
    setState((s) => appended(s, page.text, page.complete));
    if (page.complete) return;
    // Nothing new although the server could wait: pause a little before asking again.
    if (page.next_after === after) await new Promise((resolve) => setTimeout(resolve, 500));
    after = page.next_after;
  }
}

const LINE_PX = 20;
const LOG_MAX_PX = 448;

export function RunLog({ workspace, runId, attempt }: { workspace: string; runId: number; attempt: number }) {
  const log = useFollowLog(workspace, runId, attempt);
  const lines = log.lines.lines;
  const [follow, setFollow] = useState(true);
  const [search, setSearch] = useState("");
  const query = useDeferredValue(search.trim());
  const [current, setCurrent] = useState(-1); // the match jumped to; -1 before the first jump
  const scroller = useRef<HTMLDivElement>(null);
  // The log grows in place, so `version` (not the array) says when to look again.
  const matches = useMemo(() => findLines(lines, query), [lines, query, log.version]);
  const virtual = useVirtualizer({
    count: lines.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => LINE_PX,
    overscan: 30,
    initialRect: { width: 1000, height: LOG_MAX_PX },
  });
  useEffect(() => {
    if (follow && !query && lines.length) virtual.scrollToIndex(lines.length - 1, { align: "end" });
  }, [follow, query, lines.length, log.version, virtual]);
  const step = (by: 1 | -1) => {
    if (!matches.length) return;
    const next = current < 0 ? (by === 1 ? 0 : matches.length - 1) : (current + by + matches.length) % matches.length;
    setCurrent(next);
    setFollow(false);
    virtual.scrollToIndex(matches[next]!, { align: "center" });
  };
  const download = () => {
    const url = URL.createObjectURL(new Blob([log.lines.text()], { type: "text/plain" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = `run-${runId}-attempt-${attempt}.log`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  const status = log.error ?? (log.complete ? t.logComplete : t.logFollowing);
  // Before the viewer has a size (or where layout is absent) the last lines are shown as they are.
  const measured = virtual.getVirtualItems();
  const items = measured.length
    ? measured
    : lines.slice(-200).map((_, i) => {
        const index = Math.max(lines.length - 200, 0) + i;
        return { index, start: index * LINE_PX, end: (index + 1) * LINE_PX };
      });
  const top = measured.length && items.length ? items[0]!.start : 0;
  const bottom = measured.length && items.length ? virtual.getTotalSize() - items[items.length - 1]!.end : 0;
  const matchLine = current >= 0 ? matches[current] : undefined;

  return (
    <div>
      <div className="mb-2 flex flex-wrap items-center gap-3">
        <span className="text-sm text-muted-foreground" data-testid="log-status">
          {t.logFor} {attempt} · {status}
        </span>
        {lines.length ? <span className="text-sm text-muted-foreground">{t.logLines(lines.length)}</span> : null}
        <span className="flex-1" />
        <div className="flex items-center gap-1">
          <Input
            type="search"
            value={search}
            onChange={(event) => {
              setSearch(event.target.value);
              setCurrent(-1);
            }}
            onKeyDown={(event) => {
              if (event.key === "Enter") step(event.shiftKey ? -1 : 1);
            }}
            placeholder={t.logSearch}
            aria-label={t.logSearch}
            className="h-8 w-48"
          />
          {query ? (
            <span className="min-w-20 text-center text-xs text-muted-foreground" role="status" data-testid="log-matches">
              {!matches.length
                ? t.logNoMatch
                : current < 0 || current >= matches.length
                  ? t.logMatches(matches.length)
                  : t.logMatch(current + 1, matches.length)}
            </span>
          ) : null}
          <Button variant="ghost" size="icon" onClick={() => step(-1)} disabled={!matches.length} aria-label={t.logPrevious}>
            <ChevronUpIcon aria-hidden />
          </Button>
          <Button variant="ghost" size="icon" onClick={() => step(1)} disabled={!matches.length} aria-label={t.logNext}>
            <ChevronDownIcon aria-hidden />
          </Button>
        </div>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={follow} onChange={(event) => setFollow(event.target.checked)} />
          {t.follow}
        </label>
        <Button variant="outline" size="sm" onClick={download} disabled={!lines.length}>
          <DownloadIcon aria-hidden />
          {t.downloadLog}
        </Button>
      </div>
      <div
        ref={scroller}
        role="log"
        aria-label={t.logLabel(attempt)}
        tabIndex={0}
        onWheel={() => setFollow(false)}
        // As tall as the log, up to 28rem; then it scrolls.
        style={{ height: Math.min(LOG_MAX_PX, Math.max(96, lines.length * LINE_PX + 16)) }}
        className="overflow-auto rounded-md border bg-muted/40 py-2 font-mono text-xs"
        data-testid="run-log"
      >
        {lines.length ? (
          <div style={{ paddingTop: top, paddingBottom: bottom }}>
            {items.map((item) => (
              <LogLine
                key={item.index}
                number={item.index + 1}
                line={lines[item.index]!}
                query={query}
                current={item.index === matchLine}
              />
            ))}
          </div>
        ) : (
          <span className="px-3 text-muted-foreground">{t.logEmpty}</span>
        )}
      </div>
    </div>
  );
}

function LogLine({ number, line, query, current }: { number: number; line: string; query: string; current: boolean }) {
  return (
    // The number is drawn by CSS from `data-line`: not part of the text, so a copied selection is the log alone.
    <div
      data-line={number}
      className={cn(
        "flex whitespace-pre before:w-14 before:shrink-0 before:select-none before:pe-3 before:text-end before:text-muted-foreground before:content-[attr(data-line)]",
        current && "bg-warning/20",
      )}
      style={{ height: LINE_PX }}
    >
      <span className="pe-3">{query ? <Highlighted text={stripAnsi(line)} query={query} /> : <Coloured line={line} />}</span>
    </div>
  );
}

function Coloured({ line }: { line: string }) {
  return ansiSegments(line).map((segment, i) =>
    segment.className ? (
      <span key={i} className={segment.className}>
        {segment.text}
      </span>
    ) : (
      segment.text
    ),
  );
}

function Highlighted({ text, query }: { text: string; query: string }) {
  const lower = text.toLowerCase();
  const needle = query.toLowerCase();
  const parts: React.ReactNode[] = [];
  let at = 0;
  for (let found = lower.indexOf(needle); found !== -1; found = lower.indexOf(needle, at)) {
    parts.push(text.slice(at, found), <mark key={found}>{text.slice(found, found + needle.length)}</mark>);
    at = found + needle.length;
  }
  parts.push(text.slice(at));
  return parts;
}
