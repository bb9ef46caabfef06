/** The API as component tests see it (msw): each test adds the handlers it needs. */
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";

import type { Schemas } from "@/api/client";

export const server = setupServer();

export const admin: Schemas["UserOut"] = {
  username: "admin",
  display_name: "Ada Admin",
  email: null,
  role: "admin",
  identity_provider: "local",
  disabled: false,
  created_at: "2026-12-01T10:00:00Z",
};

export function problem(status: number, code: string, title: string, detail: string) {
  return HttpResponse.json(
    { type: `urn:sadeem:problem:${code}`, title, status, detail },
    { status, headers: { "Content-Type": "application/problem+json" } },
  );
}

/** A signed-in user with these workspaces (the shell asks for both on every page). */
export function signedIn(me: Schemas["UserOut"] = admin, workspaces: Schemas["WorkspaceOut"][] = []) {
  server.use(
    http.get("*/api/v1/me", () => HttpResponse.json(me)),
    http.get("*/api/v1/workspaces", () => HttpResponse.json({ items: workspaces, next_cursor: null })),
  );
}
