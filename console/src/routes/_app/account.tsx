import { useQuery } from "@tanstack/react-query";
import { createFileRoute } from "@tanstack/react-router";

import { meQuery } from "@/api/queries";
import { PageHeader } from "@/components/page";
import { PasswordCard } from "@/features/account/password-form";
import { ProfileCard } from "@/features/account/profile";
import { TokensCard } from "@/features/account/tokens";
import { accountMessages } from "@/lib/messages/account";

export const Route = createFileRoute("/_app/account")({
  component: Account,
});

/** The user menu links to #password and #tokens; the router scrolls those sections into view. */
function Account() {
  const { me: first } = Route.useRouteContext();
  const { data: me = first } = useQuery(meQuery);

  return (
    <>
      <PageHeader title={accountMessages.title} description={accountMessages.description} />
      <div className="grid gap-6">
        <ProfileCard me={me} />
        <PasswordCard me={me} />
        <TokensCard />
      </div>
    </>
  );
}
