/** How the router reads and writes the URL's query string: TanStack's JSON rules, except that a
 * long run of digits (a 64-bit Iceberg snapshot id, 16+ digits) stays the exact text it is. JSON
 * would read `?snapshot=3287125354758239210` as a number and round it to 3287125354758239000; here
 * it is the string, and such a string is written back bare (no quotes in the address). */
import { parseSearchWith, stringifySearchWith } from "@tanstack/react-router";

const LONG_DIGITS = /^-?\d{16,}$/;

const parse = (value: string): unknown => (LONG_DIGITS.test(value) ? value : JSON.parse(value));

export const parseSearch = parseSearchWith(parse);

export const stringifySearch = stringifySearchWith(
  (value) => (typeof value === "string" && LONG_DIGITS.test(value) ? value : JSON.stringify(value)),
  parse,
);
