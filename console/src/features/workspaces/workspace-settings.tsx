import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ArchiveIcon, ArchiveRestoreIcon, InfoIcon, RotateCwIcon } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";

import { api, ApiError, call, describeError } from "@/api/client";
import { ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
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
import { DeleteWorkspaceDialog } from "@/features/workspaces/delete-workspace-dialog";
import { ProvisioningSteps } from "@/features/workspaces/provisioning-steps";
import { type Workspace, workspaceQuery } from "@/features/workspaces/queries";
import { roleName, StatusBadge } from "@/features/workspaces/status-badge";
import { m } from "@/lib/messages";
import { workspacesMessages } from "@/lib/messages/workspaces";
import { formatDateTime } from "@/lib/utils";

const t = workspacesMessages;

export function WorkspaceSettings({ slug }: { slug: string }) {
  const workspace = useQuery(workspaceQuery(slug));
  if (workspace.isPending) {
    return (
      <>
        <PageHeader title={slug} />
        <LoadingRows rows={6} />
      </>
    );
  }
  if (workspace.isError) {
    return (
      <>
        <PageHeader title={slug} />
        <ErrorState error={workspace.error} onRetry={() => void workspace.refetch()} />
      </>
    );
  }
  const ws = workspace.data;
  const isAdmin = ws.my_role === "admin";
  return (
    <>
      <PageHeader
        title={
          <span className="flex items-center gap-3">
            {ws.name} <StatusBadge status={ws.status} />
          </span>
        }
        description={ws.description || t.settings.noDescription}
        documentTitle={`${ws.name} · ${t.settings.title}`}
      />
      <div className="grid max-w-3xl gap-6">
        {ws.status === "archived" ? (
          <Alert className="flex items-start gap-2" role="status">
            <ArchiveIcon className="mt-0.5" aria-hidden />
            <span>{t.settings.archivedNotice}</span>
          </Alert>
        ) : null}
        <Facts workspace={ws} />
        {isAdmin ? (
          <>
            <GeneralForm key={`${ws.name}\u0000${ws.description}`} workspace={ws} />
            <ProvisionCard slug={ws.slug} />
            <ArchiveCard workspace={ws} />
            <Card className="border-destructive/40">
              <CardHeader>
                <CardTitle className="text-destructive">{t.remove.zone}</CardTitle>
                <CardDescription>{t.remove.hint}</CardDescription>
              </CardHeader>
              <CardContent>
                <DeleteWorkspaceDialog workspace={ws} />
              </CardContent>
            </Card>
          </>
        ) : (
          <p className="flex items-center gap-2 text-sm text-muted-foreground">
            <InfoIcon className="size-4" aria-hidden /> {t.settings.readOnly}
          </p>
        )}
      </div>
    </>
  );
}

function Facts({ workspace }: { workspace: Workspace }) {
  const rows: [string, React.ReactNode, boolean?][] = [
    [t.settings.slug, workspace.slug, true],
    [t.settings.namespace, workspace.namespace, true],
    [t.settings.storage, workspace.storage_location, true],
    [t.settings.status, <StatusBadge key="s" status={workspace.status} />],
    [t.settings.myRole, roleName(workspace.my_role)],
    [t.settings.created, formatDateTime(workspace.created_at)],
    [t.settings.updated, formatDateTime(workspace.updated_at)],
  ];
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t.settings.facts}</CardTitle>
      </CardHeader>
      <CardContent>
        <dl className="grid grid-cols-[12rem_1fr] gap-x-4 gap-y-2.5 text-sm">
          {rows.map(([label, value, mono]) => (
            <div key={label} className="contents">
              <dt className="text-muted-foreground">{label}</dt>
              <dd className={mono ? "break-all font-mono text-xs leading-5" : undefined}>{value}</dd>
            </div>
          ))}
        </dl>
      </CardContent>
    </Card>
  );
}

function GeneralForm({ workspace }: { workspace: Workspace }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(workspace.name);
  const [description, setDescription] = useState(workspace.description);
  const save = useMutation({
    mutationFn: () =>
      call(
        api.PATCH("/api/v1/workspaces/{workspace}", {
          params: { path: { workspace: workspace.slug } },
          body: { name, description },
        }),
      ),
    onSuccess: (saved) => {
      queryClient.setQueryData(workspaceQuery(workspace.slug).queryKey, saved);
      void queryClient.invalidateQueries({ queryKey: ["workspaces"] });
      toast.success(t.settings.saved);
    },
  });
  const errors = save.error instanceof ApiError ? save.error.fieldErrors : {};
  const changed = name !== workspace.name || description !== workspace.description;
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t.settings.general}</CardTitle>
        <CardDescription>{t.settings.generalHint}</CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="grid gap-4"
          aria-label={t.settings.general}
          onSubmit={(event) => {
            event.preventDefault();
            save.mutate();
          }}
        >
          <Field label={t.settings.name} htmlFor="ws-edit-name" error={errors.name}>
            <Input
              id="ws-edit-name"
              required
              maxLength={200}
              value={name}
              aria-invalid={errors.name ? true : undefined}
              onChange={(event) => setName(event.target.value)}
            />
          </Field>
          <Field label={t.settings.description} htmlFor="ws-edit-description" error={errors.description}>
            <Textarea
              id="ws-edit-description"
              rows={3}
              maxLength={2000}
              value={description}
              aria-invalid={errors.description ? true : undefined}
              onChange={(event) => setDescription(event.target.value)}
            />
          </Field>
          {save.error && Object.keys(errors).length === 0 ? (
            <Alert variant="destructive">{describeError(save.error)}</Alert>
          ) : null}
          <div className="flex justify-end gap-2">
            <Button
              type="button"
              variant="outline"
              disabled={!changed || save.isPending}
              onClick={() => {
                setName(workspace.name);
                setDescription(workspace.description);
                save.reset();
              }}
            >
              {m.common.cancel}
            </Button>
            <Button type="submit" disabled={!changed || save.isPending}>
              {m.common.save}
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}

function ProvisionCard({ slug }: { slug: string }) {
  const provision = useMutation({
    mutationFn: () =>
      call(api.POST("/api/v1/workspaces/{workspace}/provision", { params: { path: { workspace: slug } } })),
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t.settings.provisioning}</CardTitle>
        <CardDescription>{t.settings.provisioningHint}</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        {provision.data || provision.isPending ? (
          <ProvisioningSteps report={provision.data ?? null} running={provision.isPending} />
        ) : null}
        {provision.error ? <Alert variant="destructive">{describeError(provision.error)}</Alert> : null}
        <div>
          <Button variant="outline" onClick={() => provision.mutate()} disabled={provision.isPending}>
            <RotateCwIcon aria-hidden /> {t.settings.provision}
          </Button>
        </div>
      </CardContent>
    </Card>
  );
}

function ArchiveCard({ workspace }: { workspace: Workspace }) {
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const archived = workspace.status === "archived";
  const change = useMutation({
    mutationFn: () =>
      call(
        api.POST(archived ? "/api/v1/workspaces/{workspace}/unarchive" : "/api/v1/workspaces/{workspace}/archive", {
          params: { path: { workspace: workspace.slug } },
        }),
      ),
    onSuccess: (saved) => {
      queryClient.setQueryData(workspaceQuery(workspace.slug).queryKey, saved);
      void queryClient.invalidateQueries({ queryKey: ["workspaces"] });
      setOpen(false);
      toast.success(archived ? t.archive.unarchived : t.archive.archived);
    },
    onError: (error) => {
      if (archived) toast.error(describeError(error));
    },
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t.archive.title}</CardTitle>
        <CardDescription>{archived ? t.archive.hintArchived : t.archive.hintActive}</CardDescription>
      </CardHeader>
      <CardContent>
        {archived ? (
          <Button variant="outline" onClick={() => change.mutate()} disabled={change.isPending}>
            <ArchiveRestoreIcon aria-hidden /> {t.archive.unarchive}
          </Button>
        ) : (
          <Dialog
            open={open}
            onOpenChange={(next) => {
              setOpen(next);
              change.reset();
            }}
          >
            <DialogTrigger asChild>
              <Button variant="outline">
                <ArchiveIcon aria-hidden /> {t.archive.archive}
              </Button>
            </DialogTrigger>
            <DialogContent>
              <DialogHeader>
                <DialogTitle>{t.archive.confirmTitle(workspace.name)}</DialogTitle>
                <DialogDescription>{t.archive.confirmBody}</DialogDescription>
              </DialogHeader>
              {change.error ? <Alert variant="destructive">{describeError(change.error)}</Alert> : null}
              <DialogFooter>
                <DialogClose asChild>
                  <Button variant="outline">{m.common.cancel}</Button>
                </DialogClose>
                <Button onClick={() => change.mutate()} disabled={change.isPending}>
                  {t.archive.archive}
                </Button>
              </DialogFooter>
            </DialogContent>
          </Dialog>
        )}
      </CardContent>
    </Card>
  );
}
