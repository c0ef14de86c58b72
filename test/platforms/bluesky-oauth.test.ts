import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../src/lib/errors";
import { newDpopKey } from "../../src/platforms/atproto/keys";
import {
  type AtprotoGrant,
  exchangeCode,
  pushAuthorization,
  refreshTokens,
} from "../../src/platforms/atproto/oauth";
import { authServerFor, parseIdentifier, resolveIdentity } from "../../src/platforms/atproto/resolve";
import { bluesky } from "../../src/platforms/bluesky";
import { platformContext } from "../../src/platforms/catalogue";
import { ProviderError } from "../../src/platforms/http";
import { refreshGrant } from "../../src/platforms/oauth";
import type { Grant, PlatformContext, TokenSet } from "../../src/platforms/types";
import type { FakePlatform } from "../helpers/fake-provider";
import { NOW, platformTestContext } from "../helpers/platform-context";
import {
  BLUESKY_PDS,
  blueskyNetwork,
  blueskyOAuthFake,
  type FakeAtprotoServer,
  type FakePds,
  fakeFor,
  publishAccount,
} from "../helpers/platform-fakes";

const DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
const HANDLE = "oauth.bsky.social";
const VERIFIER = "v".repeat(43);
const context = () => platformTestContext("bluesky");

let fake: FakePlatform;
let pds: FakePds;
let server: FakeAtprotoServer;
beforeEach(() => {
  fake = fakeFor("bluesky");
  ({ pds, server } = blueskyOAuthFake(fake, {
    did: DID,
    handle: HANDLE,
    appPassword: "oauth-oauth-oauth-oauth",
    displayName: "OAuth Account",
  }));
  blueskyNetwork.lookups.length = 0;
  blueskyNetwork.wellKnown.clear();
});

/** Resolution, PAR and consent as the connect service runs them: answers what the callback needs. */
async function authorize(ctx: PlatformContext = context(), handle: string | null = HANDLE) {
  const identity = handle ? await resolveIdentity(ctx, parseIdentifier(handle) as never, "handle") : null;
  const as = await authServerFor(ctx, identity?.pds ?? ctx.endpoints.apiBaseUrl, "handle", {
    entryway: !identity,
  });
  const dpopJwk = await newDpopKey();
  const pushed = await pushAuthorization(ctx, as, { state: "state-1", codeVerifier: VERIFIER, dpopJwk });
  const grant: AtprotoGrant = {
    issuer: as.issuer,
    tokenEndpoint: as.token_endpoint,
    revocationEndpoint: as.revocation_endpoint,
    dpopJwk,
    kid: pushed.kid,
  };
  return { grant, pushed, expectedDid: identity?.did ?? null };
}

async function connect(ctx: PlatformContext = context()) {
  const { grant, pushed, expectedDid } = await authorize(ctx);
  const { code } = server.approve(pushed.authorizationUrl);
  return exchangeCode(ctx, grant, { code, codeVerifier: VERIFIER, expectedDid });
}

const grantOf = (tokens: TokenSet): Grant => ({
  accessToken: tokens.accessToken,
  refreshToken: tokens.refreshToken ?? null,
  extras: tokens.extras ?? {},
});

describe("bluesky handle resolution", () => {
  it("resolves a handle through DNS, then its DID document, PDS and authorization server", async () => {
    const identity = await resolveIdentity(context(), { kind: "handle", handle: HANDLE }, "handle");
    expect(identity).toEqual({ did: DID, handle: HANDLE, pds: BLUESKY_PDS });
    expect(blueskyNetwork.lookups).toEqual([`dns:${HANDLE}`, `plc:${DID}`]);
    const as = await authServerFor(context(), identity.pds, "handle");
    expect(as.issuer).toBe(server.issuer);
  });

  it("falls back to https://<handle>/.well-known/atproto-did when DNS has no record", async () => {
    blueskyNetwork.txt.delete(HANDLE);
    blueskyNetwork.wellKnown.set(HANDLE, DID);
    const identity = await resolveIdentity(context(), { kind: "handle", handle: HANDLE }, "handle");
    expect(identity.did).toBe(DID);
    expect(blueskyNetwork.lookups).toEqual([`dns:${HANDLE}`, `https:${HANDLE}`, `plc:${DID}`]);
  });

  it.each([
    ["an unknown handle", () => blueskyNetwork.txt.delete(HANDLE), /does not resolve/],
    ["a DID without a document", () => blueskyNetwork.docs.delete(DID), /No DID document/],
    [
      "a document that does not claim the handle",
      () => publishAccount({ did: DID, handle: "someone-else.bsky.social" }, BLUESKY_PDS),
      /does not confirm the handle/,
    ],
    [
      "a document naming no https PDS",
      () => publishAccount({ did: DID, handle: HANDLE }, "ftp://pds.example"),
      /names no usable PDS/,
    ],
    [
      "two DID records",
      () => blueskyNetwork.txt.set(HANDLE, [`did=${DID}`, "did=did:plc:other"]),
      /more than one/,
    ],
  ])("refuses %s with INVALID_PARAM naming the field", async (_name, breakIt, message) => {
    breakIt();
    if (!blueskyNetwork.txt.has(HANDLE) && !blueskyNetwork.docs.has(DID))
      publishAccount({ did: DID, handle: HANDLE });
    const err = await resolveIdentity(context(), { kind: "handle", handle: HANDLE }, "handle").catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe("INVALID_PARAM");
    expect(err.message).toMatch(message);
    expect(err.details).toEqual([{ field: "handle", message: "Not resolvable" }]);
  });

  it("refuses an authorization server that lacks what AT Protocol requires", async () => {
    fake.api("GET /oauth/.well-known/oauth-authorization-server", () =>
      Response.json({ ...server.metadata(), dpop_signing_alg_values_supported: ["RS256"] }),
    );
    const err = await authServerFor(context(), BLUESKY_PDS, "handle").catch((e) => e);
    expect(err.code).toBe("INVALID_PARAM");
    expect(err.message).toMatch(/DPoP with ES256/);
  });

  it("refuses metadata naming another issuer", async () => {
    fake.api("GET /oauth/.well-known/oauth-authorization-server", () =>
      Response.json({ ...server.metadata(), issuer: "https://evil.example" }),
    );
    const err = await authServerFor(context(), BLUESKY_PDS, "handle").catch((e) => e);
    expect(err.message).toMatch(/names another issuer/);
  });

  it("resolves through the server PROVIDER_OVERRIDES names as resolverUrl instead of DNS and the PLC directory", async () => {
    const overrides = JSON.parse(env.PROVIDER_OVERRIDES);
    overrides.bluesky = { ...overrides.bluesky, resolverUrl: `${fake.base}/api` };
    const ctx = platformContext({ ...env, PROVIDER_OVERRIDES: JSON.stringify(overrides) }, "bluesky", NOW);
    const identity = await resolveIdentity(ctx, { kind: "handle", handle: HANDLE }, "handle");
    expect(identity).toEqual({ did: DID, handle: HANDLE, pds: BLUESKY_PDS });
    expect(blueskyNetwork.lookups).toEqual([]);
    expect(fake.calls.map((c) => c.path)).toEqual([
      "/api/xrpc/com.atproto.identity.resolveHandle",
      "/api/xrpc/com.atproto.identity.resolveDid",
    ]);
  });

  it("resolves a did:web through its host's did.json and refuses one with a path", async () => {
    const web = "did:web:pds.example.com";
    const doc = {
      id: web,
      alsoKnownAs: [],
      service: [{ id: "#atproto_pds", type: "AtprotoPersonalDataServer", serviceEndpoint: BLUESKY_PDS }],
    };
    const ctx = {
      ...context(),
      fetch: (async (input: RequestInfo | URL) =>
        String(input) === "https://pds.example.com/.well-known/did.json"
          ? Response.json(doc)
          : new Response("no", { status: 404 })) as typeof fetch,
    };
    expect(await resolveIdentity(ctx, { kind: "did", did: web }, "handle")).toEqual({
      did: web,
      handle: null,
      pds: BLUESKY_PDS,
    });
    const err = await resolveIdentity(
      ctx,
      { kind: "did", did: "did:web:pds.example.com%2Fuser" },
      "handle",
    ).catch((e) => e);
    expect(err.code).toBe("INVALID_PARAM");
  });

  it("treats the PLC directory failing as transient, not as the user's mistake", async () => {
    blueskyNetwork.docs.delete(DID);
    const ctx = { ...context(), fetch: (async () => new Response("busy", { status: 503 })) as typeof fetch };
    const err = await resolveIdentity(ctx, { kind: "did", did: DID }, "handle").catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("transient");
  });
});

describe("bluesky OAuth: PAR, code exchange and DPoP", () => {
  it("pushes the request with PKCE, state, a client assertion and a DPoP proof, retrying once for the nonce", async () => {
    const { pushed } = await authorize();
    const url = new URL(pushed.authorizationUrl);
    expect(url.origin + url.pathname).toBe(`${server.issuer}/authorize`);
    expect([...url.searchParams.keys()].sort()).toEqual(["client_id", "request_uri"]);
    expect(url.searchParams.get("client_id")).toBe(
      "https://switchboard.test/v1/oauth/bluesky/client-metadata.json",
    );
    const pars = fake.calls.filter((c) => c.path === "/api/oauth/par");
    // The first proof has no nonce (use_dpop_nonce), the retry carries the one the server sent.
    expect(pars).toHaveLength(2);
    expect(server.nonceChallenges).toBe(1);
    const form = new URLSearchParams(pars[1]?.body);
    expect(form.get("code_challenge_method")).toBe("S256");
    expect(form.get("state")).toBe("state-1");
    expect(form.get("scope")).toBe("atproto transition:generic");
    expect(form.get("client_assertion_type")).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    expect(pars[1]?.headers.get("dpop")).toBeTruthy();
    expect(server.assertions).toEqual([
      { kid: pushed.kid, endpoint: "par" },
      { kid: pushed.kid, endpoint: "par" },
    ]);
  });

  it("exchanges the code for DPoP-bound tokens of the resolved DID and reads the profile with proofs", async () => {
    const tokens = await connect();
    expect(tokens).toMatchObject({
      scopes: ["atproto", "transition:generic"],
      extras: { did: DID, handle: HANDLE, pds: BLUESKY_PDS, oauth: { issuer: server.issuer } },
    });
    expect(tokens.expiresAt).toBe(NOW + 1800_000);
    const profile = await bluesky.profile(context(), grantOf(tokens));
    expect(profile).toMatchObject({ platformUserId: DID, username: `@${HANDLE}` });
    const call = fake.calls.at(-1);
    expect(call?.path).toBe("/api/xrpc/app.bsky.actor.getProfile");
    expect(call?.headers.get("authorization")).toBe(`DPoP ${tokens.accessToken}`);
    expect(call?.headers.get("dpop")).toBeTruthy();
    expect(JSON.stringify(tokens.extras)).not.toContain("client_assertion");
  });

  it("refuses tokens for another DID than the handle resolved to", async () => {
    server.signsIn = "did:plc:someoneelse000000000000";
    const err = await connect().catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(err.details.code).toBe("did_mismatch");
  });

  it("refuses a token response without the account's DID", async () => {
    server.sendSub = false;
    const err = await connect().catch((e) => e);
    expect(err.message).toMatch(/without the account's DID/);
  });

  it("checks an entryway sign-in's DID against the issuer that signed it in", async () => {
    const ctx = context();
    const { grant, pushed } = await authorize(ctx, null);
    const { code } = server.approve(pushed.authorizationUrl);
    const tokens = await exchangeCode(ctx, { ...grant }, { code, codeVerifier: VERIFIER, expectedDid: null });
    expect(tokens.extras?.did).toBe(DID);

    // The account moves to a PDS whose authorization server is another one: the entryway may not sign it in.
    const second = await authorize(ctx, null);
    const other = server.approve(second.pushed.authorizationUrl);
    const elsewhere = `${fake.base}/api/elsewhere`;
    fake.api("GET /.well-known/oauth-protected-resource", ({ request }) =>
      Response.json({
        resource: request.headers.get("x-fake-called-origin") ?? `${fake.base}/api`,
        authorization_servers: [request.headers.get("x-fake-called-origin") ? elsewhere : server.issuer],
      }),
    );
    fake.api("GET /elsewhere/.well-known/oauth-authorization-server", () =>
      Response.json({ ...server.metadata(), issuer: elsewhere }),
    );
    const err = await exchangeCode(ctx, second.grant, {
      code: other.code,
      codeVerifier: VERIFIER,
      expectedDid: null,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.details.code).toBe("issuer_mismatch");
  });

  it("a PDS refuses the token without a proof, sent as Bearer, or with another key's proof", async () => {
    const tokens = await connect();
    const bearerCall = await fetch(`${BLUESKY_PDS}/xrpc/app.bsky.actor.getProfile?actor=${DID}`, {
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    });
    expect(bearerCall.status).toBe(401);
    expect(bearerCall.headers.get("www-authenticate")).toMatch(/invalid_token/);

    const noProof = await fetch(`${BLUESKY_PDS}/xrpc/app.bsky.actor.getProfile?actor=${DID}`, {
      headers: { authorization: `DPoP ${tokens.accessToken}` },
    });
    expect(noProof.status).toBe(401);
    expect(noProof.headers.get("www-authenticate")).toMatch(/invalid_dpop_proof/);

    const stranger = await newDpopKey();
    const extras = { ...tokens.extras, oauth: { ...(tokens.extras?.oauth as object), dpopJwk: stranger } };
    const err = await bluesky.profile(context(), { ...grantOf(tokens), extras }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(err.details.status).toBe(401);
  });

  it("retries a PDS call once when the server rotates its nonce", async () => {
    const tokens = await connect();
    await bluesky.profile(context(), grantOf(tokens));
    server.nonce = "rotated-nonce";
    const before = server.nonceChallenges;
    const profile = await bluesky.profile(context(), grantOf(tokens));
    expect(profile.platformUserId).toBe(DID);
    expect(server.nonceChallenges).toBe(before + 1);
  });

  it("answers PLATFORM_NOT_CONFIGURED without client keys, before calling anyone", async () => {
    const ctx = context();
    const as = await authServerFor(ctx, BLUESKY_PDS, "handle");
    const calls = fake.calls.length;
    const err = await pushAuthorization(
      { ...ctx, atproto: ctx.atproto ? { ...ctx.atproto, keys: undefined } : undefined },
      as,
      { state: "s", codeVerifier: VERIFIER, dpopJwk: await newDpopKey() },
    ).catch((e) => e);
    expect(err.code).toBe("PLATFORM_NOT_CONFIGURED");
    expect(fake.calls.length).toBe(calls);
  });
});

describe("bluesky OAuth refresh", () => {
  it("rotates the single-use refresh token, DPoP-bound, and refuses a replay", async () => {
    const tokens = await connect();
    const first = grantOf(tokens);
    const refreshed = await refreshGrant(context(), bluesky, first);
    expect(refreshed.refreshToken).not.toBe(first.refreshToken);
    expect(refreshed.accessToken).not.toBe(first.accessToken);
    expect(refreshed.extras).toMatchObject({ oauth: { issuer: server.issuer } });
    const call = fake.calls.filter((c) => c.path === "/api/oauth/token").at(-1);
    expect(new URLSearchParams(call?.body).get("grant_type")).toBe("refresh_token");
    expect(call?.headers.get("dpop")).toBeTruthy();

    const replay = await refreshGrant(context(), bluesky, first).catch((e) => e);
    expect(replay).toBeInstanceOf(ProviderError);
    expect(replay.kind).toBe("refused");
    expect(replay.details.code).toBe("invalid_grant");
    // A replay revokes the session: the rotated token is dead too.
    const after = await refreshGrant(context(), bluesky, {
      ...first,
      refreshToken: refreshed.refreshToken ?? null,
    }).catch((e) => e);
    expect(after.kind).toBe("refused");
  });

  it("refuses a refresh that answers another DID", async () => {
    const tokens = await connect();
    const err = await refreshTokens(
      context(),
      { ...tokens.extras, did: "did:plc:notthisone00000000000000" },
      tokens.refreshToken ?? "",
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.details.code).toBe("did_mismatch");
  });

  it("revokes the session at the authorization server", async () => {
    const tokens = await connect();
    await bluesky.revoke?.(context(), grantOf(tokens));
    expect(fake.calls.at(-1)?.path).toBe("/api/oauth/revoke");
    const err = await bluesky.profile(context(), grantOf(tokens)).catch((e) => e);
    expect(err.kind).toBe("refused");
    expect(pds.refresh.get(tokens.refreshToken ?? "")?.deleted).toBe(true);
  });

  it("keeps signing a grant's refreshes with the key it was made with while that key is listed", async () => {
    const pkcs8 = async () => {
      const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
        "sign",
      ])) as CryptoKeyPair;
      const der = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
      return btoa(String.fromCharCode(...der));
    };
    const [b1, b2] = [`b1:${await pkcs8()}`, `b2:${await pkcs8()}`];
    const keyed = (secret: string) => {
      const ctx = context();
      return { ...ctx, atproto: ctx.atproto ? { ...ctx.atproto, keys: { secret } } : undefined };
    };
    server.clientKeys = { secret: `${b2},${b1}` };
    const tokens = await connect(keyed(b1));
    expect(tokens.extras?.oauth).toMatchObject({ kid: "b1" });
    // b2 now signs new grants; the grant made with b1 refreshes with b1.
    const rotated = await refreshGrant(keyed(`${b2},${b1}`), bluesky, grantOf(tokens));
    expect(server.assertions.at(-1)).toEqual({ kid: "b1", endpoint: "token" });
    expect(rotated.extras?.oauth).toMatchObject({ kid: "b1" });
    // Once b1 is dropped, the next refresh signs with b2 and the grant remembers it.
    // As the refresh service stores it: the new tokens, the extras merged over the old.
    const stored = { ...grantOf(rotated), extras: { ...tokens.extras, ...rotated.extras } };
    const moved = await refreshGrant(keyed(b2), bluesky, stored);
    expect(server.assertions.at(-1)).toEqual({ kid: "b2", endpoint: "token" });
    expect(moved.extras?.oauth).toMatchObject({ kid: "b2" });
  });
});
