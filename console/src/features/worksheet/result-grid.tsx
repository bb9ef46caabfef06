/** A statement's stored result: typed columns (resizable), NULLs shown apart, exact numbers, a
 * virtual list of rows, "Load more" paging, the truncated notice, copy with headers, a quick chart
 * and the downloads, named after the query. */
import { useInfiniteQuery } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { ChartBarIcon, CopyIcon, DownloadIcon, TableIcon } from "lucide-react";
import type * as React from "react";
import { lazy, Suspense, useLayoutEffect, useRef, useState } from "react";
import { toast } from "sonner";

import { ErrorState, LoadingRows } from "@/components/page";
import { Button } from "@/components/ui/button";
import { worksheetMessages } from "@/lib/messages/worksheet";
import { cn } from "@/lib/utils";

import { resultQuery, type Statement } from "./api";
import { cellText, downloadBaseName, formatBytes, formatDuration, isNumericType, rowsAsTsv } from "./sql-text";

// The chart is drawn only when asked for: it stays out of the worksheet's first load.
const QuickChart = lazy(() => import("./quick-chart").then((module) => ({ default: module.QuickChart })));

const t = worksheetMessages;
const ROW_PX = 32;
// A cell's classes by [numeric][null], built once: a scroll renders a thousand cells a frame.
const CELL_BASE = "max-w-96 truncate px-3 font-mono text-xs whitespace-nowrap";
const CELL = [false, true].map((isNumber) =>
  [false, true].map((isNull) =>
    cn(CELL_BASE, isNumber && "text-end tabular-nums", isNull && "italic text-muted-foreground"),
  ),
);
const MIN_COLUMN_PX = 48;
const RESIZE_STEP_PX = 16;

/** A column's resize handle: dragged with the pointer, or focused and moved with the arrow keys. */
function ResizeHandle({ name, width, onResize }: { name: string; width: number | undefined; onResize: (width: number) => void }) {
  // A focusable separator states its position: the column's laid-out width until it is resized.
  const handle = useRef<HTMLSpanElement>(null);
  const [laidOut, setLaidOut] = useState<number>(0);
  useLayoutEffect(() => setLaidOut(Math.round(handle.current?.parentElement?.getBoundingClientRect().width ?? 0)), []);
  function startDrag(event: React.PointerEvent<HTMLSpanElement>) {
    event.preventDefault();
    const th = event.currentTarget.parentElement!;
    const from = event.clientX;
    const startWidth = th.getBoundingClientRect().width;
    const rtl = getComputedStyle(th).direction === "rtl" ? -1 : 1;
    const move = (moved: PointerEvent) => onResize(Math.max(MIN_COLUMN_PX, Math.round(startWidth + rtl * (moved.clientX - from))));
    const stop = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", stop);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", stop);
  }
  function onKeyDown(event: React.KeyboardEvent<HTMLSpanElement>) {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    event.preventDefault();
    const current = width ?? event.currentTarget.parentElement!.getBoundingClientRect().width;
    onResize(Math.max(MIN_COLUMN_PX, Math.round(current + (event.key === "ArrowRight" ? RESIZE_STEP_PX : -RESIZE_STEP_PX))));
  }
  return (
    <span
      role="separator"
      aria-orientation="vertical"
      aria-label={t.resizeColumn(name)}
      aria-valuenow={width ?? laidOut}
      aria-valuemin={MIN_COLUMN_PX}
      ref={handle}
      tabIndex={0}
      onPointerDown={startDrag}
      onKeyDown={onKeyDown}
      className="absolute inset-y-0 end-0 w-1.5 cursor-col-resize touch-none select-none hover:bg-primary/40 focus-visible:bg-primary focus-visible:outline-none"
    />
  );
}

export function ResultGrid({ workspace, statement, name }: { workspace: string; statement: Statement; name?: string | null }) {
  const result = statement.result!;
  const query = useInfiniteQuery(resultQuery(workspace, statement.id));
  const scroller = useRef<HTMLDivElement>(null);
  const [widths, setWidths] = useState<Record<number, number>>({});
  const [view, setView] = useState<"table" | "chart">("table");
  const rows = query.data?.pages.flatMap((page) => page.rows) ?? [];
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_PX,
    overscan: 8,
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
  const fileName = downloadBaseName(statement.sql, name);
  const widthStyle = (index: number): React.CSSProperties | undefined => {
    const width = widths[index];
    return width === undefined ? undefined : { width, minWidth: width, maxWidth: width };
  };
  async function copyRows() {
    try {
      await navigator.clipboard.writeText(rowsAsTsv(columns.map((c) => c.name), rows));
      toast.success(t.copied(rows.length));
    } catch {
      toast.error(t.copyFailed);
    }
  }
  const bottom = measured.length ? virtual.getTotalSize() - items[items.length - 1]!.end : 0;

  return (
    <section className="grid gap-2">
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <span data-testid="result-summary">{facts.join(" · ")}</span>
        {total > 0 ? (
          <span className="flex items-center gap-1" role="group" aria-label={t.views.label}>
            {(["table", "chart"] as const).map((kind) => (
              <Button key={kind} size="sm" variant={view === kind ? "secondary" : "ghost"} aria-pressed={view === kind} onClick={() => setView(kind)}>
                {kind === "table" ? <TableIcon aria-hidden /> : <ChartBarIcon aria-hidden />}
                {t.views[kind]}
              </Button>
            ))}
            <Button size="sm" variant="ghost" onClick={() => void copyRows()}>
              <CopyIcon aria-hidden />
              {t.copy}
            </Button>
          </span>
        ) : null}
        <span className="ms-auto flex items-center gap-1 text-muted-foreground">
          <DownloadIcon className="size-4" aria-hidden />
          {t.download}
          {(["csv", "parquet", "arrow"] as const).map((kind) => (
            <a
              key={kind}
              href={`${base}/result.${kind}`}
              download={`${fileName}.${kind}`}
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
      ) : view === "chart" ? (
        <Suspense fallback={<LoadingRows rows={3} />}>
          <QuickChart columns={columns} numeric={numeric} rows={rows} />
        </Suspense>
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
                {columns.map((c, index) => (
                  <th
                    key={c.name}
                    scope="col"
                    title={`${c.name}: ${c.type}`}
                    aria-label={`${c.name} ${c.type}`} // the name without the resize handle's
                    style={widthStyle(index)}
                    className={cn("relative border-b px-3 py-1.5 font-medium", numeric[index] ? "text-end" : "text-start")}
                  >
                    <span className="block truncate">{c.name}</span>
                    <span className="block truncate text-xs font-normal text-muted-foreground">{c.type}</span>
                    <ResizeHandle name={c.name} width={widths[index]} onResize={(width) => setWidths((all) => ({ ...all, [index]: width }))} />
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
                        style={widthStyle(c)}
                        className={CELL[numeric[c] ? 1 : 0]![value === null ? 1 : 0]}
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
