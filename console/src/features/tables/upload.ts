/** Sending a file to the ingest API with upload progress.
 *
 * `fetch` (and so the generated client) cannot report how much of a request body has been sent,
 * so uploads go through XMLHttpRequest, with the same session rules as `api/client.ts`: the
 * session cookie travels by itself (same origin), the CSRF cookie is echoed in `X-CSRF-Token`,
 * and a 401 announces the session's end. Errors become the same `ApiError` with the server's
 * problem+json, so pages show them like any other call's. */
import { ApiError, CSRF_COOKIE, type Problem, readCookie, type Schemas, SESSION_EXPIRED } from "@/api/client";

export type UploadFormat = "csv" | "parquet";
export type UploadMode = "create" | "append" | "overwrite";
export type IngestPreview = Schemas["IngestPreviewOut"];
export type IngestResult = Schemas["IngestOut"];

/** One column that does not fit the table, as the ingest API's problem lists it (`mismatches`). */
export type ColumnMismatch = {
  column: string;
  kind: "missing" | "type" | "not_in_table";
  file_type: string | null;
  table_type: string | null;
};

export type UploadTarget = { workspace: string; namespace: string; table: string; format: UploadFormat; mode: UploadMode };

/** Bytes sent so far of how many; `total` is 0 until the browser knows it. */
export type UploadProgress = { loaded: number; total: number };

/** The format a file's name says it is: Parquet for .parquet/.pq, else CSV. */
export function formatOf(fileName: string): UploadFormat {
  return /\.(parquet|pq)$/i.test(fileName) ? "parquet" : "csv";
}

/** The check (`preview`) keeps the file on the server for the commit, which then names it
 * (`upload`) instead of sending the file a second time. */
export function ingestUrl(
  { workspace, namespace, table, format, mode }: UploadTarget,
  step: { preview: true } | { preview: false; upload?: string | null },
): string {
  const path = ["api", "v1", "workspaces", workspace, "ingest", namespace, table].map(encodeURIComponent).join("/");
  const query = new URLSearchParams({ format, mode });
  if (step.preview) query.set("keep", "true");
  else if (step.upload) query.set("upload", step.upload);
  return `/${path}${step.preview ? "/preview" : ""}?${query}`;
}

/** The mismatched columns of an ingest refusal, if it has them. */
export function mismatchesOf(error: unknown): ColumnMismatch[] {
  if (!(error instanceof ApiError)) return [];
  const listed = (error.problem as (Problem & { mismatches?: unknown }) | null)?.mismatches;
  return Array.isArray(listed) ? (listed as ColumnMismatch[]) : [];
}

/** POST the file as the request body (none for a kept upload); resolves with the JSON answer,
 * rejects with ApiError. */
export function sendFile<T>(
  url: string,
  file: Blob | null,
  format: UploadFormat,
  onProgress: (progress: UploadProgress) => void,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.setRequestHeader("Content-Type", format === "csv" ? "text/csv" : "application/octet-stream");
    request.setRequestHeader("Accept", "application/json, application/problem+json");
    const token = readCookie(CSRF_COOKIE);
    if (token) request.setRequestHeader("X-CSRF-Token", token);
    request.upload.addEventListener("progress", (event) =>
      onProgress({ loaded: event.loaded, total: event.lengthComputable ? event.total : (file?.size ?? 0) }),
    );
    request.addEventListener("load", () => {
      let body: unknown = null;
      try {
        body = request.responseText ? JSON.parse(request.responseText) : null;
      } catch {
        body = null; // not JSON (a proxy's error page): the status says enough
      }
      if (request.status >= 200 && request.status < 300) {
        resolve(body as T);
        return;
      }
      if (request.status === 401) window.dispatchEvent(new Event(SESSION_EXPIRED));
      reject(new ApiError(request.status, (body as Problem | null) ?? null));
    });
    request.addEventListener("error", () => reject(new Error("The upload was interrupted: the server could not be reached.")));
    request.addEventListener("abort", () => reject(new DOMException("The upload was cancelled.", "AbortError")));
    signal?.addEventListener("abort", () => request.abort());
    onProgress({ loaded: 0, total: file?.size ?? 0 });
    request.send(file);
  });
}
