import type { Platform } from "../../lib/domain";
import { ProviderError } from "../http";
import type { Grant, PlatformContext } from "../types";

/** One published post and its metrics as the platform reports them; null where it has no such metric. */
export interface PostMetrics {
  platformPostId: string;
  /** Epoch milliseconds. */
  publishedAt: number;
  impressions: number | null;
  reach: number | null;
  likes: number | null;
  comments: number | null;
  shares: number | null;
  saves: number | null;
  videoViews: number | null;
}

/** What a fetcher knows of the account it reads: which object (user, page, organisation) is decided from these. */
export interface AnalyticsAccount {
  platformUserId: string;
  selectedPageId: string | null;
  /** Scopes the platform granted, as stored; empty when unknown (bring-your-own token). */
  scopes: readonly string[];
}

export interface PageRequest {
  grant: Grant;
  account: AnalyticsAccount;
  /** The cursor a previous page answered; null for the first page. */
  cursor: string | null;
}

export interface PostPage {
  /** Newest first, as the platforms list them. */
  posts: PostMetrics[];
  /** Where the next page starts; null when the platform says there are no more. */
  nextCursor: string | null;
  /** How many posts the platform says there are in all, when it says. */
  total?: number | null;
}

/** Why an account cannot be backfilled, naming the request field to fix (e.g. the selected page). */
export interface Unavailable {
  field: string;
  message: string;
}

/** Reads an account's published posts with their metrics, one bounded page at a time. */
export interface AnalyticsFetcher {
  platform: Platform;
  /**
   * Scopes the account must hold, as alternatives per entry (any one of each inner list); checked only
   * when the account's scopes are known.
   */
  requiredScopes?: readonly (readonly string[])[];
  /** Why this particular account cannot be read (no page selected, personal profile…); null when it can. */
  unavailable?(account: AnalyticsAccount, grant: Grant): Unavailable | null;
  fetchPage(ctx: PlatformContext, request: PageRequest): Promise<PostPage>;
}

/** A post with every metric unknown, for fetchers to fill in. */
export function emptyMetrics(platformPostId: string, publishedAt: number): PostMetrics {
  return {
    platformPostId,
    publishedAt,
    impressions: null,
    reach: null,
    likes: null,
    comments: null,
    shares: null,
    saves: null,
    videoViews: null,
  };
}

/** A non-negative integer count from a number or a numeric string (Google sends counts as strings); else null. */
export function count(value: unknown): number | null {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? Math.round(n) : null;
}

/** The sum of the counts that are known; null when none is. */
export function sumKnown(...values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length ? known.reduce((a, b) => a + b, 0) : null;
}

/**
 * Epoch ms from a platform timestamp: ISO 8601 with `Z`, `+00:00` or Graph's `+0000`, or a zone-less
 * one (Pinterest), read as UTC. Throws an `invalid` ProviderError on anything else.
 */
export function parseTime(value: unknown, what: string): number {
  if (typeof value === "string") {
    let text = value.trim().replace(/([+-]\d{2})(\d{2})$/, "$1:$2");
    if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)) text += "Z";
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new ProviderError("invalid", `${what} answered a post without a readable time`);
}

/** The first list of alternatives in `required` of which `granted` holds none; null when all are met. */
export function missingScope(
  granted: readonly string[],
  required: readonly (readonly string[])[],
): readonly string[] | null {
  for (const anyOf of required) if (!anyOf.some((scope) => granted.includes(scope))) return anyOf;
  return null;
}
