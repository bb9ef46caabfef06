import openapi from "../../../../openapi.json?raw";

import { generatePassword, PASSWORD_MAX, PASSWORD_MIN } from "@/features/account/passwords";

type Property = { minLength?: number; maxLength?: number };

test("the console's password rule is the server's, as its OpenAPI document states it", () => {
  const schemas = (JSON.parse(openapi) as { components: { schemas: Record<string, { properties: Record<string, Property> }> } })
    .components.schemas;
  for (const [schema, field] of [
    ["PasswordChange", "new_password"],
    ["PasswordReset", "password"],
    ["UserCreate", "password"],
  ] as const) {
    const property = schemas[schema]?.properties[field];
    expect(property?.minLength, `${schema}.${field}`).toBe(PASSWORD_MIN);
    expect(property?.maxLength, `${schema}.${field}`).toBe(PASSWORD_MAX);
  }
});

test("a generated password keeps the rule and differs each time", () => {
  const first = generatePassword();
  expect(first.length).toBeGreaterThanOrEqual(PASSWORD_MIN);
  expect(first).toMatch(/^[A-Za-z0-9_-]+$/);
  expect(generatePassword()).not.toBe(first);
});
