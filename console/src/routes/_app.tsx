import { createFileRoute, Outlet, redirect } from "@tanstack/react-router";

import { ApiError } from "@/api/client";
import { meQuery } from "@/api/queries";
import { AppShell } from "@/components/shell/app-shell";

/** Every page but sign-in: needs a session; without one, sign in and come back here. */
export const Route = createFileRoute("/_app")({
  beforeLoad: async ({ context, location }) => {
    try {
      const me = await context.queryClient.ensureQueryData(meQuery);
      return { me };
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        throw redirect({ to: "/login", search: { redirect: location.href } });
      }
      throw error;
    }
  },
  component: () => (
    <AppShell>
      <Outlet />
    </AppShell>
  ),
});
