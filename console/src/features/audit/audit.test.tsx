import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";

import type { Schemas } from "@/api/client";
import { renderApp } from "@/test/render";
import { admin, problem, server, signedIn } from "@/test/server";

type AuditEvent = Schemas["AuditEventOut"];
type Verification = Schemas["ChainVerificationOut"];

function auditEvent(seq: number, extra: Partial<AuditEvent> = {}): AuditEvent {
  return {
    seq,
    occurred_at: new Date(Date.UTC(2026, 11, 7, 10, 0, seq % 60)).toISOString(),
    actor: "alice",
    auth_method: "session",
    token_id: null,
    action: "update_workspace",
    target_type: "workspace",
    target_id: "demo",
    workspace: "demo",
    outcome: "success",
    status_code: 200,
    client_addr: "10.0.0.7",
    request_id: `req-${seq}`,
    details: { name: "Demo" },
    prev_hash: `${"a".repeat(60)}${String(seq - 1).padStart(4, "0")}`,
    hash: `${"b".repeat(60)}${String(seq).padStart(4, "0")}`,
    ...extra,
  };
}

const intact: Verification = {
  status: "ok",
  events_checked: 14,
  chain_length: 14,
  first_broken_seq: null,
  problem: null,
  duration_ms: 12.5,
  time_limit_seconds: 10,
  checked_at: new Date().toISOString(),
};

const workspace = (slug: string, my_role: Schemas["WorkspaceOut"]["my_role"]): Schemas["WorkspaceOut"] => ({
  slug,
  name: slug[0]!.toUpperCase() + slug.slice(1),
  description: "",
  namespace: slug,
  storage_location: `/w/${slug}`,
  status: "active",
  created_at: "2026-12-01T10:00:00Z",
  updated_at: "2026-12-01T10:00:00Z",
  my_role,
});

/** The audit API: every list request is recorded (its query), pages are served by cursor. */
function auditApi({
  pages = [[auditEvent(3), auditEvent(2), auditEvent(1)]],
  verification = intact,
  path = "*/api/v1/audit/events",
}: { pages?: AuditEvent[][]; verification?: Verification; path?: string } = {}) {
  const requests: URLSearchParams[] = [];
  server.use(
    http.get(path, ({ request }) => {
      const query = new URL(request.url).searchParams;
      requests.push(query);
      const index = query.get("cursor") ? Number(query.get("cursor")!.slice(1)) : 0;
      const next = index + 1 < pages.length ? `p${index + 1}` : null;
      return HttpResponse.json({ items: pages[index] ?? [], next_cursor: next });
    }),
    http.get("*/api/v1/audit/verification", () => HttpResponse.json(verification)),
  );
  return { requests, last: () => requests[requests.length - 1]! };
}

test("filters go into the URL and into the request, and the export link carries them", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn(admin, [workspace("demo", "admin"), workspace("sales", null)]);
  const api = auditApi();
  const { router } = renderApp("/audit");
  expect(await screen.findByRole("heading", { level: 1, name: "Audit log" })).toBeInTheDocument();
  expect(await screen.findAllByTestId("audit-row")).toHaveLength(3);
  expect(api.last().get("actor")).toBeNull();

  await user.type(screen.getByLabelText("Actor"), "bob");
  await user.type(screen.getByLabelText("Action"), "delete_workspace{Enter}");
  await waitFor(() => expect(router.state.location.search).toMatchObject({ actor: "bob", action: "delete_workspace" }));
  await waitFor(() => expect(api.last().get("actor")).toBe("bob"));
  expect(api.last().get("action")).toBe("delete_workspace");
  expect(screen.getByLabelText("Action")).toHaveFocus(); // applying does not lose the user's place

  await user.selectOptions(screen.getByLabelText("Outcome"), "denied");
  await user.selectOptions(screen.getByLabelText("Workspace"), "sales");
  await waitFor(() => expect(router.state.location.search).toMatchObject({ outcome: "denied", workspace: "sales" }));
  await waitFor(() => expect(api.last().get("workspace")).toBe("sales"));
  expect(api.last().get("outcome")).toBe("denied");

  const before = Date.now();
  await user.selectOptions(screen.getByLabelText("Time"), "24h");
  await waitFor(() => expect(router.state.location.search).toMatchObject({ range: "24h" }));
  await waitFor(() => expect(api.last().get("since")).not.toBeNull());
  const since = Date.parse(api.last().get("since")!);
  expect(Math.abs(since - (before - 86_400_000))).toBeLessThan(60_000);

  const href = new URL(screen.getByTestId("audit-export").getAttribute("href")!, "http://x");
  expect(href.pathname).toBe("/api/v1/audit/events.csv");
  expect(Object.fromEntries(href.searchParams)).toMatchObject({
    actor: "bob",
    action: "delete_workspace",
    outcome: "denied",
    workspace: "sales",
  });
  expect(Math.abs(Date.parse(href.searchParams.get("since")!) - since)).toBeLessThan(60_000);

  await user.click(screen.getByRole("button", { name: "Clear filters" }));
  await waitFor(() => expect(router.state.location.search).toEqual({}));
  await waitFor(() => expect(api.last().get("actor")).toBeNull());
  expect(screen.getByLabelText("Actor")).toHaveValue(""); // the fields follow the URL

  await act(async () => {
    router.history.back();
  });
  await waitFor(() => expect(screen.getByLabelText("Actor")).toHaveValue("bob"));
}, 15_000);

test("a deep link's custom range is the request's and the export's", async () => {
  signedIn();
  const api = auditApi();
  renderApp("/audit?range=custom&since=2026-12-01T00:00:00.000Z&until=2026-12-02T00:00:00.000Z&outcome=failure");
  await screen.findAllByTestId("audit-row");
  expect(api.last().get("since")).toBe("2026-12-01T00:00:00.000Z");
  expect(api.last().get("until")).toBe("2026-12-02T00:00:00.000Z");
  expect(api.last().get("outcome")).toBe("failure");
  expect(screen.getByLabelText("From")).toBeInTheDocument();
  const href = screen.getByTestId("audit-export").getAttribute("href")!;
  expect(href).toContain("since=2026-12-01T00%3A00%3A00.000Z");
  expect(href).toContain("until=2026-12-02T00%3A00%3A00.000Z");
  expect(href).toContain("outcome=failure");
});

test("older events load page by page with the cursor", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  const first = Array.from({ length: 50 }, (_, i) => auditEvent(120 - i));
  const second = Array.from({ length: 20 }, (_, i) => auditEvent(70 - i));
  const api = auditApi({ pages: [first, second] });
  renderApp("/audit?actor=alice");
  expect(await screen.findAllByTestId("audit-row")).toHaveLength(50);
  expect(screen.getByText(/50 events shown; older ones on the next page/)).toBeInTheDocument();

  await user.click(screen.getByRole("button", { name: "Load more" }));
  await waitFor(() => expect(screen.getAllByTestId("audit-row")).toHaveLength(70));
  expect(api.last().get("cursor")).toBe("p1");
  expect(api.last().get("actor")).toBe("alice"); // the next page keeps the filters
  expect(screen.getByText("That is the oldest matching event.")).toBeInTheDocument();
  expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
});

test("an event's detail shows every field and the hash chain, with its own URL", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  const event = auditEvent(7, {
    actor: "mallory",
    auth_method: "token",
    token_id: "tok123",
    outcome: "denied",
    status_code: 403,
    details: { method: "DELETE", path: "/api/v1/workspaces/demo" },
  });
  auditApi({ pages: [[event, auditEvent(6)]] });
  const { router } = renderApp("/audit");
  await user.click(await screen.findByRole("link", { name: "Show event 7" }));
  const dialog = await screen.findByRole("dialog", { name: "Event 7" });
  expect(router.state.location.search).toMatchObject({ event: 7 });
  for (const text of ["mallory", "token", "tok123", "Denied", "403", "10.0.0.7", "req-7", event.hash, event.prev_hash]) {
    expect(within(dialog).getAllByText(text).length).toBeGreaterThan(0);
  }
  expect(within(dialog).getByText(/"path": "\/api\/v1\/workspaces\/demo"/)).toBeInTheDocument();
  expect(within(dialog).getByRole("button", { name: "Copy Request id" })).toBeInTheDocument();

  await user.keyboard("{Escape}");
  await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  expect(router.state.location.search).not.toHaveProperty("event");
});

test("a deep link to an event not on the page fetches it", async () => {
  signedIn();
  auditApi();
  server.use(http.get("*/api/v1/audit/events/:seq", ({ params }) => HttpResponse.json(auditEvent(Number(params.seq), { actor: "carol" }))));
  renderApp("/audit?event=999");
  const dialog = await screen.findByRole("dialog", { name: "Event 999" });
  expect(await within(dialog).findByText("carol")).toBeInTheDocument();
});

test("the chain verification shows an intact chain", async () => {
  signedIn();
  auditApi();
  renderApp("/audit");
  const status = await screen.findByTestId("chain-status");
  await waitFor(() => expect(status).toHaveAttribute("data-status", "ok"));
  expect(within(status).getByRole("heading", { name: "Chain intact" })).toBeInTheDocument();
  expect(status).toHaveTextContent("All 14 events match their hashes");
});

test("a broken chain is shown in red, naming the first broken event, which opens", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  auditApi({
    verification: {
      ...intact,
      status: "broken",
      events_checked: 3,
      first_broken_seq: 4,
      problem: "content does not match its hash (edited)",
    },
  });
  server.use(http.get("*/api/v1/audit/events/4", () => HttpResponse.json(auditEvent(4, { actor: "mallory" }))));
  const { router } = renderApp("/audit");
  const status = await screen.findByTestId("chain-status");
  await waitFor(() => expect(status).toHaveAttribute("data-status", "broken"));
  expect(within(status).getByRole("heading", { name: "Chain broken" })).toBeInTheDocument();
  expect(status).toHaveTextContent("Event 4: content does not match its hash (edited).");
  await user.click(within(status).getByRole("link", { name: "Show event 4" }));
  expect(await screen.findByRole("dialog", { name: "Event 4" })).toBeInTheDocument();
  expect(router.state.location.search).toMatchObject({ event: 4 });
});

test("an incomplete verification says how far it got", async () => {
  signedIn();
  auditApi({ verification: { ...intact, status: "incomplete", events_checked: 250_000, chain_length: 1_000_000 } });
  renderApp("/audit");
  const status = await screen.findByTestId("chain-status");
  await waitFor(() => expect(status).toHaveAttribute("data-status", "warning"));
  expect(status).toHaveTextContent("sadeem audit verify");
});

test("a workspace admin reads their workspace's trail, picking among the workspaces they administer", async () => {
  const user = userEvent.setup({ delay: null });
  const ada = { ...admin, username: "ada", role: "user" as const };
  signedIn(ada, [workspace("demo", "editor"), workspace("finance", "admin"), workspace("hr", "admin")]);
  const finance = auditApi({ path: "*/api/v1/workspaces/finance/audit/events" });
  const hr = auditApi({ path: "*/api/v1/workspaces/hr/audit/events", pages: [[auditEvent(9, { workspace: "hr" })]] });
  const { router } = renderApp("/audit");
  expect(await screen.findAllByTestId("audit-row")).toHaveLength(3);
  await waitFor(() => expect(router.state.location.search).toMatchObject({ workspace: "finance" }));
  expect(finance.requests).toHaveLength(1);
  expect(screen.queryByTestId("chain-status")).not.toBeInTheDocument();
  const picker = screen.getByLabelText("Workspace");
  expect(within(picker).getAllByRole("option").map((o) => o.textContent)).toEqual(["Finance (finance)", "Hr (hr)"]);
  expect(screen.getByTestId("audit-export")).toHaveAttribute("href", "/api/v1/workspaces/finance/audit/events.csv");

  await user.selectOptions(picker, "hr");
  await waitFor(() => expect(screen.getAllByTestId("audit-row")).toHaveLength(1));
  expect(hr.requests).toHaveLength(1);
});

test("someone who administers nothing is told why there is nothing to see", async () => {
  signedIn({ ...admin, username: "viewer", role: "user" }, [workspace("demo", "viewer")]);
  renderApp("/audit");
  const refused = await screen.findByTestId("audit-refused");
  expect(refused).toHaveTextContent("The audit log is for administrators");
  expect(refused).toHaveTextContent("You are not an admin of any workspace.");
});

test("a refused or failed list is explained in the server's words", async () => {
  signedIn();
  server.use(
    http.get("*/api/v1/audit/events", () => problem(503, "unavailable", "Service unavailable", "The database is unreachable (OperationalError).")),
    http.get("*/api/v1/audit/verification", () => HttpResponse.json(intact)),
  );
  renderApp("/audit");
  expect(await screen.findByText("The database is unreachable (OperationalError).")).toBeInTheDocument();
  expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
});

test("no matching event says so", async () => {
  signedIn();
  auditApi({ pages: [[]] });
  renderApp("/audit?outcome=denied");
  expect(await screen.findByText("No event matches these filters.")).toBeInTheDocument();
});
