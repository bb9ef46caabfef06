/** A run log as the viewer keeps it: lines in a growing store (a chunk may end mid-line), ANSI
 * colours turned into styled segments, and search over the text without its escape codes. */

/** The lines of a growing log. Appending is amortised O(chunk): the array is extended in place and
 * the viewer re-renders on the `version` it is given, never copying a million-line array. */
export class LogLines {
  readonly lines: string[] = [];
  private open = false; // the last line has no newline yet: the next chunk continues it

  append(text: string): void {
    if (!text) return;
    const parts = text.split("\n");
    const ended = parts[parts.length - 1] === "";
    if (ended) parts.pop();
    if (this.open && parts.length) this.lines[this.lines.length - 1] += parts.shift()!;
    for (const part of parts) this.lines.push(part);
    this.open = !ended;
  }

  text(): string {
    return this.lines.join("\n") + (this.lines.length && !this.open ? "\n" : "");
  }
}

/** Control sequences: colours (SGR, `ESC[…m`) are kept as styles, any other one (cursor moves,
 * line erases) is dropped from the display. */
// eslint-disable-next-line no-control-regex
const ESCAPES = /\u001b\[([0-9;?]*)([A-Za-z])/g;

export function stripAnsi(line: string): string {
  return line.includes("\u001b") ? line.replace(ESCAPES, "") : line;
}

export type Segment = { text: string; className: string };

// Foreground colours 30-37 and their bright variants 90-97, readable on light and dark themes.
const COLOURS: Record<number, string> = {
  30: "text-foreground",
  31: "text-red-700 dark:text-red-400",
  32: "text-green-700 dark:text-green-400",
  33: "text-amber-700 dark:text-amber-300",
  34: "text-blue-700 dark:text-blue-400",
  35: "text-fuchsia-700 dark:text-fuchsia-400",
  36: "text-cyan-700 dark:text-cyan-400",
  37: "text-muted-foreground",
};

/** A line as styled segments (bold and the 16 foreground colours; other attributes are ignored). */
export function ansiSegments(line: string): Segment[] {
  if (!line.includes("\u001b")) return [{ text: line, className: "" }];
  const segments: Segment[] = [];
  let colour = "";
  let bold = false;
  let at = 0;
  const push = (text: string) => {
    if (text) segments.push({ text, className: [colour, bold ? "font-bold" : ""].filter(Boolean).join(" ") });
  };
  for (const match of line.matchAll(ESCAPES)) {
    push(line.slice(at, match.index));
    at = match.index! + match[0].length;
    if (match[2] !== "m") continue;
    for (const code of (match[1] || "0").split(";").map(Number)) {
      if (code === 0) [colour, bold] = ["", false];
      else if (code === 1) bold = true;
      else if (code === 22) bold = false;
      else if (code === 39) colour = "";
      else if (COLOURS[code]) colour = COLOURS[code]!;
      else if (code >= 90 && code <= 97) colour = COLOURS[code - 60]!;
    }
  }
  push(line.slice(at));
  return segments;
}

/** Indices of the lines containing `query` (case-insensitive), at most `limit` of them. */
export function findLines(lines: readonly string[], query: string, limit = 10_000): number[] {
  const needle = query.toLowerCase();
  const found: number[] = [];
  if (!needle) return found;
  for (let index = 0; index < lines.length && found.length < limit; index++) {
    if (stripAnsi(lines[index]!).toLowerCase().includes(needle)) found.push(index);
  }
  return found;
}
