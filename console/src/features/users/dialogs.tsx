/** The writes of the Users page, each in its own dialog: create, role, password, disable/enable. */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useState } from "react";
import { toast } from "sonner";

import { ApiError, api, call, describeError, type Schemas } from "@/api/client";
import { meQuery } from "@/api/queries";
import { Alert } from "@/components/ui/alert";
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
import { Field, Input, NativeSelect } from "@/components/ui/input";
import { PASSWORD_MAX, PASSWORD_MIN } from "@/features/account/passwords";
import { NewPasswordInput } from "@/features/users/password-input";
import { m } from "@/lib/messages";
import { usersMessages } from "@/lib/messages/users";
import { accountMessages } from "@/lib/messages/account";

type User = Schemas["UserOut"];
type Role = Schemas["PlatformRole"];
type FieldErrors = Record<string, string | undefined>;

const USERNAME = /^[a-z0-9][a-z0-9._-]*$/;
// The server's rule (sadeem.auth.schemas.Email): something, '@', something, no spaces.
const EMAIL = /^[^@\s]+@[^@\s]+$/;

function passwordError(password: string): string | undefined {
  if (password.length < PASSWORD_MIN) return accountMessages.tooShort(PASSWORD_MIN);
  if (password.length > PASSWORD_MAX) return accountMessages.tooLong(PASSWORD_MAX);
  return undefined;
}

/** The server's refusal, in its own words, unless it is about a field shown next to that field. */
function Refusal({ error, fields }: { error: unknown; fields?: FieldErrors }) {
  if (!error) return null;
  if (fields && Object.values(fields).some(Boolean)) return null;
  return (
    <Alert variant="destructive" data-testid="refusal">
      {describeError(error)}
    </Alert>
  );
}

function useInvalidateUsers() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: ["users"] });
}

export function CreateUserDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const invalidate = useInvalidateUsers();
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useMutation({
    mutationFn: (body: Schemas["UserCreate"]) => call(api.POST("/api/v1/users", { body })),
    onSuccess: (user) => {
      toast.success(usersMessages.createdToast(user.username));
      void invalidate();
      close();
    },
    onError: (error) => {
      // The server's field messages name regular expressions; say the same in words.
      if (error instanceof ApiError) {
        const fields = error.fieldErrors;
        setErrors({
          username: fields.username && usersMessages.usernameHint,
          display_name: fields.display_name,
          email: fields.email && usersMessages.emailInvalid,
          password: fields.password && usersMessages.passwordHint(PASSWORD_MIN, PASSWORD_MAX),
        });
      }
    },
  });

  function close() {
    setErrors({});
    create.reset();
    onOpenChange(false);
  }

  function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const username = String(form.get("username") ?? "").trim();
    const password = String(form.get("password") ?? "");
    const email = String(form.get("email") ?? "").trim();
    const found: FieldErrors = {
      username: username.length >= 2 && username.length <= 64 && USERNAME.test(username) ? undefined : usersMessages.usernameHint,
      email: email && !EMAIL.test(email) ? usersMessages.emailInvalid : undefined,
      password: passwordError(password),
    };
    setErrors(found);
    create.reset();
    if (Object.values(found).some(Boolean)) return;
    create.mutate({
      username,
      password,
      role: String(form.get("role")) as Role,
      display_name: String(form.get("display_name") ?? "").trim(),
      email: email || null,
    });
  }

  return (
    <Dialog open={open} onOpenChange={(next) => (next ? onOpenChange(true) : close())}>
      <DialogContent>
        <form className="grid gap-4" onSubmit={submit} noValidate>
          <DialogHeader>
            <DialogTitle>{usersMessages.createTitle}</DialogTitle>
            <DialogDescription>{usersMessages.createDescription}</DialogDescription>
          </DialogHeader>
          <Refusal error={create.error} fields={errors} />
          <Field label={usersMessages.username} htmlFor="new-username" hint={usersMessages.usernameHint} error={errors.username}>
            <Input
              id="new-username"
              name="username"
              autoComplete="off"
              maxLength={64}
              className="font-mono"
              aria-invalid={errors.username ? true : undefined}
            />
          </Field>
          <div className="grid items-start gap-4 sm:grid-cols-2">
            <Field label={usersMessages.displayName} htmlFor="new-display-name" hint={usersMessages.displayNameHint} error={errors.display_name}>
              <Input
                id="new-display-name"
                name="display_name"
                autoComplete="off"
                maxLength={200}
                aria-invalid={errors.display_name ? true : undefined}
              />
            </Field>
            <Field label={usersMessages.email} htmlFor="new-email" hint={usersMessages.emailHint} error={errors.email}>
              <Input
                id="new-email"
                name="email"
                type="email"
                autoComplete="off"
                maxLength={254}
                aria-invalid={errors.email ? true : undefined}
              />
            </Field>
          </div>
          <RoleField id="new-role" defaultValue="user" />
          <Field
            label={usersMessages.initialPassword}
            htmlFor="new-password"
            hint={usersMessages.passwordHint(PASSWORD_MIN, PASSWORD_MAX)}
            error={errors.password}
          >
            <NewPasswordInput id="new-password" name="password" invalid={Boolean(errors.password)} />
          </Field>
          <DialogFooter>
            <DialogClose asChild>
              <Button type="button" variant="outline">
                {m.common.cancel}
              </Button>
            </DialogClose>
            <Button type="submit" disabled={create.isPending}>
              {create.isPending ? usersMessages.creating : usersMessages.create}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}

export function DetailsDialog({ user, onClose }: { user: User | null; onClose: () => void }) {
  const invalidate = useInvalidateUsers();
  const queryClient = useQueryClient();
  const [errors, setErrors] = useState<FieldErrors>({});
  const save = useMutation({
    mutationFn: ({ target, body }: { target: User; body: Schemas["UserUpdate"] }) =>
      call(api.PATCH("/api/v1/users/{username}", { params: { path: { username: target.username } }, body })),
    onSuccess: (updated) => {
      toast.success(usersMessages.detailsSaved(updated.username));
      void invalidate();
      // One's own display name shows in the shell.
      void queryClient.invalidateQueries({ queryKey: meQuery.queryKey });
      close();
    },
    onError: (error) => {
      if (error instanceof ApiError) {
        const fields = error.fieldErrors;
        setErrors({ display_name: fields.display_name, email: fields.email && usersMessages.emailInvalid });
      }
    },
  });
  function close() {
    setErrors({});
    save.reset();
    onClose();
  }
  return (
    <Dialog open={user !== null} onOpenChange={(open) => (open ? undefined : close())}>
      <DialogContent>
        {user ? (
          <form
            className="grid gap-4"
            noValidate
            onSubmit={(event) => {
              event.preventDefault();
              const form = new FormData(event.currentTarget);
              const email = String(form.get("email") ?? "").trim();
              const found = { email: email && !EMAIL.test(email) ? usersMessages.emailInvalid : undefined };
              setErrors(found);
              save.reset();
              if (found.email) return;
              save.mutate({
                target: user,
                body: { display_name: String(form.get("display_name") ?? "").trim(), email: email || null },
              });
            }}
          >
            <DialogHeader>
              <DialogTitle>{usersMessages.detailsTitle(user.username)}</DialogTitle>
              <DialogDescription>{usersMessages.detailsDescription}</DialogDescription>
            </DialogHeader>
            <Refusal error={save.error} fields={errors} />
            <Field label={usersMessages.displayName} htmlFor="edit-display-name" error={errors.display_name}>
              <Input
                id="edit-display-name"
                name="display_name"
                autoComplete="off"
                maxLength={200}
                defaultValue={user.display_name}
                aria-invalid={errors.display_name ? true : undefined}
              />
            </Field>
            <Field label={usersMessages.email} htmlFor="edit-email" hint={usersMessages.emailClearHint} error={errors.email}>
              <Input
                id="edit-email"
                name="email"
                type="email"
                autoComplete="off"
                maxLength={254}
                defaultValue={user.email ?? ""}
                aria-invalid={errors.email ? true : undefined}
              />
            </Field>
            <DialogFooter>
              <DialogClose asChild>
                <Button type="button" variant="outline">
                  {m.common.cancel}
                </Button>
              </DialogClose>
              <Button type="submit" disabled={save.isPending}>
                {save.isPending ? usersMessages.saving : m.common.save}
              </Button>
            </DialogFooter>
          </form>
        ) : null}
      </DialogContent>
    </Dialog>
  );
}

function RoleField({ id, defaultValue }: { id: string; defaultValue: Role }) {
  const [role, setRole] = useState<Role>(defaultValue);
  return (
    <Field label={usersMessages.role} htmlFor={id} hint={usersMessages.roleHints[role]}>
      <NativeSelect id={id} name="role" value={role} onChange={(event) => setRole(event.target.value as Role)}>
        <option value="user">{usersMessages.roles.user}</option>
        <option value="admin">{usersMessages.roles.admin}</option>
      </NativeSelect>
    </Field>
  );
}

/** After changing one's own platform role or password: the shell and this page follow. */
function useAfterSelfChange() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  return {
    roleChanged: () => queryClient.invalidateQueries({ queryKey: meQuery.queryKey }),
    signedOut: async () => {
      queryClient.clear();
      await navigate({ to: "/login", search: { redirect: "/users" }, replace: true });
    },
  };
}

export function RoleDialog({ user, me, onClose }: { user: User | null; me: User; onClose: () => void }) {
  const invalidate = useInvalidateUsers();
  const after = useAfterSelfChange();
  const self = user?.username === me.username;
  const save = useMutation({
    mutationFn: ({ target, role }: { target: User; role: Role }) =>
      call(api.PATCH("/api/v1/users/{username}", { params: { path: { username: target.username } }, body: { role } })),
    onSuccess: async (updated) => {
      toast.success(usersMessages.roleSaved(updated.username, updated.role));
      void invalidate();
      if (self) await after.roleChanged();
      onClose();
    },
  });
  return (
    <Dialog
      open={user !== null}
      onOpenChange={(open) => {
        if (!open) {
          save.reset();
          onClose();
        }
      }}
    >
      <DialogContent>
        {user ? (
          <form
            className="grid gap-4"
            onSubmit={(event) => {
              event.preventDefault();
              const role = String(new FormData(event.currentTarget).get("role")) as Role;
              save.mutate({ target: user, role });
            }}
          >
            <DialogHeader>
              <DialogTitle>{usersMessages.roleTitle(user.username)}</DialogTitle>
              <DialogDescription>{usersMessages.roleDescription}</DialogDescription>
            </DialogHeader>
            <Refusal error={save.error} />
            <RoleField id="edit-role" defaultValue={user.role} />
            {self && user.role === "admin" ? <Alert>{usersMessages.roleSelfWarning}</Alert> : null}
            <DialogFooter>
              <DialogClose asChild>
                <Button type="button" variant="outline">
                  {m.common.cancel}
                </Button>
              </DialogClose>
              <Button type="submit" disabled={save.isPending}>
                {save.isPending ? usersMessages.saving : m.common.save}
              </Button>
            </DialogFooter>
          </form>
        ) : null}
      </DialogContent>
    </Dialog>
  );
}

export function ResetPasswordDialog({ user, me, onClose }: { user: User | null; me: User; onClose: () => void }) {
  const after = useAfterSelfChange();
  const [error, setError] = useState<string | undefined>();
  const self = user?.username === me.username;
  const reset = useMutation({
    mutationFn: ({ target, password }: { target: User; password: string }) =>
      call(
        api.POST("/api/v1/users/{username}/password", {
          params: { path: { username: target.username } },
          body: { password },
        }),
      ),
    onSuccess: async (_, { target }) => {
      toast.success(usersMessages.resetDone(target.username));
      if (self) return after.signedOut();
      close();
    },
    onError: (failure) => {
      if (failure instanceof ApiError) setError(failure.fieldErrors.password);
    },
  });
  function close() {
    setError(undefined);
    reset.reset();
    onClose();
  }
  return (
    <Dialog open={user !== null} onOpenChange={(open) => (open ? undefined : close())}>
      <DialogContent>
        {user ? (
          <form
            className="grid gap-4"
            noValidate
            onSubmit={(event) => {
              event.preventDefault();
              const password = String(new FormData(event.currentTarget).get("password") ?? "");
              const problem = passwordError(password);
              setError(problem);
              reset.reset();
              if (!problem) reset.mutate({ target: user, password });
            }}
          >
            <DialogHeader>
              <DialogTitle>{usersMessages.resetTitle(user.username)}</DialogTitle>
              <DialogDescription>{usersMessages.resetDescription}</DialogDescription>
            </DialogHeader>
            <Refusal error={reset.error} fields={{ password: error }} />
            {self ? <Alert>{usersMessages.resetSelfWarning}</Alert> : null}
            <Field
              label={usersMessages.newPassword}
              htmlFor="reset-password"
              hint={usersMessages.passwordHint(PASSWORD_MIN, PASSWORD_MAX)}
              error={error}
            >
              <NewPasswordInput id="reset-password" name="password" invalid={Boolean(error)} />
            </Field>
            <DialogFooter>
              <DialogClose asChild>
                <Button type="button" variant="outline">
                  {m.common.cancel}
                </Button>
              </DialogClose>
              <Button type="submit" disabled={reset.isPending}>
                {reset.isPending ? usersMessages.resetting : usersMessages.reset}
              </Button>
            </DialogFooter>
          </form>
        ) : null}
      </DialogContent>
    </Dialog>
  );
}

export function DisableDialog({ user, onClose }: { user: User | null; onClose: () => void }) {
  const invalidate = useInvalidateUsers();
  const toggle = useMutation({
    mutationFn: (target: User) =>
      call(
        api.PATCH("/api/v1/users/{username}", {
          params: { path: { username: target.username } },
          body: { disabled: !target.disabled },
        }),
      ),
    onSuccess: (updated) => {
      toast.success(updated.disabled ? usersMessages.disabledDone(updated.username) : usersMessages.enabledDone(updated.username));
      void invalidate();
      onClose();
    },
  });
  const disabling = user ? !user.disabled : true;
  return (
    <Dialog
      open={user !== null}
      onOpenChange={(open) => {
        if (!open) {
          toggle.reset();
          onClose();
        }
      }}
    >
      <DialogContent role="alertdialog">
        {user ? (
          <>
            <DialogHeader>
              <DialogTitle>{disabling ? usersMessages.disableTitle(user.username) : usersMessages.enableTitle(user.username)}</DialogTitle>
              <DialogDescription>{disabling ? usersMessages.disableDescription : usersMessages.enableDescription}</DialogDescription>
            </DialogHeader>
            <Refusal error={toggle.error} />
            <DialogFooter>
              <DialogClose asChild>
                <Button variant="outline">{m.common.cancel}</Button>
              </DialogClose>
              <Button
                variant={disabling ? "destructive" : "default"}
                disabled={toggle.isPending}
                onClick={() => toggle.mutate(user)}
              >
                {toggle.isPending ? usersMessages.working : disabling ? usersMessages.disableConfirm : usersMessages.enableConfirm}
              </Button>
            </DialogFooter>
          </>
        ) : null}
      </DialogContent>
    </Dialog>
  );
}
