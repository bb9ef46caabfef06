import { Badge } from "@/components/ui/badge";
import { runsMessages } from "@/lib/messages/runs";

import type { RunState } from "./api";

const VARIANT: Record<RunState, "default" | "secondary" | "success" | "warning" | "destructive" | "outline"> = {
  QUEUED: "secondary",
  RUNNING: "default",
  CANCELLING: "warning",
  WAITING_FOR_RETRY: "warning",
  SUCCEEDED: "success",
  FAILED: "destructive",
  CANCELLED: "outline",
  TIMED_OUT: "destructive",
};

/** A run's state in colour and words; `data-state` keeps the API's name for tests and scripts. */
export function RunStateBadge({ state }: { state: RunState }) {
  return (
    <Badge variant={VARIANT[state]} data-state={state}>
      {runsMessages.states[state] ?? state}
    </Badge>
  );
}
