import { Link } from "@tanstack/react-router";
import { Fragment } from "react";

import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { auditMessages } from "@/lib/messages/audit";
import { formatDateTime } from "@/lib/utils";

import { OutcomeBadge } from "./outcome-badge";
import type { AuditEvent, AuditSearch } from "./queries";

const sameYear = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const otherYear = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

/** A list's timestamp, short: the year only when it is not this one. */
function shortTime(value: string): string {
  const date = new Date(value);
  return (date.getFullYear() === new Date().getFullYear() ? sameYear : otherYear).format(date);
}

/** "bootstrap.create_demo_jobs", allowed to wrap after its dots only. */
function breakable(action: string) {
  return action.split(".").map((part, i, parts) => (
    <Fragment key={i}>
      {part}
      {i < parts.length - 1 ? (
        <>
          .<wbr />
        </>
      ) : null}
    </Fragment>
  ));
}

/** The events, one row each; a row (or its number, a real link) opens the event's detail. */
export function EventsTable({
  events,
  search,
  showWorkspace,
  onOpen,
}: {
  events: AuditEvent[];
  search: AuditSearch;
  showWorkspace: boolean;
  onOpen: (seq: number) => void;
}) {
  const c = auditMessages.columns;
  return (
    <Table>
      <TableHeader>
        <TableRow className="hover:bg-transparent">
          <TableHead className="w-12">{c.seq}</TableHead>
          <TableHead>{c.time}</TableHead>
          <TableHead>{c.actor}</TableHead>
          <TableHead>{c.action}</TableHead>
          <TableHead>{c.target}</TableHead>
          {showWorkspace ? <TableHead>{c.workspace}</TableHead> : null}
          <TableHead className="w-32">{c.outcome}</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {events.map((event) => {
          const target = [event.target_type, event.target_id].filter(Boolean).join(" / ");
          return (
            <TableRow
              key={event.seq}
              className="cursor-pointer"
              data-testid="audit-row"
              onClick={(e) => {
                if ((e.target as HTMLElement).closest("a")) return;
                onOpen(event.seq);
              }}
            >
              <TableCell className="tabular-nums">
                <Link
                  to="/audit"
                  search={{ ...search, event: event.seq }}
                  aria-label={auditMessages.viewEvent(event.seq)}
                  className="font-medium text-primary underline-offset-4 hover:underline"
                >
                  {event.seq}
                </Link>
              </TableCell>
              <TableCell className="whitespace-nowrap">
                <time dateTime={event.occurred_at} title={formatDateTime(event.occurred_at)}>
                  {shortTime(event.occurred_at)}
                </time>
              </TableCell>
              <TableCell className="whitespace-nowrap">
                {event.actor ? (
                  <span className="inline-block max-w-36 truncate align-bottom font-medium" title={event.actor}>
                    {event.actor}
                  </span>
                ) : (
                  <span className="italic text-muted-foreground">{auditMessages.system}</span>
                )}
                {event.auth_method ? (
                  <span className="ms-1.5 text-xs text-muted-foreground">{event.auth_method}</span>
                ) : null}
              </TableCell>
              <TableCell>
                <code className="font-mono text-xs">{breakable(event.action)}</code>
              </TableCell>
              <TableCell className="text-muted-foreground">
                <span className="inline-block max-w-40 truncate align-bottom" title={target}>
                  {target || "—"}
                </span>
              </TableCell>
              {showWorkspace ? <TableCell>{event.workspace ?? "—"}</TableCell> : null}
              <TableCell className="whitespace-nowrap">
                <OutcomeBadge outcome={event.outcome} />
                {event.status_code && event.outcome !== "success" ? (
                  <span className="ms-1.5 text-xs tabular-nums text-muted-foreground">{event.status_code}</span>
                ) : null}
              </TableCell>
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}
