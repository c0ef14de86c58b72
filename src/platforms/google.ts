import { MINUTE } from "../lib/time";
import { type ApiRequest, apiUrl, failure, ProviderError } from "./http";
import type { Endpoints, Grant, OAuthSettings, PlatformContext, RefreshModel } from "./types";

/** Google's OAuth endpoints, the same for every Google API (YouTube, Business Profile). */
// Unverified 2026-12-06: needs a live app (the exact authorize, token and revoke URLs: the stored web-server guide was an outline)
export const GOOGLE_OAUTH_ENDPOINTS = {
  authorizationUrl: "https://accounts.google.com/o/oauth2/v2/auth",
  tokenUrl: "https://oauth2.googleapis.com/token",
  revocationUrl: "https://oauth2.googleapis.com/revoke",
} as const satisfies Omit<Endpoints, "apiBaseUrl">;

/** Google scopes are full URLs under this prefix. */
export const GOOGLE_SCOPE_PREFIX = "https://www.googleapis.com/auth/";

/** OAuth settings for a Google API, from short scope names ("youtube.upload"). */
export function googleOAuth(scopes: readonly string[]): OAuthSettings {
  return {
    scopes: scopes.map((scope) => `${GOOGLE_SCOPE_PREFIX}${scope}`),
    pkce: true,
    clientAuth: "post",
    // Checked 2026-12-06: https://developers.google.com/accounts/docs/OAuth (web-server flow: code for access and refresh tokens, offline access, revocation)
    // Google returns a refresh token only for offline access, and only when the consent screen was shown.
    authorizeParams: { access_type: "offline", prompt: "consent", include_granted_scopes: "true" },
  };
}

/** Access tokens live about an hour; the refresh token is not rotated (and dies after 6 months unused). */
// Unverified 2026-12-06: needs a live app (six months unused is Google's overview as quoted on https://qiita.com/croquette0212/items/8da7ccaa09abf89d4f51)
export const GOOGLE_REFRESH: RefreshModel = { kind: "non-rotating", leadMs: 10 * MINUTE };

/** Google reasons that mean "over quota, try later", which Google sends with HTTP 403 as well as 429. */
const QUOTA_REASONS = new Set([
  "quotaExceeded",
  "rateLimitExceeded",
  "userRateLimitExceeded",
  "dailyLimitExceeded",
  "RATE_LIMIT_EXCEEDED",
  "RESOURCE_EXHAUSTED",
]);

interface GoogleErrorBody {
  error?: {
    status?: string;
    errors?: { reason?: string }[];
    details?: { reason?: string }[];
  };
}

async function quotaReason(res: Response): Promise<string | undefined> {
  try {
    const body = (await res.clone().json()) as GoogleErrorBody;
    const reasons = [...(body.error?.errors ?? []), ...(body.error?.details ?? [])].map((e) => e.reason);
    reasons.push(body.error?.status);
    return reasons.find((reason) => reason !== undefined && QUOTA_REASONS.has(reason));
  } catch {
    return undefined;
  }
}

/**
 * Calls a Google API with the grant's bearer token. Like apiJson, except that a 403 for exhausted
 * quota (YouTube's quotaExceeded) is transient: the grant is fine, the project's quota is not.
 */
export async function googleJson<T>(
  ctx: PlatformContext,
  path: string,
  token: string,
  query: ApiRequest["query"],
  what: string,
): Promise<T> {
  const res = await ctx.fetch(apiUrl(ctx, path, query), {
    headers: { accept: "application/json", authorization: `Bearer ${token}` },
  });
  if (res.status === 403) {
    const reason = await quotaReason(res);
    if (reason) {
      throw new ProviderError("transient", `${what} failed: HTTP 403 (${reason})`, {
        status: 403,
        code: reason,
      });
    }
  }
  if (!res.ok) throw await failure(res, ctx.now, what);
  try {
    return (await res.json()) as T;
  } catch {
    throw new ProviderError("invalid", `${what} answered something other than JSON`);
  }
}

/**
 * Google's revocation: `token` in a form body, no client authentication. Revoking either token
 * ends the whole grant; the refresh token is preferred because it outlives the access token.
 */
export async function revokeGoogle(ctx: PlatformContext, grant: Grant): Promise<void> {
  const url = ctx.endpoints.revocationUrl;
  if (!url) return;
  const res = await ctx.fetch(url, {
    method: "POST",
    headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: grant.refreshToken ?? grant.accessToken }).toString(),
  });
  if (!res.ok) throw await failure(res, ctx.now, "Google revoke");
}
