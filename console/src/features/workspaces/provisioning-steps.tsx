import { CheckCircle2Icon, CircleDashedIcon, LoaderCircleIcon, XCircleIcon } from "lucide-react";

import type { Provisioning } from "@/features/workspaces/queries";
import { workspacesMessages } from "@/lib/messages/workspaces";
import { cn } from "@/lib/utils";

/** The steps the server runs for a new workspace, in its order (shown while the request runs). */
const EXPECTED = ["namespace", "storage"];

/** Each provisioning step with its result and the server's message; `running` shows the steps
 * as under way while the request is in flight. */
export function ProvisioningSteps({ report, running }: { report: Provisioning | null; running: boolean }) {
  const steps = report?.steps ?? EXPECTED.map((name) => ({ name, ok: false, detail: "" }));
  return (
    <ol className="grid gap-2" aria-label={workspacesMessages.settings.provisioning} aria-busy={running}>
      {steps.map((step) => {
        const state = running ? "running" : report ? (step.ok ? "ok" : "failed") : "pending";
        return (
          <li
            key={step.name}
            data-testid={`step-${step.name}`}
            data-state={state}
            className={cn(
              "flex items-start gap-3 rounded-md border px-3 py-2.5",
              state === "failed" && "border-destructive/40 bg-destructive/5",
            )}
          >
            <StepIcon state={state} />
            <div className="min-w-0 flex-1">
              <p className="flex items-center justify-between gap-2 text-sm font-medium">
                <span>{workspacesMessages.steps[step.name] ?? step.name}</span>
                <span
                  className={cn(
                    "text-xs font-normal",
                    state === "ok" && "text-success",
                    state === "failed" && "text-destructive",
                    (state === "running" || state === "pending") && "text-muted-foreground",
                  )}
                >
                  {state === "ok"
                    ? workspacesMessages.steps.ok
                    : state === "failed"
                      ? workspacesMessages.steps.failed
                      : workspacesMessages.steps.pending}
                </span>
              </p>
              {step.detail ? (
                <p className="mt-0.5 break-words font-mono text-xs text-muted-foreground">{step.detail}</p>
              ) : null}
            </div>
          </li>
        );
      })}
    </ol>
  );
}

function StepIcon({ state }: { state: string }) {
  const common = "mt-0.5 size-4 shrink-0";
  if (state === "ok") return <CheckCircle2Icon className={cn(common, "text-success")} aria-hidden />;
  if (state === "failed") return <XCircleIcon className={cn(common, "text-destructive")} aria-hidden />;
  if (state === "running")
    return <LoaderCircleIcon className={cn(common, "animate-spin text-muted-foreground")} aria-hidden />;
  return <CircleDashedIcon className={cn(common, "text-muted-foreground")} aria-hidden />;
}
