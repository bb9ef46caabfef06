import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";

import { safeRedirect } from "@/routes/login";
import { renderApp } from "@/test/render";
import { admin, problem, server, signedIn } from "@/test/server";

test("a signed-out visitor is sent to sign in and, once signed in, back to the page asked for", async () => {
  let signedInNow = false;
  server.use(
    http.get("*/api/v1/me", () =>
      signedInNow ? HttpResponse.json(admin) : problem(401, "not-authenticated", "Not authenticated", "Sign in."),
    ),
    http.get("*/api/v1/workspaces", () => HttpResponse.json({ items: [], next_cursor: null })),
    http.post("*/api/v1/auth/login", async ({ request }) => {
      const body = (await request.json()) as { username: string; password: string };
      if (body.password !== "right password") {
        return problem(401, "not-authenticated", "Not authenticated", "Invalid username or password.");
      }
      signedInNow = true;
      return HttpResponse.json({ user: admin, csrf_token: "t", expires_at: "2026-12-08T00:00:00Z" });
    }),
  );
  const { router } = renderApp("/users?q=x");
  await screen.findByRole("form", { name: "Sign in to Sadeem" });
  expect(router.state.location.search).toEqual({ redirect: "/users?q=x" });

  await userEvent.type(screen.getByLabelText("Username"), "admin");
  await userEvent.type(screen.getByLabelText("Password"), "wrong password");
  await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
  expect(await screen.findByTestId("login-error")).toHaveTextContent("Invalid username or password.");

  await userEvent.clear(screen.getByLabelText("Password"));
  await userEvent.type(screen.getByLabelText("Password"), "right password");
  await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
  await waitFor(() => expect(router.state.location.pathname).toBe("/users"));
  expect(router.state.location.search).toEqual({ q: "x" });
});

test("a session that ends mid-work goes back to sign-in, remembering where the user was", async () => {
  signedIn();
  const { router } = renderApp("/workspaces");
  await screen.findByTestId("who");
  server.use(http.get("*/api/v1/workspaces", () => problem(401, "not-authenticated", "Not authenticated", "Expired.")));
  await router.invalidate();
  window.dispatchEvent(new Event("sadeem:session-expired"));
  await screen.findByText("Your session ended. Sign in again to continue where you were.");
  expect(router.state.location.search).toMatchObject({ redirect: "/workspaces", expired: true });
});

test("only a path on this origin is a place to return to after signing in", () => {
  expect(safeRedirect("/workspaces/demo")).toBe("/workspaces/demo");
  expect(safeRedirect("//evil.example/x")).toBe("/");
  expect(safeRedirect("https://evil.example/")).toBe("/");
  expect(safeRedirect("/login?redirect=/x")).toBe("/");
  expect(safeRedirect(undefined)).toBe("/");
});
