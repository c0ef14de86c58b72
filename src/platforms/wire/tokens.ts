import type { Platform } from "../../lib/domain";
import { SECOND } from "../../lib/time";
import { graphError } from "./meta";
import type { WireError } from "./wire";

/** What a token endpoint answers about: the tokens issued, their lifetimes, the scopes and the user. */
export interface WireTokens {
  grantType: "authorization_code" | "refresh_token";
  accessToken: string;
  /** Announced lifetime in seconds; null: none announced. */
  accessTtl: number | null;
  refreshToken?: string;
  refreshTtl?: number;
  scopes: string[];
  userId: string;
  /** Epoch ms the answer is given at. */
  now: number;
}

/**
 * An OAuth error of the token or revocation endpoint in the platform's own envelope: Graph's for
 * Facebook, Instagram and Threads, OAuth's with a log_id for TikTok, plain OAuth's elsewhere.
 */
export function tokenError(
  platform: Platform,
  e: { status: number; error: string; description?: string },
  randomId: (length: number) => string,
): WireError {
  if (platform === "facebook" || platform === "instagram" || platform === "threads") {
    const code = e.error === "invalid_client" ? 101 : 100;
    return graphError({ status: e.status, code, message: e.description ?? e.error, traceId: randomId(9) });
  }
  if (platform === "tiktok")
    return {
      status: e.status,
      body: { error: e.error, error_description: e.description, log_id: randomId(12) },
    };
  return { status: e.status, body: { error: e.error, error_description: e.description } };
}

/** Instagram Login's code answer: a bare short-lived token, with permissions instead of scope. */
export const instagramShortLivedToken = (t: WireTokens) => ({
  access_token: t.accessToken,
  user_id: t.userId,
  permissions: t.scopes.join(","),
});

/**
 * The token endpoint's answer in the platform's own shape (its quirks: LinkedIn's missing token_type,
 * TikTok's open_id and refresh_expires_in, Pinterest's response_type, Mastodon's created_at…);
 * `separator` joins the scopes of the platforms without a quirk of their own.
 */
export function tokenAnswer(platform: Platform, t: WireTokens, separator = " "): Record<string, unknown> {
  const expires = t.accessTtl === null ? {} : { expires_in: t.accessTtl };
  const refresh = t.refreshToken
    ? { refresh_token: t.refreshToken, ...(t.refreshTtl ? { refresh_token_expires_in: t.refreshTtl } : {}) }
    : {};
  switch (platform) {
    case "instagram":
      // The reference page wraps it in data[].
      return { data: [instagramShortLivedToken(t)] };
    case "threads":
      return { access_token: t.accessToken, user_id: t.userId };
    case "facebook":
      return { access_token: t.accessToken, token_type: "bearer", ...expires };
    case "linkedin":
      // No token_type; scopes comma-separated.
      return { access_token: t.accessToken, ...expires, ...refresh, scope: t.scopes.join(",") };
    case "tiktok":
      return {
        access_token: t.accessToken,
        ...expires,
        open_id: t.userId,
        ...(t.refreshToken ? { refresh_token: t.refreshToken, refresh_expires_in: t.refreshTtl } : {}),
        scope: t.scopes.join(","),
        token_type: "Bearer",
      };
    case "pinterest":
      return {
        access_token: t.accessToken,
        ...refresh,
        response_type: t.grantType === "refresh_token" ? "refresh_token" : "authorization_code",
        token_type: "bearer",
        ...expires,
        scope: t.scopes.join(","),
      };
    case "mastodon":
      return {
        access_token: t.accessToken,
        token_type: "Bearer",
        scope: t.scopes.join(" "),
        created_at: Math.floor(t.now / SECOND),
      };
    case "youtube":
    case "googlebusiness":
      return {
        access_token: t.accessToken,
        ...expires,
        ...refresh,
        scope: t.scopes.join(" "),
        token_type: "Bearer",
      };
    default:
      return {
        token_type: "bearer",
        access_token: t.accessToken,
        ...expires,
        scope: t.scopes.join(separator),
        ...refresh,
      };
  }
}
