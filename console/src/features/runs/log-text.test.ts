import { describe, expect, it } from "vitest";

import { ansiSegments, findLines, LogLines, stripAnsi } from "./log-text";

describe("LogLines", () => {
  it("joins a line split across chunks and keeps the open last line open", () => {
    const log = new LogLines();
    log.append("first li");
    log.append("ne\nsecond\nthi");
    expect(log.lines).toEqual(["first line", "second", "thi"]);
    log.append("rd\n");
    log.append("");
    expect(log.lines).toEqual(["first line", "second", "third"]);
    expect(log.text()).toBe("first line\nsecond\nthird\n");
    log.append("\n");
    expect(log.lines).toEqual(["first line", "second", "third", ""]);
  });

  it("keeps a million lines from a thousand chunks, in order (timing: bench/console_log.py)", () => {
    const chunk = (c: number) => Array.from({ length: 1000 }, (_, i) => `chunk ${c} row ${i}`).join("\n") + "\n";
    const log = new LogLines();
    for (let c = 0; c < 1000; c++) log.append(chunk(c));
    expect(log.lines.length).toBe(1_000_000);
    expect([log.lines[0], log.lines[1000], log.lines[999_999]]).toEqual(["chunk 0 row 0", "chunk 1 row 0", "chunk 999 row 999"]);
  });
});

describe("ANSI colours", () => {
  it("turns SGR codes into styled segments and drops other escapes", () => {
    const line = "\u001b[1;31mERROR\u001b[0m table \u001b[32mok\u001b[39m done\u001b[K";
    expect(ansiSegments(line)).toEqual([
      { text: "ERROR", className: "text-red-700 dark:text-red-400 font-bold" },
      { text: " table ", className: "" },
      { text: "ok", className: "text-green-700 dark:text-green-400" },
      { text: " done", className: "" },
    ]);
    expect(stripAnsi(line)).toBe("ERROR table ok done");
    expect(ansiSegments("plain")).toEqual([{ text: "plain", className: "" }]);
    expect(ansiSegments("\u001b[94mbright")).toEqual([{ text: "bright", className: "text-blue-700 dark:text-blue-400" }]);
  });
});

describe("findLines", () => {
  it("finds lines case-insensitively, ignoring colour codes, up to a limit", () => {
    const lines = ["Starting", "\u001b[31mERR\u001b[0mOR: disk", "ok", "error again"];
    expect(findLines(lines, "error")).toEqual([1, 3]);
    expect(findLines(lines, "")).toEqual([]);
    expect(findLines(lines, "error", 1)).toEqual([1]);
  });
});
