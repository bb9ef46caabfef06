/** One connection: its last test step by step, "test connection", its settings (the generated
 * form for editors, read-only for viewers) and delete with confirmation. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { KeyRoundIcon, PlugZapIcon, Trash2Icon } from "lucide-react";
import * as React from "react";
import { toast } from "sonner";

import { api, ApiError, call, describeError } from "@/api/client";
import { EmptyState, ErrorState, LoadingRows, PageHeader } from "@/components/page";
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
import { m } from "@/lib/messages";
import { connectionsMessages } from "@/lib/messages/connections";
import { formatDateTime } from "@/lib/utils";

import { type Connection, connectionKeys, connectionQuery, connectionTypesQuery, useCanWrite } from "./api";
import { ConnectionForm, fieldLabel } from "./connection-form";
import { endpointSummary } from "./connections-list";
import { BackLink } from "./new-connection";
import { formFields } from "./schema";
import { TestResultView } from "./test-result";

const t = connectionsMessages;

function DeleteButton({ workspace, name, usedBy }: { workspace: string; name: string; usedBy: string[] }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [open, setOpen] = React.useState(false);
  const remove = useMutation({
    mutationFn: () =>
      call(api.DELETE("/api/v1/workspaces/{workspace}/connections/{name}", { params: { path: { workspace, name } } })),
    onSuccess: async () => {
      toast.success(t.deleted(name));
      setOpen(false);
      queryClient.removeQueries({ queryKey: connectionKeys.one(workspace, name) });
      await queryClient.invalidateQueries({ queryKey: connectionKeys.all(workspace) });
      await navigate({ to: "/workspaces/$workspace/connections", params: { workspace } });
    },
  });
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) remove.reset();
      }}
    >
      <Button variant="outline" onClick={() => setOpen(true)}>
        <Trash2Icon aria-hidden />
        {t.delete}
      </Button>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>{t.deleteTitle(name)}</DialogTitle>
          <DialogDescription>{t.deleteBody}</DialogDescription>
        </DialogHeader>
        {usedBy.length > 0 ? (
          <Alert className="border-warning/40 bg-warning/5" data-testid="delete-used-by">
            {t.deleteUsed(usedBy.join(", "))}
          </Alert>
        ) : null}
        {remove.isError ? (
          <Alert variant="destructive" data-testid="delete-error">
            {describeError(remove.error)}
          </Alert>
        ) : null}
        <DialogFooter>
          <DialogClose asChild>
            <Button variant="outline">{m.common.cancel}</Button>
          </DialogClose>
          <Button variant="destructive" onClick={() => remove.mutate()} disabled={remove.isPending}>
            {remove.isPending ? t.deleting : t.deleteConfirm}
          </Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}

function ReadOnlySettings({ connection }: { connection: Connection }) {
  const types = useQuery(connectionTypesQuery);
  const info = types.data?.find((item) => item.type === connection.type);
  const fields = info ? formFields(info) : [];
  const config = connection.config;
  const show = (value: unknown): string => {
    if (value === null || value === undefined || value === "") return "—";
    if (typeof value === "boolean") return value ? m.common.yes : m.common.no;
    if (typeof value === "object") {
      const entries = Object.entries(value as Record<string, unknown>);
      return entries.length ? entries.map(([k, v]) => `${k}=${String(v)}`).join("\n") : "—";
    }
    return String(value);
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>{t.settings}</CardTitle>
      </CardHeader>
      <CardContent>
        <dl className="grid grid-cols-[minmax(10rem,auto)_1fr] gap-x-6 gap-y-2 text-sm">
          {fields.map((field) => (
            <React.Fragment key={field.name}>
              <dt className="text-muted-foreground">{fieldLabel(field)}</dt>
              <dd className="min-w-0 whitespace-pre-wrap break-words font-mono text-xs leading-5" data-testid={`value-${field.name}`}>
                {field.kind === "secret" ? (
                  connection.secrets_set.includes(field.name) ? (
                    <Badge variant="success">
                      <KeyRoundIcon className="size-3.5" aria-hidden />
                      {t.secretSet}
                    </Badge>
                  ) : (
                    <span className="font-sans text-muted-foreground">{t.secretNotSet}</span>
                  )
                ) : (
                  show(config[field.name])
                )}
              </dd>
            </React.Fragment>
          ))}
        </dl>
      </CardContent>
    </Card>
  );
}

export function ConnectionPage({ workspace, name }: { workspace: string; name: string }) {
  const queryClient = useQueryClient();
  const canWrite = useCanWrite(workspace);
  const query = useQuery(connectionQuery(workspace, name));
  const types = useQuery(connectionTypesQuery);
  const test = useMutation({
    mutationFn: () =>
      call(api.POST("/api/v1/workspaces/{workspace}/connections/{name}/test", { params: { path: { workspace, name } } })),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: connectionKeys.all(workspace) });
    },
  });

  if (query.isPending) {
    return (
      <>
        <BackLink workspace={workspace} />
        <PageHeader title={name} />
        <LoadingRows rows={6} />
      </>
    );
  }
  if (query.isError) {
    const missing = query.error instanceof ApiError && query.error.status === 404;
    return (
      <>
        <BackLink workspace={workspace} />
        <PageHeader title={name} />
        {missing ? (
          <EmptyState title={t.notFound(name)} />
        ) : (
          <ErrorState error={query.error} onRetry={() => void query.refetch()} />
        )}
      </>
    );
  }
  const connection = query.data;
  const info = types.data?.find((item) => item.type === connection.type);
  const result = test.data ?? connection.last_test ?? null;
  const usedBy = (connection.used_by ?? []).map((use) => use.name);
  return (
    <>
      <BackLink workspace={workspace} />
      <PageHeader
        title={connection.name}
        description={
          <span className="flex flex-wrap items-center gap-2">
            <Badge variant="secondary">{t.types[connection.type] ?? connection.type}</Badge>
            <span className="font-mono text-xs">{endpointSummary(connection)}</span>
            {connection.description ? <span>· {connection.description}</span> : null}
            {usedBy.length > 0 ? <span data-testid="used-by">· {t.usedByJobs(usedBy.join(", "))}</span> : null}
          </span>
        }
        actions={
          canWrite ? (
            <>
              <Button onClick={() => test.mutate()} disabled={test.isPending}>
                <PlugZapIcon aria-hidden />
                {test.isPending ? t.testing : t.testSaved}
              </Button>
              <DeleteButton workspace={workspace} name={connection.name} usedBy={usedBy} />
            </>
          ) : null
        }
      />
      <div className="grid gap-6">
        <Card>
          <CardHeader>
            <CardTitle>{test.data ? t.testTitle : t.lastTestTitle}</CardTitle>
          </CardHeader>
          <CardContent>
            {test.isError ? (
              <Alert variant="destructive" className="mb-3" data-testid="test-error">
                {describeError(test.error)}
              </Alert>
            ) : null}
            {result ? (
              <TestResultView result={result} title={test.data ? t.testTitle : t.lastTestTitle} />
            ) : (
              <p className="text-sm text-muted-foreground">{t.neverTested}</p>
            )}
          </CardContent>
        </Card>
        {canWrite ? (
          info ? (
            <ConnectionForm workspace={workspace} info={info} connection={connection} />
          ) : types.isError ? (
            <ErrorState error={types.error} onRetry={() => void types.refetch()} />
          ) : (
            <LoadingRows rows={6} />
          )
        ) : (
          <ReadOnlySettings connection={connection} />
        )}
        <p className="text-xs text-muted-foreground">
          {t.createdAt} {formatDateTime(connection.created_at)} · {t.updatedAt} {formatDateTime(connection.updated_at)}
        </p>
      </div>
    </>
  );
}
