import type { Schemas } from "@/api/client";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { m } from "@/lib/messages";
import { formatDateTime } from "@/lib/utils";

export function providerName(provider: string): string {
  return m.account.providers[provider] ?? provider;
}

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid gap-1">
      <dt className="text-xs font-medium text-muted-foreground">{label}</dt>
      <dd className="min-w-0 truncate text-sm">{children}</dd>
    </div>
  );
}

const none = <span className="text-muted-foreground">{m.account.none}</span>;

export function ProfileCard({ me }: { me: Schemas["UserOut"] }) {
  return (
    <Card role="region" aria-labelledby="profile-title">
      <CardHeader>
        <CardTitle id="profile-title">{m.account.profile}</CardTitle>
        <CardDescription>{m.account.profileHint}</CardDescription>
      </CardHeader>
      <CardContent>
        <dl className="grid grid-cols-2 gap-x-6 gap-y-4 lg:grid-cols-3">
          <Fact label={m.account.username}>
            <span className="font-mono">{me.username}</span>
          </Fact>
          <Fact label={m.account.displayName}>{me.display_name || none}</Fact>
          <Fact label={m.account.email}>{me.email || none}</Fact>
          <Fact label={m.account.role}>
            <Badge variant={me.role === "admin" ? "default" : "secondary"}>{m.account.roles[me.role] ?? me.role}</Badge>
          </Fact>
          <Fact label={m.account.provider}>{providerName(me.identity_provider)}</Fact>
          <Fact label={m.account.memberSince}>{formatDateTime(me.created_at)}</Fact>
        </dl>
      </CardContent>
    </Card>
  );
}
