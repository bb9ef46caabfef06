import { describe, expect, it } from "vitest";

import { completionSchema } from "./sql-editor";
import {
  cellText,
  downloadBaseName,
  editorPosition,
  formatDuration,
  inferredParameter,
  offsetOf,
  parameterNames,
  parameterValues,
  rowsAsTsv,
  tableRef,
  textToRun,
  typedParameterValues,
} from "./sql-text";

describe("parameters", () => {
  it("finds :name markers outside strings, quoted names, comments and casts", () => {
    const sql = "SELECT ':no', \"a:b\", x::int -- :nope\nFROM t WHERE a = :region AND b > :min /* :skip */ AND c = :region";
    expect(parameterNames(sql)).toEqual(["region", "min"]);
  });
  it("sends numbers as numbers and anything else as text", () => {
    expect(parameterValues("SELECT :a, :b, :c, :d", { a: "42", b: "1.5", c: "north", d: "12345678901234567" })).toEqual({
      a: 42,
      b: 1.5,
      c: "north",
      d: "12345678901234567",
    });
  });
});

describe("run as job", () => {
  it("sends each value in its declared type and leaves empty ones to their defaults", () => {
    const declared = [
      { name: "n", type: "integer" },
      { name: "x", type: "number" },
      { name: "on", type: "boolean" },
      { name: "amount", type: "decimal" },
      { name: "day", type: "date" },
      { name: "region", type: "string" },
      { name: "code", type: "string" },
      { name: "unset", type: "integer", default: 3 },
    ];
    const values = { n: "42", x: "1.5", on: "true", amount: "10.10", day: "2026-12-07", region: "north", code: "007", unset: "" };
    expect(typedParameterValues(declared, values)).toEqual({
      n: 42,
      x: 1.5,
      on: true,
      amount: "10.10",
      day: "2026-12-07",
      region: "north",
      code: "007",
    });
    // Not a number: sent as typed, for the server to refuse naming the parameter.
    expect(typedParameterValues([{ name: "n", type: "integer" }], { n: "abc" })).toEqual({ n: "abc" });
  });
});

describe("selection and error positions", () => {
  it("runs the selection when there is one, else the whole text", () => {
    const text = "SELECT 1;\nSELECT x\nFROM t";
    expect(textToRun(text, 0, 0)).toEqual({ sql: text, origin: null });
    expect(textToRun(text, 10, text.length)).toEqual({ sql: "SELECT x\nFROM t", origin: { line: 1, column: 0 } });
    expect(textToRun(text, 3, 5).origin).toEqual({ line: 0, column: 3 });
    expect(textToRun(text, 9, 10)).toEqual({ sql: text, origin: null }); // only blanks selected
  });
  it("maps an error's line and column in the text that ran to the editor", () => {
    expect(editorPosition(2, 4, null)).toEqual({ line: 2, column: 4 });
    expect(editorPosition(2, 4, { line: 3, column: 7 })).toEqual({ line: 5, column: 4 });
    expect(editorPosition(1, 4, { line: 3, column: 7 })).toEqual({ line: 4, column: 11 });
    expect(editorPosition(null, 4, null)).toBeNull();
    expect(offsetOf("ab\ncdef\ng", 2, 3)).toBe(5);
    expect(offsetOf("ab", 9, 9)).toBe(2);
  });
});

describe("cells and names", () => {
  it("keeps exact numbers as the server sent them and nested values as JSON", () => {
    expect(cellText("9007199254740993")).toBe("9007199254740993");
    expect(cellText(1.5)).toBe("1.5");
    expect(cellText({ x: 1 })).toBe('{"x":1}');
    expect(cellText(null)).toBe("");
  });
  it("names tables bare in the default namespace and qualified elsewhere", () => {
    expect(tableRef("demo", { name: "demo", sql_name: "demo" }, "meter_readings")).toBe("meter_readings");
    expect(tableRef("demo", { name: "a.b", sql_name: '"a.b"' }, "T")).toBe('"a.b"."T"');
    expect(formatDuration(99)).toBe("99 ms");
    expect(formatDuration(2500)).toBe("2.5 s");
  });
  it("completes from the schema tree: namespaces, tables, columns", () => {
    const { schema, defaultSchema } = completionSchema({
      catalog: "c",
      default_namespace: "demo",
      fingerprint: "f",
      namespaces: [
        { name: "demo", sql_name: "demo", tables: [{ name: "t", more_columns: false, columns: [{ name: "a", type: "long", nullable: true }] }] },
      ],
    });
    expect(schema).toEqual({ demo: { t: ["a"] } });
    expect(defaultSchema).toBe("demo");
  });
});

it("downloads are named after the query: its saved name, else the table it reads", () => {
  expect(downloadBaseName("SELECT * FROM demo.meter_readings m JOIN x ON true", null)).toBe("demo.meter_readings");
  expect(downloadBaseName('select 1 from "Lake"."Big Table"')).toBe("Lake.Big_Table");
  expect(downloadBaseName("SELECT * FROM t", "Energy per city / day")).toBe("Energy_per_city_day");
  expect(downloadBaseName("-- from nothing\nSELECT 'from x' AS a")).toBe("query");
});

it("rows as tab-separated text with a header line", () => {
  expect(rowsAsTsv(["a", "b"], [[1, null], ["x\ty", { k: 1 }]])).toBe('a\tb\n1\t\nx y\t{"k":1}');
});

test("a new parameter's type is read from the value it runs with, which becomes its default", () => {
  const declared = (raw: string | undefined) => {
    const { type, default: fallback } = inferredParameter("p", raw);
    return [type, fallback];
  };
  expect(declared("42")).toEqual(["integer", 42]);
  expect(declared("-7")).toEqual(["integer", -7]);
  expect(declared("1.5")).toEqual(["number", 1.5]);
  expect(declared("12345678901234567")).toEqual(["string", "12345678901234567"]); // beyond exact doubles
  expect(declared("007")).toEqual(["string", "007"]); // a code, not a number
  expect(declared("true")).toEqual(["boolean", true]);
  expect(declared("2026-12-08")).toEqual(["date", "2026-12-08"]);
  expect(declared("2026-13-45")).toEqual(["string", "2026-13-45"]);
  expect(declared("north")).toEqual(["string", "north"]);
  expect(declared("")).toEqual(["string", null]);
  expect(declared(undefined)).toEqual(["string", null]);
});
