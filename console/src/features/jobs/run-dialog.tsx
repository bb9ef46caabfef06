/** "Run now": queue a run of a job (a chosen version), with a form for its typed parameters. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { PlayIcon } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";

import { api, ApiError, call, describeError } from "@/api/client";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Field, Input, NativeSelect } from "@/components/ui/input";
import { runKeys } from "@/features/runs/api";
import { m } from "@/lib/messages";
import { jobsMessages } from "@/lib/messages/jobs";

import { type Definition, definitionOf, type Job, jobKeys, type ParameterSpec } from "./api";

const t = jobsMessages;
type Value = string | number | boolean;

const INPUT_TYPE: Record<string, string> = { integer: "number", number: "number", date: "date" };

/** The form's text for a parameter as the API wants it, or an error in words. */
function toValue(spec: ParameterSpec, text: string): { value?: Value; error?: string } {
  if (text === "") return spec.default === null || spec.default === undefined ? { error: t.requiredValue } : {};
  if (spec.type === "integer" || spec.type === "number") {
    const value = Number(text);
    if (!Number.isFinite(value) || (spec.type === "integer" && !Number.isInteger(value))) return { error: t.badNumber };
    return { value };
  }
  if (spec.type === "boolean") return { value: text === "true" };
  return { value: text };
}

/** Queue a run; opens its page. */
export function useSubmitRun(workspace: string, job: string) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  return useMutation({
    mutationFn: (body: { version?: number; parameters: Record<string, Value> }) =>
      call(
        api.POST("/api/v1/workspaces/{workspace}/jobs/{job}/runs", {
          params: { path: { workspace, job } },
          body: { parameters: body.parameters, ...(body.version ? { version: body.version } : {}) },
        }),
      ),
    onSuccess: (run) => {
      toast.success(t.started(run.id));
      void queryClient.invalidateQueries({ queryKey: runKeys.all(workspace) });
      void queryClient.invalidateQueries({ queryKey: jobKeys.all(workspace) });
      void navigate({ to: "/workspaces/$workspace/runs/$run", params: { workspace, run: String(run.id) } });
    },
  });
}

export function RunDialog({
  workspace,
  job,
  version,
  versions,
  definitions,
  open,
  onOpenChange,
}: {
  workspace: string;
  job: Job;
  /** The version to run (default: the current one). */
  version?: number;
  versions?: number[];
  /** Versions' definitions by number: an older version asks for its own parameters. */
  definitions?: Record<number, Definition>;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const [chosen, setChosen] = useState<number>(version ?? job.current_version);
  const parameters = (definitions?.[chosen] ?? definitionOf(job)).parameters ?? [];
  const [values, setValues] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const submit = useSubmitRun(workspace, job.name);
  const serverErrors = submit.error instanceof ApiError ? submit.error.fieldErrors : {};

  const onSubmit = (event: React.FormEvent) => {
    event.preventDefault();
    const found: Record<string, string> = {};
    const body: Record<string, Value> = {};
    for (const spec of parameters) {
      const { value, error } = toValue(spec, values[spec.name] ?? "");
      if (error) found[spec.name] = error;
      else if (value !== undefined) body[spec.name] = value;
    }
    setErrors(found);
    if (Object.keys(found).length === 0)
      submit.mutate({ parameters: body, ...(chosen !== job.current_version ? { version: chosen } : {}) });
  };
  const allVersions = versions ?? Array.from({ length: job.current_version }, (_, i) => job.current_version - i);

  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent>
        <form onSubmit={onSubmit} className="grid gap-4">
          <DialogHeader>
            <DialogTitle>{t.runDialogTitle(job.name)}</DialogTitle>
            <DialogDescription>{t.runDialogDescription}</DialogDescription>
          </DialogHeader>
          <Field label={t.versionToRun} htmlFor="run-version">
            <NativeSelect id="run-version" value={chosen} onChange={(event) => setChosen(Number(event.target.value))}>
              {allVersions.map((n) => (
                <option key={n} value={n}>
                  {t.version(n)}
                  {n === job.current_version ? ` (${t.current})` : ""}
                </option>
              ))}
            </NativeSelect>
          </Field>
          {parameters.map((spec) => {
            const id = `param-${spec.name}`;
            const hint = [
              spec.description,
              spec.default !== null && spec.default !== undefined ? t.parameterDefault(String(spec.default)) : t.required,
            ]
              .filter(Boolean)
              .join(" · ");
            const type = spec.type ?? "string";
            return (
              <Field
                key={spec.name}
                label={t.valueFor(spec.name, type)}
                htmlFor={id}
                hint={hint}
                error={errors[spec.name] ?? serverErrors[`parameters.${spec.name}`]}
              >
                {type === "boolean" ? (
                  <NativeSelect
                    id={id}
                    value={values[spec.name] ?? ""}
                    onChange={(event) => setValues({ ...values, [spec.name]: event.target.value })}
                  >
                    <option value="">{spec.default !== null && spec.default !== undefined ? String(spec.default) : "—"}</option>
                    <option value="true">true</option>
                    <option value="false">false</option>
                  </NativeSelect>
                ) : (
                  <Input
                    id={id}
                    type={INPUT_TYPE[type] ?? "text"}
                    step={type === "number" ? "any" : undefined}
                    placeholder={spec.default !== null && spec.default !== undefined ? String(spec.default) : undefined}
                    value={values[spec.name] ?? ""}
                    aria-invalid={Boolean(errors[spec.name])}
                    onChange={(event) => setValues({ ...values, [spec.name]: event.target.value })}
                  />
                )}
              </Field>
            );
          })}
          {submit.isError ? <Alert variant="destructive">{describeError(submit.error)}</Alert> : null}
          <DialogFooter>
            <Button type="button" variant="outline" onClick={() => onOpenChange(false)}>
              {m.common.cancel}
            </Button>
            <Button type="submit" disabled={submit.isPending}>
              <PlayIcon aria-hidden />
              {submit.isPending ? t.starting : t.start}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
