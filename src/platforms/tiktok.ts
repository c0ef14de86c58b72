import { MINUTE } from "../lib/time";
import { apiUrl, failure, ProviderError, retryAfterMs } from "./http";
import { standardRefresh } from "./oauth";
import type { Grant, PlatformContext, PlatformModule, Profile, TokenSet } from "./types";

interface TikTokError {
  code: string;
  message?: string;
  log_id?: string;
}

interface UserInfo {
  data?: {
    user?: {
      open_id: string;
      union_id?: string;
      avatar_url?: string;
      display_name?: string;
      username?: string;
    };
  };
  error?: TikTokError;
}

/** `username` needs user.info.profile (since the 2024 scope migration); the rest come with user.info.basic. */
// Checked 2026-12-06: https://developers.tiktok.com/bulletin/user-info-scope-migration (username moved to user.info.profile)
const PROFILE_FIELDS = "open_id,union_id,avatar_url,display_name,username";
const BASIC_FIELDS = "open_id,union_id,avatar_url,display_name";

/** Maps a TikTok v2 error code to a ProviderError; TikTok sometimes sends them with HTTP 200. */
function tiktokError(error: TikTokError, status: number, what: string): ProviderError {
  const message = `${what} failed: ${error.code}${error.message ? ` (${error.message.slice(0, 200)})` : ""}`;
  const details = { status, code: error.code };
  switch (error.code) {
    case "access_token_invalid":
    case "invalid_grant":
    case "scope_not_authorized":
    case "scope_permission_missed":
      return new ProviderError("refused", message, details);
    case "rate_limit_exceeded":
    case "internal_error":
      return new ProviderError("transient", message, details);
    default:
      return new ProviderError("invalid", message, details);
  }
}

async function userInfo(ctx: PlatformContext, accessToken: string, fields: string): Promise<UserInfo> {
  const res = await ctx.fetch(apiUrl(ctx, "/v2/user/info/", { fields }), {
    headers: { accept: "application/json", authorization: `Bearer ${accessToken}` },
  });
  if (res.status === 429 || res.status >= 500) throw await failure(res, ctx.now, "TikTok user/info");
  let body: UserInfo;
  try {
    body = (await res.clone().json()) as UserInfo;
  } catch {
    if (!res.ok) throw await failure(res, ctx.now, "TikTok user/info");
    throw new ProviderError("invalid", "TikTok user/info answered something other than JSON");
  }
  // A non-"ok" error code is a failure even when it comes with HTTP 200.
  const code = body.error?.code;
  if (typeof code === "string" && code !== "ok" && body.error)
    throw tiktokError(body.error, res.status, "TikTok user/info");
  if (!res.ok) throw await failure(res, ctx.now, "TikTok user/info");
  return body;
}

/** extras.oauthVersion of a grant made through the TikTok API for Business (a Business account). */
export const TIKTOK_BUSINESS = "business";

/** Whether a grant is a TikTok Business account's (TikTok API for Business, not Login Kit). */
export const isTikTokBusiness = (extras: Record<string, unknown> | null | undefined) =>
  extras?.oauthVersion === TIKTOK_BUSINESS;

/**
 * Profile and account type, video listing and publishing, and insights: what a publishing Accounts API
 * uses; user.info.stats is left out (follower counts come with user.insights).
 */
// Unverified 2026-12-06: needs a live app (the Accounts API scope names; its portal pages were not stored)
export const TIKTOK_BUSINESS_SCOPES = [
  "user.info.basic",
  "user.info.username",
  "user.info.profile",
  "user.account.type",
  "user.insights",
  "video.list",
  "video.insights",
  "video.publish",
] as const;

// Unverified 2026-12-06: needs a live app (Accounts API paths under /open_api/v1.3/, JSON bodies)
export const TIKTOK_BUSINESS_PATHS = {
  token: "/open_api/v1.3/tt_user/oauth2/token/",
  refresh: "/open_api/v1.3/tt_user/oauth2/refresh_token/",
  revoke: "/open_api/v1.3/tt_user/oauth2/revoke/",
  profile: "/open_api/v1.3/business/get/",
  // Checked 2026-12-06: https://github.com/sns-sdks/python-tiktok/blob/master/pytiktok/business_account_api.py (GET business/video/list/ with business_id, fields, cursor, max_count 1..20)
  videos: "/open_api/v1.3/business/video/list/",
} as const;

/** The Business API envelope: {code, message, request_id, data}; code 0 is success, even beside HTTP 200. */
interface BusinessEnvelope<T> {
  code?: unknown;
  message?: unknown;
  request_id?: unknown;
  data?: T;
}

// Unverified 2026-12-06: needs a live app (40105 "Access token is incorrect or has been revoked" is quoted in public Q&A; 40102/40104/40107/40131 follow the same family)
const BUSINESS_REFUSED = new Set([40102, 40104, 40105, 40107, 40131]);
// Unverified 2026-12-06: needs a live app (40100 too many requests; 5xxxx system errors)
const BUSINESS_TRANSIENT = new Set([40100]);

/** Classifies a non-zero Business API code: auth failures refused, rate limits and 5xxxx transient, the rest invalid. */
export function businessError(code: number, message: unknown, status: number, what: string): ProviderError {
  const text = typeof message === "string" && message ? ` (${message.slice(0, 200)})` : "";
  const details = { status, code: String(code) };
  if (BUSINESS_REFUSED.has(code))
    return new ProviderError("refused", `${what} refused: ${code}${text}`, details);
  if (BUSINESS_TRANSIENT.has(code) || code >= 50000)
    return new ProviderError("transient", `${what} failed: ${code}${text}`, details);
  return new ProviderError("invalid", `${what} failed: ${code}${text}`, details);
}

/** One Business API call: JSON in, the envelope's data out, or a classified ProviderError. */
export async function businessCall<T>(
  ctx: PlatformContext,
  path: string,
  request: { json?: Record<string, string>; query?: Record<string, string>; token?: string },
  what: string,
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  // The Accounts API takes the token bare in Access-Token, not as a Bearer authorization.
  if (request.token) headers["access-token"] = request.token;
  if (request.json) headers["content-type"] = "application/json";
  const res = await ctx.fetch(apiUrl(ctx, path, request.query), {
    method: request.json ? "POST" : "GET",
    headers,
    body: request.json ? JSON.stringify(request.json) : undefined,
  });
  if (res.status === 429 || res.status >= 500) throw await failure(res, ctx.now, what);
  let body: BusinessEnvelope<T>;
  try {
    body = (await res.clone().json()) as BusinessEnvelope<T>;
  } catch {
    if (!res.ok) throw await failure(res, ctx.now, what);
    throw new ProviderError("invalid", `${what} answered something other than JSON`);
  }
  const code = typeof body?.code === "number" ? body.code : Number(body?.code);
  if (Number.isFinite(code) && code !== 0) {
    const err = businessError(code, body.message, res.status, what);
    if (err.kind === "transient")
      err.details.retryAfterMs = retryAfterMs(res.headers.get("retry-after"), ctx.now);
    throw err;
  }
  if (!res.ok) throw await failure(res, ctx.now, what);
  if (!Number.isFinite(code) || !body.data || typeof body.data !== "object")
    throw new ProviderError("invalid", `${what} answered no data`);
  return body.data;
}

/** v1.3 names the fields expires_in, refresh_token_expires_in and open_id; v1.2 expires, refresh_expires and creator_id. */
// Checked 2026-12-06: https://github.com/sns-sdks/python-tiktok/blob/master/pytiktok/models/business_account.py (a maintained client reads both namings of the token answer)
interface BusinessTokenData {
  access_token?: unknown;
  expires_in?: unknown;
  expires?: unknown;
  refresh_token?: unknown;
  refresh_token_expires_in?: unknown;
  refresh_expires?: unknown;
  open_id?: unknown;
  creator_id?: unknown;
  scope?: unknown;
}

/** The token endpoints' data as stored: expiries from the answer, open_id kept as the business id. */
function businessTokens(ctx: PlatformContext, data: BusinessTokenData, what: string): TokenSet {
  if (typeof data.access_token !== "string" || !data.access_token)
    throw new ProviderError("invalid", `${what} answered no access token`);
  const seconds = (value: unknown) => (typeof value === "number" && value > 0 ? value : null);
  const accessIn = seconds(data.expires_in) ?? seconds(data.expires);
  const refreshIn = seconds(data.refresh_token_expires_in) ?? seconds(data.refresh_expires);
  const openId = [data.open_id, data.creator_id].find((id) => typeof id === "string" && id);
  const scopes =
    typeof data.scope === "string"
      ? data.scope
          .split(",")
          .map((scope) => scope.trim())
          .filter(Boolean)
      : undefined;
  return {
    accessToken: data.access_token,
    refreshToken: typeof data.refresh_token === "string" && data.refresh_token ? data.refresh_token : null,
    expiresAt: accessIn === null ? null : ctx.now + accessIn * 1000,
    refreshTokenExpiresAt: refreshIn === null ? null : ctx.now + refreshIn * 1000,
    ...(scopes ? { scopes } : {}),
    extras: {
      oauthVersion: TIKTOK_BUSINESS,
      ...(typeof openId === "string" ? { openId } : {}),
    },
  };
}

/** The business id the Accounts API addresses the account by: the token's open_id. */
export function businessId(grant: Grant): string {
  const id = grant.extras.openId;
  if (typeof id !== "string" || !id)
    throw new ProviderError("invalid", "This TikTok Business grant holds no open_id: reconnect it");
  return id;
}

interface BusinessProfile {
  username?: string;
  display_name?: string;
  profile_image?: string;
  is_business_account?: boolean;
}

// Unverified 2026-12-06: needs a live app (business/get takes business_id and a JSON array of fields, with the token in Access-Token)
const BUSINESS_PROFILE_FIELDS = JSON.stringify([
  "username",
  "display_name",
  "profile_image",
  "is_business_account",
]);

async function businessProfile(ctx: PlatformContext, grant: Grant): Promise<Profile> {
  const id = businessId(grant);
  const data = await businessCall<BusinessProfile>(
    ctx,
    TIKTOK_BUSINESS_PATHS.profile,
    { query: { business_id: id, fields: BUSINESS_PROFILE_FIELDS }, token: grant.accessToken },
    "TikTok business/get",
  );
  return {
    platformUserId: id,
    username: data.username ? `@${data.username}` : null,
    displayName: data.display_name || data.username || null,
    avatarUrl: data.profile_image || null,
    accountType: "business",
  };
}

/** The refresh, answered with the rotated refresh token (stored in place of the spent one). */
function businessRefresh(ctx: PlatformContext, grant: Grant): Promise<TokenSet> {
  if (!grant.refreshToken)
    return Promise.reject(new ProviderError("refused", "No refresh token is stored for this account"));
  return businessCall<BusinessTokenData>(
    ctx,
    TIKTOK_BUSINESS_PATHS.refresh,
    {
      json: {
        client_id: ctx.clientId,
        client_secret: ctx.clientSecret,
        grant_type: "refresh_token",
        refresh_token: grant.refreshToken,
      },
    },
    "TikTok Business token refresh",
  ).then((data) => {
    const tokens = businessTokens(ctx, data, "TikTok Business token refresh");
    // The refresh answer may omit open_id: the grant's stays.
    return { ...tokens, extras: { ...grant.extras, ...tokens.extras } };
  });
}

/**
 * TikTok (Login Kit v2 + Content Posting): client id travels as `client_key`, scopes are
 * comma-separated, 2-hour access tokens, rotating refresh tokens (180 days; older docs: 365).
 */
export const tiktok: PlatformModule = {
  id: "tiktok",
  name: "TikTok",
  endpoints: {
    // Checked 2026-12-06: https://developers.tiktok.com/doc/login-kit-manage-user-access-tokens (web authorize at /v2/auth/authorize/)
    authorizationUrl: "https://www.tiktok.com/v2/auth/authorize/",
    // Checked 2026-12-06: https://developers.tiktok.com/docs/en/oauth-refresh-a-user-access-token (POST /v2/oauth/token/, form body)
    tokenUrl: "https://open.tiktokapis.com/v2/oauth/token/",
    // Unverified 2026-12-06: needs a live app (Revoke a User Access Token is linked from the token guide; its page was not stored)
    revocationUrl: "https://open.tiktokapis.com/v2/oauth/revoke/",
    apiBaseUrl: "https://open.tiktokapis.com",
  },
  oauth: {
    // user.info.profile for username; video.list lets the analytics backfill read the account's own videos.
    scopes: ["user.info.basic", "user.info.profile", "video.publish", "video.upload", "video.list"],
    scopeSeparator: ",",
    // Checked 2026-12-06: https://developers.tiktok.com/doc/oauth-user-access-token-management (code_verifier only for mobile and desktop)
    pkce: false,
    clientAuth: "post",
    clientIdParam: "client_key",
    // Unverified 2026-12-06: needs a live app (disable_auto_auth is used by working integrations, not on a vendor page)
    forcePromptParams: { disable_auto_auth: "1" },
    // Checked 2026-12-06: https://developers.tiktok.com/docs/en/oauth-refresh-a-user-access-token (client_key and client_secret in the body)
    tokenParams: (clientId) => ({ client_key: clientId }),
  },
  needsClientCredentials: true,
  // Checked 2026-12-06: https://developers.tiktok.com/docs/zh-Hans/oauth-user-access-token-management (access 2 h, refresh 180 d, rotated)
  refresh: { kind: "rotating", leadMs: 10 * MINUTE },
  variants: {
    /** Business accounts through the TikTok API for Business: a separate app in the business portal. */
    [TIKTOK_BUSINESS]: {
      app: {
        key: "tiktok_business",
        name: "TikTok Business",
        endpoints: {
          // Unverified 2026-12-06: needs a live app (the "TikTok account holder authorization URL" is Login Kit's page with the business app id as client_key)
          authorizationUrl: "https://www.tiktok.com/v2/auth/authorize/",
          // Unverified 2026-12-06: needs a live app (token, refresh, revoke and business/get all under business-api.tiktok.com)
          apiBaseUrl: "https://business-api.tiktok.com",
        },
        secrets: { id: "TIKTOK_BUSINESS_CLIENT_ID", secret: "TIKTOK_BUSINESS_CLIENT_SECRET" },
      },
      oauth: {
        scopes: TIKTOK_BUSINESS_SCOPES,
        scopeSeparator: ",",
        // Unverified 2026-12-06: needs a live app (no PKCE on the account holder authorization URL)
        pkce: false,
        clientAuth: "post",
        clientIdParam: "client_key",
        forcePromptParams: { disable_auto_auth: "1" },
      },
      // Unverified 2026-12-06: needs a live app (access 24 h, refresh 1 year; treated as rotating single-use, since no page says otherwise)
      refresh: { kind: "rotating", leadMs: 30 * MINUTE },
      async exchangeCode(ctx, input) {
        const what = "TikTok Business code exchange";
        const data = await businessCall<BusinessTokenData>(
          ctx,
          TIKTOK_BUSINESS_PATHS.token,
          {
            json: {
              client_id: ctx.clientId,
              client_secret: ctx.clientSecret,
              grant_type: "authorization_code",
              auth_code: input.code,
              redirect_uri: input.redirectUri,
            },
          },
          what,
        );
        const tokens = businessTokens(ctx, data, what);
        if (!tokens.extras?.openId) throw new ProviderError("invalid", `${what} answered no open_id`);
        return tokens;
      },
    },
  },

  refreshGrant(ctx, grant) {
    return isTikTokBusiness(grant.extras) ? businessRefresh(ctx, grant) : standardRefresh(ctx, tiktok, grant);
  },

  // Checked 2026-12-06: https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info (GET /v2/user/info/?fields=…)
  async profile(ctx, grant) {
    if (isTikTokBusiness(grant.extras)) return businessProfile(ctx, grant);
    let info: UserInfo;
    try {
      info = await userInfo(ctx, grant.accessToken, PROFILE_FIELDS);
    } catch (err) {
      // Without user.info.profile the whole call fails; fall back to the fields user.info.basic covers.
      if (!(err instanceof ProviderError && err.details.code === "scope_permission_missed")) throw err;
      info = await userInfo(ctx, grant.accessToken, BASIC_FIELDS);
    }
    const user = info.data?.user;
    if (!user?.open_id) throw new ProviderError("invalid", "TikTok user/info answered no open_id");
    return {
      platformUserId: user.open_id,
      username: user.username ? `@${user.username}` : null,
      displayName: user.display_name ?? null,
      avatarUrl: user.avatar_url ?? null,
      // user.info.basic does not say whether the account is personal, creator or business.
      accountType: null,
    };
  },

  async revoke(ctx, grant) {
    if (isTikTokBusiness(grant.extras)) {
      await businessCall(
        ctx,
        TIKTOK_BUSINESS_PATHS.revoke,
        {
          json: { client_id: ctx.clientId, client_secret: ctx.clientSecret, access_token: grant.accessToken },
        },
        "TikTok Business revoke",
      );
      return;
    }
    // TikTok's own revocation: client_key (not client_id) in the body, so not RFC 7009 via revokeToken.
    const url = ctx.endpoints.revocationUrl;
    if (!url) return;
    const res = await ctx.fetch(url, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        client_key: ctx.clientId,
        client_secret: ctx.clientSecret,
        token: grant.accessToken,
      }).toString(),
    });
    if (!res.ok) throw await failure(res, ctx.now, "TikTok revoke");
    const text = await res.text();
    if (!text.trim()) return;
    let body: { error?: unknown; error_description?: unknown };
    try {
      body = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof body.error === "string" && body.error) {
      const description = typeof body.error_description === "string" ? body.error_description : undefined;
      throw tiktokError({ code: body.error, message: description }, res.status, "TikTok revoke");
    }
  },
};
