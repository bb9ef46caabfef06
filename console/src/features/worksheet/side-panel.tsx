/** The worksheet's side panel: the schema tree (click to insert), the user's history and the
 * saved queries. */
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { ChevronDownIcon, ChevronRightIcon, RefreshCwIcon } from "lucide-react";
import { useDeferredValue, useState } from "react";

import { describeError } from "@/api/client";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { m } from "@/lib/messages";
import { worksheetMessages } from "@/lib/messages/worksheet";
import { cn } from "@/lib/utils";

import { historyQuery, savedQueriesQuery, type SavedQuery, type SchemaTree, schemaTreeQuery, type Statement } from "./api";
import { StateBadge } from "./state-badge";
import { formatDuration, quoteIdent, tableRef } from "./sql-text";

const t = worksheetMessages;
export type Side = "schema" | "history" | "saved";

export function SidePanel({
  workspace,
  side,
  onSide,
  onInsert,
  onOpenStatement,
  onOpenQuery,
  openStatement,
  openQuery,
}: {
  workspace: string;
  side: Side;
  onSide: (side: Side) => void;
  onInsert: (text: string) => void;
  onOpenStatement: (statement: Statement) => void;
  onOpenQuery: (query: SavedQuery) => void;
  openStatement: string | undefined;
  openQuery: string | undefined;
}) {
  const tabs: [Side, string][] = [
    ["schema", t.schemaTab],
    ["history", t.historyTab],
    ["saved", t.savedTab],
  ];
  return (
    <aside className="flex h-full min-h-0 flex-col gap-2 rounded-lg border bg-card p-2" aria-label={t.side}>
      <div role="tablist" aria-label={t.side} className="grid grid-cols-3 gap-1 rounded-md bg-muted p-1">
        {tabs.map(([key, label]) => (
          <button
            key={key}
            type="button"
            role="tab"
            id={`side-tab-${key}`}
            aria-selected={side === key}
            aria-controls={`side-pane-${key}`}
            onClick={() => onSide(key)}
            className={cn(
              "rounded px-2 py-1 text-sm font-medium focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring",
              side === key ? "bg-background shadow-xs" : "text-muted-foreground hover:text-foreground",
            )}
          >
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`side-pane-${side}`} aria-labelledby={`side-tab-${side}`} className="flex min-h-0 flex-1 flex-col gap-2">
        {side === "schema" ? <SchemaPane workspace={workspace} onInsert={onInsert} /> : null}
        {side === "history" ? (
          <HistoryPane workspace={workspace} onOpen={onOpenStatement} open={openStatement} />
        ) : null}
        {side === "saved" ? <SavedPane workspace={workspace} onOpen={onOpenQuery} open={openQuery} /> : null}
      </div>
    </aside>
  );
}

function SchemaPane({ workspace, onInsert }: { workspace: string; onInsert: (text: string) => void }) {
  const query = useQuery(schemaTreeQuery(workspace));
  const [filter, setFilter] = useState("");
  const [open, setOpen] = useState<Set<string>>(new Set());
  const needle = filter.trim().toLowerCase();
  const tree = query.data;
  const toggle = (key: string) =>
    setOpen((previous) => {
      const next = new Set(previous);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  return (
    <>
      <div className="flex gap-1">
        <Input
          type="search"
          value={filter}
          onChange={(event) => setFilter(event.target.value)}
          placeholder={t.schemaFilter}
          aria-label={t.schemaFilter}
          className="h-8"
        />
        <Button
          variant="ghost"
          size="icon"
          className="size-8"
          aria-label={t.reloadSchema}
          title={t.reloadSchema}
          onClick={() => void query.refetch()}
        >
          <RefreshCwIcon aria-hidden className={cn(query.isFetching && "animate-spin")} />
        </Button>
      </div>
      {query.isError ? (
        <p role="alert" className="text-sm text-destructive">
          {describeError(query.error)}
        </p>
      ) : null}
      <div className="min-h-0 flex-1 overflow-auto text-sm" data-testid="schema-tree">
        {query.isPending ? <p className="text-muted-foreground">{m.common.loading}</p> : null}
        {tree ? (
          <SchemaNodes tree={tree} needle={needle} open={open} toggle={toggle} onInsert={onInsert} />
        ) : null}
      </div>
    </>
  );
}

function SchemaNodes({
  tree,
  needle,
  open,
  toggle,
  onInsert,
}: {
  tree: SchemaTree;
  needle: string;
  open: Set<string>;
  toggle: (key: string) => void;
  onInsert: (text: string) => void;
}) {
  const nodes = [];
  for (const ns of tree.namespaces) {
    const tables = [];
    for (const table of ns.tables) {
      const tableHit = !needle || table.name.toLowerCase().includes(needle);
      const columns = table.columns.filter((c) => tableHit || c.name.toLowerCase().includes(needle));
      if (!tableHit && columns.length === 0) continue;
      const key = `${ns.name}.${table.name}`;
      const expanded = open.has(key) || (!!needle && !tableHit);
      tables.push(
        <li key={key}>
          <div className="flex items-center gap-0.5">
            <button
              type="button"
              className="rounded p-0.5 text-muted-foreground hover:bg-accent"
              aria-expanded={expanded}
              aria-label={t.showColumns(table.name)}
              onClick={() => toggle(key)}
            >
              {expanded ? <ChevronDownIcon className="size-3.5" aria-hidden /> : <ChevronRightIcon className="size-3.5" aria-hidden />}
            </button>
            <button
              type="button"
              className="truncate rounded px-1 text-start font-medium hover:bg-accent"
              title={t.insert(tableRef(tree.default_namespace, ns, table.name))}
              onClick={() => onInsert(tableRef(tree.default_namespace, ns, table.name))}
            >
              {table.name}
            </button>
            <span className="ms-auto shrink-0 text-xs text-muted-foreground">{t.columnCount(table.columns.length)}</span>
          </div>
          {expanded ? (
            <ul className="ms-5 border-s ps-2">
              {columns.map((c) => (
                <li key={c.name}>
                  <button
                    type="button"
                    className="flex w-full items-center gap-2 rounded px-1 text-start hover:bg-accent"
                    title={`${c.name} ${c.type}${c.nullable ? "" : " NOT NULL"}${c.doc ? ` — ${c.doc}` : ""}`}
                    onClick={() => onInsert(quoteIdent(c.name))}
                  >
                    <span className="truncate">{c.name}</span>
                    <span className="ms-auto shrink-0 font-mono text-xs text-muted-foreground">{c.type}</span>
                  </button>
                </li>
              ))}
              {table.more_columns ? <li className="px-1 text-xs text-muted-foreground">{t.moreColumns}</li> : null}
            </ul>
          ) : null}
        </li>,
      );
    }
    if (tables.length === 0 && needle) continue;
    nodes.push(
      <li key={ns.name} className="mb-2">
        <div className="flex items-center gap-2">
          <button
            type="button"
            className="rounded px-1 font-semibold hover:bg-accent"
            title={t.insert(ns.sql_name)}
            onClick={() => onInsert(ns.sql_name)}
          >
            {ns.name}
          </button>
          {ns.name === tree.default_namespace ? <Badge variant="secondary">{t.defaultNamespace}</Badge> : null}
        </div>
        {ns.tables.length ? (
          <ul className="ms-1">{tables}</ul>
        ) : (
          <p className="ms-2 text-xs text-muted-foreground">{t.noTables}</p>
        )}
      </li>,
    );
  }
  if (nodes.length === 0) return <p className="text-muted-foreground">{needle ? t.nothingMatches : t.noTablesYet}</p>;
  return <ul>{nodes}</ul>;
}

function HistoryPane({
  workspace,
  onOpen,
  open,
}: {
  workspace: string;
  onOpen: (statement: Statement) => void;
  open: string | undefined;
}) {
  const [search, setSearch] = useState("");
  const q = useDeferredValue(search.trim());
  const query = useInfiniteQuery(historyQuery(workspace, q));
  const items = query.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <>
      <Input
        type="search"
        value={search}
        onChange={(event) => setSearch(event.target.value)}
        placeholder={t.historySearch}
        aria-label={t.historySearch}
        className="h-8"
      />
      {query.isError ? (
        <p role="alert" className="text-sm text-destructive">
          {describeError(query.error)}
        </p>
      ) : null}
      <ul className="min-h-0 flex-1 overflow-auto text-sm" data-testid="history-list">
        {query.isPending ? <li className="text-muted-foreground">{m.common.loading}</li> : null}
        {query.isSuccess && items.length === 0 ? (
          <li className="text-muted-foreground">{q ? t.noHistoryMatch : t.noHistory}</li>
        ) : null}
        {items.map((s) => (
          <li key={s.id}>
            <button
              type="button"
              onClick={() => onOpen(s)}
              title={s.sql}
              aria-current={open === s.id ? "true" : undefined}
              className={cn(
                "grid w-full gap-1 rounded-md px-2 py-1.5 text-start hover:bg-accent",
                open === s.id && "bg-accent",
              )}
            >
              <code className="truncate font-mono text-xs">{s.sql}</code>
              <span className="flex flex-wrap items-center gap-x-2 text-xs text-muted-foreground">
                <StateBadge state={s.state} />
                <span>{new Date(s.created_at).toLocaleString()}</span>
                {s.duration_ms != null ? <span>{formatDuration(s.duration_ms)}</span> : null}
                {s.result ? <span>{t.rows(s.result.total_rows)}</span> : null}
                {s.engine === "trino" && s.connection ? <span>{t.trino(s.connection)}</span> : null}
              </span>
            </button>
          </li>
        ))}
      </ul>
      {query.hasNextPage ? (
        <Button variant="outline" size="sm" onClick={() => void query.fetchNextPage()} disabled={query.isFetchingNextPage}>
          {t.older}
        </Button>
      ) : null}
    </>
  );
}

function SavedPane({
  workspace,
  onOpen,
  open,
}: {
  workspace: string;
  onOpen: (query: SavedQuery) => void;
  open: string | undefined;
}) {
  const [search, setSearch] = useState("");
  const q = useDeferredValue(search.trim());
  const query = useQuery(savedQueriesQuery(workspace, q));
  const items = query.data?.items ?? [];
  return (
    <>
      <Input
        type="search"
        value={search}
        onChange={(event) => setSearch(event.target.value)}
        placeholder={t.savedSearch}
        aria-label={t.savedSearch}
        className="h-8"
      />
      {query.isError ? (
        <p role="alert" className="text-sm text-destructive">
          {describeError(query.error)}
        </p>
      ) : null}
      <ul className="min-h-0 flex-1 overflow-auto text-sm" data-testid="saved-list">
        {query.isPending ? <li className="text-muted-foreground">{m.common.loading}</li> : null}
        {query.isSuccess && items.length === 0 ? (
          <li className="text-muted-foreground">{q ? t.noSavedMatch : t.noSaved}</li>
        ) : null}
        {items.map((item) => (
          <li key={item.name}>
            <button
              type="button"
              onClick={() => onOpen(item)}
              title={item.sql}
              aria-current={open === item.name ? "true" : undefined}
              className={cn("grid w-full gap-0.5 rounded-md px-2 py-1.5 text-start hover:bg-accent", open === item.name && "bg-accent")}
            >
              <span className="font-medium">{item.name}</span>
              {item.description ? <span className="truncate text-xs">{item.description}</span> : null}
              <span className="flex flex-wrap gap-x-2 text-xs text-muted-foreground">
                <span>v{item.current_version}</span>
                <span>{item.engine === "trino" && item.connection ? t.trino(item.connection) : item.engine}</span>
                <span>{item.shared ? t.shared : t.private}</span>
                {item.owner ? <span>{t.byOwner(item.owner)}</span> : null}
                {item.tags.map((tag) => (
                  <code key={tag}>{tag}</code>
                ))}
              </span>
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}
