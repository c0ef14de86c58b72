import * as oauth from "oauth4webapi";
import { ApiError } from "../../lib/errors";
import { failure, ProviderError } from "../http";
import type { PlatformContext, TokenSet } from "../types";
import { ATPROTO_SCOPE, type AtprotoClient } from "./client";
import { type ClientKey, clientKeys, dpopKeyPair } from "./keys";
import type { AuthServerMetadata } from "./resolve";
import { authServerFor, resolveDid } from "./resolve";

/**
 * AT Protocol OAuth on oauth4webapi (atproto.com/specs/oauth, RFC 9126 PAR, RFC 9449 DPoP; checked
 * 2026-12-06): PAR with PKCE S256 and state, private_key_jwt client assertions, DPoP proofs on
 * every request to the authorization server and the PDS, server nonces retried once.
 */

/** What an OAuth-connected Bluesky account keeps in its encrypted extras, beside did, handle and pds. */
export interface AtprotoGrant {
  issuer: string;
  tokenEndpoint: string;
  revocationEndpoint?: string;
  /** The account's own DPoP key (a private JWK). */
  dpopJwk: JsonWebKey;
  /** The client key the grant was made with: the authorization server binds the session to it. */
  kid: string;
}

/** The OAuth part of a grant's extras, when the account was connected through OAuth. */
export function atprotoGrant(extras: Record<string, unknown>): AtprotoGrant | undefined {
  const value = extras.oauth as Partial<AtprotoGrant> | undefined;
  if (!value || typeof value !== "object") return undefined;
  if (typeof value.issuer !== "string" || typeof value.tokenEndpoint !== "string") return undefined;
  return value as AtprotoGrant;
}

export function requireClient(ctx: PlatformContext): AtprotoClient & Required<Pick<AtprotoClient, "keys">> {
  const client = ctx.atproto;
  if (!client?.keys)
    throw new ApiError("PLATFORM_NOT_CONFIGURED", "Bluesky OAuth is not configured: set BLUESKY_OAUTH_KEYS");
  return client as AtprotoClient & Required<Pick<AtprotoClient, "keys">>;
}

/** The key that signs for a grant: its own kid while configured, else the current one. */
async function signingKey(client: AtprotoClient & Required<Pick<AtprotoClient, "keys">>, kid?: string) {
  const keys = await clientKeys(client.keys);
  const key = (kid && keys.find((k) => k.kid === kid)) || keys[0];
  if (!key) throw new ApiError("PLATFORM_NOT_CONFIGURED", "BLUESKY_OAUTH_KEYS holds no key");
  return key;
}

/** The kid that signs new grants (the first of BLUESKY_OAUTH_KEYS). */
export async function currentKid(ctx: PlatformContext): Promise<string> {
  return (await signingKey(requireClient(ctx))).kid;
}

function clientAuth(key: ClientKey): oauth.ClientAuth {
  return oauth.PrivateKeyJwt({ key: key.privateKey, kid: key.kid });
}

/** 5xx and 429 are transient before oauth4webapi reads them; everything else is its to judge. */
function protocolFetch(ctx: PlatformContext) {
  return async (url: string, init: RequestInit) => {
    const res = await ctx.fetch(url, init);
    if (res.status === 429 || res.status >= 500)
      throw await failure(res, ctx.now, "Bluesky authorization server");
    return res;
  };
}

function options(ctx: PlatformContext, dpop: oauth.DPoPHandle) {
  return {
    DPoP: dpop,
    [oauth.customFetch]: protocolFetch(ctx),
    [oauth.allowInsecureRequests]: ctx.allowHttp,
  };
}

const handles = new Map<string, oauth.DPoPHandle>();
const MAX_HANDLES = 256;

/**
 * The grant's DPoP handle, kept per isolate (bounded): it remembers each server's last nonce, so
 * later calls skip the use_dpop_nonce round trip. Keyed by the public key; the private half stays inside.
 */
async function dpopHandle(jwk: JsonWebKey): Promise<oauth.DPoPHandle> {
  const id = `${jwk.x}.${jwk.y}`;
  let handle = handles.get(id);
  if (handle) {
    handles.delete(id);
  } else {
    handle = oauth.DPoP({}, await dpopKeyPair(jwk));
    if (handles.size >= MAX_HANDLES) handles.delete(handles.keys().next().value as string);
  }
  handles.set(id, handle);
  return handle;
}

/** Runs a request once more when the server asks for a (fresh) DPoP nonce, as RFC 9449 §8 has it. */
export async function withNonce<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    if (!oauth.isDPoPNonceError(err)) throw err;
    return request();
  }
}

/** Maps what oauth4webapi throws to a ProviderError; OAuth error answers are definite refusals. */
export function classify(err: unknown, what: string): Error {
  if (err instanceof ProviderError || err instanceof ApiError) return err;
  if (err instanceof oauth.ResponseBodyError) {
    const description = err.error_description ? `: ${err.error_description.slice(0, 200)}` : "";
    return new ProviderError("refused", `${what} refused (${err.error})${description}`, {
      status: err.status,
      code: err.error,
    });
  }
  if (err instanceof oauth.WWWAuthenticateChallengeError) {
    const code = err.cause[0]?.parameters.error;
    return new ProviderError("refused", `${what} refused (${code ?? "unauthorized"})`, {
      status: err.status,
      code,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError("invalid", `${what} failed: ${message.slice(0, 200)}`);
}

const asOf = (m: Pick<AuthServerMetadata, "issuer" | "token_endpoint"> & Partial<AuthServerMetadata>) =>
  ({ ...m, authorization_response_iss_parameter_supported: true }) as oauth.AuthorizationServer;

export interface PushedAuthorization {
  authorizationUrl: string;
  kid: string;
}

/** PAR (PKCE S256, state, DPoP), then the authorization URL carrying only client_id and request_uri. */
export async function pushAuthorization(
  ctx: PlatformContext,
  server: AuthServerMetadata,
  input: { state: string; codeVerifier: string; dpopJwk: JsonWebKey; loginHint?: string },
): Promise<PushedAuthorization> {
  const client = requireClient(ctx);
  const key = await signingKey(client);
  const as = asOf(server);
  const dpop = await dpopHandle(input.dpopJwk);
  const params: Record<string, string> = {
    response_type: "code",
    redirect_uri: client.redirectUri,
    scope: ATPROTO_SCOPE,
    state: input.state,
    code_challenge: await oauth.calculatePKCECodeChallenge(input.codeVerifier),
    code_challenge_method: "S256",
    ...(input.loginHint ? { login_hint: input.loginHint } : {}),
  };
  let requestUri: string;
  try {
    const pushed = await withNonce(async () =>
      oauth.processPushedAuthorizationResponse(
        as,
        { client_id: client.clientId },
        await oauth.pushedAuthorizationRequest(
          as,
          { client_id: client.clientId },
          clientAuth(key),
          params,
          options(ctx, dpop),
        ),
      ),
    );
    requestUri = pushed.request_uri;
  } catch (err) {
    throw classify(err, "Bluesky pushed authorization request");
  }
  const url = new URL(server.authorization_endpoint);
  url.searchParams.set("client_id", client.clientId);
  url.searchParams.set("request_uri", requestUri);
  return { authorizationUrl: url.toString(), kid: key.kid };
}

function tokenSet(response: oauth.TokenEndpointResponse, now: number): TokenSet {
  const scopes = (response.scope ?? "").split(" ").filter(Boolean);
  if (!scopes.includes("atproto"))
    throw new ProviderError("invalid", "Bluesky granted tokens without the atproto scope");
  if (response.token_type.toLowerCase() !== "dpop")
    throw new ProviderError("invalid", "Bluesky answered tokens that are not DPoP-bound");
  return {
    accessToken: response.access_token,
    refreshToken: response.refresh_token ?? null,
    expiresAt: typeof response.expires_in === "number" ? now + response.expires_in * 1000 : null,
    scopes,
  };
}

const subOf = (response: oauth.TokenEndpointResponse) =>
  typeof response.sub === "string" && response.sub.startsWith("did:") ? response.sub : undefined;

/**
 * The code exchange. The token response's `sub` is the account: it must be the DID resolved at the
 * start, or (when the user picked an account at the entryway) a DID whose PDS names this issuer.
 */
export async function exchangeCode(
  ctx: PlatformContext,
  grant: AtprotoGrant,
  input: { code: string; codeVerifier: string; expectedDid?: string | null },
): Promise<TokenSet> {
  const client = requireClient(ctx);
  const key = await signingKey(client, grant.kid);
  const as = asOf({ issuer: grant.issuer, token_endpoint: grant.tokenEndpoint });
  const dpop = await dpopHandle(grant.dpopJwk);
  const c = { client_id: client.clientId };
  let response: oauth.TokenEndpointResponse;
  try {
    // The iss parameter was checked when the redirect came back; the code is bound to this issuer.
    const params = oauth.validateAuthResponse(
      as,
      c,
      new URLSearchParams({ code: input.code, iss: grant.issuer }),
      oauth.skipStateCheck,
    );
    response = await withNonce(async () =>
      oauth.processAuthorizationCodeResponse(
        as,
        c,
        await oauth.authorizationCodeGrantRequest(
          as,
          c,
          clientAuth(key),
          params,
          client.redirectUri,
          input.codeVerifier,
          options(ctx, dpop),
        ),
      ),
    );
  } catch (err) {
    throw classify(err, "Bluesky code exchange");
  }
  const did = subOf(response);
  if (!did) throw new ProviderError("invalid", "Bluesky answered tokens without the account's DID (sub)");
  if (input.expectedDid && did !== input.expectedDid)
    throw new ProviderError("refused", `Bluesky signed in ${did}, not the account asked for`, {
      code: "did_mismatch",
    });
  const identity = await resolveDid(ctx, did, "handle");
  if (!input.expectedDid) {
    const server = await authServerFor(ctx, identity.pds, "handle");
    if (server.issuer !== grant.issuer)
      throw new ProviderError(
        "refused",
        `${did} is not served by the authorization server that signed it in`,
        {
          code: "issuer_mismatch",
        },
      );
  }
  const tokens = tokenSet(response, ctx.now);
  return {
    ...tokens,
    extras: {
      did,
      ...(identity.handle ? { handle: identity.handle } : {}),
      pds: identity.pds,
      oauth: { ...grant, kid: key.kid },
    },
  };
}

/** The refresh grant: a rotating, single-use refresh token; the DID must not change. */
export async function refreshTokens(
  ctx: PlatformContext,
  extras: Record<string, unknown>,
  refreshToken: string,
): Promise<TokenSet> {
  const grant = atprotoGrant(extras);
  if (!grant) throw new ProviderError("refused", "The Bluesky account holds no OAuth session");
  const client = requireClient(ctx);
  const key = await signingKey(client, grant.kid);
  const as = asOf({ issuer: grant.issuer, token_endpoint: grant.tokenEndpoint });
  const dpop = await dpopHandle(grant.dpopJwk);
  const c = { client_id: client.clientId };
  let response: oauth.TokenEndpointResponse;
  try {
    response = await withNonce(async () =>
      oauth.processRefreshTokenResponse(
        as,
        c,
        await oauth.refreshTokenGrantRequest(as, c, clientAuth(key), refreshToken, options(ctx, dpop)),
      ),
    );
  } catch (err) {
    throw classify(err, "Bluesky token refresh");
  }
  if (subOf(response) !== extras.did)
    throw new ProviderError("refused", "Bluesky refreshed the session of another account", {
      code: "did_mismatch",
    });
  return { ...tokenSet(response, ctx.now), extras: { oauth: { ...grant, kid: key.kid } } };
}

/** RFC 7009 revocation of the refresh token, where the authorization server offers it. */
export async function revokeTokens(ctx: PlatformContext, extras: Record<string, unknown>, token: string) {
  const grant = atprotoGrant(extras);
  if (!grant?.revocationEndpoint) return;
  const client = requireClient(ctx);
  const key = await signingKey(client, grant.kid);
  const as = asOf({
    issuer: grant.issuer,
    token_endpoint: grant.tokenEndpoint,
    revocation_endpoint: grant.revocationEndpoint,
  });
  try {
    const response = await oauth.revocationRequest(
      as,
      { client_id: client.clientId },
      clientAuth(key),
      token,
      {
        [oauth.customFetch]: protocolFetch(ctx),
        [oauth.allowInsecureRequests]: ctx.allowHttp,
        additionalParameters: { token_type_hint: "refresh_token" },
      },
    );
    await oauth.processRevocationResponse(response);
  } catch (err) {
    throw classify(err, "Bluesky revocation");
  }
}

/** One DPoP-bound call to the account's PDS; answers the raw response (the module reads XRPC errors). */
export async function pdsRequest(
  ctx: PlatformContext,
  extras: Record<string, unknown>,
  accessToken: string,
  request: { method: string; url: URL; headers: Headers; body?: string },
): Promise<Response> {
  const grant = atprotoGrant(extras);
  if (!grant) throw new ProviderError("refused", "The Bluesky account holds no OAuth session");
  const dpop = await dpopHandle(grant.dpopJwk);
  const send = () =>
    oauth.protectedResourceRequest(
      accessToken,
      request.method,
      request.url,
      new Headers(request.headers),
      request.body,
      { DPoP: dpop, [oauth.customFetch]: ctx.fetch, [oauth.allowInsecureRequests]: ctx.allowHttp },
    );
  try {
    return await withNonce(send);
  } catch (err) {
    if (err instanceof oauth.WWWAuthenticateChallengeError) return err.response;
    throw err;
  }
}
