import { parseSearch, stringifySearch } from "./search";

test("a 64-bit id stays exact text in the URL, both ways", () => {
  expect(parseSearch("?snapshot=3287125354758239210&tab=preview")).toEqual({ snapshot: "3287125354758239210", tab: "preview" });
  expect(stringifySearch({ snapshot: "3287125354758239210", tab: "preview" })).toBe("?snapshot=3287125354758239210&tab=preview");
  // The JSON rules hold for everything else.
  expect(parseSearch("?n=42&s=%22042%22")).toEqual({ n: 42, s: "042" });
  expect(stringifySearch({ s: "42", t: "text" })).toBe("?s=%2242%22&t=text");
  expect(parseSearch(stringifySearch({ s: "42" }))).toEqual({ s: "42" });
  // A quoted id (as the default rules wrote it) still reads as the same text.
  expect(parseSearch("?snapshot=%223287125354758239210%22")).toEqual({ snapshot: "3287125354758239210" });
});
