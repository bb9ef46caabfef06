/** Create or edit a connection: name and description, then the type's settings as generated
 * from its schema, with write-only secrets; "test these settings" before (or instead of) saving. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { KeyRoundIcon, PlugZapIcon } from "lucide-react";
import * as React from "react";
import { toast } from "sonner";

import { api, ApiError, call, describeError } from "@/api/client";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Field, Input, NativeSelect, Textarea } from "@/components/ui/input";
import { connectionsMessages } from "@/lib/messages/connections";

import { type ConfigBody, type Connection, type ConnectionTypeInfo, connectionKeys, type TestResult } from "./api";
import {
  buildConfig,
  type FieldSpec,
  type FormValue,
  type FormValues,
  formFields,
  initialValues,
  type SecretState,
  serverFieldErrors,
} from "./schema";
import { TestResultView } from "./test-result";

const t = connectionsMessages;

export function fieldLabel(field: { name: string; title: string }): string {
  return t.fields[field.name] ?? field.title;
}

/** Text from the server's schema, with its `code` spans shown as code. */
export function Described({ text }: { text: string }) {
  return (
    <>
      {text.split(/`([^`]+)`/).map((part, index) =>
        index % 2 ? (
          <code key={index} className="rounded bg-muted px-1 font-mono text-[0.85em]">
            {part}
          </code>
        ) : (
          part
        ),
      )}
    </>
  );
}

function SecretInput({
  id,
  field,
  state,
  isSet,
  onChange,
  invalid,
}: {
  id: string;
  field: FieldSpec;
  state: SecretState;
  isSet: boolean;
  onChange: (state: SecretState) => void;
  invalid: boolean;
}) {
  const label = fieldLabel(field);
  if (state.mode === "keep" || state.mode === "clear") {
    return (
      <div className="flex flex-wrap items-center gap-2" id={id} data-testid={`secret-${field.name}`}>
        <Badge variant={state.mode === "keep" ? "success" : "warning"}>
          <KeyRoundIcon className="size-3.5" aria-hidden />
          {state.mode === "keep" ? t.secretSet : t.secretWillClear}
        </Badge>
        <Button
          type="button"
          variant="outline"
          size="sm"
          onClick={() => onChange({ mode: "replace", value: "" })}
          aria-label={`${t.secretReplace} ${label}`}
        >
          {t.secretReplace}
        </Button>
        {state.mode === "keep" ? (
          <Button
            type="button"
            variant="ghost"
            size="sm"
            onClick={() => onChange({ mode: "clear", value: "" })}
            aria-label={`${t.secretClear} ${label}`}
          >
            {t.secretClear}
          </Button>
        ) : (
          <Button type="button" variant="ghost" size="sm" onClick={() => onChange({ mode: "keep", value: "" })}>
            {t.secretKeep}
          </Button>
        )}
      </div>
    );
  }
  return (
    <div className="flex items-center gap-2">
      <Input
        id={id}
        type="password"
        autoComplete="new-password"
        spellCheck={false}
        value={state.value}
        placeholder={isSet ? t.secretNewValue(label) : undefined}
        aria-invalid={invalid || undefined}
        aria-describedby={invalid ? `${id}-error` : undefined}
        onChange={(event) => onChange({ mode: "replace", value: event.target.value })}
      />
      {isSet ? (
        <Button type="button" variant="ghost" size="sm" onClick={() => onChange({ mode: "keep", value: "" })}>
          {t.secretKeep}
        </Button>
      ) : null}
    </div>
  );
}

function ConfigField({
  field,
  value,
  error,
  isSet,
  onChange,
}: {
  field: FieldSpec;
  value: FormValue;
  error?: string;
  isSet: boolean;
  onChange: (value: FormValue) => void;
}) {
  const id = `field-${field.name}`;
  // "(optional)" only where leaving the field empty means "none": a default fills the others.
  const optional = !field.required && field.kind !== "boolean" && (field.defaultValue == null || field.kind === "map");
  const label = fieldLabel(field) + (optional ? ` (${t.optional})` : "");
  const described = error ? `${id}-error` : undefined;
  const hintText = field.kind === "secret" ? t.secret : field.kind === "map" ? `${t.mapHint} ${field.description ?? ""}` : field.description;
  const hint = hintText ? <Described text={hintText} /> : undefined;
  if (field.kind === "boolean") {
    return (
      <div className="grid gap-1">
        <label htmlFor={id} className="flex items-center gap-2 text-sm font-medium">
          <input
            id={id}
            type="checkbox"
            className="size-4 accent-primary"
            checked={value === true}
            onChange={(event) => onChange(event.target.checked)}
          />
          {fieldLabel(field)}
        </label>
        {field.description ? (
          <p className="ps-6 text-xs text-muted-foreground">
            <Described text={field.description} />
          </p>
        ) : null}
      </div>
    );
  }
  let control: React.ReactNode;
  if (field.kind === "secret") {
    control = (
      <SecretInput
        id={id}
        field={field}
        state={value as SecretState}
        isSet={isSet}
        onChange={onChange}
        invalid={Boolean(error)}
      />
    );
  } else if (field.kind === "choice") {
    control = (
      <NativeSelect id={id} value={value as string} onChange={(event) => onChange(event.target.value)} aria-describedby={described}>
        {field.required || field.defaultValue != null ? null : <option value="">—</option>}
        {field.choices?.map((choice) => (
          <option key={choice} value={choice}>
            {choice}
          </option>
        ))}
      </NativeSelect>
    );
  } else if (field.kind === "multiline" || field.kind === "map") {
    control = (
      <Textarea
        id={id}
        value={value as string}
        rows={field.kind === "map" ? 4 : 6}
        className="font-mono text-xs"
        spellCheck={false}
        aria-invalid={error ? true : undefined}
        aria-describedby={described}
        onChange={(event) => onChange(event.target.value)}
      />
    );
  } else {
    control = (
      <Input
        id={id}
        value={value as string}
        inputMode={field.kind === "integer" ? "numeric" : undefined}
        placeholder={field.example ?? (field.defaultValue != null ? String(field.defaultValue) : undefined)}
        spellCheck={false}
        autoComplete="off"
        aria-invalid={error ? true : undefined}
        aria-describedby={described}
        onChange={(event) => onChange(event.target.value)}
        className={field.kind === "integer" ? "max-w-40" : undefined}
      />
    );
  }
  return (
    <Field label={label} htmlFor={id} hint={hint} error={error}>
      {control}
    </Field>
  );
}

type Props = {
  workspace: string;
  info: ConnectionTypeInfo;
  /** Editing this stored connection; creating a new one without it. */
  connection?: Connection;
};

export function ConnectionForm({ workspace, info, connection }: Props) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const fields = React.useMemo(() => formFields(info), [info]);
  const stored = connection?.config as Record<string, unknown> | undefined;
  const secretsSet = React.useMemo(() => connection?.secrets_set ?? [], [connection]);
  const start = React.useMemo(() => initialValues(fields, stored, secretsSet), [fields, stored, secretsSet]);
  const [values, setValues] = React.useState<FormValues>(start);
  const [name, setName] = React.useState("");
  const [description, setDescription] = React.useState(connection?.description ?? "");
  const [errors, setErrors] = React.useState<Record<string, string>>({});
  const [formError, setFormError] = React.useState<string | null>(null);
  const [result, setResult] = React.useState<TestResult | null>(null);
  const resultRef = React.useRef<HTMLDivElement>(null);
  React.useEffect(() => {
    if (result) resultRef.current?.scrollIntoView?.({ behavior: "smooth", block: "nearest" });
  }, [result]);
  const typeLabel = t.types[info.type] ?? info.type;
  const editing = connection !== undefined;

  const validationMessages = { required: t.required, notANumber: t.notANumber, mapInvalid: t.mapInvalid };
  const built = () => buildConfig(info.type, fields, values, validationMessages);

  const fail = (error: unknown) => {
    if (error instanceof ApiError && error.problem?.errors?.length) {
      setErrors(serverFieldErrors(info.type, error.fieldErrors));
      setFormError(t.fixFields);
    } else {
      setFormError(describeError(error));
    }
  };

  const test = useMutation({
    mutationFn: (config: Record<string, unknown>) =>
      call(
        api.POST("/api/v1/workspaces/{workspace}/connection-tests", {
          params: { path: { workspace } },
          body: { config: config as unknown as ConfigBody },
        }),
      ),
    onMutate: () => {
      setResult(null);
      setFormError(null);
    },
    onSuccess: setResult,
    onError: fail,
  });

  const save = useMutation({
    mutationFn: async (config: Record<string, unknown>) => {
      if (connection) {
        return call(
          api.PATCH("/api/v1/workspaces/{workspace}/connections/{name}", {
            params: { path: { workspace, name: connection.name } },
            body: { description, config: config as unknown as ConfigBody },
          }),
        );
      }
      return call(
        api.POST("/api/v1/workspaces/{workspace}/connections", {
          params: { path: { workspace } },
          body: { name: name.trim(), description, config: config as unknown as ConfigBody },
        }),
      );
    },
    onMutate: () => setFormError(null),
    onSuccess: async (saved) => {
      queryClient.setQueryData(connectionKeys.one(workspace, saved.name), saved);
      await queryClient.invalidateQueries({ queryKey: connectionKeys.all(workspace) });
      if (connection) {
        toast.success(t.saved(saved.name));
        setValues(initialValues(fields, saved.config as Record<string, unknown>, saved.secrets_set));
      } else {
        toast.success(t.created(saved.name));
        await navigate({ to: "/workspaces/$workspace/connections/$name", params: { workspace, name: saved.name } });
      }
    },
    onError: fail,
  });

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const { config, errors: found } = built();
    if (!editing && name.trim() === "") found.name = t.required;
    setErrors(found);
    if (Object.keys(found).length > 0) {
      setFormError(t.fixFields);
      return;
    }
    save.mutate(config);
  };

  const runTest = () => {
    const { config, errors: found } = built();
    setErrors(found);
    if (Object.keys(found).length > 0) {
      setFormError(t.fixFields);
      return;
    }
    test.mutate(config);
  };

  const setValue = (field: string, value: FormValue) => {
    setValues((current) => ({ ...current, [field]: value }));
    setErrors(({ [field]: _dropped, ...rest }) => rest);
  };

  // Secrets stay with the endpoint they were entered for: moving it drops the ones kept.
  const endpointMoved = fields.some(
    (field) => field.endpoint && field.kind !== "secret" && JSON.stringify(values[field.name]) !== JSON.stringify(start[field.name]),
  );
  const keptSecrets = fields.filter(
    (field) => field.kind === "secret" && (values[field.name] as SecretState).mode === "keep",
  );

  return (
    <form onSubmit={submit} noValidate aria-label={editing ? t.settings : t.create} className="grid gap-6">
      <Card>
        <CardHeader>
          <CardTitle>{editing ? t.settings : t.settingsOf(typeLabel)}</CardTitle>
          <CardDescription>
            <Described text={info.description} />
          </CardDescription>
        </CardHeader>
        <CardContent className="grid max-w-2xl gap-5">
          {!editing ? (
            <Field label={t.name} htmlFor="field-name" hint={t.nameHint} error={errors.name}>
              <Input
                id="field-name"
                value={name}
                autoComplete="off"
                spellCheck={false}
                aria-invalid={errors.name ? true : undefined}
                aria-describedby={errors.name ? "field-name-error" : undefined}
                onChange={(event) => {
                  setName(event.target.value);
                  setErrors(({ name: _dropped, ...rest }) => rest);
                }}
              />
            </Field>
          ) : null}
          <Field label={`${t.descriptionLabel} (${t.optional})`} htmlFor="field-description" error={errors.description}>
            <Input id="field-description" value={description} onChange={(event) => setDescription(event.target.value)} />
          </Field>
          <hr className="border-border" />
          {fields.map((field) => (
            <ConfigField
              key={field.name}
              field={field}
              value={values[field.name] ?? ""}
              error={errors[field.name]}
              isSet={secretsSet.includes(field.name)}
              onChange={(value) => setValue(field.name, value)}
            />
          ))}
          {editing && endpointMoved && keptSecrets.length > 0 ? (
            <Alert className="border-warning/40 bg-warning/5">
              {t.secretsDropped(keptSecrets.map(fieldLabel).join(", "))}
            </Alert>
          ) : null}
        </CardContent>
      </Card>

      {formError ? (
        <Alert variant="destructive" data-testid="form-error">
          {formError}
        </Alert>
      ) : null}

      <div className="flex flex-wrap items-center gap-2">
        <Button type="submit" disabled={save.isPending}>
          {editing ? (save.isPending ? t.saving : t.save) : save.isPending ? t.creating : t.create}
        </Button>
        <Button type="button" variant="outline" onClick={runTest} disabled={test.isPending}>
          <PlugZapIcon aria-hidden />
          {test.isPending ? t.testing : t.testSettings}
        </Button>
        {editing && keptSecrets.length > 0 ? (
          <p className="basis-full text-xs text-muted-foreground">{t.unsavedSecretsHint}</p>
        ) : null}
      </div>

      <div ref={resultRef}>{result ? <TestResultView result={result} title={t.testTitle} /> : null}</div>
    </form>
  );
}
