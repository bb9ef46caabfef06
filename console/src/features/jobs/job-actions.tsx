/** Pause/resume and "Run now" for a job (editors and admins). */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { PauseIcon, PlayIcon } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";

import { api, call, describeError } from "@/api/client";
import { Button } from "@/components/ui/button";
import { jobsMessages } from "@/lib/messages/jobs";

import { definitionOf, type Job, jobKeys } from "./api";
import { RunDialog, useSubmitRun } from "./run-dialog";

const t = jobsMessages;

export function usePauseResume(workspace: string, job: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (pause: boolean) =>
      pause
        ? call(api.POST("/api/v1/workspaces/{workspace}/jobs/{job}/pause", { params: { path: { workspace, job } } }))
        : call(api.POST("/api/v1/workspaces/{workspace}/jobs/{job}/resume", { params: { path: { workspace, job } } })),
    onSuccess: (updated, pause) => {
      toast.success(pause ? t.paused_toast(updated.name) : t.resumed_toast(updated.name));
      void queryClient.invalidateQueries({ queryKey: jobKeys.all(workspace) });
    },
    onError: (error) => toast.error(describeError(error)),
  });
}

export function PauseResumeButton({ workspace, job, size }: { workspace: string; job: Job; size?: "sm" }) {
  const toggle = usePauseResume(workspace, job.name);
  if (!definitionOf(job).schedule) return null;
  return (
    <Button variant="outline" size={size} onClick={() => toggle.mutate(!job.paused)} disabled={toggle.isPending}>
      {job.paused ? <PlayIcon aria-hidden /> : <PauseIcon aria-hidden />}
      {job.paused ? t.resume : t.pause}
    </Button>
  );
}

/** Runs at once when the job takes no parameters; asks for their values otherwise. */
export function RunNowButton({ workspace, job, size }: { workspace: string; job: Job; size?: "sm" }) {
  const [open, setOpen] = useState(false);
  const submit = useSubmitRun(workspace, job.name);
  const hasParameters = (definitionOf(job).parameters ?? []).length > 0;
  return (
    <>
      <Button
        size={size}
        disabled={submit.isPending}
        onClick={() =>
          hasParameters
            ? setOpen(true)
            : submit.mutate({ parameters: {} }, { onError: (error) => toast.error(describeError(error)) })
        }
      >
        <PlayIcon aria-hidden />
        {t.runNow}
      </Button>
      {open ? <RunDialog workspace={workspace} job={job} open={open} onOpenChange={setOpen} /> : null}
    </>
  );
}
