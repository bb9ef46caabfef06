/** Test data of the workspace area's component tests. */
import { http, HttpResponse } from "msw";

import type { Schemas } from "@/api/client";
import { admin, server } from "@/test/server";

/** The first page of a test loads its route's code: give it time on a busy machine. */
export const SLOW = { timeout: 5000 };

export function workspace(slug: string, extra: Partial<Schemas["WorkspaceOut"]> = {}): Schemas["WorkspaceOut"] {
  return {
    slug,
    name: slug,
    description: "",
    namespace: slug,
    storage_location: `file:///srv/warehouse/${slug}`,
    status: "active",
    created_at: "2026-12-01T10:00:00Z",
    updated_at: "2026-12-01T10:00:00Z",
    my_role: "admin",
    ...extra,
  };
}

export const platformAdmin: Schemas["MeOut"] = { ...admin, can_create_workspaces: true };

export function person(username: string): Schemas["MeOut"] {
  return { ...admin, username, display_name: username, role: "user", can_create_workspaces: false };
}

/** Signed in as `me`, a member of these workspaces (the shell's switcher lists them). */
export function signedInAs(me: Schemas["MeOut"], workspaces: Schemas["WorkspaceOut"][]) {
  server.use(
    http.get("*/api/v1/me", () => HttpResponse.json(me)),
    http.get("*/api/v1/workspaces", () => HttpResponse.json({ items: workspaces, next_cursor: null })),
    ...workspaces.map((w) => http.get(`*/api/v1/workspaces/${w.slug}`, () => HttpResponse.json(w))),
  );
}
