/** What changed between two versions of a job (the diff API): the changed fields, the definitions
 * side by side, and a line diff of each changed multi-line text (the SQL, a program). */
import { useQuery } from "@tanstack/react-query";

import { api, call } from "@/api/client";
import { ErrorState, LoadingRows } from "@/components/page";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { jobsMessages } from "@/lib/messages/jobs";
import { cn } from "@/lib/utils";

import { multiLineChanges, type Row, type Side, sideBySide, textSideBySide } from "./diff";

const t = jobsMessages;

function Cell({ side, tone }: { side: Side | null; tone: "removed" | "added" }) {
  const changed = side?.changed;
  return (
    <>
      <td className="w-10 select-none border-e px-2 text-end align-top text-muted-foreground">{side?.number ?? ""}</td>
      <td
        className={cn(
          "whitespace-pre-wrap break-all px-2 align-top",
          !side && "bg-muted/50",
          changed && tone === "removed" && "bg-destructive/10 text-destructive",
          changed && tone === "added" && "bg-success/10 text-success",
        )}
        data-changed={changed ? tone : undefined}
      >
        {side ? (
          <>
            {changed ? <span className="sr-only">{tone === "removed" ? "− " : "+ "}</span> : null}
            {side.text || " "}
          </>
        ) : null}
      </td>
    </>
  );
}

export function SideBySide({ rows, from, to, label }: { rows: Row[]; from: number; to: number; label: string }) {
  return (
    <div tabIndex={0} role="region" aria-label={label} className="max-h-[55vh] overflow-auto rounded-md border">
      <table className="w-full table-fixed border-collapse font-mono text-xs leading-relaxed">
        <colgroup>
          <col className="w-10" />
          <col />
          <col className="w-10" />
          <col />
        </colgroup>
        <thead className="sticky top-0 bg-muted text-start font-sans">
          <tr>
            <th colSpan={2} scope="col" className="border-e px-2 py-1 text-start font-medium">
              {t.diffBefore(from)}
            </th>
            <th colSpan={2} scope="col" className="px-2 py-1 text-start font-medium">
              {t.diffAfter(to)}
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) =>
            row.kind === "hunk" ? (
              <tr key={index} className="bg-muted/40 text-primary">
                <td colSpan={4} className="px-2">
                  {row.text}
                </td>
              </tr>
            ) : (
              <tr key={index} className="border-t border-border/40">
                <Cell side={row.left} tone="removed" />
                <Cell side={row.right} tone="added" />
              </tr>
            ),
          )}
        </tbody>
      </table>
    </div>
  );
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
      <DialogContent className="max-w-6xl">
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
        ) : query.data.changes.length === 0 ? (
          <p className="text-sm text-muted-foreground">{t.diffSame}</p>
        ) : (
          <div className="grid gap-4" data-testid="version-diff">
            {multiLineChanges(query.data.changes).map((change) => (
              <section key={change.path} className="grid gap-1">
                <h3 className="font-mono text-xs font-medium">{change.path}</h3>
                <SideBySide
                  rows={textSideBySide(String(change.before ?? ""), String(change.after ?? ""))}
                  from={from}
                  to={to}
                  label={`${change.path}: ${t.diffTitle(from, to)}`}
                />
              </section>
            ))}
            <section className="grid gap-1">
              <h3 className="text-xs font-medium">{t.definition}</h3>
              <SideBySide rows={sideBySide(query.data.unified)} from={from} to={to} label={t.diffTitle(from, to)} />
            </section>
          </div>
        )}
      </DialogContent>
    </Dialog>
  );
}
