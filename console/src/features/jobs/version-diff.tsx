/** What changed from one version of a job to the next: the changed fields and a unified diff. */
import { useQuery } from "@tanstack/react-query";

import { api, call } from "@/api/client";
import { ErrorState, LoadingRows } from "@/components/page";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { jobsMessages } from "@/lib/messages/jobs";

const t = jobsMessages;

function lineClass(line: string): string {
  if (line.startsWith("+++") || line.startsWith("---")) return "text-muted-foreground";
  if (line.startsWith("+")) return "bg-success/10 text-success";
  if (line.startsWith("-")) return "bg-destructive/10 text-destructive";
  if (line.startsWith("@@")) return "text-primary";
  return "";
}

export function VersionDiffDialog({
  workspace,
  job,
  from,
  to,
  onClose,
}: {
  workspace: string;
  job: string;
  from: number;
  to: number;
  onClose: () => void;
}) {
  const query = useQuery({
    queryKey: ["workspaces", workspace, "jobs", "one", job, "diff", from, to],
    queryFn: () =>
      call(
        api.GET("/api/v1/workspaces/{workspace}/jobs/{job}/versions/{version}/diff/{other}", {
          params: { path: { workspace, job, version: from, other: to } },
        }),
      ),
    staleTime: Infinity,
  });
  return (
    <Dialog open onOpenChange={(open) => !open && onClose()}>
      <DialogContent className="max-w-3xl">
        <DialogHeader>
          <DialogTitle>{t.diffTitle(from, to)}</DialogTitle>
          <DialogDescription>
            {query.data ? t.diffFields(query.data.changes.map((change) => change.path)) : t.diffDescription}
          </DialogDescription>
        </DialogHeader>
        {query.isPending ? (
          <LoadingRows rows={3} />
        ) : query.isError ? (
          <ErrorState error={query.error} onRetry={() => void query.refetch()} />
        ) : (
          <pre
            tabIndex={0}
            aria-label={t.diffTitle(from, to)}
            data-testid="version-diff"
            className="max-h-[60vh] overflow-auto rounded-md border bg-muted/40 p-3 font-mono text-xs leading-relaxed"
          >
            {query.data.unified.split("\n").map((line, index) => (
              <span key={index} className={`block whitespace-pre-wrap break-words ${lineClass(line)}`}>
                {line || " "}
              </span>
            ))}
          </pre>
        )}
      </DialogContent>
    </Dialog>
  );
}
