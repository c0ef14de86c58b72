import { DAY } from "../lib/time";
import { type ApiRequest, apiJson, ProviderError } from "./http";
import type { Grant, PlatformContext, RefreshModel, TokenSet } from "./types";

/** The Graph API version Facebook, Instagram (both logins), WhatsApp and their analytics are pinned to: the one setting. */
// Checked 2026-12-06: https://developers.facebook.com/docs/graph-api/changelog/versions/?locale=de_DE (v26.0 latest, released 29 Jul 2026; v21.0 retires 21 Jan 2027)
// Checked 2026-12-06: https://developers.facebook.com/docs/instagram-platform/reference/instagram-media/insights (reach, saved, shares, views still answered; impressions gone since v22.0)
export const GRAPH_VERSION = "v26.0";

/** extras.oauthVersion of an Instagram grant made through Facebook Login (a Facebook user token). */
export const FACEBOOK_LOGIN = "fb_login";

/**
 * Once a Page is selected its token is the account's credential (`accessToken`, also kept as
 * `extras.pageAccessToken`) and the Facebook user token moves to `extras.userAccessToken`, kept only
 * to list Pages again and to revoke; a reconnect derives the Page's token afresh. Grants without a
 * selected Page, or whose Page sent no token, hold the user token as `accessToken`.
 */
// Checked 2026-12-06: https://developers.facebook.com/docs/pages/access-tokens/ (Page tokens from a long-lived user token are the non-expiring kind; any token may still be invalidated early)
export function facebookUserToken(grant: Pick<Grant, "accessToken" | "extras">): string {
  const { userAccessToken, pageAccessToken } = grant.extras;
  const pageIsCredential = typeof pageAccessToken === "string" && pageAccessToken === grant.accessToken;
  return pageIsCredential && typeof userAccessToken === "string" && userAccessToken
    ? userAccessToken
    : grant.accessToken;
}

/** Whether the grant's access token is a selected Page's token rather than the Facebook user's. */
export function holdsPageToken(grant: Pick<Grant, "accessToken" | "extras">): boolean {
  return facebookUserToken(grant) !== grant.accessToken;
}

/** Meta's long-lived user tokens last about 60 days; assumed when a response omits expires_in. */
// Checked 2026-12-06: https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived (about 60 days)
export const LONG_LIVED_TTL_MS = 60 * DAY;

/**
 * Instagram and Threads long-lived tokens: extended in place while valid and at least 24 h old,
 * starting a week before expiry so a platform outage still leaves days of retries.
 */
// Checked 2026-12-06: https://developers.facebook.com/documentation/instagram-platform/reference/refresh_access_token (at least 24 h old, unexpired)
export const EXTEND_IN_PLACE: RefreshModel = { kind: "extend-in-place", leadMs: 7 * DAY, minAgeMs: DAY };

/** Graph codes that mean the token or session is dead, whatever the HTTP status (190: invalid or expired token). */
const REFUSED_CODES = new Set([102, 190]);

/**
 * Graph codes that clear up by waiting: 1/2 temporary outage, 4/17/32/613 call-rate limits, 341 app
 * limit, 130429/131048/131056 WhatsApp throughput and pair limits; 80001-80014 are business use case limits.
 */
const TRANSIENT_CODES = new Set([1, 2, 4, 17, 32, 341, 613, 130429, 131048, 131056]);

function isTransientCode(code: number): boolean {
  return TRANSIENT_CODES.has(code) || (code >= 80001 && code <= 80014);
}

/** Query parameters whose values are secrets and must never reach an error message. */
const SECRET_PARAMS = ["access_token", "client_secret", "fb_exchange_token", "code"] as const;

function redact(message: string, secrets: readonly (string | undefined)[]): string {
  let out = message;
  for (const secret of secrets) if (secret) out = out.split(secret).join("[redacted]");
  return out;
}

/**
 * Re-reads a ProviderError by its Graph error code, since Graph answers most failures with HTTP 400
 * whatever their nature: 190 stays a definite refusal, rate limits and outages become transient.
 */
export function reclassifyGraphError(err: unknown, secrets: readonly (string | undefined)[] = []): unknown {
  if (!(err instanceof ProviderError)) return err;
  const code = Number(err.details.code);
  let kind = err.kind;
  if (Number.isInteger(code)) {
    if (REFUSED_CODES.has(code)) kind = "refused";
    else if (isTransientCode(code)) kind = "transient";
  }
  const message = redact(err.message, secrets);
  if (kind === err.kind && message === err.message) return err;
  return new ProviderError(kind, message, err.details);
}

/** apiJson for Graph hosts (graph.facebook.com, graph.instagram.com, graph.threads.net) with Graph error codes honoured. */
export async function graphJson<T>(
  ctx: PlatformContext,
  path: string,
  request: ApiRequest,
  what: string,
): Promise<T> {
  try {
    return await apiJson<T>(ctx, path, request, what);
  } catch (err) {
    const secrets = [request.token, ...SECRET_PARAMS.map((name) => request.query?.[name])];
    throw reclassifyGraphError(err, secrets);
  }
}

/** Granted permissions as Meta reports them: a comma-separated string or an array. */
export function parsePermissions(value: unknown): string[] | undefined {
  const list = typeof value === "string" ? value.split(",") : Array.isArray(value) ? value : undefined;
  const scopes = list
    ?.filter((s): s is string => typeof s === "string")
    .map((s) => s.trim())
    .filter(Boolean);
  return scopes?.length ? scopes : undefined;
}

interface LongLivedResponse {
  access_token?: unknown;
  token_type?: string;
  expires_in?: unknown;
  permissions?: unknown;
}

export interface LongLivedToken {
  accessToken: string;
  expiresAt: number;
  scopes?: string[];
}

/** A GET that answers a long-lived token (fb_exchange_token, ig_exchange_token, th_exchange_token, *_refresh_token). */
export async function fetchLongLivedToken(
  ctx: PlatformContext,
  path: string,
  query: Record<string, string>,
  what: string,
): Promise<LongLivedToken> {
  const body = await graphJson<LongLivedResponse>(ctx, path, { query }, what);
  if (typeof body.access_token !== "string" || !body.access_token)
    throw new ProviderError("invalid", `${what} answered no access token`);
  const expiresIn = Number(body.expires_in);
  return {
    accessToken: body.access_token,
    expiresAt:
      Number.isFinite(expiresIn) && expiresIn > 0 ? ctx.now + expiresIn * 1000 : ctx.now + LONG_LIVED_TTL_MS,
    scopes: parsePermissions(body.permissions),
  };
}

/** When the stored token expires: the grant's own expiry, else one the shared layer kept in extras. */
function grantExpiry(grant: Grant): number | null {
  if (typeof grant.expiresAt === "number") return grant.expiresAt;
  const fromExtras = Number(grant.extras.expiresAt);
  return Number.isFinite(fromExtras) && fromExtras > 0 ? fromExtras : null;
}

/**
 * Extend-in-place refresh (Instagram, Threads): trades the valid long-lived token for a fresh one.
 * An expired token cannot be revived by the platform, so it is refused here without a call.
 */
export async function extendInPlace(
  ctx: PlatformContext,
  grant: Grant,
  options: { path: string; grantType: string; what: string },
): Promise<TokenSet> {
  const expiresAt = grantExpiry(grant);
  if (expiresAt !== null && ctx.now >= expiresAt) {
    throw new ProviderError(
      "refused",
      `${options.what} refused: the token has expired and must be reconnected`,
      {
        code: "token_expired",
      },
    );
  }
  const token = await fetchLongLivedToken(
    ctx,
    options.path,
    { grant_type: options.grantType, access_token: grant.accessToken },
    options.what,
  );
  return {
    accessToken: token.accessToken,
    refreshToken: null,
    expiresAt: token.expiresAt,
    ...(token.scopes ? { scopes: token.scopes } : {}),
    extras: { ...grant.extras },
  };
}
