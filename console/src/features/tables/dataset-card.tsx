/** The table's dataset registration: owner, description and tags, edited in place by editors and admins. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { PencilIcon } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";

import { ApiError, api, call, describeError, type Schemas } from "@/api/client";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
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
import { m } from "@/lib/messages";
import { tablesMessages } from "@/lib/messages/tables";

import { useWorkspaceRole } from "./queries";

const d = tablesMessages.dataset;

type Props = { workspace: string; namespace: string; table: string; brief: Schemas["DatasetBrief"] | null };

export function DatasetCard({ workspace, namespace, table, brief }: Props) {
  const role = useWorkspaceRole(workspace);
  const canEdit = role === "editor" || role === "admin";
  const [open, setOpen] = useState(false);
  const queryClient = useQueryClient();
  const register = useMutation({
    mutationFn: () =>
      call(
        api.POST("/api/v1/workspaces/{workspace}/datasets", {
          params: { path: { workspace } },
          body: { namespace, table, description: "", tags: [] },
        }),
      ),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ["catalog", workspace] });
      toast.success(d.registered);
      setOpen(true);
    },
  });
  return (
    <Card>
      <CardHeader className="flex flex-row items-center justify-between gap-2">
        <CardTitle>{d.title}</CardTitle>
        {brief && canEdit ? (
          <Button variant="outline" size="sm" onClick={() => setOpen(true)}>
            <PencilIcon aria-hidden />
            {d.edit}
          </Button>
        ) : null}
      </CardHeader>
      <CardContent>
        {brief ? (
          <dl className="grid gap-3 text-sm sm:grid-cols-[8rem_1fr]">
            <dt className="text-muted-foreground">{d.owner}</dt>
            <dd data-testid="dataset-owner">{brief.owner ?? <span className="text-muted-foreground">{d.noOwner}</span>}</dd>
            <dt className="text-muted-foreground">{d.description}</dt>
            <dd className="whitespace-pre-wrap">
              {brief.description || <span className="text-muted-foreground">{d.noDescription}</span>}
            </dd>
            <dt className="text-muted-foreground">{d.tags}</dt>
            <dd className="flex flex-wrap gap-1">
              {brief.tags.length ? (
                brief.tags.map((tag) => (
                  <Badge key={tag} variant="secondary">
                    {tag}
                  </Badge>
                ))
              ) : (
                <span className="text-muted-foreground">{d.noTags}</span>
              )}
            </dd>
          </dl>
        ) : (
          <div className="grid gap-3">
            <p className="text-sm text-muted-foreground">{d.notRegistered}</p>
            {register.isError ? <Alert variant="destructive">{describeError(register.error)}</Alert> : null}
            {canEdit ? (
              <div>
                <Button variant="outline" size="sm" disabled={register.isPending} onClick={() => register.mutate()}>
                  {d.register}
                </Button>
              </div>
            ) : null}
          </div>
        )}
      </CardContent>
      {brief && canEdit ? (
        <EditDialog open={open} onOpenChange={setOpen} workspace={workspace} namespace={namespace} table={table} brief={brief} />
      ) : null}
    </Card>
  );
}

function EditDialog({
  open,
  onOpenChange,
  workspace,
  namespace,
  table,
  brief,
}: Omit<Props, "brief"> & { brief: Schemas["DatasetBrief"]; open: boolean; onOpenChange: (open: boolean) => void }) {
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: (body: Schemas["DatasetUpdate"]) =>
      call(
        api.PATCH("/api/v1/workspaces/{workspace}/datasets/{namespace}/{table}", {
          params: { path: { workspace, namespace, table } },
          body,
        }),
      ),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["catalog", workspace] });
      toast.success(d.saved);
      onOpenChange(false);
    },
  });
  const errors = save.error instanceof ApiError ? save.error.fieldErrors : {};
  const fieldError = (name: string) =>
    Object.entries(errors).find(([key]) => key === name || key.startsWith(`${name}.`))?.[1];

  function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const owner = String(form.get("owner") ?? "").trim();
    const tags = String(form.get("tags") ?? "")
      .split(",")
      .map((tag) => tag.trim())
      .filter(Boolean);
    save.mutate({ owner: owner || null, description: String(form.get("description") ?? ""), tags });
  }

  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        if (!next) save.reset();
        onOpenChange(next);
      }}
    >
      <DialogContent>
        <form className="grid gap-4" onSubmit={submit} noValidate>
          <DialogHeader>
            <DialogTitle>{d.editTitle}</DialogTitle>
            <DialogDescription>{d.editDescription}</DialogDescription>
          </DialogHeader>
          {save.isError && Object.keys(errors).length === 0 ? (
            <Alert variant="destructive" role="alert">
              {describeError(save.error)}
            </Alert>
          ) : null}
          <Field label={d.owner} htmlFor="dataset-owner" error={fieldError("owner")}>
            <Input id="dataset-owner" name="owner" defaultValue={brief.owner ?? ""} autoComplete="off" className="font-mono" />
          </Field>
          <Field label={d.description} htmlFor="dataset-description" error={fieldError("description")}>
            <Textarea id="dataset-description" name="description" defaultValue={brief.description} maxLength={2000} />
          </Field>
          <Field label={d.tags} htmlFor="dataset-tags" hint={d.tagsHint} error={fieldError("tags")}>
            <Input id="dataset-tags" name="tags" defaultValue={brief.tags.join(", ")} autoComplete="off" />
          </Field>
          <DialogFooter>
            <DialogClose asChild>
              <Button type="button" variant="outline">
                {m.common.cancel}
              </Button>
            </DialogClose>
            <Button type="submit" disabled={save.isPending}>
              {save.isPending ? d.saving : m.common.save}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
