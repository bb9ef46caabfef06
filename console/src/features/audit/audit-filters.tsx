import { useEffect, useState } from "react";

import { Button } from "@/components/ui/button";
import { Input, Label, NativeSelect } from "@/components/ui/input";
import { auditMessages } from "@/lib/messages/audit";

import { type AuditSearch, OUTCOMES, type Outcome, type Range } from "./queries";

/** "2026-12-07T10:00:00Z" as a datetime-local input's value, in the browser's time zone. */
export function toLocalInput(iso: string | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A datetime-local input's value (the browser's time zone) as an ISO instant. */
export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

const RANGE_LABELS: [Range | "", string][] = [
  ["", auditMessages.anyTime],
  ["1h", auditMessages.lastHour],
  ["24h", auditMessages.last24h],
  ["7d", auditMessages.last7d],
  ["30d", auditMessages.last30d],
  ["custom", auditMessages.customRange],
];

export type WorkspaceChoice = { slug: string; name: string };

/** The filter bar. Choices from a list apply at once; typed values apply with Enter or "Apply". */
export function AuditFilters({
  search,
  platform,
  workspaces,
  actions,
  actors,
  onChange,
}: {
  search: AuditSearch;
  platform: boolean;
  workspaces: WorkspaceChoice[];
  actions: string[];
  actors: string[];
  onChange: (patch: Partial<AuditSearch>) => void;
}) {
  const [actor, setActor] = useState(search.actor ?? "");
  const [action, setAction] = useState(search.action ?? "");
  const [since, setSince] = useState(toLocalInput(search.since));
  const [until, setUntil] = useState(toLocalInput(search.until));
  const custom = search.range === "custom";
  // The URL may change elsewhere (back button, a link, "Clear filters"): the fields follow it.
  useEffect(() => setActor(search.actor ?? ""), [search.actor]);
  useEffect(() => setAction(search.action ?? ""), [search.action]);
  useEffect(() => setSince(toLocalInput(search.since)), [search.since]);
  useEffect(() => setUntil(toLocalInput(search.until)), [search.until]);

  function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    onChange({
      actor: actor.trim() || undefined,
      action: action.trim() || undefined,
      ...(custom ? { since: fromLocalInput(since), until: fromLocalInput(until) } : {}),
    });
  }

  // The workspace of the URL may be one the list does not hold (deleted since): still offer it.
  const choices =
    search.workspace && !workspaces.some((w) => w.slug === search.workspace)
      ? [...workspaces, { slug: search.workspace, name: search.workspace }]
      : workspaces;

  return (
    <form
      onSubmit={submit}
      aria-label={auditMessages.filters}
      className="mb-4 flex flex-wrap items-end gap-3 rounded-lg border bg-card p-4"
    >
      <div className="grid w-44 gap-1.5">
        <Label htmlFor="audit-workspace">{auditMessages.workspace}</Label>
        <NativeSelect
          id="audit-workspace"
          value={search.workspace ?? ""}
          onChange={(e) => onChange({ workspace: e.target.value || undefined })}
        >
          {platform ? <option value="">{auditMessages.allWorkspaces}</option> : null}
          {choices.map((w) => (
            <option key={w.slug} value={w.slug}>
              {w.name === w.slug ? w.slug : `${w.name} (${w.slug})`}
            </option>
          ))}
        </NativeSelect>
      </div>
      <div className="grid w-36 gap-1.5">
        <Label htmlFor="audit-actor">{auditMessages.actor}</Label>
        <Input
          id="audit-actor"
          value={actor}
          placeholder={auditMessages.actorPlaceholder}
          list="audit-actors"
          autoComplete="off"
          spellCheck={false}
          onChange={(e) => setActor(e.target.value)}
        />
        <datalist id="audit-actors">
          {actors.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
      </div>
      <div className="grid w-44 gap-1.5">
        <Label htmlFor="audit-action">{auditMessages.action}</Label>
        <Input
          id="audit-action"
          value={action}
          placeholder={auditMessages.actionPlaceholder}
          list="audit-actions"
          autoComplete="off"
          spellCheck={false}
          onChange={(e) => setAction(e.target.value)}
        />
        <datalist id="audit-actions">
          {actions.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
      </div>
      <div className="grid w-36 gap-1.5">
        <Label htmlFor="audit-outcome">{auditMessages.outcome}</Label>
        <NativeSelect
          id="audit-outcome"
          value={search.outcome ?? ""}
          onChange={(e) => onChange({ outcome: (e.target.value || undefined) as Outcome | undefined })}
        >
          <option value="">{auditMessages.anyOutcome}</option>
          {OUTCOMES.map((o) => (
            <option key={o} value={o}>
              {auditMessages.outcomes[o]}
            </option>
          ))}
        </NativeSelect>
      </div>
      <div className="grid w-40 gap-1.5">
        <Label htmlFor="audit-range">{auditMessages.time}</Label>
        <NativeSelect
          id="audit-range"
          value={search.range ?? ""}
          onChange={(e) => {
            const range = (e.target.value || undefined) as Range | undefined;
            onChange(range === "custom" ? { range } : { range, since: undefined, until: undefined });
          }}
        >
          {RANGE_LABELS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </NativeSelect>
      </div>
      {custom ? (
        <>
          <div className="grid w-56 gap-1.5">
            <Label htmlFor="audit-since">{auditMessages.from}</Label>
            <Input id="audit-since" type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
          </div>
          <div className="grid w-56 gap-1.5">
            <Label htmlFor="audit-until">{auditMessages.to}</Label>
            <Input id="audit-until" type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} />
          </div>
        </>
      ) : null}
      <Button type="submit">{auditMessages.apply}</Button>
    </form>
  );
}
