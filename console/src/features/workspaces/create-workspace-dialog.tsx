import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { PlusIcon, RotateCwIcon } from "lucide-react";
import { useState } from "react";

import { api, ApiError, call, describeError } from "@/api/client";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogClose,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from "@/components/ui/dialog";
import { Field, Input, Textarea } from "@/components/ui/input";
import { ProvisioningSteps } from "@/features/workspaces/provisioning-steps";
import type { Provisioning, Workspace } from "@/features/workspaces/queries";
import { m } from "@/lib/messages";

type Form = { slug: string; name: string; description: string };

/** Create a workspace, then show how each provisioning step went, with a retry when one failed. */
export function CreateWorkspaceDialog() {
  const [open, setOpen] = useState(false);
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>
        <Button>
          <PlusIcon aria-hidden /> {m.workspaces.create.open}
        </Button>
      </DialogTrigger>
      {open ? <CreateWorkspace onClose={() => setOpen(false)} /> : null}
    </Dialog>
  );
}

function CreateWorkspace({ onClose }: { onClose: () => void }) {
  const queryClient = useQueryClient();
  const [created, setCreated] = useState<Workspace | null>(null);
  const [report, setReport] = useState<Provisioning | null>(null);
  const [form, setForm] = useState<Form>({ slug: "", name: "", description: "" });

  const create = useMutation({
    mutationFn: (values: Form) =>
      call(
        api.POST("/api/v1/workspaces", {
          body: { slug: values.slug, name: values.name.trim() || null, description: values.description },
        }),
      ),
    onSuccess: (workspace) => {
      const { provisioning, ...rest } = workspace;
      setCreated(rest);
      setReport(provisioning);
      void queryClient.invalidateQueries({ queryKey: ["workspaces"] });
    },
  });
  const retry = useMutation({
    mutationFn: (slug: string) =>
      call(api.POST("/api/v1/workspaces/{workspace}/provision", { params: { path: { workspace: slug } } })),
    onSuccess: setReport,
  });

  const fieldErrors = create.error instanceof ApiError ? plainFieldErrors(create.error) : {};
  const formError = create.error && Object.keys(fieldErrors).length === 0 ? describeError(create.error) : null;

  if (create.isPending || created) {
    const slug = created?.slug ?? form.slug;
    const failed = report !== null && !report.ok;
    return (
      <DialogContent>
        <DialogHeader>
          <DialogTitle>{m.workspaces.create.provisioningTitle(slug)}</DialogTitle>
          <DialogDescription>
            {create.isPending || retry.isPending
              ? m.workspaces.create.provisioningRunning
              : failed
                ? m.workspaces.create.provisioningFailed
                : m.workspaces.create.provisioningDone}
          </DialogDescription>
        </DialogHeader>
        <ProvisioningSteps report={report} running={create.isPending || retry.isPending} />
        {retry.error ? <Alert variant="destructive">{describeError(retry.error)}</Alert> : null}
        <DialogFooter>
          {created ? (
            <DialogClose asChild>
              <Button variant="outline">{m.common.close}</Button>
            </DialogClose>
          ) : null}
          {failed && created ? (
            <Button variant="outline" onClick={() => retry.mutate(created.slug)} disabled={retry.isPending}>
              <RotateCwIcon aria-hidden />
              {retry.isPending ? m.workspaces.create.retrying : m.workspaces.create.retry}
            </Button>
          ) : null}
          {created ? (
            <Button asChild>
              <Link to="/workspaces/$workspace" params={{ workspace: created.slug }} onClick={onClose}>
                {m.workspaces.create.openCreated}
              </Link>
            </Button>
          ) : null}
        </DialogFooter>
      </DialogContent>
    );
  }

  return (
    <DialogContent>
      <form
        className="grid gap-4"
        aria-label={m.workspaces.create.title}
        onSubmit={(event) => {
          event.preventDefault();
          create.mutate(form);
        }}
      >
        <DialogHeader>
          <DialogTitle>{m.workspaces.create.title}</DialogTitle>
          <DialogDescription>{m.workspaces.create.description}</DialogDescription>
        </DialogHeader>
        <Field label={m.workspaces.create.slug} htmlFor="ws-slug" hint={m.workspaces.create.slugHint} error={fieldErrors.slug}>
          <Input
            id="ws-slug"
            required
            autoFocus
            autoComplete="off"
            spellCheck={false}
            className="font-mono"
            value={form.slug}
            aria-invalid={fieldErrors.slug ? true : undefined}
            aria-describedby={fieldErrors.slug ? "ws-slug-error" : undefined}
            onChange={(event) => setForm({ ...form, slug: event.target.value })}
          />
        </Field>
        <Field label={m.workspaces.create.name} htmlFor="ws-name" hint={m.workspaces.create.nameHint} error={fieldErrors.name}>
          <Input
            id="ws-name"
            value={form.name}
            placeholder={form.slug || undefined}
            aria-invalid={fieldErrors.name ? true : undefined}
            onChange={(event) => setForm({ ...form, name: event.target.value })}
          />
        </Field>
        <Field label={m.workspaces.create.description_} htmlFor="ws-description" error={fieldErrors.description}>
          <Textarea
            id="ws-description"
            rows={3}
            value={form.description}
            aria-invalid={fieldErrors.description ? true : undefined}
            onChange={(event) => setForm({ ...form, description: event.target.value })}
          />
        </Field>
        {formError ? <Alert variant="destructive">{formError}</Alert> : null}
        <DialogFooter>
          <Button type="button" variant="outline" onClick={onClose}>
            {m.common.cancel}
          </Button>
          <Button type="submit" disabled={create.isPending}>
            {m.workspaces.create.submit}
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}

/** The server's field errors, with the slug's rule said in words rather than as a pattern. */
function plainFieldErrors(error: ApiError): Record<string, string> {
  const errors = error.fieldErrors;
  const slug = error.problem?.errors?.find((e) => e.loc.join(".") === "body.slug");
  if (slug?.type === "string_pattern_mismatch") errors.slug = m.workspaces.create.slugPattern;
  if (slug?.type === "string_too_short" || slug?.type === "string_too_long") errors.slug = m.workspaces.create.slugLength;
  return errors;
}
