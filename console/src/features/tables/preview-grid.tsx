/** A preview's rows in a grid: column types under the names, numbers aligned to the end, NULL
 * distinct from an empty string, nested values as JSON. */
import type { Schemas } from "@/api/client";
import { tablesMessages } from "@/lib/messages/tables";
import { cn } from "@/lib/utils";

const NUMERIC = /^(u?int\d+|float\d*|double|halffloat|decimal\d*\(.*\))$/;

export function isNumericType(type: string): boolean {
  return NUMERIC.test(type);
}

export function Cell({ value, numeric }: { value: unknown; numeric: boolean }) {
  if (value === null || value === undefined)
    return <span className="rounded bg-muted px-1 text-xs italic text-muted-foreground">{tablesMessages.preview.null}</span>;
  if (typeof value === "object") return <span className="font-mono text-xs">{JSON.stringify(value)}</span>;
  if (value === "") return <span className="text-muted-foreground">""</span>;
  return <span className={cn(numeric && "tabular-nums")}>{String(value)}</span>;
}

type Rows = Pick<Schemas["Preview"], "rows"> & { columns: { name: string; type: string }[] };

export function PreviewGrid({ preview, label = tablesMessages.tabs.preview }: { preview: Rows; label?: string }) {
  const numeric = preview.columns.map((column) => isNumericType(column.type));
  return (
    // Focusable so the keyboard can scroll it (rows and columns beyond the view).
    <div
      className="max-h-[65vh] overflow-auto rounded-lg border focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring"
      tabIndex={0}
      role="region"
      aria-label={tablesMessages.preview.gridLabel}
    >
      <table className="w-full text-sm" aria-label={label}>
        <thead className="sticky top-0 bg-muted">
          <tr className="border-b">
            {preview.columns.map((column, index) => (
              <th
                key={column.name}
                scope="col"
                className={cn("px-3 py-1.5 align-bottom font-medium whitespace-nowrap", numeric[index] ? "text-end" : "text-start")}
              >
                <span className="block" data-testid="preview-column">
                  {column.name}
                </span>
                <span className="block text-xs font-normal text-muted-foreground">{column.type}</span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {(preview.rows as unknown[][]).map((row, rowIndex) => (
            <tr key={rowIndex} className="border-b last:border-0 hover:bg-muted/40">
              {row.map((value, index) => (
                <td
                  key={index}
                  className={cn("px-3 py-1.5 whitespace-nowrap", numeric[index] ? "text-end" : "text-start")}
                >
                  <Cell value={value} numeric={numeric[index] ?? false} />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
