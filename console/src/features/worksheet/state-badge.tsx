import { Badge } from "@/components/ui/badge";
import { worksheetMessages } from "@/lib/messages/worksheet";

const VARIANT: Record<string, "default" | "secondary" | "success" | "warning" | "destructive"> = {
  QUEUED: "secondary",
  RUNNING: "default",
  SUCCEEDED: "success",
  FAILED: "destructive",
  CANCELLED: "warning",
  TIMED_OUT: "destructive",
};

export function StateBadge({ state }: { state: string }) {
  return <Badge variant={VARIANT[state] ?? "secondary"}>{worksheetMessages.state[state] ?? state}</Badge>;
}
