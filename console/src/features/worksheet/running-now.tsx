/** Workspace admins: every user's running statements, each with a Cancel button. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";

import { api, call, describeError } from "@/api/client";
import { ErrorState, LoadingRows } from "@/components/page";
import { Button } from "@/components/ui/button";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { worksheetMessages } from "@/lib/messages/worksheet";

import { runningQuery, worksheetKeys } from "./api";
import { formatDuration } from "./sql-text";

const t = worksheetMessages;

export function RunningNow({ workspace }: { workspace: string }) {
  const query = useQuery(runningQuery(workspace));
  const client = useQueryClient();
  const cancel = useMutation({
    mutationFn: (id: string) =>
      call(
        api.POST("/api/v1/workspaces/{workspace}/statements/{statement_id}/cancel", {
          params: { path: { workspace, statement_id: id } },
        }),
      ),
    onSuccess: () => {
      toast.success(t.cancelRequested);
      void client.invalidateQueries({ queryKey: worksheetKeys.running(workspace) });
    },
    onError: (error) => toast.error(describeError(error)),
  });
  const items = query.data?.items ?? [];
  return (
    <section className="mt-6 rounded-lg border bg-card p-4" aria-labelledby="running-now">
      <div className="mb-3 flex items-baseline gap-3">
        <h2 id="running-now" className="text-base font-semibold">
          {t.runningNow}
        </h2>
        <span className="text-sm text-muted-foreground">{t.runningNowDescription}</span>
      </div>
      {query.isPending ? <LoadingRows rows={2} /> : null}
      {query.isError ? <ErrorState error={query.error} onRetry={() => void query.refetch()} /> : null}
      {query.isSuccess && items.length === 0 ? <p className="text-sm text-muted-foreground">{t.nothingRunning}</p> : null}
      {items.length ? (
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>{t.user}</TableHead>
              <TableHead>{t.engine}</TableHead>
              <TableHead>{t.started}</TableHead>
              <TableHead>{t.runningFor}</TableHead>
              <TableHead>{t.sql}</TableHead>
              <TableHead className="text-end">{t.actions}</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {items.map((s) => (
              <TableRow key={s.id} data-statement={s.id}>
                <TableCell>{s.user}</TableCell>
                <TableCell>{s.engine === "trino" && s.connection ? t.trino(s.connection) : s.engine}</TableCell>
                <TableCell>{s.started_at ? new Date(s.started_at).toLocaleTimeString() : ""}</TableCell>
                <TableCell>{s.started_at ? formatDuration(Date.now() - new Date(s.started_at).getTime()) : ""}</TableCell>
                <TableCell className="max-w-96">
                  <code className="block truncate font-mono text-xs" title={s.sql}>
                    {s.sql}
                  </code>
                </TableCell>
                <TableCell className="text-end">
                  <Button
                    variant="outline"
                    size="sm"
                    disabled={s.cancel_requested || (cancel.isPending && cancel.variables === s.id)}
                    aria-label={t.cancelStatement(s.user)}
                    onClick={() => cancel.mutate(s.id)}
                  >
                    {s.cancel_requested ? t.cancelling : t.cancel}
                  </Button>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : null}
    </section>
  );
}
