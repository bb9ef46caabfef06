import { Badge } from "@/components/ui/badge";
import { m } from "@/lib/messages";

const VARIANT: Record<string, "default" | "secondary" | "success" | "warning" | "destructive"> = {
  QUEUED: "secondary",
  RUNNING: "default",
  SUCCEEDED: "success",
  FAILED: "destructive",
  CANCELLED: "warning",
  TIMED_OUT: "destructive",
};

export function StateBadge({ state }: { state: string }) {
  return <Badge variant={VARIANT[state] ?? "secondary"}>{m.worksheet.state[state] ?? state}</Badge>;
}
