import { infiniteQueryOptions, useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { AlertTriangleIcon, CheckIcon, CopyIcon, KeyRoundIcon, PlusIcon } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";

import { ApiError, api, call, describeError, type Schemas } from "@/api/client";
import { EmptyState, ErrorState, LoadingRows } from "@/components/page";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import {
  Dialog,
  DialogClose,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { Field, Input, NativeSelect, Textarea } from "@/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { copyText } from "@/features/account/clipboard";
import { m } from "@/lib/messages";
import { accountMessages } from "@/lib/messages/account";
import { formatDateTime, formatRelative } from "@/lib/utils";

type Token = Schemas["TokenOut"];

export const tokensQuery = infiniteQueryOptions({
  queryKey: ["tokens"],
  queryFn: ({ pageParam }) =>
    call(api.GET("/api/v1/me/tokens", { params: { query: { limit: 100, cursor: pageParam } } })),
  initialPageParam: null as string | null,
  getNextPageParam: (page) => page.next_cursor,
});

function tokenStatus(token: Token, now: number): "active" | "expired" | "revoked" {
  if (token.revoked_at) return "revoked";
  return new Date(token.expires_at).getTime() <= now ? "expired" : "active";
}

/** What of a token may be shown after its creation: `sdm_<id>_` (the secret part never). */
function tokenPrefix(token: Token): string {
  return `sdm_${token.id}_…`;
}

function When({ value }: { value: string | null }) {
  if (!value) return <span className="text-muted-foreground">{accountMessages.neverUsed}</span>;
  return (
    <time dateTime={value} title={formatDateTime(value)}>
      {formatRelative(value)}
    </time>
  );
}

export function TokensCard() {
  const tokens = useInfiniteQuery(tokensQuery);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<Token | null>(null);
  const items = tokens.data?.pages.flatMap((page) => page.items) ?? [];
  const now = Date.now();

  const createButton = (
    <Button onClick={() => setCreating(true)}>
      <PlusIcon aria-hidden /> {accountMessages.createToken}
    </Button>
  );

  return (
    <Card role="region" id="tokens" aria-labelledby="tokens-title" className="scroll-mt-20">
      <CardHeader className="flex-row flex-wrap items-start justify-between gap-4">
        <div className="grid max-w-prose gap-1">
          <CardTitle id="tokens-title">{accountMessages.tokens}</CardTitle>
          <CardDescription>{accountMessages.tokensDescription}</CardDescription>
        </div>
        {items.length > 0 ? createButton : null}
      </CardHeader>
      <CardContent className="grid gap-3">
        {tokens.isPending ? (
          <LoadingRows rows={3} />
        ) : tokens.isError ? (
          <ErrorState error={tokens.error} onRetry={() => void tokens.refetch()} />
        ) : items.length === 0 ? (
          <EmptyState title={accountMessages.noTokens} description={accountMessages.noTokensHint} action={createButton} />
        ) : (
          <Table aria-labelledby="tokens-title">
            <TableHeader>
              <TableRow>
                <TableHead>{accountMessages.name}</TableHead>
                <TableHead>{accountMessages.token}</TableHead>
                <TableHead>{accountMessages.created}</TableHead>
                <TableHead>{accountMessages.expires}</TableHead>
                <TableHead>{accountMessages.lastUsed}</TableHead>
                <TableHead>{accountMessages.status}</TableHead>
                <TableHead className="text-end">
                  <span className="sr-only">{accountMessages.actions}</span>
                </TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {items.map((token) => {
                const status = tokenStatus(token, now);
                return (
                  <TableRow key={token.id} data-testid={`token-${token.id}`}>
                    <TableCell className="max-w-64 truncate font-medium" title={token.name}>
                      {token.name}
                    </TableCell>
                    <TableCell className="font-mono text-xs text-muted-foreground">{tokenPrefix(token)}</TableCell>
                    <TableCell>
                      <When value={token.created_at} />
                    </TableCell>
                    <TableCell>
                      {status === "revoked" ? (
                        <span className="text-muted-foreground">—</span>
                      ) : (
                        <When value={token.expires_at} />
                      )}
                    </TableCell>
                    <TableCell>
                      <When value={token.last_used_at} />
                    </TableCell>
                    <TableCell>
                      {status === "active" ? (
                        <Badge variant="success">{accountMessages.statusActive}</Badge>
                      ) : status === "expired" ? (
                        <Badge variant="warning">{accountMessages.statusExpired}</Badge>
                      ) : (
                        <Badge variant="secondary">{accountMessages.statusRevoked}</Badge>
                      )}
                    </TableCell>
                    <TableCell className="text-end">
                      {status === "active" ? (
                        <Button
                          variant="ghost"
                          size="sm"
                          className="text-destructive hover:text-destructive"
                          aria-label={accountMessages.revokeLabel(token.name)}
                          onClick={() => setRevoking(token)}
                        >
                          {accountMessages.revoke}
                        </Button>
                      ) : null}
                    </TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        )}
        {tokens.hasNextPage ? (
          <div>
            <Button variant="outline" size="sm" onClick={() => void tokens.fetchNextPage()} disabled={tokens.isFetchingNextPage}>
              {m.common.loadMore}
            </Button>
          </div>
        ) : null}
        <p className="text-xs text-muted-foreground">{accountMessages.tokensInternal}</p>
      </CardContent>
      <CreateTokenDialog open={creating} onOpenChange={setCreating} />
      <RevokeTokenDialog token={revoking} onClose={() => setRevoking(null)} />
    </Card>
  );
}

const EXPIRY_CHOICES = [7, 30, 90, 365] as const;
const DAY = 86_400_000;

function isoDate(date: Date): string {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${String(date.getDate()).padStart(2, "0")}`;
}

/** Whole days from today (local) to a `YYYY-MM-DD` date; the token lives until that time of day. */
function daysUntil(value: string): number {
  const [year = 0, month = 1, day = 1] = value.split("-").map(Number);
  const target = new Date(year, month - 1, day);
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  return Math.round((target.getTime() - today.getTime()) / DAY);
}

const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "long" });

function CreateTokenDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const queryClient = useQueryClient();
  const [expiry, setExpiry] = useState("90");
  const [date, setDate] = useState("");
  const [nameError, setNameError] = useState<string | undefined>();
  const [dateError, setDateError] = useState<string | undefined>();
  const [secret, setSecret] = useState<Schemas["TokenCreated"] | null>(null);
  const create = useMutation({
    mutationFn: (body: Schemas["TokenCreate"]) => call(api.POST("/api/v1/me/tokens", { body })),
    onSuccess: (created) => {
      setSecret(created);
      void queryClient.invalidateQueries({ queryKey: tokensQuery.queryKey });
    },
    onError: (error) => {
      if (error instanceof ApiError) setNameError(error.fieldErrors.name);
    },
  });

  const days = expiry === "custom" ? (date ? daysUntil(date) : null) : Number(expiry);
  const tomorrow = isoDate(new Date(Date.now() + DAY));

  function close(next: boolean) {
    if (next) return onOpenChange(true);
    // The secret leaves memory with the dialog: it is never shown again.
    setSecret(null);
    setExpiry("90");
    setDate("");
    setNameError(undefined);
    setDateError(undefined);
    create.reset();
    onOpenChange(false);
  }

  function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const name = String(new FormData(event.currentTarget).get("name") ?? "").trim();
    setNameError(name ? undefined : accountMessages.nameRequired);
    const badDate = days === null || days < 1;
    setDateError(badDate ? accountMessages.expiryPast : undefined);
    if (!name || badDate) return;
    create.mutate({ name, expires_in_days: days });
  }

  return (
    <Dialog open={open} onOpenChange={close}>
      <DialogContent
        className="max-w-xl"
        // Shown once: a stray click outside must not lose it.
        onInteractOutside={secret ? (event) => event.preventDefault() : undefined}
      >
        {secret ? (
          <CreatedToken created={secret} onDone={() => close(false)} />
        ) : (
          <form className="grid gap-4" onSubmit={submit} noValidate>
            <DialogHeader>
              <DialogTitle>{accountMessages.createTitle}</DialogTitle>
              <DialogDescription>{accountMessages.createDescription}</DialogDescription>
            </DialogHeader>
            {create.isError && !nameError ? <Alert variant="destructive">{describeError(create.error)}</Alert> : null}
            <Field label={accountMessages.tokenName} htmlFor="token-name" hint={accountMessages.tokenNameHint} error={nameError}>
              <Input
                id="token-name"
                name="name"
                maxLength={100}
                autoComplete="off"
                required
                aria-invalid={nameError ? true : undefined}
              />
            </Field>
            <Field
              label={accountMessages.expiry}
              htmlFor="token-expiry"
              hint={
                days !== null && days >= 1
                  ? `${accountMessages.expiresOn(dateOnly.format(new Date(Date.now() + days * DAY)))} ${accountMessages.expiryHint}`
                  : accountMessages.expiryHint
              }
            >
              <NativeSelect id="token-expiry" value={expiry} onChange={(event) => setExpiry(event.target.value)}>
                {EXPIRY_CHOICES.map((choice) => (
                  <option key={choice} value={String(choice)}>
                    {accountMessages.expiryDays(choice)}
                  </option>
                ))}
                <option value="custom">{accountMessages.expiryCustom}</option>
              </NativeSelect>
            </Field>
            {expiry === "custom" ? (
              <Field label={accountMessages.expiryDate} htmlFor="token-date" error={dateError}>
                <Input
                  id="token-date"
                  type="date"
                  min={tomorrow}
                  value={date}
                  onChange={(event) => setDate(event.target.value)}
                  aria-invalid={dateError ? true : undefined}
                />
              </Field>
            ) : null}
            <DialogFooter>
              <DialogClose asChild>
                <Button type="button" variant="outline">
                  {m.common.cancel}
                </Button>
              </DialogClose>
              <Button type="submit" disabled={create.isPending}>
                <KeyRoundIcon aria-hidden /> {create.isPending ? accountMessages.creating : accountMessages.createToken}
              </Button>
            </DialogFooter>
          </form>
        )}
      </DialogContent>
    </Dialog>
  );
}

function CreatedToken({ created, onDone }: { created: Schemas["TokenCreated"]; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    if (await copyText(created.token)) {
      setCopied(true);
    } else {
      toast.error(accountMessages.copyFailed);
    }
  }
  return (
    <div className="grid gap-4">
      <DialogHeader>
        <DialogTitle>{accountMessages.createdTitle}</DialogTitle>
        <DialogDescription>
          {created.name} · {accountMessages.expiresOn(dateOnly.format(new Date(created.expires_at)))}
        </DialogDescription>
      </DialogHeader>
      <Alert className="flex gap-2 border-warning/50 bg-warning/10 text-foreground">
        <AlertTriangleIcon className="mt-0.5 shrink-0 text-warning" aria-hidden />
        <span>{accountMessages.createdWarning}</span>
      </Alert>
      <Field label={accountMessages.tokenValue} htmlFor="new-token" hint={accountMessages.createdUse}>
        <div className="flex items-start gap-2">
          <Textarea
            id="new-token"
            readOnly
            rows={2}
            value={created.token}
            spellCheck={false}
            className="min-h-0 resize-none break-all font-mono text-xs"
            onFocus={(event) => event.currentTarget.select()}
            data-testid="new-token"
          />
          <Button type="button" variant="outline" onClick={() => void copy()}>
            {copied ? <CheckIcon aria-hidden /> : <CopyIcon aria-hidden />}
            {copied ? m.common.copied : accountMessages.copyToken}
          </Button>
        </div>
      </Field>
      <DialogFooter>
        <Button type="button" onClick={onDone}>
          {accountMessages.done}
        </Button>
      </DialogFooter>
    </div>
  );
}

function RevokeTokenDialog({ token, onClose }: { token: Token | null; onClose: () => void }) {
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: (target: Token) =>
      call(api.DELETE("/api/v1/me/tokens/{token_id}", { params: { path: { token_id: target.id } } })),
    onSuccess: (_, target) => {
      toast.success(accountMessages.revoked(target.name));
      void queryClient.invalidateQueries({ queryKey: tokensQuery.queryKey });
      onClose();
    },
  });
  return (
    <Dialog
      open={token !== null}
      onOpenChange={(open) => {
        if (!open) {
          revoke.reset();
          onClose();
        }
      }}
    >
      <DialogContent role="alertdialog">
        <DialogHeader>
          <DialogTitle>{token ? accountMessages.revokeTitle(token.name) : null}</DialogTitle>
          <DialogDescription>{accountMessages.revokeDescription}</DialogDescription>
        </DialogHeader>
        {revoke.isError ? <Alert variant="destructive">{describeError(revoke.error)}</Alert> : null}
        <DialogFooter>
          <DialogClose asChild>
            <Button variant="outline">{m.common.cancel}</Button>
          </DialogClose>
          <Button
            variant="destructive"
            disabled={revoke.isPending || token === null}
            onClick={() => token && revoke.mutate(token)}
          >
            {revoke.isPending ? accountMessages.revoking : accountMessages.revokeConfirm}
          </Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}
