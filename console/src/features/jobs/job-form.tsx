/** Create or edit a job: its task (a SQL editor for SQL; file, arguments, properties and resources
 * for Spark), connection, typed parameters, schedule (cron, zone, words, next fire times),
 * notifications, retries and time limit. Saving an edit makes a new version. */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { PlusIcon, SaveIcon, Trash2Icon } from "lucide-react";
import type * as React from "react";
import { lazy, Suspense, useRef, useState } from "react";
import { toast } from "sonner";

import { api, ApiError, call, describeError } from "@/api/client";
import { ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Field, Input, Label, NativeSelect, Textarea } from "@/components/ui/input";
import { Skeleton } from "@/components/ui/skeleton";
import { connectionsQuery } from "@/features/connections/api";
import { problemPosition, schemaTreeQuery } from "@/features/worksheet/api";
import type { EditorHandle } from "@/features/worksheet/editor-handle";
import { parameterNames } from "@/features/worksheet/sql-text";
import { m } from "@/lib/messages";
import { jobsMessages } from "@/lib/messages/jobs";

import { definitionOf, type Job, jobKeys, jobQuery } from "./api";
import {
  type Draft,
  definitionFrom,
  draftFrom,
  emptyDraft,
  formFieldErrors,
  NOTIFICATION_EVENTS,
  PARAMETER_TYPES,
  type ParameterType,
  type Resources,
} from "./draft";
import { ScheduleEditor } from "./schedule-editor";

const t = jobsMessages;
// The worksheet's CodeMirror editor, in its own chunk (loaded with this form, not before).
const SqlEditor = lazy(() => import("@/features/worksheet/sql-editor"));

function Section({ title, description, children }: { title: string; description?: string; children: React.ReactNode }) {
  return (
    <Card>
      <CardHeader>
        <CardTitle>{title}</CardTitle>
        {description ? <CardDescription>{description}</CardDescription> : null}
      </CardHeader>
      <CardContent className="grid gap-4">{children}</CardContent>
    </Card>
  );
}

function ConnectionPicker({
  workspace,
  type,
  value,
  onChange,
  optional,
  error,
}: {
  workspace: string;
  type: string;
  value: string;
  onChange: (value: string) => void;
  optional: boolean;
  error?: string;
}) {
  const query = useInfiniteQuery(connectionsQuery(workspace));
  const names = (query.data?.pages.flatMap((page) => page.items) ?? []).filter((c) => c.type === type).map((c) => c.name);
  return (
    <Field
      label={t.connection}
      htmlFor="job-connection"
      error={error}
      hint={query.data && names.length === 0 && !optional ? t.noConnectionsOfType(type) : undefined}
    >
      <NativeSelect
        id="job-connection"
        value={value}
        aria-invalid={Boolean(error)}
        onChange={(event) => onChange(event.target.value)}
      >
        <option value="">{optional ? t.noConnection : t.chooseConnection}</option>
        {value && !names.includes(value) ? <option value={value}>{value}</option> : null}
        {names.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </NativeSelect>
    </Field>
  );
}

function ResourcesFields({
  label,
  path,
  value,
  onChange,
  errors,
  instances,
}: {
  label: string;
  path: string;
  value: Resources;
  onChange: (value: Resources) => void;
  errors: Record<string, string>;
  instances: boolean;
}) {
  const id = path.replace(/\./g, "-");
  return (
    <fieldset className="grid gap-3 rounded-md border p-3">
      <legend className="px-1 text-sm font-medium">{label}</legend>
      <div className={`grid gap-3 ${instances ? "grid-cols-3" : "grid-cols-2"}`}>
        <Field label={t.cores} htmlFor={`${id}-cores`} error={errors[`${path}.cores`]}>
          <Input
            id={`${id}-cores`}
            inputMode="numeric"
            value={value.cores}
            onChange={(event) => onChange({ ...value, cores: event.target.value })}
          />
        </Field>
        <Field label={t.memory} htmlFor={`${id}-memory`} error={errors[`${path}.memory`]} hint={t.memoryHint}>
          <Input id={`${id}-memory`} value={value.memory} onChange={(event) => onChange({ ...value, memory: event.target.value })} />
        </Field>
        {instances ? (
          <Field label={t.instances} htmlFor={`${id}-instances`} error={errors[`${path}.instances`]}>
            <Input
              id={`${id}-instances`}
              inputMode="numeric"
              value={value.instances}
              onChange={(event) => onChange({ ...value, instances: event.target.value })}
            />
          </Field>
        ) : null}
      </div>
    </fieldset>
  );
}

export function JobForm({ workspace, job }: { workspace: string; job?: Job }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [draft, setDraft] = useState<Draft>(() => (job ? draftFrom(job.name, definitionOf(job)) : emptyDraft()));
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const editor = useRef<EditorHandle | null>(null);
  const tree = useQuery({ ...schemaTreeQuery(workspace), enabled: draft.type === "sql" });
  const update = <K extends keyof Draft>(key: K, value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const updateSql = (patch: Partial<Draft["sql"]>) => setDraft((d) => ({ ...d, sql: { ...d.sql, ...patch } }));
  const updateSpark = (patch: Partial<Draft["spark"]>) => setDraft((d) => ({ ...d, spark: { ...d.spark, ...patch } }));

  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      job
        ? call(
            api.PUT("/api/v1/workspaces/{workspace}/jobs/{job}", {
              params: { path: { workspace, job: job.name } },
              body: { ...body, message: draft.message } as never,
            }),
          )
        : call(
            api.POST("/api/v1/workspaces/{workspace}/jobs", {
              params: { path: { workspace } },
              body: { ...body, name: draft.name } as never,
            }),
          ),
    onSuccess: (saved) => {
      if (!job) toast.success(t.created_toast(saved.name));
      else if (saved.current_version === job.current_version) toast.info(t.unchanged_toast);
      else toast.success(t.saved_toast(saved.name, saved.current_version));
      queryClient.setQueryData(jobKeys.one(workspace, saved.name), saved);
      void queryClient.invalidateQueries({ queryKey: jobKeys.all(workspace) });
      void navigate({ to: "/workspaces/$workspace/jobs/$job", params: { workspace, job: saved.name } });
    },
  });

  const serverErrors = save.error instanceof ApiError ? formFieldErrors(save.error.fieldErrors) : {};
  const errors: Record<string, string> = { ...serverErrors, ...localErrors };
  const errorLine = draft.type === "sql" && save.error ? problemPosition(save.error).line : null;

  const onSubmit = (event: React.FormEvent) => {
    event.preventDefault();
    const { body, errors: found } = definitionFrom(draft);
    if (!job && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(draft.name)) found.name = t.nameHint;
    setLocalErrors(found);
    save.reset();
    if (Object.keys(found).length === 0) save.mutate(body);
  };

  const detected = draft.type === "sql" ? parameterNames(draft.sql.sql).filter((n) => !draft.parameters.some((p) => p.name === n)) : [];
  const addParameters = (names: string[]) =>
    update("parameters", [
      ...draft.parameters,
      ...names.map((name) => ({ name, type: "string" as ParameterType, required: true, default: "", description: "" })),
    ]);
  const setParameter = (index: number, patch: Partial<Draft["parameters"][number]>) =>
    update(
      "parameters",
      draft.parameters.map((p, i) => (i === index ? { ...p, ...patch } : p)),
    );
  const setNotification = (index: number, patch: Partial<Draft["notifications"][number]>) =>
    update(
      "notifications",
      draft.notifications.map((n, i) => (i === index ? { ...n, ...patch } : n)),
    );
  const anyErrors = Object.keys(errors).length > 0;
  const spark = draft.spark;
  const sparkFromFile = spark.from === "file" || spark.kind === "jar";

  return (
    <>
      <PageHeader
        title={job ? t.editTitle(job.name) : t.newJobTitle}
        description={job ? t.editDescription(job.current_version) : t.newJobDescription}
      />
    <form onSubmit={onSubmit} noValidate className="grid gap-6" aria-label={job ? t.editTitle(job.name) : t.newJobTitle}>
      <Section title={t.definition}>
        <div className="grid items-start gap-4 md:grid-cols-2">
          {job ? null : (
            <Field label={t.name} htmlFor="job-name" error={errors.name} hint={t.nameHint}>
              <Input
                id="job-name"
                value={draft.name}
                autoComplete="off"
                aria-invalid={Boolean(errors.name)}
                onChange={(event) => update("name", event.target.value)}
              />
            </Field>
          )}
          <Field label={t.jobDescription} htmlFor="job-description" error={errors.description}>
            <Input id="job-description" value={draft.description} onChange={(event) => update("description", event.target.value)} />
          </Field>
          {job ? (
            <Field label={t.message} htmlFor="job-message" hint={t.messageHint} error={errors.message}>
              <Input id="job-message" value={draft.message} onChange={(event) => update("message", event.target.value)} />
            </Field>
          ) : null}
        </div>
      </Section>

      <Section title={t.taskType}>
        <div className="grid items-start gap-4 md:grid-cols-3">
          <Field label={t.taskType} htmlFor="job-type" hint={t.taskTypeHint[draft.type]}>
            <NativeSelect
              id="job-type"
              value={draft.type}
              onChange={(event) => update("type", event.target.value as Draft["type"])}
            >
              <option value="sql">{t.taskTypes.sql}</option>
              <option value="spark">{t.taskTypes.spark}</option>
            </NativeSelect>
          </Field>
          {draft.type === "sql" ? (
            <>
              <Field label={t.engine} htmlFor="job-engine" error={errors["task.engine"]}>
                <NativeSelect
                  id="job-engine"
                  value={draft.sql.engine}
                  onChange={(event) => updateSql({ engine: event.target.value as Draft["sql"]["engine"] })}
                >
                  <option value="duckdb">{t.engines.duckdb}</option>
                  <option value="trino">{t.engines.trino}</option>
                </NativeSelect>
              </Field>
              {draft.sql.engine === "trino" ? (
                <ConnectionPicker
                  workspace={workspace}
                  type="trino"
                  value={draft.sql.connection}
                  onChange={(connection) => updateSql({ connection })}
                  optional={false}
                  error={errors["task.connection"]}
                />
              ) : null}
            </>
          ) : (
            <>
              <Field label={t.engine} htmlFor="job-engine" error={errors["task.engine"]}>
                <NativeSelect
                  id="job-engine"
                  value={spark.engine}
                  onChange={(event) => updateSpark({ engine: event.target.value as Draft["spark"]["engine"], connection: "" })}
                >
                  <option value="spark_local">{t.engines.spark_local}</option>
                  <option value="spark_k8s">{t.engines.spark_k8s}</option>
                </NativeSelect>
              </Field>
              <ConnectionPicker
                workspace={workspace}
                type={spark.engine}
                value={spark.connection}
                onChange={(connection) => updateSpark({ connection })}
                optional={spark.engine === "spark_local"}
                error={errors["task.connection"]}
              />
            </>
          )}
        </div>
        {draft.type === "sql" ? (
          <div className="grid gap-1.5">
            <Label id="job-sql-label">{t.sql}</Label>
            <div className="h-72">
              <Suspense fallback={<Skeleton className="h-full w-full" aria-label={t.loadingEditor} />}>
                <SqlEditor
                  initialText={draft.sql.sql}
                  onChange={(sql) => updateSql({ sql })}
                  onRun={() => undefined}
                  tree={tree.data}
                  errorLine={errorLine}
                  label={t.sqlEditor}
                  placeholder={t.sqlPlaceholder}
                  handleRef={editor}
                />
              </Suspense>
            </div>
            {errors["task.sql"] ? (
              <p className="text-xs text-destructive" role="alert">
                {errors["task.sql"]}
              </p>
            ) : (
              <p className="text-xs text-muted-foreground">{t.sqlHint}</p>
            )}
            {detected.length > 0 ? (
              <div>
                <Button type="button" size="sm" variant="outline" onClick={() => addParameters(detected)}>
                  <PlusIcon aria-hidden />
                  {t.addDetected(detected.map((n) => `:${n}`).join(", "))}
                </Button>
              </div>
            ) : null}
          </div>
        ) : (
          <div className="grid gap-4">
            <div className="grid items-start gap-4 md:grid-cols-3">
              <Field label={t.sparkKind} htmlFor="spark-kind">
                <NativeSelect
                  id="spark-kind"
                  value={spark.kind}
                  onChange={(event) => updateSpark({ kind: event.target.value as Draft["spark"]["kind"] })}
                >
                  {Object.entries(t.sparkKinds).map(([kind, label]) => (
                    <option key={kind} value={kind}>
                      {label}
                    </option>
                  ))}
                </NativeSelect>
              </Field>
              {spark.kind !== "jar" ? (
                <Field label={t.programFrom} htmlFor="spark-from">
                  <NativeSelect
                    id="spark-from"
                    value={spark.from}
                    onChange={(event) => updateSpark({ from: event.target.value as "file" | "source" })}
                  >
                    <option value="source">{t.programFromSource}</option>
                    <option value="file">{t.programFromFile}</option>
                  </NativeSelect>
                </Field>
              ) : (
                <Field label={t.mainClass} htmlFor="spark-main-class" error={errors["task.main_class"]}>
                  <Input
                    id="spark-main-class"
                    className="font-mono"
                    value={spark.mainClass}
                    onChange={(event) => updateSpark({ mainClass: event.target.value })}
                  />
                </Field>
              )}
            </div>
            {sparkFromFile ? (
              <Field label={t.sparkFile} htmlFor="spark-file" error={errors["task.file"]} hint={t.sparkFileHint}>
                <Input
                  id="spark-file"
                  className="font-mono"
                  value={spark.file}
                  aria-invalid={Boolean(errors["task.file"])}
                  onChange={(event) => updateSpark({ file: event.target.value })}
                />
              </Field>
            ) : (
              <Field label={t.sparkSource} htmlFor="spark-source" error={errors["task.source"]}>
                <Textarea
                  id="spark-source"
                  className="min-h-48 font-mono text-xs"
                  spellCheck={false}
                  value={spark.source}
                  aria-invalid={Boolean(errors["task.source"])}
                  onChange={(event) => updateSpark({ source: event.target.value })}
                />
              </Field>
            )}
            <Field label={t.sparkArgs} htmlFor="spark-args" error={errors["task.args"]} hint={t.argsHint}>
              <Textarea
                id="spark-args"
                className="font-mono text-xs"
                spellCheck={false}
                value={spark.args}
                onChange={(event) => updateSpark({ args: event.target.value })}
              />
            </Field>
            <fieldset className="grid gap-2">
              <legend className="mb-1 text-sm font-medium">{t.sparkConf}</legend>
              {spark.conf.map((entry, index) => (
                <div key={index} className="grid grid-cols-[1fr_1fr_auto] items-start gap-2">
                  <Input
                    aria-label={`${t.confKey} ${index + 1}`}
                    className="font-mono text-xs"
                    placeholder="spark.sql.shuffle.partitions"
                    value={entry.key}
                    aria-invalid={Boolean(errors[`task.conf.${index}`])}
                    onChange={(event) =>
                      updateSpark({ conf: spark.conf.map((c, i) => (i === index ? { ...c, key: event.target.value } : c)) })
                    }
                  />
                  <Input
                    aria-label={`${t.confValue} ${index + 1}`}
                    className="font-mono text-xs"
                    value={entry.value}
                    onChange={(event) =>
                      updateSpark({ conf: spark.conf.map((c, i) => (i === index ? { ...c, value: event.target.value } : c)) })
                    }
                  />
                  <Button
                    type="button"
                    variant="ghost"
                    size="icon"
                    aria-label={t.removeConf(index)}
                    onClick={() => updateSpark({ conf: spark.conf.filter((_, i) => i !== index) })}
                  >
                    <Trash2Icon aria-hidden />
                  </Button>
                  {errors[`task.conf.${index}`] ? (
                    <p className="col-span-3 text-xs text-destructive" role="alert">
                      {errors[`task.conf.${index}`]}
                    </p>
                  ) : null}
                </div>
              ))}
              {errors["task.conf"] ? (
                <p className="text-xs text-destructive" role="alert">
                  {errors["task.conf"]}
                </p>
              ) : null}
              <div>
                <Button type="button" size="sm" variant="outline" onClick={() => updateSpark({ conf: [...spark.conf, { key: "", value: "" }] })}>
                  <PlusIcon aria-hidden />
                  {t.addConf}
                </Button>
              </div>
            </fieldset>
            <div className="grid items-start gap-4 md:grid-cols-2">
              <ResourcesFields
                label={t.driver}
                path="task.driver"
                value={spark.driver}
                onChange={(driver) => updateSpark({ driver })}
                errors={errors}
                instances={false}
              />
              <ResourcesFields
                label={t.executor}
                path="task.executor"
                value={spark.executor}
                onChange={(executor) => updateSpark({ executor })}
                errors={errors}
                instances
              />
            </div>
          </div>
        )}
      </Section>

      <Section title={t.parameters} description={t.parametersHint}>
        {draft.parameters.map((p, index) => {
          const id = `parameter-${index}`;
          return (
            <fieldset key={index} className="grid gap-3 rounded-md border p-3" data-parameter={index}>
              <legend className="px-1 text-sm font-medium">{t.parameterLegend(index)}</legend>
              <div className="grid items-start gap-3 md:grid-cols-[1fr_9rem_6rem_1fr_auto]">
                <Field label={t.parameterName} htmlFor={`${id}-name`} error={errors[`parameters.${index}.name`]}>
                  <Input
                    id={`${id}-name`}
                    className="font-mono"
                    value={p.name}
                    aria-invalid={Boolean(errors[`parameters.${index}.name`])}
                    onChange={(event) => setParameter(index, { name: event.target.value })}
                  />
                </Field>
                <Field label={t.parameterType} htmlFor={`${id}-type`} error={errors[`parameters.${index}.type`]}>
                  <NativeSelect
                    id={`${id}-type`}
                    value={p.type}
                    onChange={(event) => setParameter(index, { type: event.target.value as ParameterType })}
                  >
                    {PARAMETER_TYPES.map((type) => (
                      <option key={type} value={type}>
                        {type}
                      </option>
                    ))}
                  </NativeSelect>
                </Field>
                <div className="grid gap-1.5">
                  <Label htmlFor={`${id}-required`}>{t.parameterRequired}</Label>
                  <input
                    id={`${id}-required`}
                    type="checkbox"
                    className="mt-2 size-4 accent-primary"
                    checked={p.required}
                    onChange={(event) => setParameter(index, { required: event.target.checked })}
                  />
                </div>
                <Field label={t.parameterDefaultLabel} htmlFor={`${id}-default`} error={errors[`parameters.${index}.default`]}>
                  {p.type === "boolean" ? (
                    <NativeSelect
                      id={`${id}-default`}
                      value={p.required ? "" : p.default}
                      disabled={p.required}
                      onChange={(event) => setParameter(index, { default: event.target.value })}
                    >
                      <option value="">—</option>
                      <option value="true">true</option>
                      <option value="false">false</option>
                    </NativeSelect>
                  ) : (
                    <Input
                      id={`${id}-default`}
                      type={p.type === "date" ? "date" : "text"}
                      inputMode={p.type === "integer" || p.type === "number" || p.type === "decimal" ? "decimal" : undefined}
                      value={p.required ? "" : p.default}
                      disabled={p.required}
                      aria-invalid={Boolean(errors[`parameters.${index}.default`])}
                      onChange={(event) => setParameter(index, { default: event.target.value })}
                    />
                  )}
                </Field>
                <div className="grid gap-1.5">
                  <span aria-hidden className="text-sm">
                    &nbsp;
                  </span>
                  <Button
                    type="button"
                    variant="ghost"
                    size="icon"
                    aria-label={t.removeParameter(p.name)}
                    onClick={() => update("parameters", draft.parameters.filter((_, i) => i !== index))}
                  >
                    <Trash2Icon aria-hidden />
                  </Button>
                </div>
              </div>
              <Field label={t.parameterDescription} htmlFor={`${id}-description`}>
                <Input
                  id={`${id}-description`}
                  value={p.description}
                  onChange={(event) => setParameter(index, { description: event.target.value })}
                />
              </Field>
            </fieldset>
          );
        })}
        {errors.parameters ? (
          <p className="text-xs text-destructive" role="alert">
            {errors.parameters}
          </p>
        ) : null}
        <div>
          <Button
            type="button"
            size="sm"
            variant="outline"
            onClick={() =>
              update("parameters", [...draft.parameters, { name: "", type: "string", required: true, default: "", description: "" }])
            }
          >
            <PlusIcon aria-hidden />
            {t.addParameter}
          </Button>
        </div>
      </Section>

      <Section title={t.schedule}>
        <label className="flex items-center gap-2 text-sm font-medium">
          <input
            type="checkbox"
            className="size-4 accent-primary"
            checked={draft.scheduled}
            onChange={(event) => update("scheduled", event.target.checked)}
          />
          {t.scheduleToggle}
        </label>
        {draft.scheduled ? (
          <ScheduleEditor value={draft.schedule} onChange={(schedule) => update("schedule", schedule)} errors={errors} />
        ) : (
          <p className="text-sm text-muted-foreground">{t.noSchedule}</p>
        )}
      </Section>

      <Section title={t.notifications} description={t.notificationsHint}>
        {draft.notifications.map((n, index) => {
          const id = `notification-${index}`;
          return (
            <fieldset key={index} className="grid gap-3 rounded-md border p-3">
              <legend className="px-1 text-sm font-medium">{t.notificationLegend(index)}</legend>
              <div className="grid items-start gap-3 md:grid-cols-[1fr_auto_8rem_auto]">
                <Field label={t.notificationUrl} htmlFor={`${id}-url`} error={errors[`notifications.${index}.url`]}>
                  <Input
                    id={`${id}-url`}
                    type="url"
                    placeholder="https://hooks.example.com/sadeem"
                    value={n.url}
                    aria-invalid={Boolean(errors[`notifications.${index}.url`])}
                    onChange={(event) => setNotification(index, { url: event.target.value })}
                  />
                </Field>
                <fieldset className="grid gap-1.5">
                  <legend className="text-sm font-medium">{t.notificationOn}</legend>
                  <div className="flex h-9 flex-wrap items-center gap-3">
                    {NOTIFICATION_EVENTS.map((event) => (
                      <label key={event} className="flex items-center gap-1.5 text-sm">
                        <input
                          type="checkbox"
                          className="size-4 accent-primary"
                          checked={n.on.includes(event)}
                          onChange={(change) =>
                            setNotification(index, {
                              on: change.target.checked ? [...n.on, event] : n.on.filter((e) => e !== event),
                            })
                          }
                        />
                        {t.notificationEvents[event]}
                      </label>
                    ))}
                  </div>
                  {errors[`notifications.${index}.on`] ? (
                    <p className="text-xs text-destructive" role="alert">
                      {errors[`notifications.${index}.on`]}
                    </p>
                  ) : null}
                </fieldset>
                <Field
                  label={t.threshold}
                  htmlFor={`${id}-threshold`}
                  error={errors[`notifications.${index}.duration_threshold_seconds`]}
                >
                  <Input
                    id={`${id}-threshold`}
                    inputMode="numeric"
                    value={n.threshold}
                    disabled={!n.on.includes("duration_exceeded")}
                    onChange={(event) => setNotification(index, { threshold: event.target.value })}
                  />
                </Field>
                <div className="grid gap-1.5">
                  <span aria-hidden className="text-sm">
                    &nbsp;
                  </span>
                  <Button
                    type="button"
                    variant="ghost"
                    size="icon"
                    aria-label={t.removeNotification(index)}
                    onClick={() => update("notifications", draft.notifications.filter((_, i) => i !== index))}
                  >
                    <Trash2Icon aria-hidden />
                  </Button>
                </div>
              </div>
            </fieldset>
          );
        })}
        <div>
          <Button
            type="button"
            size="sm"
            variant="outline"
            onClick={() => update("notifications", [...draft.notifications, { url: "", on: ["failure"], threshold: "" }])}
          >
            <PlusIcon aria-hidden />
            {t.addNotification}
          </Button>
        </div>
      </Section>

      <Section title={t.settings}>
        <div className="grid items-start gap-4 md:grid-cols-3">
          <Field label={t.retriesLabel} htmlFor="job-retries" error={errors["retry.max_attempts"]}>
            <Input id="job-retries" inputMode="numeric" value={draft.retries} onChange={(event) => update("retries", event.target.value)} />
          </Field>
          <Field label={t.timeoutLabel} htmlFor="job-timeout" error={errors.timeout_seconds} hint={t.timeoutHint}>
            <Input id="job-timeout" inputMode="numeric" value={draft.timeout} onChange={(event) => update("timeout", event.target.value)} />
          </Field>
        </div>
      </Section>

      {save.isError ? (
        <Alert variant="destructive" data-testid="job-form-error">
          {describeError(save.error)}
        </Alert>
      ) : anyErrors ? (
        <Alert variant="destructive">{t.fixFields}</Alert>
      ) : null}
      <div className="flex justify-end gap-2 pb-8">
        <Button variant="outline" asChild>
          {job ? (
            <Link to="/workspaces/$workspace/jobs/$job" params={{ workspace, job: job.name }}>
              {m.common.cancel}
            </Link>
          ) : (
            <Link to="/workspaces/$workspace/jobs" params={{ workspace }} search={{}}>
              {m.common.cancel}
            </Link>
          )}
        </Button>
        <Button type="submit" disabled={save.isPending}>
          <SaveIcon aria-hidden />
          {save.isPending ? t.saving : job ? t.saveNewVersion : t.save}
        </Button>
      </div>
    </form>
    </>
  );
}

/** The edit page: the job's current version in the form. */
export function EditJob({ workspace, name }: { workspace: string; name: string }) {
  const query = useQuery(jobQuery(workspace, name));
  if (query.isPending)
    return (
      <>
        <PageHeader title={t.editTitle(name)} />
        <LoadingRows />
      </>
    );
  if (query.isError)
    return (
      <>
        <PageHeader title={t.editTitle(name)} />
        <ErrorState
          error={query.error instanceof ApiError && query.error.status === 404 ? new Error(t.notFound(name)) : query.error}
          onRetry={() => void query.refetch()}
        />
      </>
    );
  return <JobForm key={query.data.current_version} workspace={workspace} job={query.data} />;
}
