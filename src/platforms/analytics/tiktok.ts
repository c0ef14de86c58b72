import { apiUrl, failure, ProviderError } from "../http";
import { isTikTokBusiness } from "../tiktok";
import type { PlatformContext } from "../types";
import { type AnalyticsFetcher, count, emptyMetrics } from "./types";

/** `POST /v2/video/list/`: the data and an error object, which TikTok may send with HTTP 200. */
interface VideoList {
  data?: {
    videos?: {
      id: string;
      /** Unix seconds. */
      create_time?: number;
      view_count?: number;
      like_count?: number;
      comment_count?: number;
      share_count?: number;
    }[];
    /** Unix milliseconds: videos posted before it make up the next page. */
    cursor?: number;
    has_more?: boolean;
  };
  error?: { code?: string; message?: string; log_id?: string };
}

/** The most /v2/video/list/ answers per page. */
const PAGE_SIZE = 20;
const FIELDS = "id,create_time,view_count,like_count,comment_count,share_count";

/** TikTok's v2 error codes: a dead or under-scoped token is final, a rate limit or outage is not. */
function tiktokError(code: string, message: string | undefined, status: number): ProviderError {
  const text = `TikTok video/list failed: ${code}${message ? ` (${message.slice(0, 200)})` : ""}`;
  const details = { status, code };
  switch (code) {
    case "access_token_invalid":
    case "scope_not_authorized":
    case "scope_permission_missed":
      return new ProviderError("refused", text, details);
    case "rate_limit_exceeded":
    case "internal_error":
      return new ProviderError("transient", text, details);
    default:
      return new ProviderError("invalid", text, details);
  }
}

async function videoList(ctx: PlatformContext, token: string, cursor: number | null): Promise<VideoList> {
  const res = await ctx.fetch(apiUrl(ctx, "/v2/video/list/", { fields: FIELDS }), {
    method: "POST",
    headers: {
      accept: "application/json",
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ max_count: PAGE_SIZE, ...(cursor !== null ? { cursor } : {}) }),
  });
  if (res.status === 429 || res.status >= 500) throw await failure(res, ctx.now, "TikTok video/list");
  let body: VideoList;
  try {
    body = (await res.clone().json()) as VideoList;
  } catch {
    if (!res.ok) throw await failure(res, ctx.now, "TikTok video/list");
    throw new ProviderError("invalid", "TikTok video/list answered something other than JSON");
  }
  const code = body.error?.code;
  if (typeof code === "string" && code !== "ok") throw tiktokError(code, body.error?.message, res.status);
  if (!res.ok) throw await failure(res, ctx.now, "TikTok video/list");
  return body;
}

/**
 * TikTok: the user's public videos, newest first, with views, likes, comments and shares; needs the
 * video.list scope. TikTok reports no impressions or reach to the owner through this API.
 */
export const tiktokAnalytics: AnalyticsFetcher = {
  platform: "tiktok",
  requiredScopes: [["video.list"]],

  unavailable(_account, grant) {
    // Business accounts read their videos through the Business API (video/list), not Login Kit's.
    if (!isTikTokBusiness(grant.extras)) return null;
    return {
      field: "id",
      message:
        "Backfill is not available for TikTok Business accounts yet (their videos are read through the TikTok API for Business)",
    };
  },

  async fetchPage(ctx, { grant, cursor }) {
    const from = cursor !== null && /^\d+$/.test(cursor) ? Number(cursor) : null;
    const body = await videoList(ctx, grant.accessToken, from);
    const posts = (body.data?.videos ?? []).flatMap((video) => {
      const created = count(video.create_time);
      if (created === null) return [];
      return [
        {
          ...emptyMetrics(video.id, created * 1000),
          likes: count(video.like_count),
          comments: count(video.comment_count),
          shares: count(video.share_count),
          videoViews: count(video.view_count),
        },
      ];
    });
    const next = body.data?.has_more ? count(body.data.cursor) : null;
    return { posts, nextCursor: next !== null && next !== from ? String(next) : null };
  },
};
