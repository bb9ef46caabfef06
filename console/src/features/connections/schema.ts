/** A connection type's config form, generated from the JSON Schema the server gives for it
 * (GET /api/v1/connection-types): one field per property, in the schema's order. */
import type { ConnectionTypeInfo } from "./api";

type JsonSchema = {
  type?: string;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  title?: string;
  format?: string;
  writeOnly?: boolean;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  examples?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
};

export type FieldKind = "text" | "multiline" | "integer" | "boolean" | "choice" | "secret" | "map";

export type FieldSpec = {
  name: string;
  title: string;
  kind: FieldKind;
  required: boolean;
  /** The value the server uses when the field is left out. */
  defaultValue: unknown;
  description?: string;
  choices?: string[];
  example?: string;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  /** Changing it moves where the connection points (stored secrets not given again are dropped). */
  endpoint: boolean;
};

/** The non-null alternative of an optional property (`anyOf: [X, {type: null}]`). */
function unwrap(schema: JsonSchema): JsonSchema {
  const options = schema.anyOf?.filter((option) => option.type !== "null") ?? [];
  const [only] = options;
  return options.length === 1 && only ? { ...only, ...schema, anyOf: undefined, type: only.type } : schema;
}

export function formFields(info: ConnectionTypeInfo): FieldSpec[] {
  const schema = info.config_schema as JsonSchema;
  const required = new Set(schema.required ?? []);
  const secrets = new Set(info.secret_fields);
  return Object.entries(schema.properties ?? {}).map(([name, raw]) => {
    const property = unwrap(raw);
    let kind: FieldKind = "text";
    if (secrets.has(name) || property.writeOnly || property.format === "password") kind = "secret";
    else if (property.enum) kind = "choice";
    else if (property.type === "boolean") kind = "boolean";
    else if (property.type === "integer") kind = "integer";
    else if (property.type === "object") kind = "map";
    else if ((property.maxLength ?? 0) > 4096) kind = "multiline";
    const example = property.examples?.[0];
    return {
      name,
      title: property.title ?? name,
      kind,
      required: required.has(name),
      defaultValue: raw.default,
      description: kind === "secret" ? undefined : property.description,
      choices: property.enum?.map(String),
      example: typeof example === "string" || typeof example === "number" ? String(example) : undefined,
      minimum: property.minimum,
      maximum: property.maximum,
      maxLength: property.maxLength,
      endpoint: info.endpoint_fields.includes(name),
    };
  });
}

/** What a field holds while it is edited. Secrets: `keep` the stored value, `replace` it, or `clear` it. */
export type SecretState = { mode: "keep" | "replace" | "clear"; value: string };
export type FormValue = string | boolean | SecretState;
export type FormValues = Record<string, FormValue>;

function mapToText(value: unknown): string {
  if (!value || typeof value !== "object") return "";
  return Object.entries(value as Record<string, unknown>)
    .map(([key, item]) => `${key}=${String(item)}`)
    .join("\n");
}

/** The form's starting values: a stored config's, else the defaults. */
export function initialValues(
  fields: FieldSpec[],
  config?: Record<string, unknown>,
  secretsSet: string[] = [],
): FormValues {
  const values: FormValues = {};
  for (const field of fields) {
    const stored = config ? config[field.name] : undefined;
    const value = stored !== undefined ? stored : field.defaultValue;
    if (field.kind === "secret") {
      values[field.name] = { mode: secretsSet.includes(field.name) ? "keep" : "replace", value: "" };
    } else if (field.kind === "boolean") {
      values[field.name] = value === true;
    } else if (field.kind === "map") {
      values[field.name] = mapToText(value);
    } else {
      values[field.name] = value === null || value === undefined ? "" : String(value);
    }
  }
  return values;
}

export type Built = { config: Record<string, unknown>; errors: Record<string, string> };

/** The config to send, and what is wrong before sending. Empty optional fields are left out (the
 * server's default applies); a kept secret is left out (the stored value stays); a cleared one is null. */
export function buildConfig(
  type: string,
  fields: FieldSpec[],
  values: FormValues,
  messages: { required: string; notANumber: string; mapInvalid: (line: string) => string },
): Built {
  const config: Record<string, unknown> = { type };
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const value = values[field.name];
    if (field.kind === "secret") {
      const secret = value as SecretState;
      if (secret.mode === "clear") config[field.name] = null;
      else if (secret.mode === "replace" && secret.value !== "") config[field.name] = secret.value;
      else if (field.required && secret.mode !== "keep") errors[field.name] = messages.required;
      continue;
    }
    if (field.kind === "boolean") {
      config[field.name] = value === true;
      continue;
    }
    const text = (value as string).trim();
    if (text === "") {
      if (field.required) errors[field.name] = messages.required;
      continue;
    }
    if (field.kind === "integer") {
      if (!/^-?\d+$/.test(text)) errors[field.name] = messages.notANumber;
      else config[field.name] = Number(text);
    } else if (field.kind === "map") {
      const map: Record<string, string> = {};
      for (const line of text.split("\n")) {
        if (line.trim() === "") continue;
        const at = line.indexOf("=");
        if (at <= 0) {
          errors[field.name] = messages.mapInvalid(line.trim());
          break;
        }
        map[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      }
      config[field.name] = map;
    } else {
      config[field.name] = field.kind === "multiline" ? (value as string) : text;
    }
  }
  return { config, errors };
}

/** Server field errors ("config.s3.endpoint_url", "name") keyed by the form's field names. */
export function serverFieldErrors(type: string, errors: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [location, message] of Object.entries(errors)) {
    let key = location;
    if (key.startsWith(`config.${type}.`)) key = key.slice(`config.${type}.`.length);
    else if (key.startsWith("config.")) key = key.slice("config.".length);
    out[key.split(".")[0] ?? key] ??= message;
  }
  return out;
}
