import { useQuery } from "@tanstack/react-query";
import { CopyIcon, LinkIcon } from "lucide-react";
import type * as React from "react";
import { toast } from "sonner";

import { ErrorState, LoadingRows } from "@/components/page";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { m } from "@/lib/messages";
import { auditMessages } from "@/lib/messages/audit";
import { formatDateTime } from "@/lib/utils";

import { OutcomeBadge } from "./outcome-badge";
import { type AuditEvent, type AuditScope, auditEventQuery } from "./queries";

function CopyButton({ value, what }: { value: string; what: string }) {
  return (
    <Button
      type="button"
      variant="ghost"
      size="icon"
      className="size-7 shrink-0"
      aria-label={auditMessages.copyValue(what)}
      title={auditMessages.copyValue(what)}
      onClick={() => {
        void navigator.clipboard?.writeText(value).then(() => toast.success(m.common.copied));
      }}
    >
      <CopyIcon aria-hidden />
    </Button>
  );
}

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-[10rem_minmax(0,1fr)] items-start gap-3 border-b py-2 last:border-0">
      <dt className="pt-0.5 text-sm text-muted-foreground">{label}</dt>
      <dd className="min-w-0 text-sm">{children}</dd>
    </div>
  );
}

function Mono({ value, what }: { value: string | null | undefined; what?: string }) {
  if (!value) return <span className="text-muted-foreground">—</span>;
  return (
    <span className="flex items-start gap-1">
      <code className="min-w-0 break-all pt-0.5 font-mono text-xs">{value}</code>
      {what ? <CopyButton value={value} what={what} /> : null}
    </span>
  );
}

function EventFields({ event }: { event: AuditEvent }) {
  const f = auditMessages.fields;
  const target = [event.target_type, event.target_id].filter(Boolean).join(" / ");
  const details = Object.keys(event.details).length ? JSON.stringify(event.details, null, 2) : null;
  return (
    <div className="grid min-w-0 gap-5">
      <dl>
        <Row label={f.occurredAt}>{formatDateTime(event.occurred_at)}</Row>
        <Row label={f.occurredAtUtc}>
          <Mono value={event.occurred_at} />
        </Row>
        <Row label={f.actor}>{event.actor ?? <span className="italic text-muted-foreground">{auditMessages.system}</span>}</Row>
        <Row label={f.authMethod}>{event.auth_method ?? "—"}</Row>
        <Row label={f.tokenId}>
          <Mono value={event.token_id} />
        </Row>
        <Row label={f.action}>
          <code className="font-mono text-xs">{event.action}</code>
        </Row>
        <Row label={f.target}>{target || "—"}</Row>
        <Row label={f.workspace}>{event.workspace ?? "—"}</Row>
        <Row label={f.outcome}>
          <OutcomeBadge outcome={event.outcome} />
        </Row>
        <Row label={f.statusCode}>{event.status_code ?? "—"}</Row>
        <Row label={f.clientAddr}>
          <Mono value={event.client_addr} />
        </Row>
        <Row label={f.requestId}>
          <Mono value={event.request_id} what={f.requestId} />
        </Row>
      </dl>
      <section aria-labelledby="audit-event-details">
        <h3 id="audit-event-details" className="mb-2 text-sm font-medium">
          {f.details}
        </h3>
        {details ? (
          <pre
            tabIndex={0}
            aria-label={f.details}
            className="max-h-64 overflow-auto whitespace-pre-wrap break-all rounded-md border bg-muted/50 p-3 font-mono text-xs"
          >
            {details}
          </pre>
        ) : (
          <p className="text-sm text-muted-foreground">{auditMessages.noDetails}</p>
        )}
      </section>
      <section aria-labelledby="audit-event-chain">
        <h3 id="audit-event-chain" className="flex items-center gap-2 text-sm font-medium">
          <LinkIcon className="size-4" aria-hidden /> {auditMessages.chain}
        </h3>
        <p className="mb-1 text-xs text-muted-foreground">{auditMessages.chainHint}</p>
        <dl>
          <Row label={f.seq}>{event.seq}</Row>
          <Row label={f.prevHash}>
            <Mono value={event.prev_hash} what={f.prevHash} />
          </Row>
          <Row label={f.hash}>
            <Mono value={event.hash} what={f.hash} />
          </Row>
        </dl>
      </section>
    </div>
  );
}

/** One event, every field: opened from the list (its row's data) or a deep link (fetched). */
export function EventDialog({
  scope,
  seq,
  known,
  onClose,
}: {
  scope: AuditScope;
  seq: number | undefined;
  known: AuditEvent | undefined;
  onClose: () => void;
}) {
  const query = useQuery({
    ...auditEventQuery(scope, seq ?? 0),
    enabled: seq !== undefined && known === undefined,
  });
  const event = known ?? query.data;
  return (
    <Dialog open={seq !== undefined} onOpenChange={(open) => (open ? null : onClose())}>
      <DialogContent className="max-w-2xl overflow-x-hidden">
        <DialogHeader>
          <DialogTitle>{auditMessages.detailTitle(seq ?? 0)}</DialogTitle>
          <DialogDescription>{auditMessages.detailDescription}</DialogDescription>
        </DialogHeader>
        {event ? (
          <EventFields event={event} />
        ) : query.isError ? (
          <ErrorState error={query.error} onRetry={() => void query.refetch()} />
        ) : (
          <LoadingRows rows={6} />
        )}
      </DialogContent>
    </Dialog>
  );
}
