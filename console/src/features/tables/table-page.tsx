/** One table: overview with its dataset, schema, snapshots (exact ids), layout, files and a preview
 * that can travel back to any snapshot. Each tab and the snapshot read are in the URL. */
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { ArrowLeftIcon, PlayIcon } from "lucide-react";
import type * as React from "react";

import { EmptyState, ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Input, NativeSelect } from "@/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { m } from "@/lib/messages";
import { tablesMessages } from "@/lib/messages/tables";
import { cn } from "@/lib/utils";

import { DatasetCard } from "./dataset-card";
import {
  filesQuery,
  formatBytes,
  formatTime,
  previewQuery,
  type SchemaField,
  sqlName,
  TABLE_TABS,
  type TableDetail,
  tableQuery,
  type TableSearch,
  type TableTab,
} from "./queries";
import { PreviewGrid } from "./preview-grid";
import { UploadButton } from "./upload-button";

const t = tablesMessages;

type Props = { workspace: string; namespace: string; table: string; search: TableSearch };

export function TablePage({ workspace, namespace, table, search }: Props) {
  const query = useQuery(tableQuery({ workspace, namespace, table }));
  const tab: TableTab = search.tab ?? "overview";
  const identifier = `${namespace}.${table}`;
  const sql = `SELECT * FROM ${sqlName(namespace, table)} LIMIT 100`;
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

  let body: React.ReactNode;
  if (query.isPending) body = <LoadingRows rows={6} />;
  else if (query.isError)
    body = (
      <ErrorState
        error={query.error}
        onRetry={() => void query.refetch()}
      />
    );
  else body = <TabBody tab={tab} detail={query.data} props={{ workspace, namespace, table, search }} />;

  return (
    <>
      {back}
      <PageHeader
        title={identifier}
        documentTitle={`${identifier} · ${workspace}`}
        description={query.data?.dataset?.description || undefined}
        actions={
          <>
            <UploadButton workspace={workspace} search={{ namespace, table }} variant="outline" />
            <Button asChild>
              <Link to="/workspaces/$workspace/sql" params={{ workspace }} search={{ sql } as never}>
                <PlayIcon aria-hidden />
                {t.queryTable}
              </Link>
            </Button>
          </>
        }
      />
      <nav aria-label={t.tabsLabel} className="mb-5 flex flex-wrap gap-1 border-b">
        {TABLE_TABS.map((name) => (
          <Link
            key={name}
            to="/workspaces/$workspace/tables/$namespace/$table"
            params={{ workspace, namespace, table }}
            search={name === "overview" ? {} : { tab: name }}
            aria-current={tab === name ? "page" : undefined}
            className={cn(
              "-mb-px border-b-2 px-3 py-2 text-sm font-medium text-muted-foreground hover:text-foreground",
              tab === name ? "border-primary text-foreground" : "border-transparent",
            )}
          >
            {t.tabs[name]}
          </Link>
        ))}
      </nav>
      {body}
    </>
  );
}

function TabBody({ tab, detail, props }: { tab: TableTab; detail: TableDetail; props: Props }) {
  switch (tab) {
    case "schema":
      return <SchemaTab detail={detail} />;
    case "snapshots":
      return <SnapshotsTab detail={detail} props={props} />;
    case "layout":
      return <LayoutTab detail={detail} />;
    case "files":
      return <FilesTab props={props} />;
    case "preview":
      return <PreviewTab detail={detail} props={props} />;
    default:
      return <OverviewTab detail={detail} props={props} />;
  }
}

function Fact({ label, children, wide }: { label: string; children: React.ReactNode; wide?: boolean }) {
  return (
    <div className={cn("rounded-lg border bg-card p-3", wide && "sm:col-span-2 lg:col-span-3")}>
      <dt className="text-xs text-muted-foreground">{label}</dt>
      <dd className="mt-1 break-all font-medium">{children}</dd>
    </div>
  );
}

function OverviewTab({ detail, props }: { detail: TableDetail; props: Props }) {
  const f = t.facts;
  return (
    <div className="grid gap-6">
      <dl className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3" aria-label={t.tabs.overview}>
        <Fact label={f.rows}>{detail.totals.row_count.toLocaleString()}</Fact>
        <Fact label={f.files}>{detail.totals.data_files.toLocaleString()}</Fact>
        <Fact label={f.size}>{formatBytes(detail.totals.total_size_bytes)}</Fact>
        <Fact label={f.snapshots}>{detail.snapshots.length}</Fact>
        <Fact label={f.currentSnapshot}>
          <span className="font-mono text-sm">{detail.current_snapshot_id ?? f.none}</span>
        </Fact>
        <Fact label={f.lastUpdated}>{formatTime(detail.last_updated)}</Fact>
        <Fact label={f.formatVersion}>{detail.format_version}</Fact>
        <Fact label={f.deleteFiles}>{detail.totals.delete_files.toLocaleString()}</Fact>
        <Fact label={f.uuid}>
          <span className="font-mono text-sm">{detail.table_uuid}</span>
        </Fact>
        <Fact label={f.location} wide>
          <span className="font-mono text-sm">{detail.location}</span>
        </Fact>
      </dl>
      <DatasetCard workspace={props.workspace} namespace={props.namespace} table={props.table} brief={detail.dataset ?? null} />
    </div>
  );
}

function SchemaRows({ fields, depth }: { fields: SchemaField[]; depth: number }) {
  return fields.map((field) => (
    <SchemaRow key={`${depth}-${field.id}`} field={field} depth={depth} />
  ));
}

function SchemaRow({ field, depth }: { field: SchemaField; depth: number }) {
  return (
    <>
      <TableRow>
        <TableCell className="tabular-nums text-muted-foreground">{field.id}</TableCell>
        <TableCell>
          <span className="font-mono text-sm" style={{ paddingInlineStart: `${depth * 1.25}rem` }}>
            {depth > 0 ? <span className="text-muted-foreground" aria-hidden>└ </span> : null}
            {field.name}
          </span>
        </TableCell>
        <TableCell className="max-w-md break-words font-mono text-xs">{field.type}</TableCell>
        <TableCell>{field.required ? m.common.yes : m.common.no}</TableCell>
        <TableCell className="text-muted-foreground">{field.doc ?? ""}</TableCell>
      </TableRow>
      {field.children?.length ? <SchemaRows fields={field.children} depth={depth + 1} /> : null}
    </>
  );
}

function SchemaTab({ detail }: { detail: TableDetail }) {
  const s = t.schema;
  const schema = detail.schema;
  if (schema.fields.length === 0) return <EmptyState title={s.empty} />;
  return (
    <div className="grid gap-2">
      <p className="text-sm text-muted-foreground">
        {s.schemaId(schema.schema_id)}
        {schema.identifier_field_ids.length ? ` · ${s.identifierFields}: ${schema.identifier_field_ids.join(", ")}` : ""}
      </p>
      <Table aria-label={t.tabs.schema}>
        <TableHeader>
          <TableRow>
            <TableHead className="w-20">{s.id}</TableHead>
            <TableHead>{s.name}</TableHead>
            <TableHead>{s.type}</TableHead>
            <TableHead>{s.required}</TableHead>
            <TableHead>{s.doc}</TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          <SchemaRows fields={schema.fields} depth={0} />
        </TableBody>
      </Table>
    </div>
  );
}

const SUMMARY_FACTS: [string, (v: string) => string][] = [
  ["added-records", t.snapshots.added],
  ["deleted-records", t.snapshots.deleted],
  ["added-data-files", t.snapshots.addedFiles],
  ["deleted-data-files", t.snapshots.deletedFiles],
  ["total-records", t.snapshots.total],
];

function SnapshotsTab({ detail, props }: { detail: TableDetail; props: Props }) {
  const s = t.snapshots;
  if (detail.snapshots.length === 0) return <EmptyState title={s.empty} />;
  const newestFirst = [...detail.snapshots].reverse();
  return (
    <Table aria-label={t.tabs.snapshots}>
      <TableHeader>
        <TableRow>
          <TableHead>{s.id}</TableHead>
          <TableHead>{s.time}</TableHead>
          <TableHead>{s.operation}</TableHead>
          <TableHead>{s.summary}</TableHead>
          <TableHead>{s.parent}</TableHead>
          <TableHead>
            <span className="sr-only">{s.previewAt}</span>
          </TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {newestFirst.map((snap) => {
          const current = snap.snapshot_id === detail.current_snapshot_id;
          const facts = SUMMARY_FACTS.filter(([key]) => snap.summary[key] && snap.summary[key] !== "0").map(([key, say]) =>
            say(Number(snap.summary[key]).toLocaleString()),
          );
          return (
            <TableRow key={snap.snapshot_id} data-snapshot={snap.snapshot_id}>
              <TableCell className="whitespace-nowrap">
                <span className="font-mono text-sm" data-testid="snapshot-id">
                  {snap.snapshot_id}
                </span>
                {current ? (
                  <Badge variant="success" className="ms-2">
                    {s.current}
                  </Badge>
                ) : null}
              </TableCell>
              <TableCell className="whitespace-nowrap">{formatTime(snap.timestamp)}</TableCell>
              <TableCell>{snap.operation ?? "—"}</TableCell>
              <TableCell>
                <div className="text-sm">{facts.join(" · ") || "—"}</div>
                {Object.keys(snap.summary).length ? (
                  <details className="mt-1 text-xs">
                    <summary className="cursor-pointer text-muted-foreground">{s.fullSummary}</summary>
                    <dl className="mt-1 grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5">
                      {Object.entries(snap.summary).map(([key, value]) => (
                        <div key={key} className="contents">
                          <dt className="font-mono text-muted-foreground">{key}</dt>
                          <dd className="font-mono break-all">{value}</dd>
                        </div>
                      ))}
                    </dl>
                  </details>
                ) : null}
              </TableCell>
              <TableCell className="font-mono text-xs text-muted-foreground">{snap.parent_snapshot_id ?? "—"}</TableCell>
              <TableCell>
                <Button variant="outline" size="sm" asChild>
                  <Link
                    to="/workspaces/$workspace/tables/$namespace/$table"
                    params={{ workspace: props.workspace, namespace: props.namespace, table: props.table }}
                    search={{ tab: "preview", snapshot: snap.snapshot_id }}
                    aria-label={s.previewAtLabel(snap.snapshot_id)}
                  >
                    {s.previewAt}
                  </Link>
                </Button>
              </TableCell>
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}

function Section({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <section className="grid gap-2">
      <h2 className="text-base font-semibold">{title}</h2>
      {children}
    </section>
  );
}

function LayoutTab({ detail }: { detail: TableDetail }) {
  const l = t.layout;
  const properties = Object.entries(detail.properties).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div className="grid gap-8">
      <Section title={l.partitionSpec}>
        {detail.partition_spec.fields.length === 0 ? (
          <p className="text-sm text-muted-foreground">{l.unpartitioned}</p>
        ) : (
          <Table aria-label={l.partitionSpec}>
            <TableHeader>
              <TableRow>
                <TableHead>{l.field}</TableHead>
                <TableHead>{l.source}</TableHead>
                <TableHead>{l.transform}</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {detail.partition_spec.fields.map((field) => (
                <TableRow key={field.field_id}>
                  <TableCell className="font-mono text-sm">{field.name}</TableCell>
                  <TableCell className="font-mono text-sm">{field.source_name ?? `#${field.source_id}`}</TableCell>
                  <TableCell className="font-mono text-sm">{field.transform}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </Section>
      <Section title={l.sortOrder}>
        {detail.sort_order.fields.length === 0 ? (
          <p className="text-sm text-muted-foreground">{l.unsorted}</p>
        ) : (
          <Table aria-label={l.sortOrder}>
            <TableHeader>
              <TableRow>
                <TableHead>{l.source}</TableHead>
                <TableHead>{l.transform}</TableHead>
                <TableHead>{l.direction}</TableHead>
                <TableHead>{l.nulls}</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {detail.sort_order.fields.map((field, index) => (
                <TableRow key={index}>
                  <TableCell className="font-mono text-sm">{field.source_name ?? `#${field.source_id}`}</TableCell>
                  <TableCell className="font-mono text-sm">{field.transform}</TableCell>
                  <TableCell>{field.direction}</TableCell>
                  <TableCell>{field.null_order}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </Section>
      <Section title={l.refs}>
        {detail.refs.length === 0 ? (
          <p className="text-sm text-muted-foreground">{l.noRefs}</p>
        ) : (
          <Table aria-label={l.refs}>
            <TableHeader>
              <TableRow>
                <TableHead>{l.refName}</TableHead>
                <TableHead>{l.refType}</TableHead>
                <TableHead>{t.snapshots.id}</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {detail.refs.map((ref) => (
                <TableRow key={ref.name}>
                  <TableCell className="font-mono text-sm">{ref.name}</TableCell>
                  <TableCell>{ref.type}</TableCell>
                  <TableCell className="font-mono text-sm">{ref.snapshot_id}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </Section>
      <Section title={l.properties}>
        {properties.length === 0 ? (
          <p className="text-sm text-muted-foreground">{l.noProperties}</p>
        ) : (
          <Table aria-label={l.properties}>
            <TableHeader>
              <TableRow>
                <TableHead>{l.key}</TableHead>
                <TableHead>{l.value}</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {properties.map(([key, value]) => (
                <TableRow key={key}>
                  <TableCell className="font-mono text-sm">{key}</TableCell>
                  <TableCell className="break-all font-mono text-sm">{value}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </Section>
    </div>
  );
}

function FilesTab({ props }: { props: Props }) {
  const f = t.files;
  const query = useInfiniteQuery(filesQuery(props, props.search.snapshot));
  if (query.isPending) return <LoadingRows />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  const items = query.data.pages.flatMap((page) => page.items);
  const first = query.data.pages[0];
  if (items.length === 0) return <EmptyState title={f.empty} />;
  return (
    <div className="grid gap-3">
      <p className="text-sm text-muted-foreground">
        {f.total(first?.total ?? items.length)} <span className="font-mono">{first?.snapshot_id}</span>
      </p>
      <Table aria-label={t.tabs.files}>
        <TableHeader>
          <TableRow>
            <TableHead>{f.path}</TableHead>
            <TableHead>{f.format}</TableHead>
            <TableHead className="text-end">{f.records}</TableHead>
            <TableHead className="text-end">{f.size}</TableHead>
            <TableHead>{f.partition}</TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {items.map((file) => (
            <TableRow key={file.path}>
              <TableCell className="max-w-xl break-all font-mono text-xs">{file.path}</TableCell>
              <TableCell>{file.format}</TableCell>
              <TableCell className="text-end tabular-nums">{file.record_count.toLocaleString()}</TableCell>
              <TableCell className="text-end tabular-nums whitespace-nowrap">{formatBytes(file.size_bytes)}</TableCell>
              <TableCell className="font-mono text-xs">
                {Object.entries(file.partition)
                  .map(([key, value]) => `${key}=${value ?? "null"}`)
                  .join(", ") || "—"}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      {query.hasNextPage ? (
        <div>
          <Button variant="outline" size="sm" disabled={query.isFetchingNextPage} onClick={() => void query.fetchNextPage()}>
            {m.common.loadMore}
          </Button>
        </div>
      ) : null}
    </div>
  );
}

/** An ISO time as a datetime-local input's value, in this browser's time zone. */
function toLocalInput(iso: string): string {
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function PreviewTab({ detail, props }: { detail: TableDetail; props: Props }) {
  const p = t.preview;
  const navigate = useNavigate();
  const snapshot = props.search.snapshot;
  const asOf = props.search.asOf;
  const query = useQuery({ ...previewQuery(props, snapshot, asOf), enabled: detail.snapshots.length > 0 });
  const go = (next: { snapshot?: string; asOf?: string }) =>
    void navigate({
      to: "/workspaces/$workspace/tables/$namespace/$table",
      params: { workspace: props.workspace, namespace: props.namespace, table: props.table },
      search: { tab: "preview", ...next },
      replace: true,
    });
  if (detail.snapshots.length === 0) return <EmptyState title={p.noSnapshot} />;
  const newestFirst = [...detail.snapshots].reverse();
  const known = !snapshot || newestFirst.some((snap) => snap.snapshot_id === snapshot);
  return (
    <div className="grid gap-3">
      <div className="flex flex-wrap items-center gap-2">
        <label htmlFor="preview-snapshot" className="text-sm font-medium">
          {p.snapshot}
        </label>
        <NativeSelect
          id="preview-snapshot"
          className="w-auto max-w-full font-mono"
          value={snapshot ?? ""}
          onChange={(event) => go({ snapshot: event.target.value || undefined })}
        >
          <option value="">{p.current}</option>
          {!known && snapshot ? <option value={snapshot}>{snapshot}</option> : null}
          {newestFirst.map((snap) => (
            <option key={snap.snapshot_id} value={snap.snapshot_id}>
              {p.label(snap.snapshot_id, formatTime(snap.timestamp), snap.snapshot_id === detail.current_snapshot_id)}
            </option>
          ))}
        </NativeSelect>
        <label htmlFor="preview-as-of" className="ms-2 text-sm font-medium">
          {p.asOf}
        </label>
        <Input
          id="preview-as-of"
          type="datetime-local"
          step={1}
          className="w-56"
          key={asOf ?? ""}
          defaultValue={asOf ? toLocalInput(asOf) : ""}
          onBlur={(event) => {
            const value = event.currentTarget.value;
            const next = value ? new Date(value).toISOString() : undefined;
            if (next !== asOf) go({ asOf: next });
          }}
          onKeyDown={(event) => {
            if (event.key !== "Enter") return;
            const value = event.currentTarget.value;
            go({ asOf: value ? new Date(value).toISOString() : undefined });
          }}
        />
      </div>
      {query.isPending ? (
        <LoadingRows rows={6} />
      ) : query.isError ? (
        <ErrorState error={query.error} onRetry={() => void query.refetch()} />
      ) : (
        <>
          <p className="text-sm text-muted-foreground" aria-live="polite">
            {p.firstRows(query.data.rows.length, query.data.truncated)}
            {query.data.snapshot_id ? (
              <>
                {" · "}
                {p.snapshotRead}
                <span className="font-mono" data-testid="preview-snapshot-id">
                  {query.data.snapshot_id}
                </span>
              </>
            ) : null}
            {query.data.columns_truncated ? ` · ${p.columnsTruncated}` : ""}
          </p>
          {query.data.rows.length === 0 ? <EmptyState title={p.empty} /> : <PreviewGrid preview={query.data} />}
        </>
      )}
    </div>
  );
}
