import { listParam, type WireError, type WireProfile } from "./wire";

/** The scope each field of GET /v2/user/info/ needs. */
export const TIKTOK_USER_INFO_FIELDS: Record<string, "user.info.basic" | "user.info.profile"> = {
  open_id: "user.info.basic",
  union_id: "user.info.basic",
  avatar_url: "user.info.basic",
  display_name: "user.info.basic",
  username: "user.info.profile",
  bio_description: "user.info.profile",
  profile_deep_link: "user.info.profile",
  is_verified: "user.info.profile",
};

const tiktokError = (status: number, code: string, message: string, logId: string): WireError => ({
  status,
  body: { data: {}, error: { code, message, log_id: logId } },
});

/** TikTok's answer to a missing, revoked or unknown access token. */
export const tiktokInvalidToken = (logId: string) =>
  tiktokError(401, "access_token_invalid", "The access token is invalid or not found in the request.", logId);

/**
 * GET /v2/user/info/?fields=…: unknown or no fields are refused, and so is a field whose scope the
 * token lacks; otherwise exactly the fields asked.
 */
export function tiktokUserInfo(
  u: WireProfile & { unionId: string; bio: string; deepLink: string; verified: boolean },
  fieldsParam: string | null,
  scopes: readonly string[],
  logId: string,
): { refused: WireError } | { body: Record<string, unknown> } {
  const fields = listParam(fieldsParam);
  if (!fields.length || fields.some((field) => !(field in TIKTOK_USER_INFO_FIELDS)))
    return { refused: tiktokError(400, "invalid_params", "The fields parameter is invalid", logId) };
  const missing = fields
    .map((field) => TIKTOK_USER_INFO_FIELDS[field])
    .find((scope) => !scopes.includes(scope ?? ""));
  if (missing) {
    const message = `The user did not authorize the scope required for completing this request: ${missing}`;
    return { refused: tiktokError(401, "scope_permission_missed", message, logId) };
  }
  const all: Record<string, unknown> = {
    open_id: u.id,
    union_id: u.unionId,
    avatar_url: u.avatarUrl ?? "",
    display_name: u.name,
    username: u.username,
    bio_description: u.bio,
    profile_deep_link: u.deepLink,
    is_verified: u.verified,
  };
  return {
    body: {
      data: { user: Object.fromEntries(fields.map((field) => [field, all[field]])) },
      error: { code: "ok", message: "", log_id: logId },
    },
  };
}

/** The TikTok API for Business envelope: {code, message, request_id, data}; code 0 is success. */
export const tiktokBusinessOk = (data: Record<string, unknown>, requestId: string) => ({
  code: 0,
  message: "OK",
  request_id: requestId,
  data,
});

/** A Business API refusal: a non-zero code, sent with HTTP 200 unless `status` says otherwise. */
export const tiktokBusinessError = (
  code: number,
  message: string,
  requestId: string,
  status = 200,
): WireError => ({
  status,
  body: { code, message, request_id: requestId, data: {} },
});

/** Business API codes the sandbox and the fakes answer with (the module classifies them). */
export const TIKTOK_BUSINESS_CODES = {
  invalidParams: 40002,
  tooManyRequests: 40100,
  accessTokenMissing: 40104,
  accessTokenInvalid: 40105,
  refreshTokenInvalid: 40107,
  authCodeInvalid: 40131,
  internal: 50000,
} as const;

/** The data of tt_user/oauth2/token/ and …/refresh_token/: 24 h access, 1 year refresh, comma-separated scope. */
export function tiktokBusinessTokenData(t: {
  accessToken: string;
  accessTtl: number;
  refreshToken: string;
  refreshTtl: number;
  openId: string;
  scopes: readonly string[];
}): Record<string, unknown> {
  return {
    access_token: t.accessToken,
    expires_in: t.accessTtl,
    refresh_token: t.refreshToken,
    refresh_token_expires_in: t.refreshTtl,
    open_id: t.openId,
    scope: t.scopes.join(","),
    token_type: "Bearer",
  };
}

const BUSINESS_FIELDS = ["username", "display_name", "profile_image", "is_business_account"] as const;

/**
 * GET business/get/?business_id=…&fields=[…]: business_id must be the token's open_id, fields a JSON
 * array of known names (absent: display_name and profile_image); answers exactly the fields asked.
 */
export function tiktokBusinessProfile(
  u: WireProfile,
  businessId: string | null,
  fieldsParam: string | null,
  requestId: string,
): { refused: WireError } | { body: Record<string, unknown> } {
  const invalid = (message: string) => ({
    refused: tiktokBusinessError(TIKTOK_BUSINESS_CODES.invalidParams, message, requestId),
  });
  if (businessId !== u.id) return invalid("business_id does not match the access token");
  let fields: unknown = ["display_name", "profile_image"];
  if (fieldsParam !== null) {
    try {
      fields = JSON.parse(fieldsParam);
    } catch {
      return invalid("fields must be a JSON array");
    }
  }
  if (!Array.isArray(fields) || fields.some((f) => !(BUSINESS_FIELDS as readonly unknown[]).includes(f)))
    return invalid("fields has an unknown field");
  const all: Record<string, unknown> = {
    username: u.username,
    display_name: u.name,
    profile_image: u.avatarUrl ?? "",
    is_business_account: true,
  };
  return { body: tiktokBusinessOk(Object.fromEntries(fields.map((f: string) => [f, all[f]])), requestId) };
}

/** A Business account's post as business/video/list/ describes it. */
export interface WireBusinessVideo {
  itemId: string;
  /** Unix seconds. */
  createTime: number;
  caption: string;
  shareUrl: string;
  thumbnailUrl: string;
  videoViews: number;
  likes: number;
  comments: number;
  shares: number;
  reach: number;
}

/** The fields business/video/list/ knows, and what each reads of a video. */
// Checked 2026-12-06: https://github.com/sns-sdks/python-tiktok/blob/master/pytiktok/models/business_account.py (item_id, create_time, caption, share_url, thumbnail_url, video_views, likes, comments, shares, reach)
const BUSINESS_VIDEO_FIELDS: Record<string, (v: WireBusinessVideo) => unknown> = {
  item_id: (v) => v.itemId,
  // Unverified 2026-12-06: needs a live app (create_time is a string of Unix seconds; the SDK types it as a string)
  create_time: (v) => String(v.createTime),
  caption: (v) => v.caption,
  share_url: (v) => v.shareUrl,
  thumbnail_url: (v) => v.thumbnailUrl,
  video_views: (v) => v.videoViews,
  likes: (v) => v.likes,
  comments: (v) => v.comments,
  shares: (v) => v.shares,
  reach: (v) => v.reach,
};

/** The most videos one business/video/list/ page answers. */
// Checked 2026-12-06: https://github.com/sns-sdks/python-tiktok/blob/master/pytiktok/business_account_api.py (max_count 1..20; fields default ["item_id"])
export const TIKTOK_BUSINESS_VIDEO_PAGE = 20;

/**
 * GET business/video/list/?business_id=…&fields=[…]&cursor=…&max_count=…: business_id must be the
 * token's open_id, fields a JSON array of known names (absent: item_id only), max_count 1–20, and the
 * cursor an integer the previous page answered; `videos` newest first, paged by cursor and has_more.
 */
export function tiktokBusinessVideoList(
  owner: { id: string },
  videos: readonly WireBusinessVideo[],
  query: URLSearchParams,
  requestId: string,
): { refused: WireError } | { body: Record<string, unknown> } {
  const invalid = (message: string) => ({
    refused: tiktokBusinessError(TIKTOK_BUSINESS_CODES.invalidParams, message, requestId),
  });
  if (query.get("business_id") !== owner.id) return invalid("business_id does not match the access token");
  let fields: unknown = ["item_id"];
  const fieldsParam = query.get("fields");
  if (fieldsParam !== null) {
    try {
      fields = JSON.parse(fieldsParam);
    } catch {
      return invalid("fields must be a JSON array");
    }
  }
  if (
    !Array.isArray(fields) ||
    !fields.every((f) => typeof f === "string" && Object.hasOwn(BUSINESS_VIDEO_FIELDS, f))
  )
    return invalid("fields has an unknown field");
  // Unverified 2026-12-06: needs a live app (max_count's default when absent, taken as 20)
  const maxParam = query.get("max_count");
  const max = maxParam === null ? TIKTOK_BUSINESS_VIDEO_PAGE : Number(maxParam);
  if (!Number.isInteger(max) || max < 1 || max > TIKTOK_BUSINESS_VIDEO_PAGE)
    return invalid("max_count must be between 1 and 20");
  // Unverified 2026-12-06: needs a live app (what the integer cursor counts; an offset here, opaque to the module)
  const cursorParam = query.get("cursor");
  const start = cursorParam === null ? 0 : Number(cursorParam);
  if (!Number.isInteger(start) || start < 0) return invalid("cursor is invalid");
  const page = videos.slice(start, start + max);
  const next = start + page.length;
  return {
    body: tiktokBusinessOk(
      {
        videos: page.map((video) =>
          Object.fromEntries((fields as string[]).map((f) => [f, BUSINESS_VIDEO_FIELDS[f]?.(video)])),
        ),
        cursor: next,
        has_more: next < videos.length,
      },
      requestId,
    ),
  };
}
