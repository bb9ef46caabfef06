/** A statement's stored result: typed columns, NULLs shown apart, exact numbers, a virtual list of
 * rows, "Load more" paging, the truncated notice and the downloads. */
import { useInfiniteQuery } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { DownloadIcon } from "lucide-react";
import { useRef } from "react";

import { ErrorState, LoadingRows } from "@/components/page";
import { Button } from "@/components/ui/button";
import { worksheetMessages } from "@/lib/messages/worksheet";
import { cn } from "@/lib/utils";

import { resultQuery, type Statement } from "./api";
import { cellText, formatBytes, formatDuration, isNumericType } from "./sql-text";

const t = worksheetMessages;
const ROW_PX = 32;

export function ResultGrid({ workspace, statement }: { workspace: string; statement: Statement }) {
  const result = statement.result!;
  const query = useInfiniteQuery(resultQuery(workspace, statement.id));
  const scroller = useRef<HTMLDivElement>(null);
  const rows = query.data?.pages.flatMap((page) => page.rows) ?? [];
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_PX,
    overscan: 20,
    initialRect: { width: 1000, height: 480 },
  });
  if (query.isPending) return <LoadingRows rows={3} />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;

  const columns = result.columns;
  const numeric = columns.map((c) => isNumericType(c.type));
  const base = `/api/v1/workspaces/${encodeURIComponent(workspace)}/statements/${statement.id}`;
  const total = result.total_rows;
  const facts = [
    rows.length >= total ? t.rows(total) : t.rowsOf(rows.length, total),
    formatBytes(result.size_bytes),
    ...(statement.duration_ms != null ? [formatDuration(statement.duration_ms)] : []),
  ];
  // Before the grid has a size (or where layout is absent) the first rows are shown as they are.
  const measured = virtual.getVirtualItems();
  const items = measured.length
    ? measured
    : rows.slice(0, 50).map((_, index) => ({ index, start: index * ROW_PX, end: (index + 1) * ROW_PX }));
  const top = items.length ? items[0]!.start : 0;
  const bottom = measured.length ? virtual.getTotalSize() - items[items.length - 1]!.end : 0;

  return (
    <section className="grid gap-2">
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <span data-testid="result-summary">{facts.join(" · ")}</span>
        <span className="ms-auto flex items-center gap-1 text-muted-foreground">
          <DownloadIcon className="size-4" aria-hidden />
          {t.download}
          {(["csv", "parquet", "arrow"] as const).map((kind) => (
            <a
              key={kind}
              href={`${base}/result.${kind}`}
              download={`statement-${statement.id}.${kind}`}
              className="rounded px-1.5 py-0.5 font-medium text-primary underline-offset-4 hover:underline"
            >
              {kind === "csv" ? "CSV" : kind === "parquet" ? "Parquet" : "Arrow"}
            </a>
          ))}
        </span>
      </div>
      {result.truncated ? (
        <p role="status" className="rounded-md border border-warning/40 bg-warning/10 px-3 py-2 text-sm">
          {t.truncated(total, result.row_limit)}
        </p>
      ) : null}
      {total === 0 ? (
        <p className="text-sm text-muted-foreground">{t.noRows}</p>
      ) : (
        <div
          ref={scroller}
          tabIndex={0}
          role="region"
          aria-label={t.resultGrid}
          className="max-h-[480px] overflow-auto rounded-md border focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring"
        >
          <table className="w-max min-w-full border-collapse text-sm" aria-rowcount={total + 1}>
            <thead className="sticky top-0 z-10 bg-muted">
              <tr>
                <th scope="col" className="border-b px-2 py-1.5 text-end font-medium text-muted-foreground">
                  {t.rowNumber}
                </th>
                {columns.map((c) => (
                  <th
                    key={c.name}
                    scope="col"
                    title={`${c.name}: ${c.type}`}
                    className={cn("border-b px-3 py-1.5 font-medium", numeric[columns.indexOf(c)] ? "text-end" : "text-start")}
                  >
                    <span className="block">{c.name}</span>
                    <span className="block text-xs font-normal text-muted-foreground">{c.type}</span>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {top > 0 ? <tr aria-hidden style={{ height: top }} /> : null}
              {items.map((item) => {
                const values = rows[item.index]!;
                return (
                  <tr key={item.index} style={{ height: ROW_PX }} className="border-b last:border-b-0 hover:bg-accent/40">
                    <td className="px-2 text-end text-xs text-muted-foreground tabular-nums">{item.index + 1}</td>
                    {values.map((value, c) => (
                      <td
                        key={c}
                        className={cn(
                          "max-w-96 truncate px-3 font-mono text-xs whitespace-nowrap",
                          numeric[c] && "text-end tabular-nums",
                          value === null && "italic text-muted-foreground",
                        )}
                        title={value === null ? undefined : cellText(value)}
                        data-null={value === null ? "true" : undefined}
                      >
                        {value === null ? t.nullValue : cellText(value)}
                      </td>
                    ))}
                  </tr>
                );
              })}
              {bottom > 0 ? <tr aria-hidden style={{ height: bottom }} /> : null}
            </tbody>
          </table>
        </div>
      )}
      {query.hasNextPage ? (
        <div>
          <Button variant="outline" size="sm" disabled={query.isFetchingNextPage} onClick={() => void query.fetchNextPage()}>
            {query.isFetchingNextPage ? t.loadingMore : t.loadMore}
          </Button>
        </div>
      ) : null}
    </section>
  );
}
