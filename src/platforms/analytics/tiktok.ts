import { apiUrl, failure, ProviderError } from "../http";
import { businessCall, businessId, isTikTokBusiness, TIKTOK_BUSINESS_PATHS } from "../tiktok";
import type { Grant, PlatformContext } from "../types";
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

/** The most /v2/video/list/ and business/video/list/ answer per page. */
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

/** The data of business/video/list/: the account's posts, newest first, and where the next page starts. */
interface BusinessVideoList {
  videos?: {
    item_id?: unknown;
    /** Unix seconds, sent as a string. */
    create_time?: unknown;
    video_views?: unknown;
    reach?: unknown;
    likes?: unknown;
    comments?: unknown;
    shares?: unknown;
  }[];
  cursor?: unknown;
  has_more?: unknown;
}

// Checked 2026-12-06: https://github.com/sns-sdks/python-tiktok/blob/master/pytiktok/models/business_account.py (a video's item_id, create_time, video_views, reach, likes, comments, shares; data.videos, cursor, has_more)
const BUSINESS_FIELDS = JSON.stringify([
  "item_id",
  "create_time",
  "video_views",
  "reach",
  "likes",
  "comments",
  "shares",
]);

/**
 * A Business account's posts through the TikTok API for Business, the token in Access-Token; envelope
 * errors are classified by the module's businessError (refused, transient or invalid).
 */
async function businessVideoPage(ctx: PlatformContext, grant: Grant, cursor: string | null) {
  const from = cursor !== null && /^\d+$/.test(cursor) ? cursor : null;
  const data = await businessCall<BusinessVideoList>(
    ctx,
    TIKTOK_BUSINESS_PATHS.videos,
    {
      query: {
        business_id: businessId(grant),
        fields: BUSINESS_FIELDS,
        max_count: String(PAGE_SIZE),
        ...(from !== null ? { cursor: from } : {}),
      },
      token: grant.accessToken,
    },
    "TikTok business/video/list",
  );
  const posts = (Array.isArray(data.videos) ? data.videos : []).flatMap((video) => {
    const id = typeof video?.item_id === "string" && video.item_id ? video.item_id : null;
    // Unverified 2026-12-06: needs a live app (create_time is Unix seconds; the SDK types it as a string)
    const created = count(video?.create_time);
    if (id === null || created === null) return [];
    return [
      {
        ...emptyMetrics(id, created * 1000),
        reach: count(video.reach),
        likes: count(video.likes),
        comments: count(video.comments),
        shares: count(video.shares),
        videoViews: count(video.video_views),
      },
    ];
  });
  const next = data.has_more === true ? count(data.cursor) : null;
  return { posts, nextCursor: next !== null && String(next) !== from ? String(next) : null };
}

/**
 * TikTok: the user's public videos, newest first, with views, likes, comments and shares; needs the
 * video.list scope. Login Kit reports no impressions or reach; a Business account's posts (read
 * through the TikTok API for Business) carry reach too.
 */
export const tiktokAnalytics: AnalyticsFetcher = {
  platform: "tiktok",
  requiredScopes: [["video.list"]],

  async fetchPage(ctx, { grant, cursor }) {
    if (isTikTokBusiness(grant.extras)) return businessVideoPage(ctx, grant, cursor);
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
