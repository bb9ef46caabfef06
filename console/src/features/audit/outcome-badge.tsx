import { CircleCheckIcon, CircleXIcon, ShieldXIcon } from "lucide-react";

import { Badge } from "@/components/ui/badge";
import { auditMessages } from "@/lib/messages/audit";

/** An event's outcome in words and colour, with an icon (never colour alone). */
export function OutcomeBadge({ outcome }: { outcome: string }) {
  const label = auditMessages.outcomes[outcome] ?? outcome;
  if (outcome === "success") {
    return (
      <Badge variant="success">
        <CircleCheckIcon className="size-3.5" aria-hidden /> {label}
      </Badge>
    );
  }
  if (outcome === "denied") {
    return (
      // The theme's warning colour is too light for text on a light background (axe): darker here.
      <Badge variant="warning" className="text-amber-800 dark:text-warning">
        <ShieldXIcon className="size-3.5" aria-hidden /> {label}
      </Badge>
    );
  }
  return (
    <Badge variant="destructive">
      <CircleXIcon className="size-3.5" aria-hidden /> {label}
    </Badge>
  );
}
