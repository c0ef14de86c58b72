import { PROVIDER_TIMEOUT_MS } from "../lib/timeouts";
import type { PlatformContext } from "./types";

/**
 * A platform call that failed. `refused` is definite (revoked grant, invalid_grant, 401): retrying
 * will not help. `transient` (5xx, 429, timeout, network) may succeed later. `invalid` means the
 * platform answered something we cannot use. Messages never carry a token.
 */
export class ProviderError extends Error {
  constructor(
    readonly kind: "refused" | "transient" | "invalid",
    message: string,
    readonly details: { status?: number; code?: string; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = "ProviderError";
  }
}

/** fetch with a timeout; a network failure or timeout becomes a transient ProviderError. */
export function timedFetch(timeoutMs = PROVIDER_TIMEOUT_MS): typeof fetch {
  return async (input, init) => {
    try {
      return await fetch(input, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const timeout =
        err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError");
      throw new ProviderError(
        "transient",
        timeout ? "The platform did not answer in time" : "Network error reaching the platform",
      );
    }
  };
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds from `now`. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Classifies a non-2xx platform answer. 400/401/403 on an authenticated call mean the grant is dead. */
export async function failure(res: Response, now: number, what: string): Promise<ProviderError> {
  const text = await res.text().catch(() => "");
  let code: string | undefined;
  let description: string | undefined;
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const error = body.error as Record<string, unknown> | string | undefined;
    code =
      typeof error === "string"
        ? error
        : typeof error?.code === "string" || typeof error?.code === "number"
          ? String(error.code)
          : undefined;
    const message =
      body.error_description ??
      body.message ??
      body.detail ??
      (typeof error === "object" ? error?.message : undefined);
    description = typeof message === "string" ? message.slice(0, 200) : undefined;
  } catch {
    // Not JSON: the status says enough.
  }
  const status = res.status;
  const message = `${what} failed: HTTP ${status}${description ? ` (${description})` : code ? ` (${code})` : ""}`;
  if (status === 429 || status >= 500) {
    return new ProviderError("transient", message, {
      status,
      code,
      retryAfterMs: retryAfterMs(res.headers.get("retry-after"), now),
    });
  }
  if (status === 400 || status === 401 || status === 403)
    return new ProviderError("refused", message, { status, code });
  return new ProviderError("invalid", message, { status, code });
}

export interface ApiRequest {
  method?: string;
  /** Bearer token; omit for calls authenticated otherwise. */
  token?: string;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
}

/** Joins a path onto the platform's API base (which deployments and tests override). */
export function apiUrl(
  ctx: Pick<PlatformContext, "endpoints">,
  path: string,
  query?: ApiRequest["query"],
): URL {
  const base = ctx.endpoints.apiBaseUrl.replace(/\/+$/, "");
  const url = new URL(`${base}${path.startsWith("/") ? path : `/${path}`}`);
  for (const [key, value] of Object.entries(query ?? {}))
    if (value !== undefined) url.searchParams.set(key, value);
  return url;
}

/** Calls the platform API and answers its JSON, or throws a classified ProviderError. */
export async function apiJson<T>(
  ctx: PlatformContext,
  path: string,
  request: ApiRequest = {},
  what = "Platform call",
): Promise<T> {
  const url = path.startsWith("http") ? new URL(path) : apiUrl(ctx, path, request.query);
  if (path.startsWith("http"))
    for (const [k, v] of Object.entries(request.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
  const headers: Record<string, string> = { accept: "application/json", ...request.headers };
  if (request.token) headers.authorization = `Bearer ${request.token}`;
  let body: string | undefined;
  if (request.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(request.json);
  } else if (request.form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(request.form).toString();
  }
  const res = await ctx.fetch(url, { method: request.method ?? "GET", headers, body });
  if (!res.ok) throw await failure(res, ctx.now, what);
  try {
    return (await res.json()) as T;
  } catch {
    throw new ProviderError("invalid", `${what} answered something other than JSON`);
  }
}
