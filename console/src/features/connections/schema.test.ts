import type { ConnectionTypeInfo } from "./api";
import fixture from "./connection-types.fixture.json";
import { buildConfig, formFields, initialValues, serverFieldErrors } from "./schema";

const messages = { required: "Required.", notANumber: "Whole number.", mapInvalid: (line: string) => `bad: ${line}` };
const types = fixture as ConnectionTypeInfo[];
const info = (type: string) => types.find((item) => item.type === type)!;

test("each type's fields come from its schema, in order, with kinds and defaults", () => {
  const fields = formFields(info("postgres"));
  expect(fields.map((f) => [f.name, f.kind, f.required])).toEqual([
    ["host", "text", true],
    ["port", "integer", false],
    ["database", "text", true],
    ["user", "text", true],
    ["password", "secret", false],
    ["sslmode", "choice", false],
  ]);
  expect(fields.find((f) => f.name === "port")!.defaultValue).toBe(5432);
  expect(formFields(info("spark_k8s")).find((f) => f.name === "ca_cert")!.kind).toBe("multiline");
  expect(formFields(info("spark_local")).find((f) => f.name === "conf")!.kind).toBe("map");
});

test("a config is built from the form: numbers, maps, empty optionals left out, secrets as chosen", () => {
  const local = formFields(info("spark_local"));
  const values = { ...initialValues(local), conf: "spark.sql.shuffle.partitions = 4\n\nspark.executor.cores=2" };
  expect(buildConfig("spark_local", local, values, messages)).toEqual({
    config: {
      type: "spark_local",
      master: "local[*]",
      conf: { "spark.sql.shuffle.partitions": "4", "spark.executor.cores": "2" },
    },
    errors: {},
  });
  expect(buildConfig("spark_local", local, { ...values, conf: "oops" }, messages).errors).toEqual({ conf: "bad: oops" });

  const pg = formFields(info("postgres"));
  const stored = { host: "db", port: 5432, database: "d", user: "u", sslmode: "prefer" };
  const kept = initialValues(pg, stored, ["password"]);
  expect(buildConfig("postgres", pg, kept, messages).config).not.toHaveProperty("password");
  const cleared = { ...kept, password: { mode: "clear" as const, value: "" } };
  expect(buildConfig("postgres", pg, cleared, messages).config.password).toBeNull();
  expect(buildConfig("postgres", pg, { ...kept, port: "54x" }, messages).errors).toEqual({ port: "Whole number." });
  expect(buildConfig("postgres", pg, { ...kept, host: " " }, messages).errors).toEqual({ host: "Required." });
});

test("server field errors are keyed by the form's field names", () => {
  expect(serverFieldErrors("s3", { "config.s3.endpoint_url": "bad url", name: "taken", "config.s3.region": "x" })).toEqual({
    endpoint_url: "bad url",
    name: "taken",
    region: "x",
  });
});
