/** Upload a CSV or Parquet file into a new or an existing table, in three steps: choose the file and
 * where it goes, check it (the server's dry run: the schema, the row count, the first rows, or the
 * columns that do not fit, by name), then commit it and open the snapshot it made. Both sends
 * show real upload progress. */
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { ArrowLeftIcon, CheckCircle2Icon, UploadIcon } from "lucide-react";
import { useEffect, useId, useRef, useState } from "react";

import { ApiError, describeError } from "@/api/client";
import { ErrorState, PageHeader } from "@/components/page";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Field, Input, NativeSelect } from "@/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { tablesMessages } from "@/lib/messages/tables";

import { PreviewGrid } from "./preview-grid";
import { formatBytes, type NamespaceNode, namespacesQuery, tablesQuery, type UploadSearch } from "./queries";
import {
  formatOf,
  type IngestPreview,
  type IngestResult,
  ingestUrl,
  mismatchesOf,
  sendFile,
  type UploadFormat,
  type UploadMode,
  type UploadProgress,
} from "./upload";

const t = tablesMessages;
const u = tablesMessages.upload;

function flatten(node: NamespaceNode): string[] {
  return [node.namespace, ...node.children.flatMap(flatten)];
}

type Busy = { kind: "check" | "commit"; progress: UploadProgress; abort: AbortController };

export function UploadPage({ workspace, search }: { workspace: string; search: UploadSearch }) {
  const queryClient = useQueryClient();
  const ids = useId();
  const namespaces = useQuery(namespacesQuery(workspace));
  const [file, setFile] = useState<File | null>(null);
  const [format, setFormat] = useState<UploadFormat>("csv");
  const [target, setTarget] = useState<"new" | "existing">(search.table ? "existing" : "new");
  const [namespace, setNamespace] = useState(search.namespace ?? "");
  const [newTable, setNewTable] = useState("");
  const [existingTable, setExistingTable] = useState(search.table ?? "");
  const [writeMode, setWriteMode] = useState<"append" | "overwrite">("append");
  const [busy, setBusy] = useState<Busy | null>(null);
  const [preview, setPreview] = useState<IngestPreview | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<IngestResult | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  // The workspace's own namespace until the caller picks another.
  const chosenNamespace = namespace || namespaces.data?.namespace || "";
  const tables = useInfiniteQuery({
    ...tablesQuery(workspace, { namespace: chosenNamespace }),
    enabled: target === "existing" && chosenNamespace !== "",
  });
  const tableNames = (tables.data?.pages.flatMap((page) => page.items) ?? [])
    .filter((item) => item.namespace === chosenNamespace)
    .map((item) => item.name);
  const table = target === "new" ? newTable.trim() : existingTable;
  const mode: UploadMode = target === "new" ? "create" : writeMode;
  const ready = file !== null && chosenNamespace !== "" && table !== "" && busy === null;
  const destination = { workspace, namespace: chosenNamespace, table, format, mode };

  // Whatever changes the upload makes the last check (and its outcome) stale.
  useEffect(() => {
    setPreview(null);
    setError(null);
  }, [file, format, target, chosenNamespace, table, mode]);
  // Leaving the page stops an upload in flight.
  const inFlight = useRef<AbortController | null>(null);
  useEffect(() => () => inFlight.current?.abort(), []);

  async function send(kind: Busy["kind"]) {
    if (!file) return;
    const abort = new AbortController();
    inFlight.current = abort;
    const started: Busy = { kind, progress: { loaded: 0, total: file.size }, abort };
    setBusy(started);
    setError(null);
    const onProgress = (progress: UploadProgress) => setBusy((current) => (current ? { ...current, progress } : current));
    try {
      if (kind === "check") {
        setPreview(await sendFile<IngestPreview>(ingestUrl(destination, { preview: true }), file, format, onProgress, abort.signal));
      } else {
        // The checked file is on the server already: the commit names it rather than sending it again.
        const kept = preview?.upload_id ?? null;
        const url = ingestUrl(destination, { preview: false, upload: kept });
        const withFile = () =>
          sendFile<IngestResult>(ingestUrl(destination, { preview: false }), file, format, onProgress, abort.signal);
        const done = kept
          ? await sendFile<IngestResult>(url, null, format, onProgress, abort.signal).catch((caught: unknown) => {
              // The kept file is not on this server process (several API pods, or it expired): send it.
              if (caught instanceof ApiError && caught.status === 404) return withFile();
              throw caught;
            })
          : await withFile();
        setResult(done);
        setPreview(null);
        void queryClient.invalidateQueries({ queryKey: ["catalog", workspace] });
      }
    } catch (caught) {
      setError(caught instanceof DOMException && caught.name === "AbortError" ? new Error(u.cancelled) : caught);
      if (kind === "check") setPreview(null);
      // A failed commit used up the kept file: another try sends the file.
      else setPreview((shown) => (shown ? { ...shown, upload_id: null } : shown));
    } finally {
      inFlight.current = null;
      setBusy(null);
    }
  }

  function startOver() {
    setResult(null);
    setPreview(null);
    setError(null);
    setFile(null);
    if (fileInput.current) fileInput.current.value = "";
    // Another file most likely goes into the same table now.
    if (result) {
      setTarget("existing");
      setExistingTable(result.table.slice(chosenNamespace.length + 1));
      setNamespace(chosenNamespace);
    }
  }

  const back = (
    <Link
      to="/workspaces/$workspace/tables"
      params={{ workspace }}
      search={{}}
      className="mb-3 inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground"
    >
      <ArrowLeftIcon className="size-4" aria-hidden />
      {t.backToTables}
    </Link>
  );

  if (result) return (
    <>
      {back}
      <PageHeader title={u.title} documentTitle={`${u.title} · ${workspace}`} />
      <Done workspace={workspace} namespace={chosenNamespace} result={result} onAnother={startOver} />
    </>
  );

  return (
    <>
      {back}
      <PageHeader title={u.title} description={u.description} documentTitle={`${u.title} · ${workspace}`} />
      <div className="grid max-w-4xl gap-5">
        <Card>
          <CardHeader>
            <CardTitle>{u.fileStep}</CardTitle>
          </CardHeader>
          <CardContent className="grid items-start gap-4 sm:grid-cols-[1fr_12rem]">
            <Field label={u.file} htmlFor={`${ids}-file`} hint={file ? `${file.name} · ${formatBytes(file.size)}` : u.fileHint}>
              <Input
                id={`${ids}-file`}
                ref={fileInput}
                type="file"
                accept=".csv,.parquet,.pq,text/csv"
                disabled={busy !== null}
                onChange={(event) => {
                  const chosen = event.target.files?.[0] ?? null;
                  setFile(chosen);
                  if (chosen) {
                    setFormat(formatOf(chosen.name));
                    // A new table is named after its file, until the user says otherwise.
                    if (!newTable) setNewTable(chosen.name.replace(/\.[^.]*$/, "").toLowerCase().replace(/[^a-z0-9_]+/g, "_"));
                  }
                }}
              />
            </Field>
            <Field label={u.format} htmlFor={`${ids}-format`}>
              <NativeSelect
                id={`${ids}-format`}
                value={format}
                disabled={busy !== null}
                onChange={(event) => setFormat(event.target.value as UploadFormat)}
              >
                {(["csv", "parquet"] as const).map((name) => (
                  <option key={name} value={name}>
                    {u.formats[name]}
                  </option>
                ))}
              </NativeSelect>
            </Field>
          </CardContent>
        </Card>

        <Card>
          <CardHeader>
            <CardTitle>{u.targetStep}</CardTitle>
          </CardHeader>
          <CardContent className="grid gap-4">
            <fieldset className="flex flex-wrap gap-4" disabled={busy !== null}>
              <legend className="mb-2 text-sm font-medium">{u.target}</legend>
              {(["new", "existing"] as const).map((kind) => (
                <label key={kind} className="flex items-center gap-2 text-sm">
                  <input type="radio" name={`${ids}-target`} value={kind} checked={target === kind} onChange={() => setTarget(kind)} />
                  {kind === "new" ? u.newTable : u.existingTable}
                </label>
              ))}
            </fieldset>
            <div className="grid items-start gap-4 sm:grid-cols-2">
              <Field label={u.namespace} htmlFor={`${ids}-namespace`}>
                <NativeSelect
                  id={`${ids}-namespace`}
                  value={chosenNamespace}
                  disabled={busy !== null || !namespaces.data}
                  onChange={(event) => {
                    setNamespace(event.target.value);
                    setExistingTable("");
                  }}
                >
                  {(namespaces.data ? flatten(namespaces.data) : []).map((name) => (
                    <option key={name} value={name}>
                      {name}
                    </option>
                  ))}
                </NativeSelect>
              </Field>
              {target === "new" ? (
                <Field label={u.tableName} htmlFor={`${ids}-table`} hint={u.tableNameHint}>
                  <Input
                    id={`${ids}-table`}
                    value={newTable}
                    maxLength={255}
                    disabled={busy !== null}
                    onChange={(event) => setNewTable(event.target.value)}
                  />
                </Field>
              ) : (
                <Field
                  label={u.table}
                  htmlFor={`${ids}-existing`}
                  hint={tables.isSuccess && tableNames.length === 0 ? u.noTables : undefined}
                >
                  <NativeSelect
                    id={`${ids}-existing`}
                    value={existingTable}
                    disabled={busy !== null}
                    onChange={(event) => setExistingTable(event.target.value)}
                  >
                    <option value="">{u.chooseTable}</option>
                    {[...new Set([...tableNames, ...(existingTable ? [existingTable] : [])])].sort().map((name) => (
                      <option key={name} value={name}>
                        {name}
                      </option>
                    ))}
                  </NativeSelect>
                </Field>
              )}
            </div>
            {namespaces.isError ? <ErrorState error={namespaces.error} onRetry={() => void namespaces.refetch()} /> : null}
            {target === "existing" ? (
              <fieldset className="grid gap-2" disabled={busy !== null}>
                <legend className="mb-2 text-sm font-medium">{u.mode}</legend>
                {(["append", "overwrite"] as const).map((kind) => (
                  <label key={kind} className="flex items-center gap-2 text-sm">
                    <input type="radio" name={`${ids}-mode`} value={kind} checked={writeMode === kind} onChange={() => setWriteMode(kind)} />
                    {u.modes[kind]}
                  </label>
                ))}
              </fieldset>
            ) : null}
            <div className="flex flex-wrap items-center gap-3">
              <Button type="button" variant={preview ? "outline" : "default"} disabled={!ready} onClick={() => void send("check")}>
                {busy?.kind === "check" ? u.checking : u.check}
              </Button>
              <p className="text-xs text-muted-foreground">{u.checkHint}</p>
            </div>
            {busy?.kind === "check" ? <Progress busy={busy} /> : null}
          </CardContent>
        </Card>

        {error ? <Refusal error={error} /> : null}
        {preview ? (
          <PreviewCard preview={preview} busy={busy} onCommit={() => void send("commit")} />
        ) : null}
      </div>
    </>
  );
}

/** Bytes sent as a bar and in words; once all is sent, the wait is the server's. */
export function Progress({ busy }: { busy: Busy }) {
  const { loaded, total } = busy.progress;
  const percent = total > 0 ? Math.min(100, Math.floor((loaded * 100) / total)) : 0;
  const sent = loaded >= total; // nothing to send (a kept upload) counts as sent
  return (
    <div className="grid gap-2" aria-live="polite">
      <div
        role="progressbar"
        aria-label={u.progressLabel}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        className="h-2 w-full overflow-hidden rounded-full bg-muted"
      >
        <div className="h-full rounded-full bg-primary transition-[width]" style={{ width: `${percent}%` }} />
      </div>
      <div className="flex items-center justify-between gap-3 text-sm text-muted-foreground">
        <span>{sent ? u.processing : u.sending(percent, formatBytes(loaded), formatBytes(total))}</span>
        <Button type="button" variant="outline" size="sm" onClick={() => busy.abort.abort()}>
          {u.cancel}
        </Button>
      </div>
    </div>
  );
}

function Refusal({ error }: { error: unknown }) {
  const mismatches = mismatchesOf(error);
  return (
    <Alert variant="destructive" role="alert">
      <p className="font-medium">{u.refused}</p>
      <p className="mt-1">{describeError(error)}</p>
      {mismatches.length ? (
        <Table className="mt-3" aria-label={u.mismatchTitle}>
          <TableHeader>
            <TableRow>
              <TableHead>{u.column}</TableHead>
              <TableHead>{u.mismatchKind}</TableHead>
              <TableHead>{u.fileType}</TableHead>
              <TableHead>{u.tableType}</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {mismatches.map((mismatch) => (
              <TableRow key={`${mismatch.column}-${mismatch.kind}`} data-mismatch={mismatch.column}>
                <TableCell className="font-mono">{mismatch.column}</TableCell>
                <TableCell>{u.kinds[mismatch.kind] ?? mismatch.kind}</TableCell>
                <TableCell className="font-mono">{mismatch.file_type ?? "—"}</TableCell>
                <TableCell className="font-mono">{mismatch.table_type ?? "—"}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : null}
    </Alert>
  );
}

function PreviewCard({ preview, busy, onCommit }: { preview: IngestPreview; busy: Busy | null; onCommit: () => void }) {
  const summary =
    preview.mode === "create"
      ? u.willCreate(preview.table, preview.rows)
      : preview.mode === "overwrite"
        ? u.willOverwrite(preview.table, preview.rows)
        : u.willAppend(preview.table, preview.rows);
  return (
    <Card>
      <CardHeader>
        <CardTitle>{u.previewStep}</CardTitle>
        <p className="text-sm" data-testid="upload-summary">
          {summary}
        </p>
      </CardHeader>
      <CardContent className="grid gap-5">
        <section aria-label={u.schemaTitle}>
          <h3 className="mb-2 text-sm font-medium">{u.schemaTitle}</h3>
          <Table aria-label={u.schemaTitle}>
            <TableHeader>
              <TableRow>
                <TableHead>{u.column}</TableHead>
                <TableHead>{u.tableType}</TableHead>
                <TableHead>{u.fileType}</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {preview.columns.map((column) => (
                <TableRow key={column.name} data-column={column.name}>
                  <TableCell className="font-mono">{column.name}</TableCell>
                  <TableCell className="font-mono">{column.type}</TableCell>
                  <TableCell className={column.file_type ? "font-mono" : "text-muted-foreground"}>
                    {column.file_type ?? u.notInFile}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </section>
        <section aria-label={u.firstRows(preview.sample_rows.length)}>
          <h3 className="mb-2 text-sm font-medium">{u.firstRows(preview.sample_rows.length)}</h3>
          <PreviewGrid preview={{ columns: preview.sample_columns, rows: preview.sample_rows }} label={u.sampleLabel} />
        </section>
        <div className="flex flex-wrap items-center gap-3">
          <Button type="button" disabled={busy !== null} onClick={onCommit}>
            <UploadIcon aria-hidden />
            {busy?.kind === "commit" ? u.committing : u.commit(preview.rows)}
          </Button>
        </div>
        {busy?.kind === "commit" ? <Progress busy={busy} /> : null}
      </CardContent>
    </Card>
  );
}

function Done({
  workspace,
  namespace,
  result,
  onAnother,
}: {
  workspace: string;
  namespace: string;
  result: IngestResult;
  onAnother: () => void;
}) {
  const table = result.table.slice(namespace.length + 1);
  return (
    <Card className="max-w-3xl">
      <CardHeader>
        <CardTitle className="flex items-center gap-2">
          <CheckCircle2Icon className="size-5 text-emerald-600 dark:text-emerald-400" aria-hidden />
          {u.doneTitle}
        </CardTitle>
      </CardHeader>
      <CardContent className="grid gap-4">
        <p role="status" data-testid="upload-done">
          {u.done(result.table, result.rows, result.snapshot_id)}
        </p>
        <div className="flex flex-wrap gap-2">
          <Button asChild>
            <Link
              to="/workspaces/$workspace/tables/$namespace/$table"
              params={{ workspace, namespace, table }}
              search={{ tab: "preview", snapshot: result.snapshot_id }}
            >
              {u.openSnapshot}
            </Link>
          </Button>
          <Button asChild variant="outline">
            <Link
              to="/workspaces/$workspace/tables/$namespace/$table"
              params={{ workspace, namespace, table }}
              search={{ tab: "snapshots" }}
            >
              {u.openTable}
            </Link>
          </Button>
          <Button variant="outline" onClick={onAnother}>
            {u.another}
          </Button>
        </div>
      </CardContent>
    </Card>
  );
}
