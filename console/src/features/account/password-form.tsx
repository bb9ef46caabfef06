import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useState } from "react";
import { toast } from "sonner";

import { ApiError, api, call, describeError, type Schemas } from "@/api/client";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Field, Input } from "@/components/ui/input";
import { PASSWORD_MAX, PASSWORD_MIN } from "@/features/account/passwords";
import { providerName } from "@/features/account/profile";
import { accountMessages } from "@/lib/messages/account";

type Errors = Partial<Record<"current" | "next" | "confirm", string>>;

function check(current: string, next: string, confirm: string): Errors {
  const errors: Errors = {};
  if (!current) errors.current = accountMessages.required;
  if (next.length < PASSWORD_MIN) errors.next = accountMessages.tooShort(PASSWORD_MIN);
  else if (next.length > PASSWORD_MAX) errors.next = accountMessages.tooLong(PASSWORD_MAX);
  else if (next === current) errors.next = accountMessages.sameAsCurrent;
  if (!errors.next && confirm !== next) errors.confirm = accountMessages.mismatch;
  return errors;
}

/** Change your own password. The server ends every session of the user on success, this one
 * included (`sadeem.auth.service.set_password`), so the page says so and goes to sign-in. */
export function PasswordCard({ me }: { me: Schemas["UserOut"] }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [errors, setErrors] = useState<Errors>({});
  const change = useMutation({
    mutationFn: (body: { current_password: string; new_password: string }) =>
      call(api.POST("/api/v1/me/password", { body })),
    onSuccess: async () => {
      toast.success(accountMessages.passwordChanged, { duration: 10_000 });
      queryClient.clear();
      await navigate({ to: "/login", search: { redirect: "/account" }, replace: true });
    },
    onError: (error) => {
      if (error instanceof ApiError) {
        const fields = error.fieldErrors;
        if (error.status === 403) return setErrors({ current: describeError(error) });
        if (fields.new_password || fields.current_password) {
          return setErrors({ next: fields.new_password, current: fields.current_password });
        }
      }
    },
  });

  function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const current = String(form.get("current_password") ?? "");
    const next = String(form.get("new_password") ?? "");
    const found = check(current, next, String(form.get("confirm_password") ?? ""));
    setErrors(found);
    change.reset();
    if (Object.keys(found).length === 0) change.mutate({ current_password: current, new_password: next });
  }

  const local = me.identity_provider === "local";
  const fieldError = Object.values(errors).some(Boolean);
  return (
    <Card role="region" id="password" aria-labelledby="password-title" className="scroll-mt-20">
      <CardHeader>
        <CardTitle id="password-title">{accountMessages.password}</CardTitle>
        <CardDescription>
          {local ? accountMessages.passwordDescription : accountMessages.passwordExternal(providerName(me.identity_provider))}
        </CardDescription>
      </CardHeader>
      {local ? (
        <CardContent>
          <form className="grid max-w-md gap-4" onSubmit={submit} noValidate aria-labelledby="password-title">
            {/* For password managers: which account this is. */}
            <input type="text" name="username" autoComplete="username" value={me.username} readOnly hidden />
            {change.isError && !fieldError ? (
              <Alert variant="destructive" data-testid="password-error">
                {describeError(change.error)}
              </Alert>
            ) : null}
            <Field label={accountMessages.currentPassword} htmlFor="current-password" error={errors.current}>
              <Input
                id="current-password"
                name="current_password"
                type="password"
                autoComplete="current-password"
                aria-invalid={errors.current ? true : undefined}
                aria-describedby={errors.current ? "current-password-error" : undefined}
              />
            </Field>
            <Field
              label={accountMessages.newPassword}
              htmlFor="new-password"
              error={errors.next}
              hint={accountMessages.passwordRules(PASSWORD_MIN, PASSWORD_MAX)}
            >
              <Input
                id="new-password"
                name="new_password"
                type="password"
                autoComplete="new-password"
                maxLength={PASSWORD_MAX}
                aria-invalid={errors.next ? true : undefined}
                aria-describedby={errors.next ? "new-password-error" : undefined}
              />
            </Field>
            <Field label={accountMessages.confirmPassword} htmlFor="confirm-password" error={errors.confirm}>
              <Input
                id="confirm-password"
                name="confirm_password"
                type="password"
                autoComplete="new-password"
                maxLength={PASSWORD_MAX}
                aria-invalid={errors.confirm ? true : undefined}
                aria-describedby={errors.confirm ? "confirm-password-error" : undefined}
              />
            </Field>
            <div>
              <Button type="submit" disabled={change.isPending}>
                {change.isPending ? accountMessages.changing : accountMessages.changePassword}
              </Button>
            </div>
          </form>
        </CardContent>
      ) : null}
    </Card>
  );
}
