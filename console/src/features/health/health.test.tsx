import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";

import type { Schemas } from "@/api/client";
import { renderApp } from "@/test/render";
import { admin, problem, server, signedIn } from "@/test/server";

type Component = Schemas["Component"];
type Report = Schemas["HealthReport"];

function component(name: string, kind: Component["kind"], extra: Partial<Component> = {}): Component {
  return {
    name,
    kind,
    status: "ok",
    message: `${name} answers`,
    version: null,
    latency_ms: 3.2,
    checked_at: new Date().toISOString(),
    details: {},
    ...extra,
  };
}

function report(components: Component[]): Report {
  const order = ["ok", "degraded", "down"];
  const worst = components
    .map((c) => c.status)
    .filter((s) => s !== "unknown")
    .reduce((a, b) => (order.indexOf(b) > order.indexOf(a) ? b : a), "ok" as Component["status"]);
  return { status: worst, checked_at: new Date().toISOString(), components };
}

const healthy = () =>
  report([
    component("database", "database", { version: "16.4", details: { dialect: "postgresql", migration_head: "0012" } }),
    component("catalog", "catalog", { version: "0.12.0" }),
    component("storage", "storage", { message: "reachable and writable" }),
    component("engine duckdb", "engine", { version: "1.5.5" }),
    component("engine trino", "engine", { status: "unknown", message: "not configured" }),
    component("workers", "workers", { details: { alive: 1, instances: [{ id: "w1", slots: 4 }] } }),
    component("scheduler", "scheduler"),
    component("queue", "queue", { message: "empty" }),
    component("failed runs", "runs"),
    component("connection demo/warehouse", "connection", {
      checked_at: null,
      status: "unknown",
      details: { workspace: "demo", connection: "warehouse", type: "postgres" },
    }),
  ]);

/** The health API serving whatever `current` holds when asked, counting the requests. */
function healthApi(initial: Report) {
  const state = { current: initial as Report | "unreachable", requests: 0 };
  server.use(
    http.get("*/api/v1/health/components", () => {
      state.requests += 1;
      return state.current === "unreachable"
        ? problem(503, "unavailable", "Service unavailable", "The database is unreachable (OperationalError).")
        : HttpResponse.json(state.current);
    }),
  );
  return state;
}

function card(name: string): HTMLElement {
  return screen.getAllByTestId("health-component").find((el) => within(el).queryByRole("heading", { name }))!;
}

afterEach(() => {
  vi.useRealTimers();
});

test("a healthy platform is green, each component with its status in words, version, latency and details", async () => {
  signedIn();
  healthApi(healthy());
  renderApp("/system/health");
  expect(await screen.findByRole("heading", { level: 1, name: "Health" })).toBeInTheDocument();
  const overall = await screen.findByTestId("health-overall");
  expect(overall).toHaveAttribute("data-status", "ok");
  expect(overall).toHaveTextContent("All systems working");
  expect(overall).toHaveTextContent("8 OK · 2 not checked");

  const database = card("database");
  expect(database).toHaveAttribute("data-status", "ok");
  expect(within(database).getByText("OK")).toBeInTheDocument();
  expect(within(database).getByText("16.4")).toBeInTheDocument();
  expect(within(database).getByText("3.2 ms")).toBeInTheDocument();
  expect(within(database).getByText("0012")).toBeInTheDocument(); // details
  expect(within(card("engine trino")).getByText("Not checked")).toBeInTheDocument();
  const connection = card("connection demo/warehouse");
  expect(within(connection).getByText("never")).toBeInTheDocument();
  expect(within(connection).getByRole("link", { name: "Open the connection (test it there)" })).toHaveAttribute(
    "href",
    "/workspaces/demo/connections/warehouse",
  );
  for (const group of ["Platform", "Engines", "Workers, scheduler and runs", "Connections"]) {
    expect(screen.getByRole("heading", { level: 2, name: group })).toBeInTheDocument();
  }
});

test("the page refreshes every 10 seconds and turns red when a component fails", async () => {
  vi.useFakeTimers({ shouldAdvanceTime: true });
  signedIn();
  const api = healthApi(healthy());
  renderApp("/system/health");
  await waitFor(() => expect(screen.getByTestId("health-overall")).toHaveAttribute("data-status", "ok"));
  const asked = api.requests;

  const broken = healthy();
  broken.components[2] = component("storage", "storage", {
    status: "down",
    message: "cannot write to the warehouse s3://lake: EndpointConnectionError: Could not connect",
  });
  api.current = report(broken.components);
  await act(async () => {
    await vi.advanceTimersByTimeAsync(10_000);
  });
  await waitFor(() => expect(screen.getByTestId("health-overall")).toHaveAttribute("data-status", "down"));
  expect(api.requests).toBeGreaterThan(asked);
  const overall = screen.getByTestId("health-overall");
  expect(overall).toHaveTextContent("Down — Something is down");
  expect(within(overall).getByRole("link", { name: "storage" })).toHaveAttribute("href", "#component-storage-storage");
  const storage = card("storage");
  expect(storage).toHaveAttribute("data-status", "down");
  expect(within(storage).getByText("Down")).toBeInTheDocument();
  expect(storage).toHaveTextContent("EndpointConnectionError");
});

test("'Check now' checks at once", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  const api = healthApi(healthy());
  renderApp("/system/health");
  await waitFor(() => expect(screen.getByTestId("health-overall")).toHaveAttribute("data-status", "ok"));
  const degraded = healthy();
  degraded.components[5] = component("workers", "workers", { status: "degraded", message: "1 alive; w2 silent" });
  api.current = report(degraded.components);
  const asked = api.requests;
  await user.click(screen.getByRole("button", { name: "Check now" }));
  await waitFor(() => expect(screen.getByTestId("health-overall")).toHaveAttribute("data-status", "degraded"));
  expect(api.requests).toBe(asked + 1);
  expect(within(card("workers")).getByText("Degraded")).toBeInTheDocument();
});

test("a server that stops answering is shown in red, keeping the last report", async () => {
  const user = userEvent.setup({ delay: null });
  signedIn();
  const api = healthApi(healthy());
  renderApp("/system/health");
  await screen.findByTestId("health-overall");
  api.current = "unreachable";
  await user.click(screen.getByRole("button", { name: "Check now" }));
  const alert = await screen.findByTestId("health-unreachable");
  expect(alert).toHaveTextContent("The last check did not reach the server");
  expect(alert).toHaveTextContent("The database is unreachable (OperationalError).");
  expect(screen.getAllByTestId("health-component").length).toBe(10);
});

test("a first check that fails is explained", async () => {
  signedIn();
  healthApi(healthy()).current = "unreachable";
  renderApp("/system/health");
  expect(await screen.findByText("The database is unreachable (OperationalError).")).toBeInTheDocument();
});

test("only platform admins see the report; others are told why", async () => {
  signedIn({ ...admin, username: "ada", role: "user" });
  renderApp("/system/health"); // no health handler: a request would fail the test
  const refused = await screen.findByTestId("health-refused");
  expect(refused).toHaveTextContent("Health is for platform admins");
});
