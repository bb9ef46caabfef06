/** A workspace's connections: name, type, where each points, and its last test. */
import { useInfiniteQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import type * as React from "react";
import { PlusIcon, SearchIcon } from "lucide-react";

import { EmptyState, ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { Button } from "@/components/ui/button";
import { Input, NativeSelect } from "@/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { m } from "@/lib/messages";
import { connectionsMessages } from "@/lib/messages/connections";

import { type Connection, connectionsQuery, useCanWrite } from "./api";
import { LastTestBadge } from "./test-result";

const t = connectionsMessages;
export const TYPE_ORDER = ["s3", "iceberg_rest", "trino", "spark_k8s", "spark_local", "postgres"] as const;

function str(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/** Where a connection points, in one line. */
export function endpointSummary(connection: Pick<Connection, "type" | "config">): string {
  const c = connection.config;
  switch (connection.type) {
    case "s3": {
      const where = str(c.endpoint_url) ?? t.awsS3(str(c.region) ?? "us-east-1");
      return str(c.bucket) ? `${where} · ${String(c.bucket)}` : where;
    }
    case "iceberg_rest":
      return [str(c.uri), str(c.warehouse)].filter(Boolean).join(" · ") || t.noEndpoint;
    case "trino":
      return `${str(c.http_scheme) ?? "http"}://${String(c.host)}:${String(c.port ?? 8080)}`;
    case "postgres":
      return `${String(c.host)}:${String(c.port ?? 5432)}/${String(c.database)}`;
    case "spark_k8s":
      return [str(c.api_server), str(c.namespace)].filter(Boolean).join(" · ");
    case "spark_local":
      return t.localSpark(str(c.master) ?? "local[*]");
    default:
      return t.noEndpoint;
  }
}

/** The jobs that use a connection, the first two by name. */
export function UsedBy({ names }: { names: string[] }) {
  if (names.length === 0) return <span className="text-muted-foreground">{t.unused}</span>;
  const shown = names.slice(0, 2).join(", ");
  return (
    <span title={names.join(", ")}>
      {shown}
      {names.length > 2 ? <span className="text-muted-foreground"> {t.moreJobs(names.length - 2)}</span> : null}
    </span>
  );
}

export type ListSearch = { q?: string; type?: string };

export function ConnectionsList({ workspace, search }: { workspace: string; search: ListSearch }) {
  const canWrite = useCanWrite(workspace);
  const navigate = useNavigate();
  const query = useInfiniteQuery(connectionsQuery(workspace));
  const all = query.data?.pages.flatMap((page) => page.items) ?? [];
  const needle = (search.q ?? "").trim().toLowerCase();
  const shown = all.filter(
    (item) =>
      (!search.type || item.type === search.type) &&
      (!needle || item.name.includes(needle) || item.description.toLowerCase().includes(needle)),
  );
  const setSearch = (next: ListSearch) =>
    void navigate({
      to: "/workspaces/$workspace/connections",
      params: { workspace },
      search: (previous: ListSearch) => {
        const merged = { ...previous, ...next };
        return { q: merged.q || undefined, type: merged.type || undefined };
      },
      replace: true,
    });
  const newButton = canWrite ? (
    <Button asChild>
      <Link to="/workspaces/$workspace/connections/-/new" params={{ workspace }} search={{}}>
        <PlusIcon aria-hidden />
        {t.newConnection}
      </Link>
    </Button>
  ) : null;

  let body: React.ReactNode;
  if (query.isPending) body = <LoadingRows />;
  else if (query.isError) body = <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  else if (all.length === 0)
    body = <EmptyState title={t.emptyTitle} description={canWrite ? t.emptyDescription : t.emptyViewer} action={newButton} />;
  else
    body = (
      <>
        <div className="mb-3 flex flex-wrap items-center gap-2">
          <div className="relative w-72">
            <SearchIcon className="pointer-events-none absolute start-2.5 top-2.5 size-4 text-muted-foreground" aria-hidden />
            <Input
              type="search"
              aria-label={t.search}
              placeholder={t.search}
              className="ps-8"
              defaultValue={search.q ?? ""}
              onChange={(event) => setSearch({ q: event.target.value })}
            />
          </div>
          <NativeSelect
            aria-label={t.columns.type}
            className="w-56"
            value={search.type ?? ""}
            onChange={(event) => setSearch({ type: event.target.value })}
          >
            <option value="">{t.allTypes}</option>
            {TYPE_ORDER.map((type) => (
              <option key={type} value={type}>
                {t.types[type]}
              </option>
            ))}
          </NativeSelect>
          <span className="ms-auto text-xs text-muted-foreground">{t.count(shown.length, all.length)}</span>
        </div>
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>{t.columns.name}</TableHead>
              <TableHead>{t.columns.type}</TableHead>
              <TableHead>{t.columns.endpoint}</TableHead>
              <TableHead>{t.columns.usedBy}</TableHead>
              <TableHead>{t.columns.lastTest}</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {shown.map((item) => (
              <TableRow key={item.name}>
                <TableCell className="max-w-64">
                  <Link
                    to="/workspaces/$workspace/connections/$name"
                    params={{ workspace, name: item.name }}
                    className="font-medium text-primary hover:underline"
                  >
                    {item.name}
                  </Link>
                  {item.description ? <p className="truncate text-xs text-muted-foreground">{item.description}</p> : null}
                </TableCell>
                <TableCell className="whitespace-nowrap">{t.types[item.type] ?? item.type}</TableCell>
                <TableCell className="max-w-96 truncate font-mono text-xs" title={endpointSummary(item)}>
                  {endpointSummary(item)}
                </TableCell>
                <TableCell className="text-sm">
                  <UsedBy names={(item.used_by ?? []).map((use) => use.name)} />
                </TableCell>
                <TableCell>
                  <LastTestBadge result={item.last_test} />
                </TableCell>
              </TableRow>
            ))}
            {shown.length === 0 ? (
              <TableRow>
                <TableCell colSpan={5} className="py-6 text-center text-sm text-muted-foreground">
                  {t.noMatch}
                </TableCell>
              </TableRow>
            ) : null}
          </TableBody>
        </Table>
        {query.hasNextPage ? (
          <div className="mt-3 flex justify-center">
            <Button variant="outline" onClick={() => void query.fetchNextPage()} disabled={query.isFetchingNextPage}>
              {m.common.loadMore}
            </Button>
          </div>
        ) : null}
      </>
    );

  return (
    <>
      <PageHeader title={t.title} description={canWrite ? t.description : t.readOnly} actions={all.length > 0 ? newButton : null} />
      {body}
    </>
  );
}
