/** Two-column rows for a version diff: the server's unified diff laid side by side, and a line diff
 * of a multi-line text field (the SQL, a program) so its change reads as lines, not one JSON string. */

export type Side = { number: number; text: string; changed: boolean };
export type Row = { kind: "hunk"; text: string } | { kind: "line"; left: Side | null; right: Side | null };

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/;

/** A unified diff (difflib's) as side-by-side rows: removed lines on the left, added on the right,
 * a run of removals paired with the run of additions that follows it. */
export function sideBySide(unified: string): Row[] {
  const rows: Row[] = [];
  let left = 0;
  let right = 0;
  let removed: string[] = [];
  let added: string[] = [];
  const flush = () => {
    for (let i = 0; i < Math.max(removed.length, added.length); i++) {
      rows.push({
        kind: "line",
        left: i < removed.length ? { number: left++, text: removed[i]!, changed: true } : null,
        right: i < added.length ? { number: right++, text: added[i]!, changed: true } : null,
      });
    }
    removed = [];
    added = [];
  };
  for (const raw of unified.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (line.startsWith("--- ") || line.startsWith("+++ ")) continue;
    const hunk = HUNK.exec(line);
    if (hunk) {
      flush();
      left = Number(hunk[1]);
      right = Number(hunk[2]);
      rows.push({ kind: "hunk", text: line });
    } else if (line.startsWith("-")) {
      if (added.length) flush();
      removed.push(line.slice(1));
    } else if (line.startsWith("+")) added.push(line.slice(1));
    else if (line.startsWith(" ")) {
      flush();
      const text = line.slice(1);
      rows.push({ kind: "line", left: { number: left++, text, changed: false }, right: { number: right++, text, changed: false } });
    } else if (line.startsWith("\\")) continue; // "\ No newline at end of file"
  }
  flush();
  return rows;
}

/** A line diff of two texts (longest common subsequence), as side-by-side rows. */
export function textSideBySide(before: string, after: string): Row[] {
  const a = before.split("\n");
  const b = after.split("\n");
  // lcs[i][j]: the longest common subsequence of a[i:] and b[j:].
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const lines: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      lines.push(` ${a[i]}`);
      i++;
      j++;
    } else if (j < b.length && (i === a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      lines.push(`+${b[j]}`);
      j++;
    } else {
      lines.push(`-${a[i]}`);
      i++;
    }
  }
  // Removals first within each changed stretch, as a unified diff has them.
  const ordered: string[] = [];
  let stretch: string[] = [];
  const end = () => {
    ordered.push(...stretch.filter((l) => l.startsWith("-")), ...stretch.filter((l) => l.startsWith("+")));
    stretch = [];
  };
  for (const line of lines) {
    if (line.startsWith(" ")) {
      end();
      ordered.push(line);
    } else stretch.push(line);
  }
  end();
  return sideBySide(`@@ -1 +1 @@\n${ordered.join("\n")}`).filter((row) => row.kind === "line");
}

/** The changed fields worth a line diff of their own: text of more than one line on either side. */
export function multiLineChanges(changes: { path: string; before: unknown; after: unknown }[]) {
  return changes.filter(
    (c) =>
      (typeof c.before === "string" || typeof c.after === "string") &&
      [c.before, c.after].some((v) => typeof v === "string" && v.includes("\n")),
  );
}
