/** The worksheet's logic that needs no editor: parameters, selections, error positions, cells. */

/** `:name` markers outside strings, quoted names and comments (not `::` casts), in order, once each. */
export function parameterNames(sql: string): string[] {
  const bare = sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\//g, " ");
  const names: string[] = [];
  for (const match of bare.matchAll(/(^|[^:\w]):([A-Za-z_]\w*)/g)) {
    const name = match[2]!;
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

export type ParameterValue = string | number;

/** The values sent for the SQL's parameters: numbers as numbers (exactly representable), else text. */
export function parameterValues(sql: string, values: Record<string, string>): Record<string, ParameterValue> {
  const out: Record<string, ParameterValue> = {};
  for (const name of parameterNames(sql)) {
    const raw = values[name] ?? "";
    out[name] = /^-?(0|[1-9]\d{0,14})(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  }
  return out;
}

/** A new parameter as the Save dialog declares it, its type read from the value in its input (the
 * one the worksheet runs with): a whole number → integer, a number with a fraction → number (the
 * same numbers `parameterValues` sends as numbers), true/false → boolean, YYYY-MM-DD → date, any
 * other text → string; the value becomes the default, an empty input none. */
export function inferredParameter(name: string, raw: string | undefined) {
  const value = (raw ?? "").trim();
  const spec = (type: string, fallback: string | number | boolean | null) => ({ name, type, default: fallback, description: "" });
  if (!value) return spec("string", null);
  if (/^-?(0|[1-9]\d{0,14})$/.test(value)) return spec("integer", Number(value));
  if (/^-?(0|[1-9]\d{0,14})\.\d+$/.test(value)) return spec("number", Number(value));
  if (value === "true" || value === "false") return spec("boolean", value === "true");
  if (/^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value))) return spec("date", value);
  return spec("string", raw ?? "");
}

/** A saved query's parameter as the job it becomes declares it. */
export type DeclaredParameter = { name: string; type?: string | null; default?: unknown };

/** The worksheet's inputs as a job run's values, each in its declared type (an integer or number
 * parameter goes as a JSON number, a boolean as true/false, decimal, date and timestamp as text);
 * an empty input is left out, so the parameter's default applies (or the server says it is missing). */
export function typedParameterValues(
  declared: readonly DeclaredParameter[],
  values: Record<string, string>,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { name, type } of declared) {
    const raw = (values[name] ?? "").trim();
    if (!raw) continue;
    if ((type === "integer" || type === "number") && !Number.isNaN(Number(raw))) out[name] = Number(raw);
    else if (type === "boolean" && (raw === "true" || raw === "false")) out[name] = raw === "true";
    else out[name] = raw; // the server checks it against the type and names the parameter if it is wrong
  }
  return out;
}

/** Where a selection starts in the editor's text: line and column offsets (0-based). */
export type Origin = { line: number; column: number };

/** The text to run: the selection when it holds more than blanks, else the whole text. */
export function textToRun(text: string, from: number, to: number): { sql: string; origin: Origin | null } {
  if (to > from && text.slice(from, to).trim()) {
    const before = text.slice(0, from).split("\n");
    return { sql: text.slice(from, to), origin: { line: before.length - 1, column: before[before.length - 1]!.length } };
  }
  return { sql: text, origin: null };
}

/** An error's place in the editor, from its place in the text that ran (a selection starts elsewhere). */
export function editorPosition(
  line: number | null | undefined,
  column: number | null | undefined,
  origin: Origin | null,
): { line: number; column: number | null } | null {
  if (!line) return null;
  const at = line + (origin ? origin.line : 0);
  let col = column ?? null;
  if (origin && line === 1 && col) col += origin.column;
  return { line: at, column: col };
}

/** The character offset of a line and column (1-based) in a text, clamped to it. */
export function offsetOf(text: string, line: number, column: number | null): number {
  const lines = text.split("\n");
  const at = Math.max(1, Math.min(line, lines.length));
  let offset = 0;
  for (let i = 0; i < at - 1; i++) offset += lines[i]!.length + 1;
  return offset + Math.max(0, Math.min((column ?? 1) - 1, lines[at - 1]!.length));
}

const NUMERIC = /^(u?int|float|double|decimal|halffloat)/;
/** Whether an Arrow type is a number (right-aligned in the grid). */
export const isNumericType = (type: string) => NUMERIC.test(type);

/** A cell as text: exact (big integers and decimals arrive as text), nested values as JSON. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]);

export const draftKey = (workspace: string) => `sadeem.sql.${workspace}`;

/** How SQL names an identifier: bare when plain lower case, else quoted. */
export const quoteIdent = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);

/** How SQL names a table: bare in the default namespace, schema-qualified in another. */
export function tableRef(defaultNamespace: string, ns: { name: string; sql_name: string }, table: string): string {
  return ns.name === defaultNamespace ? quoteIdent(table) : `${ns.sql_name}.${quoteIdent(table)}`;
}

/** A duration for people: ms, seconds with decimals, then minutes and seconds. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.floor((ms % 60_000) / 1000)} s`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/** A result file's name, after the query: the saved query's name when one is open, else the first
 * table the SQL reads, else "query" ("energy per city" → `energy_per_city`; `FROM lake.t` → `lake.t`). */
export function downloadBaseName(sql: string, savedName?: string | null): string {
  const bare = sql.replace(/'(?:[^']|'')*'|--[^\n]*|\/\*[\s\S]*?\*\//g, " ");
  const table = /\bfrom\s+((?:"[^"]+"|[\w$]+)(?:\.(?:"[^"]+"|[\w$]+))*)/i.exec(bare)?.[1]?.replaceAll('"', "");
  const name = (savedName?.trim() || table || "query")
    .replace(/[^\p{L}\p{N}._-]+/gu, "_")
    .replace(/^[._]+|_+$/g, "")
    .slice(0, 80);
  return name || "query";
}

/** Rows as tab-separated text with a header line (what a spreadsheet takes from the clipboard);
 * NULL as an empty cell, tabs and line breaks inside values as spaces. */
export function rowsAsTsv(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cell = (value: unknown) => (value === null || value === undefined ? "" : cellText(value).replace(/[\t\r\n]+/g, " "));
  return [columns.map(cell), ...rows.map((row) => row.map(cell))].map((line) => line.join("\t")).join("\n");
}
