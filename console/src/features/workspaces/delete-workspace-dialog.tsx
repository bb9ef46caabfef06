import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { AlertTriangleIcon, Trash2Icon } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";

import { api, call, describeError } from "@/api/client";
import { LoadingRows } from "@/components/page";
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
import { Field, Input } from "@/components/ui/input";
import { blockersOf, type DeletionBlocker, deletionBlockersQuery, type Workspace } from "@/features/workspaces/queries";
import { m } from "@/lib/messages";
import { workspacesMessages } from "@/lib/messages/workspaces";

const t = workspacesMessages.remove;

/** Delete a workspace: first what it still owns (the blockers), then typing its slug to confirm;
 * with blockers, the deletion is a purge that deletes them too. */
export function DeleteWorkspaceDialog({ workspace }: { workspace: Workspace }) {
  const [open, setOpen] = useState(false);
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>
        <Button variant="destructive">
          <Trash2Icon aria-hidden /> {t.open}
        </Button>
      </DialogTrigger>
      {open ? <DeleteWorkspace workspace={workspace} /> : null}
    </Dialog>
  );
}

function DeleteWorkspace({ workspace }: { workspace: Workspace }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [typed, setTyped] = useState("");
  const blockers = useQuery(deletionBlockersQuery(workspace.slug));
  const remove = useMutation({
    mutationFn: (purge: boolean) =>
      call(
        api.DELETE("/api/v1/workspaces/{workspace}", {
          params: { path: { workspace: workspace.slug }, query: purge ? { purge: true } : {} },
        }),
      ),
    onSuccess: async () => {
      toast.success(t.deleted(workspace.slug));
      await navigate({ to: "/workspaces" });
      queryClient.removeQueries({ queryKey: ["workspaces", "detail", workspace.slug] });
      void queryClient.invalidateQueries({ queryKey: ["workspaces"] });
    },
  });
  // Something new since the list was read (a table written meanwhile): the refusal names it.
  const refusedWith = blockersOf(remove.error);
  const found: DeletionBlocker[] | undefined = refusedWith ?? blockers.data?.blockers;
  const purge = (found?.length ?? 0) > 0;
  const confirmed = typed === workspace.slug;

  return (
    <DialogContent className="max-w-xl">
      <form
        className="grid gap-4"
        aria-label={t.title(workspace.name)}
        onSubmit={(event) => {
          event.preventDefault();
          if (confirmed && found) remove.mutate(purge);
        }}
      >
        <DialogHeader>
          <DialogTitle>{t.title(workspace.name)}</DialogTitle>
          <DialogDescription>{t.hint}</DialogDescription>
        </DialogHeader>
        {blockers.isPending ? (
          <div className="grid gap-2">
            <p className="text-sm text-muted-foreground">{t.checking}</p>
            <LoadingRows rows={2} />
          </div>
        ) : blockers.isError && !refusedWith ? (
          <Alert variant="destructive">{describeError(blockers.error)}</Alert>
        ) : purge ? (
          <div className="grid gap-2 rounded-md border border-destructive/40 bg-destructive/5 p-3 text-sm">
            <p className="flex items-start gap-2 font-medium text-destructive">
              <AlertTriangleIcon className="mt-0.5 size-4 shrink-0" aria-hidden />
              {t.blockersIntro}
            </p>
            <ul className="grid gap-1.5 ps-6" aria-label={workspacesMessages.remove.blockersIntro}>
              {found?.map((blocker) => (
                <li key={`${blocker.kind}:${blocker.detail}`} data-testid="blocker" className="list-disc">
                  <span className="font-medium">{workspacesMessages.blockerKinds[blocker.kind] ?? blocker.kind}:</span>{" "}
                  {blocker.detail}
                  {blocker.names.length ? (
                    <span className="block break-all font-mono text-xs text-muted-foreground">
                      {blocker.names.join(", ")}
                      {blocker.count !== null && blocker.count > blocker.names.length
                        ? ` ${t.andMore(blocker.count - blocker.names.length)}`
                        : ""}
                    </span>
                  ) : null}
                </li>
              ))}
            </ul>
          </div>
        ) : (
          <p className="text-sm text-muted-foreground">{t.nothing}</p>
        )}
        <Field label={t.confirmLabel(workspace.slug)} htmlFor="ws-delete-confirm">
          <Input
            id="ws-delete-confirm"
            autoComplete="off"
            spellCheck={false}
            className="font-mono"
            value={typed}
            onChange={(event) => setTyped(event.target.value)}
          />
        </Field>
        {remove.error && !refusedWith ? <Alert variant="destructive">{describeError(remove.error)}</Alert> : null}
        <DialogFooter>
          <DialogClose asChild>
            <Button type="button" variant="outline">
              {m.common.cancel}
            </Button>
          </DialogClose>
          <Button type="submit" variant="destructive" disabled={!confirmed || !found || remove.isPending}>
            {remove.isPending ? t.deleting : purge ? t.submitPurge : t.submit}
          </Button>
        </DialogFooter>
      </form>
    </DialogContent>
  );
}
