import { useQueryClient } from "@tanstack/react-query";
import { createFileRoute, useNavigate } from "@tanstack/react-router";
import { useState } from "react";

import { api, call, describeError } from "@/api/client";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader } from "@/components/ui/card";
import { Field, Input } from "@/components/ui/input";
import { m } from "@/lib/messages";

type LoginSearch = { redirect?: string; expired?: boolean };

/** Only a path on this origin: an open redirect would let a link send a fresh session elsewhere. */
export function safeRedirect(target: string | undefined): string {
  return target && target.startsWith("/") && !target.startsWith("//") && !target.startsWith("/login")
    ? target
    : "/";
}

export const Route = createFileRoute("/login")({
  validateSearch: (search: Record<string, unknown>): LoginSearch => ({
    redirect: typeof search.redirect === "string" ? search.redirect : undefined,
    expired: search.expired === true || search.expired === "true" ? true : undefined,
  }),
  component: SignIn,
});

function SignIn() {
  const { redirect, expired } = Route.useSearch();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    try {
      const session = await call(
        api.POST("/api/v1/auth/login", {
          body: { username: String(form.get("username")), password: String(form.get("password")) },
        }),
      );
      queryClient.setQueryData(["me"], session.user);
      await navigate({ href: safeRedirect(redirect), replace: true });
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setPending(false);
    }
  }

  return (
    <main className="flex min-h-screen items-center justify-center bg-muted/40 p-4">
      <Card className="w-full max-w-sm">
        <CardHeader className="items-center gap-3 text-center">
          <img src="/favicon.svg" alt="" className="size-10" />
          <h1 className="text-lg font-semibold leading-none">{m.signIn.title}</h1>
        </CardHeader>
        <CardContent>
          <form className="grid gap-4" onSubmit={submit} aria-label={m.signIn.title}>
            {expired && !error ? <Alert>{m.signIn.expired}</Alert> : null}
            {error ? (
              <Alert variant="destructive" data-testid="login-error">
                {error}
              </Alert>
            ) : null}
            <Field label={m.signIn.username} htmlFor="username">
              <Input id="username" name="username" autoComplete="username" required autoFocus maxLength={64} />
            </Field>
            <Field label={m.signIn.password} htmlFor="password">
              <Input id="password" name="password" type="password" autoComplete="current-password" required />
            </Field>
            <Button type="submit" disabled={pending}>
              {pending ? m.signIn.submitting : m.signIn.submit}
            </Button>
          </form>
        </CardContent>
      </Card>
    </main>
  );
}
