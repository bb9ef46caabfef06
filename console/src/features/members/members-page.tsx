import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { InfoIcon, ShieldAlertIcon, UserMinusIcon, UserPlusIcon } from "lucide-react";
import { useState } from "react";
import { toast } from "sonner";

import { api, ApiError, call, describeError } from "@/api/client";
import { meQuery } from "@/api/queries";
import { EmptyState, ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogClose,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from "@/components/ui/dialog";
import { Field, Input, NativeSelect } from "@/components/ui/input";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { type Member, membersQuery, ROLES, type WorkspaceRole, workspaceQuery } from "@/features/workspaces/queries";
import { roleName } from "@/features/workspaces/status-badge";
import { m } from "@/lib/messages";
import { membersMessages } from "@/lib/messages/members";
import { formatDateTime, formatRelative } from "@/lib/utils";

const t = membersMessages;

export function MembersPage({ slug }: { slug: string }) {
  const queryClient = useQueryClient();
  const workspace = useQuery(workspaceQuery(slug));
  const members = useInfiniteQuery(membersQuery(slug));
  const { data: me } = useQuery(meQuery);
  const [refusal, setRefusal] = useState<string | null>(null);
  const [removing, setRemoving] = useState<Member | null>(null);

  const canWrite = workspace.data?.my_role === "admin";
  const items = members.data?.pages.flatMap((page) => page.items) ?? [];
  const admins = items.filter((member) => member.role === "admin").length;
  // Only when every member is loaded can the page tell who is the last admin.
  const isLastAdmin = (member: Member) => !members.hasNextPage && member.role === "admin" && admins <= 1;

  const refresh = () => queryClient.invalidateQueries({ queryKey: ["workspaces"] });
  const refused = (error: unknown) => {
    setRefusal(describeError(error));
    if (error instanceof ApiError && error.status === 409) void refresh();
  };
  const changeRole = useMutation({
    mutationFn: ({ username, role }: { username: string; role: WorkspaceRole }) =>
      call(
        api.PATCH("/api/v1/workspaces/{workspace}/members/{username}", {
          params: { path: { workspace: slug, username } },
          body: { role },
        }),
      ),
    onMutate: () => setRefusal(null),
    onSuccess: (member) => {
      toast.success(t.roleChanged(member.username, roleName(member.role)));
      void refresh();
    },
    onError: refused,
  });

  return (
    <>
      <PageHeader
        title={t.title}
        documentTitle={`${t.title} · ${workspace.data?.name ?? slug}`}
        description={t.description(workspace.data?.name ?? slug)}
        actions={canWrite ? <AddMemberDialog slug={slug} /> : null}
      />
      <div className="grid gap-4">
        <p className="flex items-start gap-2 text-sm text-muted-foreground">
          <InfoIcon className="mt-0.5 size-4 shrink-0" aria-hidden />
          <span>
            {t.roleHelp}
            {workspace.data && !canWrite ? ` ${t.readOnly}` : ""}
          </span>
        </p>
        {refusal ? (
          <Alert variant="destructive" className="flex items-start gap-2" data-testid="member-refusal">
            <ShieldAlertIcon className="mt-0.5 shrink-0" aria-hidden />
            <span>
              <span className="font-medium">{t.refused}: </span>
              {refusal}
            </span>
          </Alert>
        ) : null}
        {members.isPending || workspace.isPending ? (
          <LoadingRows />
        ) : members.isError || workspace.isError ? (
          <ErrorState
            error={members.error ?? workspace.error}
            onRetry={() => {
              void members.refetch();
              void workspace.refetch();
            }}
          />
        ) : items.length === 0 ? (
          <EmptyState title={t.empty} />
        ) : (
          <>
            <Table>
              <TableHeader>
                <TableRow>
                  <TableHead>{t.columns.user}</TableHead>
                  <TableHead className="w-64">{t.columns.role}</TableHead>
                  <TableHead>{t.columns.added}</TableHead>
                  {canWrite ? (
                    <TableHead className="w-16">
                      <span className="sr-only">{t.columns.actions}</span>
                    </TableHead>
                  ) : null}
                </TableRow>
              </TableHeader>
              <TableBody>
                {items.map((member) => {
                  const last = isLastAdmin(member);
                  const hintId = `last-admin-${member.username}`;
                  return (
                    <TableRow key={member.username} data-testid={`member-${member.username}`}>
                      <TableCell>
                        <span className="font-medium">{member.display_name || member.username}</span>
                        {member.username === me?.username ? (
                          <Badge variant="secondary" className="ms-2">
                            {t.you}
                          </Badge>
                        ) : null}
                        <p className="font-mono text-xs text-muted-foreground">{member.username}</p>
                      </TableCell>
                      <TableCell>
                        {canWrite ? (
                          <div className="grid gap-1">
                            <NativeSelect
                              aria-label={t.roleOf(member.username)}
                              value={member.role}
                              disabled={last || changeRole.isPending}
                              aria-describedby={last ? hintId : undefined}
                              title={last ? t.lastAdmin : undefined}
                              onChange={(event) =>
                                changeRole.mutate({
                                  username: member.username,
                                  role: event.target.value as WorkspaceRole,
                                })
                              }
                            >
                              {ROLES.map((role) => (
                                <option key={role} value={role}>
                                  {roleName(role)}
                                </option>
                              ))}
                            </NativeSelect>
                            {last ? (
                              <p id={hintId} className="text-xs text-muted-foreground">
                                {t.lastAdmin}
                              </p>
                            ) : null}
                          </div>
                        ) : (
                          <Badge variant={member.role === "admin" ? "default" : "secondary"}>
                            {roleName(member.role)}
                          </Badge>
                        )}
                      </TableCell>
                      <TableCell className="text-muted-foreground">
                        <time dateTime={member.created_at} title={formatDateTime(member.created_at)}>
                          {formatRelative(member.created_at)}
                        </time>
                      </TableCell>
                      {canWrite ? (
                        <TableCell className="text-end">
                          <Button
                            variant="ghost"
                            size="icon"
                            aria-label={t.remove.label(member.username)}
                            title={last ? t.lastAdmin : t.remove.label(member.username)}
                            aria-describedby={last ? hintId : undefined}
                            disabled={last}
                            onClick={() => {
                              setRefusal(null);
                              setRemoving(member);
                            }}
                          >
                            <UserMinusIcon aria-hidden />
                          </Button>
                        </TableCell>
                      ) : null}
                    </TableRow>
                  );
                })}
              </TableBody>
            </Table>
            {members.hasNextPage ? (
              <div className="flex justify-center">
                <Button
                  variant="outline"
                  onClick={() => void members.fetchNextPage()}
                  disabled={members.isFetchingNextPage}
                >
                  {members.isFetchingNextPage ? m.common.loading : m.common.loadMore}
                </Button>
              </div>
            ) : null}
          </>
        )}
      </div>
      <RemoveMemberDialog
        slug={slug}
        workspaceName={workspace.data?.name ?? slug}
        member={removing}
        self={removing?.username === me?.username}
        keepsAccess={me?.role === "admin"}
        onClose={() => setRemoving(null)}
        onRefused={refused}
      />
    </>
  );
}

function AddMemberDialog({ slug }: { slug: string }) {
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<WorkspaceRole>("viewer");
  const add = useMutation({
    mutationFn: () =>
      call(
        api.POST("/api/v1/workspaces/{workspace}/members", {
          params: { path: { workspace: slug } },
          body: { username: username.trim(), role },
        }),
      ),
    onSuccess: (member) => {
      toast.success(t.add.added(member.username));
      void queryClient.invalidateQueries({ queryKey: ["workspaces"] });
      setOpen(false);
    },
  });
  const errors = add.error instanceof ApiError ? add.error.fieldErrors : {};
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (next) {
          setUsername("");
          setRole("viewer");
          add.reset();
        }
      }}
    >
      <DialogTrigger asChild>
        <Button>
          <UserPlusIcon aria-hidden /> {t.add.open}
        </Button>
      </DialogTrigger>
      <DialogContent>
        <form
          className="grid gap-4"
          aria-label={t.add.title}
          onSubmit={(event) => {
            event.preventDefault();
            add.mutate();
          }}
        >
          <DialogHeader>
            <DialogTitle>{t.add.title}</DialogTitle>
            <DialogDescription>{t.add.description}</DialogDescription>
          </DialogHeader>
          <Field label={t.add.username} htmlFor="member-username" hint={t.add.usernameHint} error={errors.username}>
            <Input
              id="member-username"
              required
              autoFocus
              autoComplete="off"
              spellCheck={false}
              value={username}
              aria-invalid={errors.username ? true : undefined}
              onChange={(event) => setUsername(event.target.value)}
            />
          </Field>
          <Field label={t.add.role} htmlFor="member-role" error={errors.role}>
            <NativeSelect
              id="member-role"
              value={role}
              onChange={(event) => setRole(event.target.value as WorkspaceRole)}
            >
              {ROLES.map((option) => (
                <option key={option} value={option}>
                  {t.roleOptions[option]}
                </option>
              ))}
            </NativeSelect>
          </Field>
          {add.error && Object.keys(errors).length === 0 ? (
            <Alert variant="destructive">{describeError(add.error)}</Alert>
          ) : null}
          <DialogFooter>
            <DialogClose asChild>
              <Button type="button" variant="outline">
                {m.common.cancel}
              </Button>
            </DialogClose>
            <Button type="submit" disabled={add.isPending || !username.trim()}>
              {add.isPending ? t.add.submitting : t.add.submit}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}

function RemoveMemberDialog({
  slug,
  workspaceName,
  member,
  self,
  keepsAccess,
  onClose,
  onRefused,
}: {
  slug: string;
  workspaceName: string;
  member: Member | null;
  self: boolean;
  /** A platform admin keeps seeing the workspace after leaving it. */
  keepsAccess: boolean;
  onClose: () => void;
  onRefused: (error: unknown) => void;
}) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const remove = useMutation({
    mutationFn: (username: string) =>
      call(
        api.DELETE("/api/v1/workspaces/{workspace}/members/{username}", {
          params: { path: { workspace: slug, username } },
        }),
      ),
    onSuccess: async (_, username) => {
      toast.success(t.remove.removed(username));
      onClose();
      // Whoever leaves a workspace no longer sees it: back to their list.
      if (self && !keepsAccess) await navigate({ to: "/workspaces" });
      void queryClient.invalidateQueries({ queryKey: ["workspaces"] });
    },
    onError: (error) => {
      onRefused(error);
      onClose();
    },
  });
  return (
    <Dialog
      open={member !== null}
      onOpenChange={(open) => {
        if (!open) onClose();
      }}
    >
      {member ? (
        <DialogContent>
          <DialogHeader>
            <DialogTitle>{t.remove.title(member.username)}</DialogTitle>
            <DialogDescription>
              {self ? t.remove.bodySelf(workspaceName) : t.remove.body(member.username, workspaceName)}
            </DialogDescription>
          </DialogHeader>
          <DialogFooter>
            <DialogClose asChild>
              <Button variant="outline">{m.common.cancel}</Button>
            </DialogClose>
            <Button variant="destructive" onClick={() => remove.mutate(member.username)} disabled={remove.isPending}>
              {remove.isPending ? t.remove.removing : t.remove.submit}
            </Button>
          </DialogFooter>
        </DialogContent>
      ) : null}
    </Dialog>
  );
}
