/** The schedule editor: cron (with presets) and IANA time zone, the schedule in words, and the next
 * five fire times in that zone as the server's scheduler works them out (GET /schedule-preview). */
import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import { api, call, describeError } from "@/api/client";
import { Button } from "@/components/ui/button";
import { Field, Input, NativeSelect } from "@/components/ui/input";
import { jobsMessages } from "@/lib/messages/jobs";

import { cronInWords } from "./api";

const t = jobsMessages;

export const schedulePreviewQuery = (cron: string, timezone: string) =>
  queryOptions({
    queryKey: ["schedule-preview", cron, timezone],
    queryFn: () => call(api.GET("/api/v1/schedule-preview", { params: { query: { cron, timezone, count: 5 } } })),
    staleTime: 30_000,
    retry: false,
  });

/** Every IANA zone the browser knows (for the zone field's suggestions). */
function zones(): string[] {
  const supported = (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf;
  try {
    return supported ? supported("timeZone") : [];
  } catch {
    return [];
  }
}

/** "Tue 8 Dec 2026, 00:14" in the zone, and the ISO offset ("+03:00") it was given in. */
export function formatFireTime(iso: string, zone: string): { text: string; offset: string } {
  const offset = /([+-]\d{2}:\d{2}|Z)$/.exec(iso)?.[1] ?? "";
  let text: string;
  try {
    text = new Intl.DateTimeFormat(undefined, {
      timeZone: zone,
      weekday: "short",
      day: "numeric",
      month: "short",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    }).format(new Date(iso));
  } catch {
    text = iso;
  }
  return { text, offset: offset === "Z" ? "+00:00" : offset };
}

function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

export type ScheduleValue = { cron: string; timezone: string; catchUp: "skip" | "backfill" };

export function ScheduleEditor({
  value,
  onChange,
  errors,
}: {
  value: ScheduleValue;
  onChange: (value: ScheduleValue) => void;
  errors: Record<string, string>;
}) {
  const cron = useDebounced(value.cron.trim(), 300);
  const timezone = useDebounced(value.timezone.trim(), 300);
  const preview = useQuery({
    ...schedulePreviewQuery(cron, timezone),
    enabled: cron !== "" && timezone !== "",
    placeholderData: keepPreviousData,
  });
  const [zoneList] = useState(zones);
  const fresh = preview.data && preview.data.cron === value.cron.trim() && preview.data.timezone === value.timezone.trim();
  return (
    <div className="grid gap-4" data-testid="schedule-editor">
      <div className="grid items-start gap-4 sm:grid-cols-2">
        <Field label={t.cronLabel} htmlFor="job-cron" error={errors["schedule.cron"] ?? errors.schedule}>
          <Input
            id="job-cron"
            className="font-mono"
            value={value.cron}
            aria-invalid={Boolean(errors["schedule.cron"])}
            onChange={(event) => onChange({ ...value, cron: event.target.value })}
          />
        </Field>
        <Field label={t.timezoneLabel} htmlFor="job-timezone" error={errors["schedule.timezone"]}>
          <Input
            id="job-timezone"
            list="job-timezones"
            value={value.timezone}
            autoComplete="off"
            aria-invalid={Boolean(errors["schedule.timezone"])}
            onChange={(event) => onChange({ ...value, timezone: event.target.value })}
          />
          <datalist id="job-timezones">
            {zoneList.map((zone) => (
              <option key={zone} value={zone} />
            ))}
          </datalist>
        </Field>
      </div>
      <div className="flex flex-wrap items-center gap-2" role="group" aria-label={t.presets}>
        <span className="text-xs text-muted-foreground">{t.presets}</span>
        {Object.entries(t.presetNames).map(([preset, label]) => (
          <Button
            key={preset}
            type="button"
            size="sm"
            variant={value.cron.trim() === preset ? "secondary" : "outline"}
            aria-pressed={value.cron.trim() === preset}
            onClick={() => onChange({ ...value, cron: preset })}
          >
            {label}
          </Button>
        ))}
      </div>
      <div className="rounded-md border bg-muted/30 p-3" aria-live="polite" data-testid="schedule-preview">
        <p className="text-sm font-medium" data-testid="schedule-words">
          {cronInWords(value.cron)} {t.inZone(value.timezone || "UTC")}
        </p>
        {preview.isError ? (
          <p className="mt-2 text-sm text-destructive" role="alert">
            {describeError(preview.error)}
          </p>
        ) : preview.data ? (
          <div className={fresh ? "" : "opacity-60"}>
            <p className="mt-2 text-xs text-muted-foreground">{t.nextFires(preview.data.timezone)}</p>
            <ol className="mt-1 grid gap-0.5 text-sm tabular-nums" data-testid="fire-times">
              {preview.data.fire_times.map((iso) => {
                const { text, offset } = formatFireTime(iso, preview.data.timezone);
                return (
                  <li key={iso}>
                    <time dateTime={iso}>{text}</time>{" "}
                    <span className="text-xs text-muted-foreground">UTC{offset}</span>
                  </li>
                );
              })}
            </ol>
          </div>
        ) : (
          <p className="mt-2 text-xs text-muted-foreground">{t.previewing}</p>
        )}
      </div>
      <Field label={t.catchUpLabel} htmlFor="job-catch-up">
        <NativeSelect
          id="job-catch-up"
          value={value.catchUp}
          onChange={(event) => onChange({ ...value, catchUp: event.target.value as "skip" | "backfill" })}
        >
          <option value="skip">{t.catchUpModes.skip}</option>
          <option value="backfill">{t.catchUpModes.backfill}</option>
        </NativeSelect>
      </Field>
    </div>
  );
}
