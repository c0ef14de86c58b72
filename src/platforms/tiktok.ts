import { MINUTE } from "../lib/time";
import { apiUrl, failure, ProviderError } from "./http";
import type { PlatformContext, PlatformModule } from "./types";

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

  // Checked 2026-12-06: https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info (GET /v2/user/info/?fields=…)
  async profile(ctx, grant) {
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
