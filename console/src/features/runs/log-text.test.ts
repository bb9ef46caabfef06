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

  it("takes a million lines in well under a second", () => {
    const chunk = Array.from({ length: 1000 }, (_, i) => `2026-12-07 10:00:00 INFO row ${i} written`).join("\n") + "\n";
    const log = new LogLines();
    const started = performance.now();
    for (let i = 0; i < 1000; i++) log.append(chunk);
    expect(log.lines.length).toBe(1_000_000);
    expect(performance.now() - started).toBeLessThan(1000);
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
