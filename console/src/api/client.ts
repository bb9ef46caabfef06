/** The typed API client: `schema.d.ts` is generated from the server's own OpenAPI document
 * (`npm run generate`; a test fails when it drifts). Every call goes to this origin. */
import createClient, { type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

export const CSRF_COOKIE = "sadeem_csrf";
/** Fired when the server answers 401 to a signed-in request: the session expired or was revoked. */
export const SESSION_EXPIRED = "sadeem:session-expired";

/** A failed call, carrying the server's problem+json so pages can say what went wrong in plain words. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem | null;

  constructor(status: number, problem: Problem | null) {
    super(problem?.detail || problem?.title || `The server answered ${status}.`);
    this.status = status;
    this.problem = problem;
  }

  /** Field-level messages of a validation error, keyed by the field's name. */
  get fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const error of this.problem?.errors ?? []) {
      const field = error.loc.filter((part) => part !== "body").join(".");
      out[field] ??= error.msg;
    }
    return out;
  }
}

export function readCookie(name: string): string | undefined {
  const prefix = `${name}=`;
  const found = document.cookie.split("; ").find((part) => part.startsWith(prefix));
  return found ? decodeURIComponent(found.slice(prefix.length)) : undefined;
}

const session: Middleware = {
  onRequest({ request }) {
    // Double-submit CSRF: the session cookie is HttpOnly, the CSRF cookie is echoed in a header.
    if (request.method !== "GET" && request.method !== "HEAD") {
      const token = readCookie(CSRF_COOKIE);
      if (token) request.headers.set("X-CSRF-Token", token);
    }
    return request;
  },
  onResponse({ response, schemaPath }) {
    if (response.status === 401 && schemaPath !== "/api/v1/auth/login") {
      window.dispatchEvent(new Event(SESSION_EXPIRED));
    }
    return response;
  },
};

// `fetch` is looked up at each call, so test doubles installed later (msw) see the requests.
export const api = createClient<paths>({
  baseUrl: globalThis.location?.origin ?? "",
  fetch: (request) => globalThis.fetch(request),
});
api.use(session);

/** Await an openapi-fetch call: its data, or an ApiError with the server's problem. */
export async function call<T>(
  request: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await request;
  if (!response.ok) throw new ApiError(response.status, (error as Problem | undefined) ?? null);
  return data as T;
}

/** A problem's message for people: the detail, else the title, else the error's own text. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
