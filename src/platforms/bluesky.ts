import { ApiError } from "../lib/errors";
import { DAY, HOUR, MINUTE } from "../lib/time";
import { atprotoGrant, pdsRequest, refreshTokens, revokeTokens } from "./atproto/oauth";
import { allowedUrl, parseIdentifier, pdsOf, resolveIdentity } from "./atproto/resolve";
import { apiUrl, failure, ProviderError } from "./http";
import type { PlatformContext, PlatformModule, Profile, TokenSet } from "./types";

interface Session {
  did: string;
  handle: string;
  accessJwt: string;
  refreshJwt: string;
  didDoc?: unknown;
  active?: boolean;
  status?: string;
}

interface ActorProfile {
  did: string;
  handle: string;
  displayName?: string;
  avatar?: string;
}

/**
 * Lifetimes of app-password sessions, used only when a JWT carries no readable exp claim.
 * Unverified 2026-12-06: the 2 h and 90 days are the reference PDS's defaults, not a documented contract.
 */
const ACCESS_FALLBACK_MS = 2 * HOUR;
const REFRESH_FALLBACK_MS = 90 * DAY;

/** The exp claim of a session JWT in epoch ms; unverified, as it is our own session's token. */
export function jwtExpiry(token: string): number | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "="))) as {
      exp?: unknown;
    };
    return typeof claims.exp === "number" && Number.isFinite(claims.exp) ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

/** Classifies an XRPC failure; a 429 carries RateLimit-Reset (epoch seconds) rather than Retry-After. */
async function xrpcFailure(res: Response, now: number, what: string): Promise<ProviderError> {
  const err = await failure(res, now, what);
  if (res.status !== 429 || err.details.retryAfterMs !== undefined) return err;
  const reset = Number(res.headers.get("ratelimit-reset"));
  const retryAfterMs = Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now) : undefined;
  return new ProviderError("transient", err.message, { ...err.details, retryAfterMs });
}

/** Where a grant's XRPC calls go: the account's own PDS once known, else the entryway. */
function serviceOf(ctx: PlatformContext, extras: Record<string, unknown> | undefined): string {
  return typeof extras?.pds === "string" && allowedUrl(ctx, extras.pds)
    ? extras.pds
    : ctx.endpoints.apiBaseUrl;
}

/**
 * One XRPC call; answers the JSON body, or null for an empty one. A grant made through OAuth sends
 * its access token DPoP-bound (a proof on every call); an app-password session sends it as bearer.
 */
async function xrpc<T>(
  ctx: PlatformContext,
  method: "GET" | "POST",
  nsid: string,
  request: {
    token?: string;
    json?: unknown;
    query?: Record<string, string>;
    service?: string;
    extras?: Record<string, unknown>;
  },
  what: string,
): Promise<T | null> {
  const headers: Record<string, string> = { accept: "application/json" };
  let body: string | undefined;
  if (request.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(request.json);
  }
  const url = apiUrl(
    { endpoints: { apiBaseUrl: request.service ?? serviceOf(ctx, request.extras) } },
    `/xrpc/${nsid}`,
    request.query,
  );
  let res: Response;
  if (request.token && request.extras && atprotoGrant(request.extras)) {
    res = await pdsRequest(ctx, request.extras, request.token, {
      method,
      url,
      headers: new Headers(headers),
      body,
    });
  } else {
    if (request.token) headers.authorization = `Bearer ${request.token}`;
    res = await ctx.fetch(url, { method, headers, body });
  }
  if (!res.ok) throw await xrpcFailure(res, ctx.now, what);
  const text = await res.text();
  if (!text.trim()) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ProviderError("invalid", `${what} answered something other than JSON`);
  }
}

/** What is stored of a session: its tokens and where it lives; never the app password. */
function sessionTokens(
  ctx: PlatformContext,
  session: Session | null,
  extras: Record<string, unknown>,
): TokenSet {
  if (!session?.accessJwt || !session.refreshJwt || !session.did)
    throw new ProviderError("invalid", "Bluesky answered a session without tokens");
  if (session.active === false) {
    throw new ProviderError("refused", `The Bluesky account is ${session.status ?? "not active"}`, {
      code: session.status ?? "inactive",
    });
  }
  const pds = pdsOf(ctx, session.didDoc) ?? (typeof extras.pds === "string" ? extras.pds : undefined);
  return {
    accessToken: session.accessJwt,
    refreshToken: session.refreshJwt,
    expiresAt: jwtExpiry(session.accessJwt) ?? ctx.now + ACCESS_FALLBACK_MS,
    refreshTokenExpiresAt: jwtExpiry(session.refreshJwt) ?? ctx.now + REFRESH_FALLBACK_MS,
    extras: { ...extras, did: session.did, handle: session.handle, ...(pds ? { pds } : {}) },
  };
}

/**
 * Where an app-password sign-in goes: a handle or DID is resolved to the account's own PDS (so
 * self-hosted accounts sign in at home); anything else (an email) goes to the entryway, which judges it.
 */
async function signInService(ctx: PlatformContext, identifier: string): Promise<string> {
  const parsed = parseIdentifier(identifier);
  if (!parsed) return ctx.endpoints.apiBaseUrl;
  return (await resolveIdentity(ctx, parsed, "credentials.identifier")).pds;
}

/**
 * Bluesky. AT Protocol OAuth (PAR + PKCE + DPoP, a confidential client with a client metadata
 * document; src/platforms/atproto/) is the connect flow; a handle with an app password
 * (com.atproto.server.createSession) stays for POST /v1/accounts. Either way the account's calls go
 * to its own PDS, resolved from its DID document (atproto.com/specs/oauth, /specs/xrpc; checked 2026-12-06).
 */
export const bluesky: PlatformModule = {
  id: "bluesky",
  name: "Bluesky",
  // bsky.social is the entryway for Bluesky-hosted accounts: the default authorization server and sign-in.
  // Checked 2026-12-06: https://atproto.com/specs/oauth (an entryway is the authorization server for its PDSes)
  endpoints: { apiBaseUrl: "https://bsky.social" },
  // No client secret: the OAuth client is its metadata document's URL and signs with BLUESKY_OAUTH_KEYS.
  needsClientCredentials: false,
  // refreshSession and the OAuth refresh grant both rotate a single-use refresh token: one refresh at a time.
  // Checked 2026-12-06: bluesky-social/atproto packages/oauth/oauth-provider/src/constants.ts (OAuth access
  // tokens live 60 min at most; a confidential client's refresh token lapses after a month unused, its session
  // after a year), so a 15-min lead refreshes about every 45 min; refreshSession is the app-password path's.
  refresh: { kind: "rotating", leadMs: 15 * MINUTE },

  async connectWithCredentials(ctx, input) {
    const identifier = input.identifier?.trim().replace(/^@/, "");
    const password = input.password;
    if (!identifier || !password) {
      throw new ApiError("INVALID_PARAM", "Bluesky needs a handle and an app password", [
        ...(identifier ? [] : [{ field: "credentials.identifier", message: "Required" }]),
        ...(password ? [] : [{ field: "credentials.appPassword", message: "Required" }]),
      ]);
    }
    const service = await signInService(ctx, identifier);
    let session: Session | null;
    try {
      session = await xrpc<Session>(
        ctx,
        "POST",
        "com.atproto.server.createSession",
        { json: { identifier, password }, service },
        "Bluesky sign-in",
      );
    } catch (err) {
      if (err instanceof ProviderError && err.details.status === 401) {
        const message =
          err.details.code === "AuthFactorTokenRequired"
            ? "Bluesky asks for an email sign-in code: use an app password instead of the account password"
            : err.details.code === "AccountTakedown"
              ? "The Bluesky account has been taken down"
              : "Bluesky refused the sign-in: the handle or app password is wrong";
        throw new ProviderError("refused", message, err.details);
      }
      throw err;
    }
    const tokens = sessionTokens(ctx, session, service === ctx.endpoints.apiBaseUrl ? {} : { pds: service });
    const profile = await this.profile(ctx, {
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken ?? null,
      extras: tokens.extras ?? {},
    });
    return { tokens, profile };
  },

  async refreshGrant(ctx, grant) {
    if (!grant.refreshToken)
      throw new ProviderError("refused", "No Bluesky refresh token is stored for this account");
    if (atprotoGrant(grant.extras)) return refreshTokens(ctx, grant.extras, grant.refreshToken);
    const session = await xrpc<Session>(
      ctx,
      "POST",
      "com.atproto.server.refreshSession",
      { token: grant.refreshToken, service: serviceOf(ctx, grant.extras) },
      "Bluesky refreshSession",
    );
    return sessionTokens(ctx, session, grant.extras);
  },

  async profile(ctx, grant): Promise<Profile> {
    let did = typeof grant.extras.did === "string" ? grant.extras.did : undefined;
    if (!did) {
      const session = await xrpc<Session>(
        ctx,
        "GET",
        "com.atproto.server.getSession",
        { token: grant.accessToken, extras: grant.extras },
        "Bluesky getSession",
      );
      did = session?.did;
      if (!did) throw new ProviderError("invalid", "Bluesky getSession answered no DID");
    }
    const actor = await xrpc<ActorProfile>(
      ctx,
      "GET",
      "app.bsky.actor.getProfile",
      { token: grant.accessToken, query: { actor: did }, extras: grant.extras },
      "Bluesky getProfile",
    );
    if (!actor?.did) throw new ProviderError("invalid", "Bluesky getProfile answered no DID");
    return {
      platformUserId: actor.did,
      username: actor.handle ? `@${actor.handle}` : null,
      displayName: actor.displayName || null,
      avatarUrl: actor.avatar ?? null,
      // Bluesky has no account types.
      accountType: null,
    };
  },

  async revoke(ctx, grant) {
    if (!grant.refreshToken) return;
    // An OAuth session is revoked at its authorization server; its access tokens die with it.
    if (atprotoGrant(grant.extras)) return revokeTokens(ctx, grant.extras, grant.refreshToken);
    // deleteSession ends the session the refreshJwt belongs to; its access tokens die with it.
    await xrpc(
      ctx,
      "POST",
      "com.atproto.server.deleteSession",
      { token: grant.refreshToken, service: serviceOf(ctx, grant.extras) },
      "Bluesky deleteSession",
    );
  },
};
