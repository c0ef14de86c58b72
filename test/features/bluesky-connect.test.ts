import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { call, createWorkspace, type TestWorkspace } from "../helpers/api";
import { CALLBACK } from "../helpers/connect";
import type { FakePlatform } from "../helpers/fake-provider";
import {
  BLUESKY_PDS,
  blueskyNetwork,
  blueskyOAuthFake,
  type FakeAtprotoServer,
  type FakePds,
  fakeFor,
  issuedSecrets,
} from "../helpers/platform-fakes";
import { rowOf, secretsOf } from "../helpers/rows";

let fake: FakePlatform;
let pds: FakePds;
let server: FakeAtprotoServer;
let ws: TestWorkspace;
let did: string;
let handle: string;

beforeEach(async () => {
  const id = crypto.randomUUID().replace(/-/g, "").slice(0, 12);
  did = `did:plc:${id}abcdefghijkl`;
  handle = `c${id}.bsky.social`;
  fake = fakeFor("bluesky");
  ({ pds, server } = blueskyOAuthFake(fake, {
    did,
    handle,
    appPassword: "conn-ectc-onne-ctco",
    displayName: "Connected",
  }));
  ws = await createWorkspace();
});

const start = (body: Record<string, unknown>) =>
  call("/v1/accounts/connect/bluesky", {
    method: "POST",
    key: ws.key,
    body: { callbackUrl: CALLBACK, ...body },
  });

/** The redirect as the authorization server sends the browser back, through the Worker's redirect URI. */
async function redirectBack(params: Record<string, string>) {
  const res = await call(`/v1/oauth/redirect/bluesky?${new URLSearchParams(params)}`);
  expect(res.status).toBe(302);
  return new URL(res.headers.get("location") ?? "");
}

async function connect(body: Record<string, unknown> = { handle: `@${handle}` }) {
  const started = await start(body);
  expect(started.status, started.text).toBe(200);
  const back = await redirectBack(server.approve(started.json.authorizationUrl));
  return call("/v1/accounts/callback/bluesky", {
    method: "POST",
    key: ws.key,
    body: { code: back.searchParams.get("code"), state: back.searchParams.get("state") },
  });
}

function noSecrets(text: string) {
  for (const secret of issuedSecrets) expect(text).not.toContain(secret);
}

describe("bluesky connect through AT Protocol OAuth", () => {
  it("resolves the handle, pushes the request, exchanges the code and stores a DPoP-bound account", async () => {
    const res = await connect();
    expect(res.status, res.text).toBe(200);
    expect(res.json.account).toMatchObject({
      platform: "bluesky",
      platformUserId: did,
      username: `@${handle}`,
      connectionType: "oauth",
      status: "active",
    });
    noSecrets(res.text);
    const secrets = await secretsOf(res.json.account.id);
    expect(secrets.extras).toMatchObject({ did, handle, pds: BLUESKY_PDS, oauth: { issuer: server.issuer } });
    const dpop = (secrets.extras as { oauth: { dpopJwk: { d: string } } }).oauth.dpopJwk;
    expect(dpop.d).toBeTruthy();
    // The DPoP private key is stored encrypted with the tokens, never in the clear.
    expect(JSON.stringify(await rowOf(res.json.account.id))).not.toContain(dpop.d);
    expect(pds.bound.get(secrets.accessToken ?? "")).toBeTruthy();

    const test = await call(`/v1/accounts/${res.json.account.id}/test`, { method: "POST", key: ws.key });
    expect(test.json).toMatchObject({ success: true, details: { platformUserId: did } });
  });

  it("connects without a handle: the user picks the account at the entryway's authorization server", async () => {
    const res = await connect({});
    expect(res.status, res.text).toBe(200);
    expect(res.json.account.platformUserId).toBe(did);
  });

  it("refreshes through the refresh model: the refresh token rotates and stays DPoP-bound", async () => {
    const connected = await connect();
    const id = connected.json.account.id;
    const before = await secretsOf(id);
    const res = await call(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key });
    expect(res.status, res.text).toBe(200);
    const after = await secretsOf(id);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.extras).toMatchObject({ did, oauth: { issuer: server.issuer } });
    expect(server.refreshTokens.get(before.refreshToken ?? "")?.spent).toBe(true);
    const test = await call(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect(test.json.success).toBe(true);
  });

  it("refuses a handle that does not resolve with INVALID_PARAM, storing no state", async () => {
    blueskyNetwork.txt.delete(handle);
    const res = await start({ handle });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    expect(res.json.error.details).toEqual([{ field: "handle", message: "Not resolvable" }]);
    expect(fake.calls.some((c) => c.path === "/api/oauth/par")).toBe(false);
  });

  it("refuses something that is neither a handle nor a DID", async () => {
    const res = await start({ handle: "not a handle!" });
    expect(res.status).toBe(400);
    expect(res.json.error.details).toEqual([{ field: "handle", message: "Not a handle or DID" }]);
  });

  it("refuses handle on other platforms", async () => {
    const res = await call("/v1/accounts/connect/twitter", {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK, handle },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.details).toEqual([{ field: "handle", message: "Not used by this platform" }]);
  });

  it("refuses an account other than the handle's (a DID mismatch), connecting nothing", async () => {
    server.signsIn = "did:plc:someoneelse0000000000000";
    const res = await connect();
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    expect(res.json.error.message).toMatch(/not the account asked for/);
  });

  it("forwards an error instead of a code that comes back from another issuer", async () => {
    const started = await start({ handle });
    const params = server.approve(started.json.authorizationUrl);
    const back = await redirectBack({ ...params, iss: "https://evil.example" });
    expect(back.searchParams.get("code")).toBeNull();
    expect(back.searchParams.get("error")).toBe("invalid_request");
    expect(back.searchParams.get("state")).toBe(params.state);
  });

  it("reconnects the same account by its DID", async () => {
    const connected = await connect();
    const id = connected.json.account.id;
    const started = await call(`/v1/accounts/${id}/reconnect`, {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK },
    });
    expect(started.status, started.text).toBe(200);
    const pushed = [...server.pushed.values()].at(-1);
    expect(pushed?.params.get("login_hint")).toBe(did);
    const back = await redirectBack(server.approve(started.json.authorizationUrl));
    const res = await call("/v1/accounts/callback/bluesky", {
      method: "POST",
      key: ws.key,
      body: { code: back.searchParams.get("code"), state: back.searchParams.get("state") },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.account.id).toBe(id);
  });
});

describe("bluesky client metadata", () => {
  it("serves the client metadata document at its client_id, with its JWKS beside it", async () => {
    const meta = await call("/v1/oauth/bluesky/client-metadata.json");
    expect(meta.status).toBe(200);
    expect(meta.json).toEqual({
      client_id: "https://switchboard.test/v1/oauth/bluesky/client-metadata.json",
      client_name: "Switchboard",
      client_uri: "https://switchboard.test",
      application_type: "web",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      scope: "atproto transition:generic",
      redirect_uris: ["https://switchboard.test/v1/oauth/redirect/bluesky"],
      dpop_bound_access_tokens: true,
      token_endpoint_auth_method: "private_key_jwt",
      token_endpoint_auth_signing_alg: "ES256",
      jwks_uri: "https://switchboard.test/v1/oauth/bluesky/jwks.json",
    });
    const jwks = await call("/v1/oauth/bluesky/jwks.json");
    expect(jwks.status).toBe(200);
    expect(jwks.json.keys).toHaveLength(1);
    expect(jwks.json.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(jwks.json.keys[0].d).toBeUndefined();
  });

  it("publishes every configured key, the first signing, and refuses without keys in production", async () => {
    const pkcs8 = async () => {
      const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
        "sign",
      ])) as CryptoKeyPair;
      const der = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
      return btoa(String.fromCharCode(...der));
    };
    const { callWith } = await import("../helpers/api");
    const keyed = { ...env, BLUESKY_OAUTH_KEYS: `b2:${await pkcs8()},b1:${await pkcs8()}` };
    const jwks = await callWith(keyed, "/v1/oauth/bluesky/jwks.json");
    expect(jwks.json.keys.map((k: { kid: string }) => k.kid)).toEqual(["b2", "b1"]);
    const production = { ...env, ENVIRONMENT: "production", PROVIDER_OVERRIDES: "", BLUESKY_OAUTH_KEYS: "" };
    const missing = await callWith(production, "/v1/oauth/bluesky/client-metadata.json");
    expect(missing.status).toBe(400);
    expect(missing.json.error.code).toBe("PLATFORM_NOT_CONFIGURED");
  });
});
