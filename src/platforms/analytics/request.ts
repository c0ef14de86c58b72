import { type ApiRequest, apiUrl, failure, ProviderError } from "../http";
import { graphJson } from "../meta";
import type { PlatformContext } from "../types";
import { count } from "./types";

export interface JsonRequest {
  method?: "GET" | "POST";
  token?: string;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  json?: unknown;
  /** A header carrying the epoch second a rate-limit window resets, for platforms that send no Retry-After. */
  resetHeader?: string;
}

/** Like apiJson, but reads a 429's wait from the platform's own reset header when Retry-After is absent. */
export async function fetchJson<T>(
  ctx: PlatformContext,
  url: URL | string,
  request: JsonRequest,
  what: string,
): Promise<T> {
  const target = typeof url === "string" ? apiUrl(ctx, url, request.query) : url;
  const headers: Record<string, string> = { accept: "application/json", ...request.headers };
  if (request.token) headers.authorization = `Bearer ${request.token}`;
  let body: string | undefined;
  if (request.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(request.json);
  }
  const res = await ctx.fetch(target, { method: request.method ?? "GET", headers, body });
  if (!res.ok) {
    const err = await failure(res, ctx.now, what);
    const reset = request.resetHeader ? Number(res.headers.get(request.resetHeader)) : Number.NaN;
    if (res.status === 429 && err.details.retryAfterMs === undefined && Number.isFinite(reset) && reset > 0) {
      throw new ProviderError("transient", err.message, {
        ...err.details,
        retryAfterMs: Math.max(0, reset * 1000 - ctx.now),
      });
    }
    throw err;
  }
  try {
    return (await res.json()) as T;
  } catch {
    throw new ProviderError("invalid", `${what} answered something other than JSON`);
  }
}

/** A Graph list page (Facebook, Instagram, Threads): cursor-paginated `data`. */
export interface GraphPage<T> {
  data?: T[];
  paging?: { cursors?: { before?: string; after?: string }; next?: string; previous?: string };
}

/**
 * The cursor of the page after this one, or null at the end. Graph leaves `paging.next` out of the
 * last page; Threads documents only the cursors, so with `nextLink: false` an empty page ends the list.
 */
export function graphNextCursor(
  page: GraphPage<unknown>,
  sent: string | null,
  options: { nextLink: boolean },
): string | null {
  const after = page.paging?.cursors?.after;
  if (!after || after === sent || !page.data?.length) return null;
  if (options.nextLink && !page.paging?.next) return null;
  return after;
}

/** A Graph insights answer: one entry per metric, lifetime metrics under values[0] (newer ones under total_value). */
interface GraphInsights {
  data?: {
    name?: string;
    period?: string;
    values?: { value?: unknown; end_time?: string }[];
    total_value?: { value?: unknown };
  }[];
}

/** Graph codes for a dead or expired token: never swallowed as a missing metric. */
const TOKEN_CODES = new Set(["102", "190"]);

/**
 * Whether a Graph failure means "these metrics cannot be had for this object" (code 100 invalid metric,
 * 10 not enough viewers or permission, media posted before the business conversion) rather than a dead
 * token or a rate limit.
 */
function metricsUnavailable(err: unknown): boolean {
  if (!(err instanceof ProviderError) || err.kind === "transient") return false;
  if (TOKEN_CODES.has(String(err.details.code))) return false;
  return err.details.status === 400 || err.details.status === 403;
}

/**
 * One object's insights, trying each comma-separated metric list in turn: Graph refuses the whole
 * call when one metric is unknown for the object or API version, so later lists ask for less. Answers
 * the metrics it got by name, or {} when none could be had. Token failures and rate limits throw.
 */
export async function graphInsights(
  ctx: PlatformContext,
  path: string,
  auth: Pick<ApiRequest, "token" | "query">,
  metricLists: readonly string[],
  what: string,
): Promise<Record<string, number>> {
  for (const metric of metricLists) {
    let body: GraphInsights;
    try {
      body = await graphJson<GraphInsights>(
        ctx,
        path,
        { token: auth.token, query: { ...auth.query, metric } },
        what,
      );
    } catch (err) {
      if (metricsUnavailable(err)) continue;
      throw err;
    }
    const metrics: Record<string, number> = {};
    for (const entry of body.data ?? []) {
      const value = count(entry.total_value?.value ?? entry.values?.[0]?.value);
      if (entry.name && value !== null) metrics[entry.name] = value;
    }
    return metrics;
  }
  return {};
}

/** The value at `key` of a JSON object when it is a non-empty string. */
export function text(source: Record<string, unknown>, key: string): string | null {
  const value = source[key];
  return typeof value === "string" && value ? value : null;
}
