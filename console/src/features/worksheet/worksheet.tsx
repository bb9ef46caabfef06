/** The SQL worksheet: the editor, its parameters and engine, Run / Cancel / Explain, the statement's
 * state, error or result, the side panel (schema, history, saved queries) and, for workspace admins,
 * every user's running statements. The open statement is in the URL (`?statement=`). */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { BookmarkIcon, BriefcaseIcon, PlayIcon, PlusIcon, SquareIcon, WorkflowIcon, XIcon } from "lucide-react";
import type * as React from "react";
import { lazy, Suspense, useCallback, useEffect, useRef, useState } from "react";
import { toast } from "sonner";

import { api, ApiError, call, describeError, type Schemas } from "@/api/client";
import { myWorkspacesQuery } from "@/api/queries";
import { PageHeader } from "@/components/page";
import { Button } from "@/components/ui/button";
import { Input, NativeSelect } from "@/components/ui/input";
import { Skeleton } from "@/components/ui/skeleton";
import { worksheetMessages } from "@/lib/messages/worksheet";

import {
  type Engine,
  PAGE_ROWS,
  POST_WAIT_SECONDS,
  problemPosition,
  type SavedQuery,
  schemaTreeQuery,
  type Statement,
  statementQuery,
  trinoConnectionsQuery,
  worksheetKeys,
} from "./api";
import type { EditorHandle } from "./editor-handle";
import { ResultGrid } from "./result-grid";
import { RunningNow } from "./running-now";
import { SaveQueryDialog } from "./save-dialog";
import { type Side, SidePanel } from "./side-panel";
import {
  draftKey,
  editorPosition,
  formatDuration,
  type Origin,
  parameterNames,
  parameterValues,
  TERMINAL,
  textToRun,
  typedParameterValues,
} from "./sql-text";
import { StateBadge } from "./state-badge";
import { addTab, closeTab, loadTabs, saveTabs, type SqlTabs, updateTab } from "./tabs";

const SqlEditor = lazy(() => import("./sql-editor"));
const t = worksheetMessages;

// `sql`: text to open with (another page's "Query this table"); it replaces the draft once.
export type WorksheetSearch = { statement?: string; side?: Side; sql?: string };

export function engineChoice(value: string): Engine {
  return value.startsWith("trino:") ? { engine: "trino", connection: value.slice(6) } : { engine: "duckdb", connection: null };
}
const engineValue = (engine: string, connection: string | null) =>
  engine === "trino" && connection ? `trino:${connection}` : "duckdb";

type Refusal = { error: unknown; origin: Origin | null };

export function Worksheet({ workspace, search }: { workspace: string; search: WorksheetSearch }) {
  const navigate = useNavigate();
  const client = useQueryClient();
  const role = useQuery(myWorkspacesQuery).data?.items.find((w) => w.slug === workspace)?.my_role;
  const isAdmin = role === "admin";
  const canEdit = role === "editor" || role === "admin";
  const tree = useQuery(schemaTreeQuery(workspace)).data;
  const trino = useQuery(trinoConnectionsQuery(workspace)).data ?? [];

  const editor = useRef<EditorHandle | null>(null);
  const pendingText = useRef<string | null>(null);
  const [tabState, setTabState] = useState(() => loadTabs(workspace, search.sql));
  const activeTab = tabState.tabs.find((tab) => tab.id === tabState.active)!;
  const [initialText] = useState(() => activeTab.text);
  // Taken into the draft: dropped from the address, so a reload keeps later edits.
  useEffect(() => {
    if (search.sql !== undefined) {
      void navigate({ to: ".", search: ({ sql: _taken, ...rest }: WorksheetSearch) => rest, replace: true });
    }
  }, [search.sql, navigate]);
  const [text, setText] = useState(initialText);
  const [values, setValues] = useState<Record<string, string>>({});
  const [engine, setEngine] = useState("duckdb");
  const [openQuery, setOpenQuery] = useState<SavedQuery | null>(null);
  const [refusal, setRefusal] = useState<Refusal | null>(null);
  const [info, setInfo] = useState<React.ReactNode | null>(null);
  const [plan, setPlan] = useState<Schemas["ExplainOut"] | null>(null);
  const [explaining, setExplaining] = useState(false);
  const [submitting, setSubmitting] = useState<number | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const [saveOpen, setSaveOpen] = useState(false);
  const [runningJob, setRunningJob] = useState(false);
  const busy = useRef(false);
  const cancelWanted = useRef(false);
  const origins = useRef(new Map<string, Origin | null>());
  const starts = useRef(new Map<string, number>());

  const statementId = search.statement;
  const statement = useQuery({ ...statementQuery(workspace, statementId ?? "-"), enabled: !!statementId });
  const current: Statement | undefined = statementId ? statement.data : undefined;
  const running = submitting !== null || (!!current && !TERMINAL.has(current.state));
  busy.current = running || explaining;

  const setSearch = useCallback(
    (next: Partial<WorksheetSearch>) =>
      void navigate({
        to: "/workspaces/$workspace/sql",
        params: { workspace },
        search: (previous: WorksheetSearch) => ({ ...previous, ...next }),
        replace: false,
      }),
    [navigate, workspace],
  );

  // The draft, kept per workspace and tab: each tab's SQL and last statement survive a reload.
  useEffect(() => {
    localStorage.setItem(draftKey(workspace), text);
    setTabState((state) => updateTab(state, { text }));
  }, [workspace, text]);
  useEffect(() => setTabState((state) => updateTab(state, { statement: statementId })), [statementId]);
  useEffect(() => saveTabs(workspace, tabState), [workspace, tabState]);
  // A reload (no statement in the address) shows the active tab's last statement again.
  useEffect(() => {
    if (!search.statement && search.sql === undefined && activeTab.statement)
      void navigate({ to: ".", search: (previous: WorksheetSearch) => ({ ...previous, statement: activeTab.statement }), replace: true });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const setEditorText = (sql: string) => {
    if (editor.current) editor.current.setText(sql);
    else pendingText.current = sql;
    setText(sql);
  };

  // A deep link to a statement shows its SQL, engine and parameters.
  const linked = useRef(search.statement);
  useEffect(() => {
    if (!statement.data || statement.data.id !== linked.current) return;
    linked.current = undefined;
    restore(statement.data);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [statement.data]);

  function restore(s: Statement) {
    setEditorText(s.sql);
    setEngine(engineValue(s.engine, s.connection));
    setValues((previous) => {
      const next = { ...previous };
      for (const [name, value] of Object.entries(s.parameters ?? {})) next[name] = value == null ? "" : String(value);
      return next;
    });
  }

  // When a statement ends: the history, the running list and the schema (DDL) may have changed.
  const lastState = useRef<string | undefined>(undefined);
  useEffect(() => {
    const state = current?.state;
    if (state && TERMINAL.has(state) && lastState.current && !TERMINAL.has(lastState.current)) {
      void client.invalidateQueries({ queryKey: worksheetKeys.history(workspace) });
      void client.invalidateQueries({ queryKey: worksheetKeys.running(workspace) });
      void client.invalidateQueries({ queryKey: worksheetKeys.tree(workspace) });
      setCancelling(false);
    }
    lastState.current = state;
  }, [current?.state, client, workspace]);

  // The timer while something runs.
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const id = setInterval(() => setNow(Date.now()), 100);
    return () => clearInterval(id);
  }, [running]);

  function clearOutput() {
    setRefusal(null);
    setInfo(null);
    setPlan(null);
  }

  async function cancelStatement(id: string) {
    try {
      await call(
        api.POST("/api/v1/workspaces/{workspace}/statements/{statement_id}/cancel", {
          params: { path: { workspace, statement_id: id } },
        }),
      );
      void client.invalidateQueries({ queryKey: worksheetKeys.statement(workspace, id) });
    } catch (error) {
      toast.error(describeError(error));
    }
  }

  async function runSql() {
    if (busy.current || !editor.current) return;
    const selection = editor.current.getSelection();
    const { sql, origin } = textToRun(editor.current.getText(), selection.from, selection.to);
    if (!sql.trim()) return;
    busy.current = true;
    clearOutput();
    const started = Date.now();
    cancelWanted.current = false;
    setCancelling(false);
    setSubmitting(started);
    setNow(started);
    try {
      const answer = await call(
        api.POST("/api/v1/workspaces/{workspace}/statements", {
          params: { path: { workspace } },
          body: {
            sql,
            ...engineChoice(engine),
            parameters: parameterValues(sql, values),
            wait_timeout: POST_WAIT_SECONDS,
            first_page_rows: PAGE_ROWS,
            on_wait_timeout: "CONTINUE",
          },
        }),
      );
      origins.current.set(answer.id, origin);
      starts.current.set(answer.id, started);
      client.setQueryData(worksheetKeys.statement(workspace, answer.id), answer);
      if (answer.first_page) {
        client.setQueryData(worksheetKeys.result(workspace, answer.id), {
          pages: [answer.first_page],
          pageParams: [""],
        });
      }
      lastState.current = "QUEUED";
      setSearch({ statement: answer.id });
      if (cancelWanted.current && !TERMINAL.has(answer.state)) void cancelStatement(answer.id);
    } catch (error) {
      setRefusal({ error, origin });
      setSearch({ statement: undefined });
    } finally {
      setSubmitting(null);
    }
  }

  function cancelRun() {
    setCancelling(true);
    if (current && !TERMINAL.has(current.state) && submitting === null) void cancelStatement(current.id);
    else cancelWanted.current = true;
  }

  async function explain() {
    if (busy.current || !editor.current) return;
    const selection = editor.current.getSelection();
    const { sql, origin } = textToRun(editor.current.getText(), selection.from, selection.to);
    if (!sql.trim()) return;
    clearOutput();
    setSearch({ statement: undefined });
    setExplaining(true);
    try {
      setPlan(
        await call(
          api.POST("/api/v1/workspaces/{workspace}/statements/explain", {
            params: { path: { workspace } },
            body: { sql, ...engineChoice(engine), parameters: parameterValues(sql, values) },
          }),
        ),
      );
    } catch (error) {
      setRefusal({ error, origin });
    } finally {
      setExplaining(false);
    }
  }

  async function runAsJob() {
    if (!openQuery) return;
    setRunningJob(true);
    clearOutput();
    try {
      const out = await call(
        api.POST("/api/v1/workspaces/{workspace}/queries/{query}/run-as-job", {
          params: { path: { workspace, query: openQuery.name } },
          // The run gets the inputs' values in the parameters' declared types.
          body: {
            message: "",
            submit: true,
            parameters: typedParameterValues(openQuery.parameters as Schemas["ParameterSpec"][], values),
          },
        }),
      );
      const words = (out.job_created ? t.jobCreated : t.jobUpdated)(out.job.name, out.job.current_version, out.query_version);
      setInfo(
        <>
          {words}
          {out.run ? (
            <>
              {"; "}
              <Link
                to="/workspaces/$workspace/runs/$run"
                params={{ workspace, run: String(out.run.id) }}
                className="font-medium text-primary underline"
              >
                {t.jobRun(out.run.id, out.run.state)}
              </Link>
            </>
          ) : null}
          .
        </>,
      );
    } catch (error) {
      setRefusal({ error, origin: null });
    } finally {
      setRunningJob(false);
    }
  }

  function openStatement(s: Statement) {
    if (busy.current) return;
    clearOutput();
    restore(s);
    setSearch({ statement: s.id });
  }

  /** To another tab (or a new or closed one): its SQL in the editor, its statement shown. */
  function showTab(next: SqlTabs) {
    if (busy.current) return;
    const tab = next.tabs.find((candidate) => candidate.id === next.active)!;
    setTabState(next);
    if (next.active === tabState.active) return;
    clearOutput();
    setOpenQuery(null);
    setEditorText(tab.text);
    setSearch({ statement: tab.statement });
  }

  function openSaved(query: SavedQuery) {
    if (busy.current) return;
    setOpenQuery(query);
    clearOutput();
    setSearch({ statement: undefined });
    setEditorText(query.sql);
    setEngine(engineValue(query.engine, query.connection));
    setValues((previous) => {
      const next = { ...previous };
      for (const p of query.parameters as Schemas["ParameterSpec"][]) {
        if (next[p.name] === undefined && p.default != null) next[p.name] = String(p.default);
      }
      return next;
    });
  }

  // The error to show and where it points in the editor.
  let error: { message: string; position: { line: number; column: number | null } | null; refused: boolean; status?: number } | null =
    null;
  if (refusal) {
    const place = problemPosition(refusal.error);
    error = {
      message: describeError(refusal.error),
      position: editorPosition(place.line, place.column, refusal.origin),
      refused: true,
      status: refusal.error instanceof ApiError ? refusal.error.status : undefined,
    };
  } else if (current && current.state !== "CANCELLED" && current.error) {
    error = {
      message: current.error.message,
      position: editorPosition(current.error.line, current.error.column, origins.current.get(current.id) ?? null),
      refused: false,
    };
  } else if (current?.state === "TIMED_OUT") {
    error = { message: t.timedOut, position: null, refused: false };
  }
  const errorLine = error?.position?.line ?? null;
  const errorKey = error ? `${error.message}@${errorLine}:${error.position?.column ?? ""}` : "";
  useEffect(() => {
    if (errorKey && error?.position) editor.current?.goTo(error.position.line, error.position.column);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [errorKey]);

  const names = parameterNames(text);
  const start = current ? (starts.current.get(current.id) ?? Date.parse(current.started_at ?? current.created_at)) : submitting;
  const timer = running
    ? formatDuration(Math.max(0, now - (submitting ?? start ?? now)))
    : current?.duration_ms != null
      ? formatDuration(current.duration_ms)
      : "";
  const engineOptions = ["duckdb", ...trino.map((name) => `trino:${name}`)];
  if (!engineOptions.includes(engine)) engineOptions.push(engine);

  return (
    <div
      onKeyDown={(event) => {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.defaultPrevented) {
          event.preventDefault();
          void runSql();
        }
      }}
    >
      <PageHeader title={t.title} description={t.description} />
      <div className="grid gap-4 lg:grid-cols-[17rem_minmax(0,1fr)]">
        <div className="lg:sticky lg:top-18 lg:h-[min(640px,calc(100vh-6rem))]">
          <SidePanel
            workspace={workspace}
            side={search.side ?? "schema"}
            onSide={(side) =>
              void navigate({
                to: "/workspaces/$workspace/sql",
                params: { workspace },
                search: (previous: WorksheetSearch) => ({ ...previous, side: side === "schema" ? undefined : side }),
                replace: true,
              })
            }
            onInsert={(value) => editor.current?.insert(value)}
            onOpenStatement={openStatement}
            onOpenQuery={openSaved}
            openStatement={statementId}
            openQuery={openQuery?.name}
          />
        </div>
        <div className="grid min-w-0 content-start gap-3">
          <div className="flex flex-wrap items-center gap-2" role="toolbar" aria-label={t.title}>
            <NativeSelect
              aria-label={t.engine}
              value={engine}
              onChange={(event) => setEngine(event.target.value)}
              className="h-8 w-auto"
            >
              {engineOptions.map((value) => (
                <option key={value} value={value}>
                  {value === "duckdb" ? t.duckdb : t.trino(value.slice(6))}
                </option>
              ))}
            </NativeSelect>
            <Button size="sm" onClick={() => void runSql()} disabled={running || explaining} title={t.runHint}>
              <PlayIcon aria-hidden />
              {t.run}
            </Button>
            {running ? (
              <Button size="sm" variant="destructive" onClick={cancelRun} disabled={cancelling}>
                <SquareIcon aria-hidden />
                {cancelling ? t.cancelling : t.cancel}
              </Button>
            ) : null}
            <Button size="sm" variant="outline" onClick={() => void explain()} disabled={running || explaining} title={t.explainHint}>
              <WorkflowIcon aria-hidden />
              {t.explain}
            </Button>
            <Button size="sm" variant="outline" onClick={() => setSaveOpen(true)} title={t.saveHint}>
              <BookmarkIcon aria-hidden />
              {t.save}
            </Button>
            {openQuery && canEdit ? (
              <Button size="sm" variant="outline" onClick={() => void runAsJob()} disabled={runningJob} title={t.runAsJobHint}>
                <BriefcaseIcon aria-hidden />
                {t.runAsJob}
              </Button>
            ) : null}
            {openQuery ? (
              <span className="text-sm text-muted-foreground" data-testid="open-query">
                {t.openQuery(openQuery.name, openQuery.current_version, openQuery.shared)}
              </span>
            ) : null}
            <span className="ms-auto flex items-center gap-2 text-sm" role="status" aria-live="polite" data-testid="sql-state">
              {explaining ? <span className="text-muted-foreground">{t.explaining}</span> : null}
              {submitting !== null && !current ? <StateBadge state="QUEUED" /> : null}
              {refusal && !explaining ? <StateBadge state="FAILED" /> : null}
              {current && !refusal ? <StateBadge state={current.state} /> : null}
              <span className="tabular-nums text-muted-foreground" data-testid="sql-timer">
                {refusal ? t.refused : timer}
              </span>
            </span>
          </div>
          <div className="flex flex-wrap items-center gap-1 border-b pb-1" role="group" aria-label={t.tabs.label}>
            {tabState.tabs.map((tab) => (
              <span key={tab.id} className="flex items-center">
                <Button
                  size="sm"
                  variant={tab.id === tabState.active ? "secondary" : "ghost"}
                  aria-pressed={tab.id === tabState.active}
                  disabled={running && tab.id !== tabState.active}
                  onClick={() => showTab({ ...tabState, active: tab.id })}
                  title={tab.text.slice(0, 200) || undefined}
                >
                  {t.tabs.name(tab.id)}
                </Button>
                {tabState.tabs.length > 1 ? (
                  <Button
                    size="icon"
                    variant="ghost"
                    className="size-6"
                    aria-label={t.tabs.close(tab.id)}
                    disabled={running}
                    onClick={() => showTab(closeTab(tabState, tab.id))}
                  >
                    <XIcon aria-hidden />
                  </Button>
                ) : null}
              </span>
            ))}
            <Button size="sm" variant="ghost" disabled={running} onClick={() => showTab(addTab(tabState))}>
              <PlusIcon aria-hidden />
              {t.tabs.add}
            </Button>
          </div>
          <div className="h-64">
            <Suspense fallback={<Skeleton className="h-full w-full" aria-label={t.loadingEditor} />}>
              <SqlEditor
                initialText={pendingText.current ?? initialText}
                onChange={setText}
                onRun={() => void runSql()}
                onReady={() => {
                  if (pendingText.current !== null && editor.current) {
                    editor.current.setText(pendingText.current);
                    pendingText.current = null;
                  }
                }}
                tree={tree}
                errorLine={errorLine}
                label={t.editorLabel}
                placeholder={t.editorPlaceholder}
                handleRef={editor}
              />
            </Suspense>
          </div>
          {names.length ? (
            <fieldset className="flex flex-wrap items-center gap-3 text-sm">
              <legend className="sr-only">{t.parameters}</legend>
              <span aria-hidden className="text-muted-foreground">
                {t.parameters}
              </span>
              {names.map((name) => (
                <label key={name} className="flex items-center gap-1.5">
                  <code className="font-mono text-xs">:{name}</code>
                  <Input
                    className="h-8 w-36"
                    value={values[name] ?? ""}
                    title={t.parameterHint}
                    aria-label={t.parameterLabel(name)}
                    onChange={(event) => setValues((previous) => ({ ...previous, [name]: event.target.value }))}
                  />
                </label>
              ))}
            </fieldset>
          ) : null}
          {info ? (
            <p role="status" className="rounded-md border bg-muted px-3 py-2 text-sm" data-testid="sql-info">
              {info}
            </p>
          ) : null}
          {current?.state === "CANCELLED" && !refusal ? (
            <p role="status" className="rounded-md border border-warning/40 bg-warning/10 px-3 py-2 text-sm">
              {current.error?.message ?? t.cancelled}
            </p>
          ) : null}
          {error ? (
            <div role="alert" className="rounded-md border border-destructive/40 bg-destructive/10 px-3 py-2 text-sm" data-testid="sql-error">
              {error.position ? (
                <>
                  <button
                    type="button"
                    className="font-medium text-destructive underline underline-offset-2"
                    title={t.goToError}
                    onClick={() => editor.current?.goTo(error.position!.line, error.position!.column)}
                  >
                    {t.at(error.position.line, error.position.column)}
                  </button>
                  {": "}
                </>
              ) : null}
              <span className="whitespace-pre-wrap">{error.message}</span>
              {error.status === 403 && role === "viewer" ? <p className="mt-1 text-muted-foreground">{t.readOnly}</p> : null}
            </div>
          ) : null}
          {plan ? (
            <pre className="max-h-96 overflow-auto rounded-md border bg-muted p-3 font-mono text-xs" data-testid="sql-plan" tabIndex={0}>
              {`-- ${t.plan(plan.engine)}\n${plan.engine_sql}\n\n${plan.plan}`}
            </pre>
          ) : null}
          {statementId && statement.isError && !refusal ? (
            <p role="alert" className="text-sm text-destructive">
              {describeError(statement.error)}
            </p>
          ) : null}
          {current?.state === "SUCCEEDED" && current.result && !refusal ? (
            current.result.expired ? (
              <p role="status" className="rounded-md border border-warning/40 bg-warning/10 px-3 py-2 text-sm">
                {t.expired}
              </p>
            ) : (
              <ResultGrid key={current.id} workspace={workspace} statement={current} name={openQuery?.name} />
            )
          ) : null}
        </div>
      </div>
      {isAdmin ? <RunningNow workspace={workspace} /> : null}
      <SaveQueryDialog
        open={saveOpen}
        onOpenChange={setSaveOpen}
        workspace={workspace}
        openQuery={openQuery}
        sql={text}
        engine={engineChoice(engine)}
        values={values}
        onSaved={(saved, updated) => {
          setOpenQuery(saved);
          setInfo(updated ? t.savedVersion(saved.name, saved.current_version) : t.savedNew(saved.name));
          void client.invalidateQueries({ queryKey: worksheetKeys.queries(workspace) });
          setSearch({ side: "saved" });
        }}
      />
    </div>
  );
}
