import { generateRandomCodeVerifier } from "oauth4webapi";
import { getSecretBox } from "../../lib/config";
import { ApiError } from "../../lib/errors";
import { iso } from "../../lib/time";
import { DEFAULT_TIMEOUTS } from "../../lib/timeouts";
import { newDpopKey } from "../../platforms/atproto/keys";
import {
  type AtprotoGrant,
  currentKid,
  exchangeCode,
  pushAuthorization,
  requireClient,
} from "../../platforms/atproto/oauth";
import { authServerFor, parseIdentifier, resolveIdentity } from "../../platforms/atproto/resolve";
import { bluesky } from "../../platforms/bluesky";
import { platformContext } from "../../platforms/catalogue";
import { providerFailure } from "../../platforms/failure";
import type { Profile, TokenSet } from "../../platforms/types";
import type { ServiceContext } from "../context";
import { OAUTH_STATE_TTL_MS, type OAuthState, saveState } from "./oauth-state";

/** What a Bluesky OAuth connect remembers in its (encrypted) state: the server, the DPoP key, the DID asked for. */
export interface BlueskyStateFields {
  atproto?: AtprotoGrant & { expectedDid: string | null };
}

const FIELD = "handle";

function contextFor({ env, now, timeouts = DEFAULT_TIMEOUTS }: ServiceContext) {
  return platformContext(env, "bluesky", now, { timeoutMs: timeouts.providerMs });
}

/**
 * Resolves the account (a handle or DID; without one the entryway's authorization server, where the
 * user picks an account), stores the state with a fresh DPoP key, then pushes the authorization
 * request (PAR) bound to that state. Resolution precedes the state: the state names the server.
 */
export async function authorizeBluesky(
  service: ServiceContext,
  state: Omit<OAuthState, "codeVerifier" | "redirectUri">,
  handle: string | undefined,
) {
  const { env, timeouts = DEFAULT_TIMEOUTS } = service;
  const ctx = contextFor(service);
  const client = requireClient(ctx);
  const identifier = handle === undefined ? undefined : parseIdentifier(handle);
  if (handle !== undefined && !identifier) {
    throw new ApiError("INVALID_PARAM", "handle must be a Bluesky handle (alice.bsky.social) or a DID", [
      { field: FIELD, message: "Not a handle or DID" },
    ]);
  }
  let server: Awaited<ReturnType<typeof authServerFor>>;
  let expectedDid: string | null = null;
  try {
    if (identifier) {
      const identity = await resolveIdentity(ctx, identifier, FIELD);
      expectedDid = identity.did;
      server = await authServerFor(ctx, identity.pds, FIELD);
    } else {
      server = await authServerFor(ctx, ctx.endpoints.apiBaseUrl, FIELD, { entryway: true });
    }
  } catch (err) {
    throw providerFailure(err);
  }
  const dpopJwk = await newDpopKey();
  const full: OAuthState & BlueskyStateFields = {
    ...state,
    codeVerifier: generateRandomCodeVerifier(),
    redirectUri: client.redirectUri,
    atproto: {
      issuer: server.issuer,
      tokenEndpoint: server.token_endpoint,
      ...(server.revocation_endpoint ? { revocationEndpoint: server.revocation_endpoint } : {}),
      dpopJwk,
      kid: await currentKid(ctx),
      expectedDid,
    },
  };
  const token = await saveState(env.OAUTH_STATE, await getSecretBox(env), full, timeouts.storageMs);
  let authorizationUrl: string;
  try {
    ({ authorizationUrl } = await pushAuthorization(ctx, server, {
      state: token,
      codeVerifier: full.codeVerifier,
      dpopJwk,
      loginHint: identifier ? (identifier.kind === "did" ? identifier.did : identifier.handle) : undefined,
    }));
  } catch (err) {
    throw providerFailure(err);
  }
  return { authorizationUrl, state: token, expiresAt: iso(state.createdAt + OAUTH_STATE_TTL_MS) };
}

/**
 * The redirect's parameters as forwarded: a code from another issuer than the one the state was
 * pushed to (RFC 9207's iss, which AT Protocol requires) becomes an error instead.
 */
export function checkedRedirect(
  state: OAuthState & BlueskyStateFields,
  params: URLSearchParams,
): URLSearchParams {
  if (!state.atproto || params.get("iss") === state.atproto.issuer) return params;
  const checked = new URLSearchParams();
  const st = params.get("state");
  if (st !== null) checked.set("state", st);
  checked.set("error", "invalid_request");
  checked.set("error_description", "The authorization response came from another issuer than the one asked");
  return checked;
}

/** The code exchange and profile of a Bluesky OAuth connect; the account's DID is checked against the state. */
export async function exchangeBluesky(
  service: ServiceContext,
  state: OAuthState & BlueskyStateFields,
  code: string,
): Promise<{ tokens: TokenSet; profile: Profile }> {
  const grant = state.atproto;
  if (!grant) throw new ApiError("INVALID_PARAM", "Invalid or expired OAuth state");
  const ctx = contextFor(service);
  const tokens = await exchangeCode(ctx, grant, {
    code,
    codeVerifier: state.codeVerifier,
    expectedDid: grant.expectedDid,
  });
  const profile = await bluesky.profile(ctx, {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken ?? null,
    extras: tokens.extras ?? {},
    expiresAt: tokens.expiresAt,
    issuedAt: service.now,
  });
  return { tokens, profile };
}
