/** New connection: pick a type, then fill its generated form. */
import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { ArrowLeftIcon, ChevronRightIcon } from "lucide-react";
import type * as React from "react";

import { EmptyState, ErrorState, LoadingRows, PageHeader } from "@/components/page";
import { connectionsMessages } from "@/lib/messages/connections";

import { connectionTypesQuery, useWriteAccess } from "./api";
import { ConnectionForm, Described } from "./connection-form";
import { TYPE_ORDER } from "./connections-list";

const t = connectionsMessages;

export function BackLink({ workspace }: { workspace: string }) {
  return (
    <Link
      to="/workspaces/$workspace/connections"
      params={{ workspace }}
      className="mb-3 inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground"
    >
      <ArrowLeftIcon className="size-4 rtl:rotate-180" aria-hidden />
      {t.back}
    </Link>
  );
}

export function NewConnection({ workspace, type }: { workspace: string; type?: string }) {
  const types = useQuery(connectionTypesQuery);
  const access = useWriteAccess(workspace);
  const info = types.data?.find((item) => item.type === type);
  const ordered = [...(types.data ?? [])].sort(
    (a, b) => TYPE_ORDER.indexOf(a.type as never) - TYPE_ORDER.indexOf(b.type as never),
  );
  let body: React.ReactNode;
  if (types.isPending || access === undefined) body = <LoadingRows rows={6} />;
  else if (!access) body = <EmptyState title={t.readOnly} />;
  else if (types.isError) body = <ErrorState error={types.error} onRetry={() => void types.refetch()} />;
  else if (!info)
    body = (
      <nav aria-label={t.chooseType} className="grid max-w-3xl gap-2 sm:grid-cols-2">
        {ordered.map((item) => (
          <Link
            key={item.type}
            to="/workspaces/$workspace/connections/-/new"
            params={{ workspace }}
            search={{ type: item.type }}
            className="group flex items-start gap-3 rounded-lg border bg-card p-4 hover:border-primary/50 hover:bg-accent focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring"
          >
            <span className="min-w-0 flex-1">
              <span className="block font-medium">{t.types[item.type] ?? item.type}</span>
              <span className="mt-1 block text-sm text-muted-foreground">
                <Described text={item.description} />
              </span>
            </span>
            <ChevronRightIcon className="mt-0.5 size-4 text-muted-foreground group-hover:text-foreground rtl:rotate-180" aria-hidden />
          </Link>
        ))}
      </nav>
    );
  else body = <ConnectionForm key={info.type} workspace={workspace} info={info} />;
  return (
    <>
      <BackLink workspace={workspace} />
      <PageHeader
        title={info ? `${t.newConnection}: ${t.types[info.type] ?? info.type}` : t.newConnection}
        description={info || !access ? undefined : t.chooseTypeHint}
      />
      {body}
    </>
  );
}
