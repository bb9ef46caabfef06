import type { Schemas } from "@/api/client";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { accountMessages } from "@/lib/messages/account";
import { formatDateTime } from "@/lib/utils";

export function providerName(provider: string): string {
  return accountMessages.providers[provider] ?? provider;
}

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid gap-1">
      <dt className="text-xs font-medium text-muted-foreground">{label}</dt>
      <dd className="min-w-0 truncate text-sm">{children}</dd>
    </div>
  );
}

const none = <span className="text-muted-foreground">{accountMessages.none}</span>;

export function ProfileCard({ me }: { me: Schemas["UserOut"] }) {
  return (
    <Card role="region" aria-labelledby="profile-title">
      <CardHeader>
        <CardTitle id="profile-title">{accountMessages.profile}</CardTitle>
        <CardDescription>{accountMessages.profileHint}</CardDescription>
      </CardHeader>
      <CardContent>
        <dl className="grid grid-cols-2 gap-x-6 gap-y-4 lg:grid-cols-3">
          <Fact label={accountMessages.username}>
            <span className="font-mono">{me.username}</span>
          </Fact>
          <Fact label={accountMessages.displayName}>{me.display_name || none}</Fact>
          <Fact label={accountMessages.email}>{me.email || none}</Fact>
          <Fact label={accountMessages.role}>
            <Badge variant={me.role === "admin" ? "default" : "secondary"}>{accountMessages.roles[me.role] ?? me.role}</Badge>
          </Fact>
          <Fact label={accountMessages.provider}>{providerName(me.identity_provider)}</Fact>
          <Fact label={accountMessages.memberSince}>{formatDateTime(me.created_at)}</Fact>
        </dl>
      </CardContent>
    </Card>
  );
}
