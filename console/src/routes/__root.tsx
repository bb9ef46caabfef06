import type { QueryClient } from "@tanstack/react-query";
import { createRootRouteWithContext, Link, Outlet, useRouter } from "@tanstack/react-router";
import { useEffect } from "react";
import { Toaster } from "sonner";

import { SESSION_EXPIRED } from "@/api/client";
import { EmptyState, ErrorState } from "@/components/page";
import { m } from "@/lib/messages";
import { useTheme } from "@/lib/theme";

export const Route = createRootRouteWithContext<{ queryClient: QueryClient }>()({
  component: Root,
  errorComponent: ({ error, reset }) => (
    <main className="mx-auto max-w-xl p-10">
      <ErrorState error={error} onRetry={reset} />
    </main>
  ),
  notFoundComponent: () => (
    <main className="mx-auto max-w-xl p-10">
      <EmptyState title={m.common.notFound} action={<Link to="/">{m.common.home}</Link>} />
    </main>
  ),
});

function Root() {
  const router = useRouter();
  const theme = useTheme();
  // A 401 on any signed-in call: back to sign-in, then back here.
  useEffect(() => {
    const expired = () => {
      const location = router.state.location;
      if (location.pathname === "/login") return;
      router.options.context.queryClient.clear();
      void router.navigate({ to: "/login", search: { redirect: location.href, expired: true } });
    };
    window.addEventListener(SESSION_EXPIRED, expired);
    return () => window.removeEventListener(SESSION_EXPIRED, expired);
  }, [router]);
  return (
    <>
      <Outlet />
      <Toaster richColors closeButton position="bottom-right" theme={theme} />
    </>
  );
}
