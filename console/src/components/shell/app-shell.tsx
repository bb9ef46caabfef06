import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "@tanstack/react-router";
import {
  ActivityIcon,
  BookOpenIcon,
  CalendarClockIcon,
  CodeIcon,
  DatabaseIcon,
  PlayIcon,
  LayersIcon,
  PlugIcon,
  ScrollTextIcon,
  SearchIcon,
  SettingsIcon,
  TableIcon,
  UsersIcon,
} from "lucide-react";
import { lazy, type ReactNode, Suspense, useEffect, useState } from "react";

import { meQuery } from "@/api/queries";
import { ThemeToggle } from "@/components/shell/theme-toggle";
import { UserMenu } from "@/components/shell/user-menu";
import { WorkspaceSwitcher } from "@/components/shell/workspace-switcher";
import { Button } from "@/components/ui/button";
import { m } from "@/lib/messages";
import { cn } from "@/lib/utils";

// Its code (cmdk) loads the first time it opens, not with the first page.
const CommandPalette = lazy(() => import("@/components/shell/command-palette"));

const navLink =
  "flex items-center gap-2 rounded-md px-2.5 py-1.5 text-sm text-muted-foreground hover:bg-accent hover:text-accent-foreground [&_svg]:size-4";
const activeLink = { className: "bg-accent font-medium text-foreground" };

function NavSection({ title, children }: { title?: string; children: ReactNode }) {
  return (
    <div className="grid gap-0.5">
      {title ? (
        <p className="truncate px-2.5 pb-1 pt-3 text-xs font-medium uppercase tracking-wide text-muted-foreground">
          {title}
        </p>
      ) : null}
      {children}
    </div>
  );
}

export function AppShell({ children }: { children: ReactNode }) {
  const { data: me } = useQuery(meQuery);
  const { workspace } = useParams({ strict: false });
  const [paletteOpen, setPaletteOpen] = useState(false);
  const [paletteUsed, setPaletteUsed] = useState(false);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key.toLowerCase() === "k" && (event.metaKey || event.ctrlKey)) {
        event.preventDefault();
        setPaletteUsed(true);
        setPaletteOpen((open) => !open);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  const isAdmin = me?.role === "admin";

  return (
    <div className="flex min-h-screen">
      <a
        href="#content"
        className="sr-only focus:not-sr-only focus:absolute focus:start-2 focus:top-2 focus:z-50 focus:rounded focus:bg-background focus:p-2"
      >
        {m.shell.skipToContent}
      </a>
      <aside className="sticky top-0 flex h-screen w-60 shrink-0 flex-col border-e bg-sidebar">
        <Link to="/workspaces" className="flex h-14 items-center gap-2 border-b px-4 font-semibold">
          <img src="/favicon.svg" alt="" className="size-6" />
          {m.product}
        </Link>
        <nav aria-label={m.shell.navigation} className="flex-1 overflow-y-auto p-2">
          <NavSection>
            <Link to="/workspaces" className={navLink} activeProps={activeLink} activeOptions={{ exact: true }}>
              <LayersIcon aria-hidden /> {m.shell.workspaces}
            </Link>
          </NavSection>
          {workspace ? (
            <NavSection title={workspace}>
              <Link to="/workspaces/$workspace/sql" params={{ workspace }} className={navLink} activeProps={activeLink}>
                <CodeIcon aria-hidden /> {m.shell.worksheet}
              </Link>
              <Link to="/workspaces/$workspace/tables" params={{ workspace }} className={navLink} activeProps={activeLink}>
                <TableIcon aria-hidden /> {m.shell.tables}
              </Link>
              <Link to="/workspaces/$workspace/jobs" params={{ workspace }} className={navLink} activeProps={activeLink}>
                <CalendarClockIcon aria-hidden /> {m.shell.jobs}
              </Link>
              <Link to="/workspaces/$workspace/runs" params={{ workspace }} className={navLink} activeProps={activeLink}>
                <PlayIcon aria-hidden /> {m.shell.runs}
              </Link>
              <Link
                to="/workspaces/$workspace"
                params={{ workspace }}
                className={navLink}
                activeProps={activeLink}
                activeOptions={{ exact: true }}
              >
                <SettingsIcon aria-hidden /> {m.shell.settings}
              </Link>
              <Link
                to="/workspaces/$workspace/members"
                params={{ workspace }}
                className={navLink}
                activeProps={activeLink}
              >
                <UsersIcon aria-hidden /> {m.shell.members}
              </Link>
              <Link
                to="/workspaces/$workspace/connections"
                params={{ workspace }}
                className={navLink}
                activeProps={activeLink}
              >
                <PlugIcon aria-hidden /> {m.shell.connections}
              </Link>
            </NavSection>
          ) : null}
          <NavSection title={isAdmin ? "Platform" : undefined}>
            {isAdmin ? (
              <Link to="/users" className={navLink} activeProps={activeLink}>
                <UsersIcon aria-hidden /> {m.shell.users}
              </Link>
            ) : null}
            <Link to="/audit" className={navLink} activeProps={activeLink}>
              <ScrollTextIcon aria-hidden /> {m.shell.audit}
            </Link>
            <Link to="/system/health" className={navLink} activeProps={activeLink}>
              <ActivityIcon aria-hidden /> {m.shell.health}
            </Link>
          </NavSection>
          <NavSection title="More">
            <a href="/docs" className={navLink}>
              <BookOpenIcon aria-hidden /> {m.shell.apiDocs}
            </a>
          </NavSection>
        </nav>
        <div className="flex items-center gap-2 border-t p-3 text-xs text-muted-foreground">
          <DatabaseIcon className="size-3.5" aria-hidden /> {me?.username}
          {isAdmin ? <span>· {m.shell.platformAdmin}</span> : null}
        </div>
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="sticky top-0 z-40 flex h-14 items-center gap-3 border-b bg-background/95 px-4 backdrop-blur">
          <WorkspaceSwitcher current={workspace} />
          <Button
            variant="outline"
            className={cn("ms-auto w-72 justify-start text-muted-foreground")}
            onClick={() => {
              setPaletteUsed(true);
              setPaletteOpen(true);
            }}
          >
            <SearchIcon aria-hidden />
            <span className="flex-1 text-start">{m.shell.search}</span>
            <kbd className="rounded border bg-muted px-1.5 font-mono text-[10px]">{m.shell.searchShortcut}</kbd>
          </Button>
          <ThemeToggle />
          {me ? <UserMenu me={me} /> : null}
        </header>
        <main id="content" className="mx-auto w-full max-w-7xl flex-1 p-6">
          {children}
        </main>
      </div>
      {paletteUsed ? (
        <Suspense fallback={null}>
          <CommandPalette open={paletteOpen} onOpenChange={setPaletteOpen} isAdmin={isAdmin} />
        </Suspense>
      ) : null}
    </div>
  );
}
