/** A quick chart of a result: one bar per row (the first rows loaded), a label column against a
 * number column, both chosen by the reader. Plain SVG: a result chart needs no chart library. */
import { useId, useState } from "react";

import { NativeSelect } from "@/components/ui/input";
import { worksheetMessages } from "@/lib/messages/worksheet";

import { cellText } from "./sql-text";

const t = worksheetMessages;
export const CHART_BARS = 50;
const BAR_PX = 22;
const LABEL_PX = 160;
const WIDTH_PX = 720;

export function QuickChart({
  columns,
  numeric,
  rows,
}: {
  columns: readonly { name: string; type: string }[];
  numeric: readonly boolean[];
  rows: readonly (readonly unknown[])[];
}) {
  const ids = useId();
  const numbers = columns.flatMap((_, index) => (numeric[index] ? [index] : []));
  const labelsFirst = columns.findIndex((_, index) => !numeric[index]);
  const [value, setValue] = useState(numbers[0] ?? -1);
  const [label, setLabel] = useState(labelsFirst);
  if (numbers.length === 0) return <p className="text-sm text-muted-foreground">{t.chartNoNumbers}</p>;

  const bars = rows.slice(0, CHART_BARS).map((row, index) => ({
    label: label < 0 ? String(index + 1) : cellText(row[label]),
    value: Number(row[value] ?? 0),
  }));
  const finite = bars.filter((bar) => Number.isFinite(bar.value));
  const max = Math.max(0, ...finite.map((bar) => bar.value));
  const min = Math.min(0, ...finite.map((bar) => bar.value));
  const span = max - min || 1;
  const plot = WIDTH_PX - LABEL_PX - 70;
  const zero = LABEL_PX + ((0 - min) / span) * plot;
  const valueName = columns[value]?.name ?? "";
  const labelName = label < 0 ? t.rowNumber : (columns[label]?.name ?? "");

  return (
    <div className="grid gap-2" data-testid="quick-chart">
      <div className="flex flex-wrap items-end gap-3 text-sm">
        <label className="grid gap-1" htmlFor={`${ids}-label`}>
          <span className="text-xs text-muted-foreground">{t.chartLabel}</span>
          <NativeSelect id={`${ids}-label`} value={label} onChange={(event) => setLabel(Number(event.target.value))}>
            <option value={-1}>{t.rowNumber}</option>
            {columns.map((c, index) => (
              <option key={c.name} value={index}>
                {c.name}
              </option>
            ))}
          </NativeSelect>
        </label>
        <label className="grid gap-1" htmlFor={`${ids}-value`}>
          <span className="text-xs text-muted-foreground">{t.chartValue}</span>
          <NativeSelect id={`${ids}-value`} value={value} onChange={(event) => setValue(Number(event.target.value))}>
            {numbers.map((index) => (
              <option key={index} value={index}>
                {columns[index]!.name}
              </option>
            ))}
          </NativeSelect>
        </label>
        {rows.length > CHART_BARS ? <span className="text-xs text-muted-foreground">{t.chartFirstRows(CHART_BARS)}</span> : null}
      </div>
      <div className="overflow-auto rounded-md border p-2 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring" tabIndex={0} role="region" aria-label={t.views.chart}>
        <svg
          role="img"
          aria-label={t.chartTitle(valueName, labelName, bars.length)}
          width={WIDTH_PX}
          height={bars.length * BAR_PX + 8}
          className="text-xs"
        >
          {bars.map((bar, index) => {
            const y = index * BAR_PX + 4;
            const end = LABEL_PX + ((bar.value - min) / span) * plot;
            const [x, width] = bar.value >= 0 ? [zero, end - zero] : [end, zero - end];
            return (
              <g key={index} data-bar={bar.label}>
                <text x={LABEL_PX - 6} y={y + BAR_PX / 2} textAnchor="end" dominantBaseline="middle" className="fill-foreground">
                  {bar.label.length > 22 ? `${bar.label.slice(0, 21)}…` : bar.label}
                </text>
                <rect x={x} y={y + 3} width={Number.isFinite(width) ? Math.max(width, 1) : 0} height={BAR_PX - 6} className="fill-primary" rx={2}>
                  <title>{`${bar.label}: ${cellText(rows[index]![value])}`}</title>
                </rect>
                <text x={Math.max(x + width, zero) + 4} y={y + BAR_PX / 2} dominantBaseline="middle" className="fill-muted-foreground">
                  {cellText(rows[index]![value])}
                </text>
              </g>
            );
          })}
        </svg>
      </div>
    </div>
  );
}
