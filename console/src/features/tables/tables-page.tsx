/** The catalog explorer's start: the namespace tree with table counts beside the table list, searchable. */
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { FolderIcon, SearchIcon, TableIcon } from "lucide-react";
import type * as React from "react";
import { useEffect, useState } from "react";

import { EmptyState, ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { m } from "@/lib/messages";
import { tablesMessages } from "@/lib/messages/tables";
import { cn } from "@/lib/utils";

import { type NamespaceNode, namespacesQuery, tablesQuery, type TablesSearch } from "./queries";
import { UploadButton } from "./upload-button";

const t = tablesMessages;

export function TablesPage({ workspace, search }: { workspace: string; search: TablesSearch }) {
  const navigate = useNavigate();
  const setSearch = (next: TablesSearch) =>
    void navigate({
      to: "/workspaces/$workspace/tables",
      params: { workspace },
      search: (previous: TablesSearch) => {
        const merged = { ...previous, ...next };
        return {
          q: merged.q || undefined,
          namespace: merged.namespace || undefined,
          tag: merged.tag?.trim().toLowerCase() || undefined,
          owner: merged.owner?.trim().toLowerCase() || undefined,
        };
      },
      replace: true,
    });

  return (
    <>
      <PageHeader
        title={t.title}
        description={t.description}
        documentTitle={`${t.title} · ${workspace}`}
        actions={<UploadButton workspace={workspace} search={search.namespace ? { namespace: search.namespace } : {}} />}
      />
      <div className="grid gap-6 lg:grid-cols-[16rem_minmax(0,1fr)]">
        <NamespaceTree workspace={workspace} selected={search.namespace} onSelect={(namespace) => setSearch({ namespace })} />
        <section aria-label={t.title} className="min-w-0">
          <div className="mb-3 flex flex-wrap items-center gap-2">
            <div className="relative w-72 max-w-full">
              <SearchIcon className="pointer-events-none absolute start-2.5 top-2.5 size-4 text-muted-foreground" aria-hidden />
              <FilterInput label={t.search} value={search.q} className="ps-8" live onCommit={(q) => setSearch({ q })} />
            </div>
            <FilterInput label={t.tagFilter} value={search.tag} className="w-40" onCommit={(tag) => setSearch({ tag })} />
            <FilterInput label={t.ownerFilter} value={search.owner} className="w-40" onCommit={(owner) => setSearch({ owner })} />
          </div>
          <TableList
            workspace={workspace}
            search={search}
            onClear={() => setSearch({ q: "", namespace: "", tag: "", owner: "" })}
          />
        </section>
      </div>
    </>
  );
}

/** A filter field that follows the URL (back button, Clear) without losing what is being typed:
 * `live` ones apply at each key, the others on Enter or when focus leaves. */
function FilterInput({
  label,
  value,
  className,
  live,
  onCommit,
}: {
  label: string;
  value: string | undefined;
  className?: string;
  live?: boolean;
  onCommit: (value: string) => void;
}) {
  const [text, setText] = useState(value ?? "");
  useEffect(() => {
    setText((current) => (current.trim().toLowerCase() === (value ?? "").toLowerCase() ? current : (value ?? "")));
  }, [value]);
  return (
    <Input
      type="search"
      aria-label={label}
      placeholder={label}
      className={className}
      value={text}
      onChange={(event) => {
        setText(event.target.value);
        if (live || event.target.value === "") onCommit(event.target.value);
      }}
      onBlur={() => onCommit(text)}
      onKeyDown={(event) => {
        if (event.key === "Enter") onCommit(text);
      }}
    />
  );
}

function NamespaceTree({
  workspace,
  selected,
  onSelect,
}: {
  workspace: string;
  selected: string | undefined;
  onSelect: (namespace: string) => void;
}) {
  const query = useQuery(namespacesQuery(workspace));
  let body: React.ReactNode;
  if (query.isPending) body = <LoadingRows rows={3} />;
  else if (query.isError) body = <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  else {
    const root = query.data;
    body = (
      <ul className="grid gap-0.5 text-sm">
        <li>
          <TreeButton active={!selected} onClick={() => onSelect("")} label={t.allNamespaces} count={root.total_table_count} depth={0} />
        </li>
        <TreeNodes node={root} depth={0} selected={selected} onSelect={onSelect} />
      </ul>
    );
  }
  return (
    <nav aria-label={t.namespaces} className="rounded-lg border bg-card p-3">
      <h2 className="mb-2 px-2 text-xs font-medium uppercase tracking-wide text-muted-foreground">{t.namespaces}</h2>
      {body}
    </nav>
  );
}

function TreeNodes({
  node,
  depth,
  selected,
  onSelect,
}: {
  node: NamespaceNode;
  depth: number;
  selected: string | undefined;
  onSelect: (namespace: string) => void;
}) {
  // The root is the workspace's own namespace: shown as itself, its children under it.
  return (
    <>
      <li>
        <TreeButton
          active={selected === node.namespace}
          onClick={() => onSelect(node.namespace)}
          label={node.namespace.split(".").length > 1 && depth > 0 ? node.name : node.namespace}
          count={node.total_table_count}
          depth={depth}
          title={node.namespace}
        />
      </li>
      {node.children.map((child) => (
        <TreeNodes key={child.namespace} node={child} depth={depth + 1} selected={selected} onSelect={onSelect} />
      ))}
    </>
  );
}

function TreeButton({
  active,
  onClick,
  label,
  count,
  depth,
  title,
}: {
  active: boolean;
  onClick: () => void;
  label: string;
  count: number;
  depth: number;
  title?: string;
}) {
  return (
    <button
      type="button"
      onClick={onClick}
      title={title}
      aria-current={active ? "true" : undefined}
      style={{ paddingInlineStart: `${0.5 + depth * 0.875}rem` }}
      className={cn(
        "flex w-full items-center gap-2 rounded-md py-1.5 pe-2 text-start hover:bg-muted focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring",
        active && "bg-muted font-medium",
      )}
    >
      <FolderIcon className="size-4 shrink-0 text-muted-foreground" aria-hidden />
      <span className="min-w-0 flex-1 truncate">{label}</span>
      <span className="text-xs tabular-nums text-muted-foreground" aria-label={t.namespaceCount(count)}>
        {count}
      </span>
    </button>
  );
}

function TableList({ workspace, search, onClear }: { workspace: string; search: TablesSearch; onClear: () => void }) {
  const query = useInfiniteQuery(tablesQuery(workspace, search));
  if (query.isPending) return <LoadingRows />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  const items = query.data.pages.flatMap((page) => page.items);
  const filtered = Boolean(search.q || search.namespace || search.tag || search.owner);
  if (items.length === 0)
    return filtered ? (
      <EmptyState
        title={t.noMatch}
        action={
          <Button variant="outline" size="sm" onClick={onClear}>
            {t.clearSearch}
          </Button>
        }
      />
    ) : (
      <EmptyState title={t.emptyTitle} description={t.emptyDescription} />
    );
  return (
    <>
      <Table>
        <TableHeader>
          <TableRow>
            <TableHead>{t.columns.table}</TableHead>
            <TableHead>{t.columns.namespace}</TableHead>
            <TableHead>{t.columns.owner}</TableHead>
            <TableHead>{t.columns.tags}</TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {items.map((item) => (
            <TableRow key={item.identifier}>
              <TableCell>
                <Link
                  to="/workspaces/$workspace/tables/$namespace/$table"
                  params={{ workspace, namespace: item.namespace, table: item.name }}
                  search={{}}
                  className="inline-flex items-center gap-2 font-medium text-primary hover:underline"
                >
                  <TableIcon className="size-4 shrink-0" aria-hidden />
                  {item.name}
                </Link>
                {item.dataset?.description ? (
                  <p className="mt-0.5 max-w-md truncate text-xs text-muted-foreground">{item.dataset.description}</p>
                ) : null}
              </TableCell>
              <TableCell className="text-muted-foreground">{item.namespace}</TableCell>
              <TableCell>{item.dataset?.owner ?? <span className="text-muted-foreground">—</span>}</TableCell>
              <TableCell>
                <div className="flex flex-wrap gap-1">
                  {(item.dataset?.tags ?? []).map((tag) => (
                    <Badge key={tag} variant="secondary">
                      {tag}
                    </Badge>
                  ))}
                </div>
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      <div className="mt-3 flex items-center gap-3 text-sm text-muted-foreground">
        <span>{t.showing(items.length, query.hasNextPage)}</span>
        {query.hasNextPage ? (
          <Button variant="outline" size="sm" disabled={query.isFetchingNextPage} onClick={() => void query.fetchNextPage()}>
            {m.common.loadMore}
          </Button>
        ) : null}
      </div>
    </>
  );
}
