import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { completeCallback, startConnect } from "../../src/features/connect/connect.service";
import { bluesky } from "../../src/platforms/bluesky";
import { platformContext } from "../../src/platforms/catalogue";
import { refreshGrant } from "../../src/platforms/oauth";
import { call, createWorkspace } from "../helpers/api";
import { CALLBACK } from "../helpers/connect";
import { secretsOf } from "../helpers/rows";
import { SANDBOX_PUBLIC_URL, sandboxEnv, sandboxFetcher } from "../helpers/sandbox";

const PUBLIC_URL = SANDBOX_PUBLIC_URL;
const sbFetch = sandboxFetcher;
const ISSUER = `${PUBLIC_URL}/sandbox/bluesky/api/oauth`;

/** The consent page of the authorization URL, then the decision, as a browser would post it. */
async function consent(authorizationUrl: string, username: string, decision = "approve") {
  const page = await sbFetch(authorizationUrl);
  const html = await page.text();
  expect(page.status, html.slice(0, 300)).toBe(200);
  const request = /name="request" value="([^"]+)"/.exec(html)?.[1] ?? "";
  return sbFetch(`${ISSUER}/authorize`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ request, decision, username }),
  });
}

async function connect(handle: string | undefined, signInAs: string) {
  const ws = await createWorkspace();
  const db = createDb(env.DB);
  const auth = { keyId: ws.keyId, workspaceId: ws.id, userId: "usr_sandbox", scopes: [] };
  const started = await startConnect({ env: sandboxEnv, db, now: Date.now() }, auth, "bluesky", {
    callbackUrl: CALLBACK,
    ...(handle ? { handle } : {}),
  });
  expect(started.authorizationUrl.startsWith(`${ISSUER}/authorize?`)).toBe(true);
  const decided = await consent(started.authorizationUrl, signInAs);
  expect(decided.status).toBe(302);
  const location = new URL(decided.headers.get("location") as string);
  expect(location.searchParams.get("iss")).toBe(ISSUER);
  const forwarded = await call(`${location.pathname}${location.search}`);
  const landed = new URL(forwarded.headers.get("location") as string);
  return completeCallback({ env: sandboxEnv, db, now: Date.now() }, auth, "bluesky", {
    code: landed.searchParams.get("code") as string,
    state: started.state,
  });
}

describe("sandbox: Bluesky through AT Protocol OAuth, with no internet", () => {
  it("resolves the handle, pushes the request, consents, exchanges DPoP-bound tokens and rotates them", async () => {
    const { account } = await connect("alice.bsky.social", "alice.bsky.social");
    expect(account).toMatchObject({
      username: "@alice.bsky.social",
      connectionType: "oauth",
      status: "active",
    });
    expect(account.platformUserId).toMatch(/^did:plc:sbx-bluesky-[0-9a-f]{12}$/);

    const secrets = await secretsOf(account.id);
    expect(secrets.extras).toMatchObject({
      did: account.platformUserId,
      handle: "alice.bsky.social",
      pds: `${PUBLIC_URL}/sandbox/bluesky/api`,
      oauth: { issuer: ISSUER },
    });
    const ctx = platformContext(sandboxEnv, "bluesky", Date.now());
    const grant = {
      accessToken: secrets.accessToken ?? "",
      refreshToken: secrets.refreshToken,
      extras: secrets.extras ?? {},
    };
    expect((await bluesky.profile(ctx, grant)).platformUserId).toBe(account.platformUserId);

    // The token is DPoP-bound: as a plain bearer token the PDS refuses it.
    const bare = await sbFetch(
      `${PUBLIC_URL}/sandbox/bluesky/api/xrpc/app.bsky.actor.getProfile?actor=${account.platformUserId}`,
      { headers: { authorization: `Bearer ${grant.accessToken}` } },
    );
    expect(bare.status).toBe(401);
    expect(bare.headers.get("www-authenticate")).toMatch(/^DPoP /);

    const refreshed = await refreshGrant(ctx, bluesky, grant);
    expect(refreshed.refreshToken).not.toBe(grant.refreshToken);
    const replay = await refreshGrant(ctx, bluesky, grant).catch((e) => e);
    expect(replay.kind).toBe("refused");

    await bluesky.revoke?.(ctx, { ...grant, ...refreshed, refreshToken: refreshed.refreshToken ?? null });
  });

  it("lets the user pick the account when no handle is given", async () => {
    const { account } = await connect(undefined, "carol.bsky.social");
    expect(account.username).toBe("@carol.bsky.social");
  });

  it("refuses a sign-in as another account than the handle asked for", async () => {
    const err = await connect("alice.bsky.social", "mallory.bsky.social").catch((e) => e);
    expect(err.code).toBe("INVALID_PARAM");
    expect(err.message).toMatch(/not the account asked for/);
  });

  it("serves the pieces on their own: metadata, a nonce challenge, a refused client assertion", async () => {
    const meta = await sbFetch(`${ISSUER}/.well-known/oauth-authorization-server`);
    expect(await meta.json()).toMatchObject({ issuer: ISSUER, dpop_signing_alg_values_supported: ["ES256"] });
    const par = await sbFetch(`${ISSUER}/par`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: `${PUBLIC_URL}/v1/oauth/bluesky/client-metadata.json` }),
    });
    expect(par.status).toBe(401);
    expect(await par.json()).toMatchObject({ error: "invalid_client" });
    expect(par.headers.get("dpop-nonce")).toBeTruthy();
  });
});
