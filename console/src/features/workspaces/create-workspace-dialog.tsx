import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { RotateCwIcon } from "lucide-react";
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
} from "@/components/ui/dialog";
import { Field, Input, Textarea } from "@/components/ui/input";
import { ProvisioningSteps } from "@/features/workspaces/provisioning-steps";
import type { Provisioning, Workspace } from "@/features/workspaces/queries";
import { m } from "@/lib/messages";
import { workspacesMessages } from "@/lib/messages/workspaces";

type Form = { slug: string; name: string; description: string };

/** Create a workspace, then show how each provisioning step went, with a retry when one failed. */
/** The create dialog, loaded when its button is first pressed (workspace-list.tsx). */
export default function CreateWorkspaceDialog({
  open,
  onOpenChange,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      {open ? <CreateWorkspace onClose={() => onOpenChange(false)} /> : null}
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
          <DialogTitle>{workspacesMessages.create.provisioningTitle(slug)}</DialogTitle>
          <DialogDescription>
            {create.isPending || retry.isPending
              ? workspacesMessages.create.provisioningRunning
              : failed
                ? workspacesMessages.create.provisioningFailed
                : workspacesMessages.create.provisioningDone}
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
              {retry.isPending ? workspacesMessages.create.retrying : workspacesMessages.create.retry}
            </Button>
          ) : null}
          {created ? (
            <Button asChild>
              <Link to="/workspaces/$workspace" params={{ workspace: created.slug }} onClick={onClose}>
                {workspacesMessages.create.openCreated}
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
        aria-label={workspacesMessages.create.title}
        onSubmit={(event) => {
          event.preventDefault();
          create.mutate(form);
        }}
      >
        <DialogHeader>
          <DialogTitle>{workspacesMessages.create.title}</DialogTitle>
          <DialogDescription>{workspacesMessages.create.description}</DialogDescription>
        </DialogHeader>
        <Field label={workspacesMessages.create.slug} htmlFor="ws-slug" hint={workspacesMessages.create.slugHint} error={fieldErrors.slug}>
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
        <Field label={workspacesMessages.create.name} htmlFor="ws-name" hint={workspacesMessages.create.nameHint} error={fieldErrors.name}>
          <Input
            id="ws-name"
            value={form.name}
            placeholder={form.slug || undefined}
            aria-invalid={fieldErrors.name ? true : undefined}
            onChange={(event) => setForm({ ...form, name: event.target.value })}
          />
        </Field>
        <Field label={workspacesMessages.create.description_} htmlFor="ws-description" error={fieldErrors.description}>
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
            {workspacesMessages.create.submit}
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
  if (slug?.type === "string_pattern_mismatch") errors.slug = workspacesMessages.create.slugPattern;
  if (slug?.type === "string_too_short" || slug?.type === "string_too_long") errors.slug = workspacesMessages.create.slugLength;
  return errors;
}
