/** Save the editor's SQL as a query: a new one, or a new version of the open one when it is yours. */
import { useEffect, useState } from "react";

import { api, ApiError, call, describeError, type Schemas } from "@/api/client";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogClose,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { worksheetMessages } from "@/lib/messages/worksheet";

import type { Engine, SavedQuery } from "./api";
import { inferredParameter, parameterNames } from "./sql-text";

const t = worksheetMessages;

export function SaveQueryDialog({
  open,
  onOpenChange,
  workspace,
  openQuery,
  sql,
  engine,
  values,
  onSaved,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  workspace: string;
  openQuery: SavedQuery | null;
  sql: string;
  engine: Engine;
  values: Record<string, string>;
  onSaved: (query: SavedQuery, updated: boolean) => void;
}) {
  const mine = openQuery?.can_edit ? openQuery : null;
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [shared, setShared] = useState(false);
  const [message, setMessage] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  useEffect(() => {
    if (!open) return;
    setName(mine?.name ?? "");
    setDescription(mine?.description ?? "");
    setShared(mine?.shared ?? false);
    setMessage("");
    setError(null);
  }, [open, mine]);

  const update = !!mine && mine.name === name.trim();
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setSaving(true);
    setError(null);
    const declared = new Map(((openQuery?.parameters ?? []) as Schemas["ParameterSpec"][]).map((p) => [p.name, p]));
    const parameters: Schemas["ParameterSpec"][] = parameterNames(sql).map(
      (n) => declared.get(n) ?? (inferredParameter(n, values[n]) as Schemas["ParameterSpec"]),
    );
    const content = {
      description,
      tags: update ? mine.tags : [],
      sql,
      engine: engine.engine,
      connection: engine.connection,
      parameters,
    };
    try {
      const saved = update
        ? await call(
            api.PUT("/api/v1/workspaces/{workspace}/queries/{query}", {
              params: { path: { workspace, query: mine.name } },
              body: { ...content, message },
            }),
          )
        : await call(
            api.POST("/api/v1/workspaces/{workspace}/queries", {
              params: { path: { workspace } },
              body: { ...content, name: name.trim(), shared },
            }),
          );
      onSaved(saved, update);
      onOpenChange(false);
    } catch (caught) {
      setError(caught);
    } finally {
      setSaving(false);
    }
  }

  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>{t.saveTitle}</DialogTitle>
          <DialogDescription>{t.saveDescription}</DialogDescription>
        </DialogHeader>
        <form className="grid gap-3" onSubmit={(event) => void submit(event)}>
          <div className="grid gap-1 text-sm font-medium">
            <label htmlFor="save-name">{t.name}</label>
            <Input
              id="save-name"
              value={name}
              onChange={(event) => setName(event.target.value)}
              required
              maxLength={100}
              pattern="[a-z][a-z0-9_]{0,99}"
              aria-describedby="save-name-hint"
              aria-invalid={fieldErrors.name ? true : undefined}
              autoFocus
            />
            <span id="save-name-hint" className="text-xs font-normal text-muted-foreground">
              {fieldErrors.name ?? t.nameHint}
            </span>
          </div>
          <label className="grid gap-1 text-sm font-medium">
            {t.queryDescription}
            <Input value={description} onChange={(event) => setDescription(event.target.value)} maxLength={1000} />
          </label>
          {update ? (
            <label className="grid gap-1 text-sm font-medium">
              {t.versionMessage}
              <Input value={message} onChange={(event) => setMessage(event.target.value)} maxLength={1000} />
            </label>
          ) : (
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" checked={shared} onChange={(event) => setShared(event.target.checked)} className="size-4" />
              {t.sharedLabel}
            </label>
          )}
          {error ? (
            <p role="alert" className="text-sm text-destructive">
              {describeError(error)}
            </p>
          ) : null}
          <DialogFooter>
            <DialogClose asChild>
              <Button type="button" variant="outline">
                {t.close}
              </Button>
            </DialogClose>
            <Button type="submit" disabled={saving}>
              {t.saveButton}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
