import { env } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { completeCallback, startConnect } from "../../src/features/connect/connect.service";
import { PLATFORMS, type Platform } from "../../src/lib/domain";
import { sandboxEnabled, sandboxEndpoints } from "../../src/platforms/catalogue";
import { ProviderError } from "../../src/platforms/http";
import { MODULES as CATALOGUE } from "../../src/platforms/modules";
import { buildAuthorizationUrl, exchangeCode, refreshGrant } from "../../src/platforms/oauth";
import { sandboxApp, sandboxFetch } from "../../src/platforms/sandbox/sandbox.routes";
import type { CredentialsInput, Grant, PlatformContext, Profile, TokenSet } from "../../src/platforms/types";
import { call, createWorkspace } from "../helpers/api";
import { CALLBACK } from "../helpers/connect";

const PUBLIC_URL = "https://switchboard.test";
const base = { ...env, PROVIDER_OVERRIDES: "" };
const sandboxEnv = { ...base, SANDBOX_PROVIDERS: "true", ENVIRONMENT: "development" } as Env;
const offEnv = { ...base, SANDBOX_PROVIDERS: "false", ENVIRONMENT: "development" } as Env;
const productionEnv = { ...base, SANDBOX_PROVIDERS: "true", ENVIRONMENT: "production" } as Env;
const sbFetch = sandboxFetch(sandboxEnv);

const redirectUri = (platform: Platform) => `${PUBLIC_URL}/v1/oauth/redirect/${platform}`;
const OAUTH_PLATFORMS = PLATFORMS.filter((p) => CATALOGUE[p].oauth);

/** The context platformContext builds while the sandbox is on, with the fetch the lead wires in. */
function context(platform: Platform, now = Date.now()): PlatformContext {
  return {
    platform,
    endpoints: sandboxEndpoints(PUBLIC_URL, platform),
    clientId: "sandbox-client",
    clientSecret: "sandbox-secret",
    allowHttp: true,
    fetch: sbFetch,
    now,
  };
}

const sandbox = (path: string, init?: RequestInit, target: Env = sandboxEnv) =>
  sandboxApp.fetch(new Request(`${PUBLIC_URL}/sandbox/${path}`, init), target);

/** The hidden signed consent request in the page. */
function requestField(page: string): string {
  const match = /name="request" value="([^"]+)"/.exec(page);
  if (!match?.[1]) throw new Error(`no consent request in page: ${page.slice(0, 300)}`);
  return match[1];
}

/** Presses a button on the consent page the authorization URL shows; answers the redirect target. */
async function consent(
  authorizationUrl: string,
  options: { decision?: "approve" | "deny"; username?: string } = {},
) {
  const page = await sbFetch(authorizationUrl);
  expect(page.status, await page.clone().text()).toBe(200);
  const platform = new URL(authorizationUrl).pathname.split("/")[2] as Platform;
  const form = new URLSearchParams({
    request: requestField(await page.text()),
    decision: options.decision ?? "approve",
  });
  if (options.username !== undefined) form.set("username", options.username);
  const decided = await sbFetch(`${PUBLIC_URL}/sandbox/${platform}/authorize`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: form,
  });
  return decided;
}

/** connect → consent → code exchange (oauth.ts and the module's finishGrant) → profile, as the app does. */
async function connectThroughModule(platform: Platform, username?: string, module = CATALOGUE[platform]) {
  const ctx = context(platform);
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = await buildAuthorizationUrl(ctx, module, {
    state,
    codeVerifier,
    redirectUri: redirectUri(platform),
  });
  const page = await sbFetch(url);
  const form = new URLSearchParams({ request: requestField(await page.text()), decision: "approve" });
  form.set("username", username ?? (await defaultUsername(url)));
  const decided = await sbFetch(`${PUBLIC_URL}/sandbox/${platform}/authorize`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: form,
  });
  expect(decided.status).toBe(302);
  const back = new URL(decided.headers.get("location") as string);
  expect(back.origin + back.pathname).toBe(redirectUri(platform));
  expect(back.searchParams.get("state")).toBe(state);
  const code = back.searchParams.get("code") as string;
  const tokens = await exchangeCode(ctx, module, { code, codeVerifier, redirectUri: redirectUri(platform) });
  const profile = await module.profile(ctx, grantOf(tokens));
  return { tokens, profile, code, codeVerifier, ctx };
}

async function defaultUsername(authorizationUrl: string): Promise<string> {
  const page = await (await sbFetch(authorizationUrl)).text();
  return /name="username" value="([^"]*)"/.exec(page)?.[1] ?? "";
}

const grantOf = (tokens: TokenSet, now = Date.now()): Grant => ({
  accessToken: tokens.accessToken,
  refreshToken: tokens.refreshToken ?? null,
  extras: tokens.extras ?? {},
  expiresAt: tokens.expiresAt,
  issuedAt: now,
});

async function refusal(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error("expected a ProviderError");
}

async function tokenRequest(platform: Platform, params: Record<string, string>, basic = true) {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  const body = new URLSearchParams(params);
  if (basic) headers.authorization = `Basic ${btoa("sandbox-client:sandbox-secret")}`;
  const res = await sbFetch(`${PUBLIC_URL}/sandbox/${platform}/token`, { method: "POST", headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A Twitter code issued by the consent page for a PKCE request. */
async function twitterCode(verifier = oauth.generateRandomCodeVerifier()) {
  const url = await buildAuthorizationUrl(context("twitter"), CATALOGUE.twitter, {
    state: "s-1",
    codeVerifier: verifier,
    redirectUri: redirectUri("twitter"),
  });
  const decided = await consent(url, { username: "sandbox_x" });
  return {
    code: new URL(decided.headers.get("location") as string).searchParams.get("code") as string,
    verifier,
  };
}

describe("sandbox switch", () => {
  it("answers the app's 404 NOT_FOUND envelope when the sandbox is off", async () => {
    for (const path of ["twitter/authorize", "twitter/api/2/users/me", "nowhere/authorize"]) {
      const res = await sandbox(path, undefined, offEnv);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: { code: "NOT_FOUND", message: "Route not found" } });
    }
    const token = await sandbox("twitter/token", { method: "POST" }, offEnv);
    expect(token.status).toBe(404);
    // The deployed app (SANDBOX_PROVIDERS=false in tests) does not serve it either.
    const app = await call("/sandbox/twitter/authorize?client_id=sandbox-client");
    expect(app.status).toBe(404);
    expect(app.json.error.code).toBe("NOT_FOUND");
  });

  it("is refused in production even when SANDBOX_PROVIDERS=true", async () => {
    expect(() => sandboxEnabled(productionEnv)).toThrow(/must not be true in production/);
    const res = await sandbox("twitter/authorize", undefined, productionEnv);
    expect(res.status).toBe(404);
    const viaFetch = await sandboxFetch(productionEnv)(`${PUBLIC_URL}/sandbox/twitter/api/2/users/me`);
    expect(viaFetch.status).toBe(404);
  });

  it("sends other URLs to the fallback fetch and answers sandbox URLs in-process", async () => {
    const seen: string[] = [];
    const fallback = (async (input: RequestInfo | URL) => {
      seen.push(String(input));
      return new Response("elsewhere");
    }) as typeof fetch;
    const dispatch = sandboxFetch(sandboxEnv, fallback);
    expect(await (await dispatch("https://api.x.com/2/users/me")).text()).toBe("elsewhere");
    expect(await (await dispatch(`${PUBLIC_URL}/v1/accounts`)).text()).toBe("elsewhere");
    const inProcess = await dispatch(`${PUBLIC_URL}/sandbox/twitter/api/2/users/me`);
    expect(inProcess.status).toBe(401);
    expect(seen).toEqual(["https://api.x.com/2/users/me", `${PUBLIC_URL}/v1/accounts`]);
  });
});

describe("consent page", () => {
  const authorize = (params: Record<string, string>, platform: Platform = "twitter") =>
    sandbox(`${platform}/authorize?${new URLSearchParams(params)}`);
  const good = {
    response_type: "code",
    client_id: "sandbox-client",
    redirect_uri: redirectUri("twitter"),
    scope: "tweet.read users.read offline.access",
    state: "state-123",
  };

  it("renders the platform, the scopes and the sandbox user, with strict headers", async () => {
    const res = await authorize(good);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const page = await res.text();
    expect(page).toContain("Sign in to X");
    for (const scope of ["tweet.read", "users.read", "offline.access"]) expect(page).toContain(scope);
    expect(page).toContain('value="sandbox_x"');
    // Enter in the username field submits the first button: it must be Approve.
    expect(page.indexOf('value="approve"')).toBeLessThan(page.indexOf('value="deny"'));
    expect(page).not.toMatch(/<(script|link|img)\b/);
    expect(page).not.toMatch(/https?:\/\/(?!www\.w3)/);
  });

  it("escapes what it renders back", async () => {
    const page = await (await authorize(good)).text();
    const res = await sandbox("twitter/authorize", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        request: requestField(page),
        decision: "approve",
        username: '"><script>alert(1)</script>',
      }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    const again = await res.text();
    expect(again).not.toContain("<script>");
    expect(again).toContain("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
  });

  it("approve redirects with code and state; deny with access_denied and state", async () => {
    const url = `${PUBLIC_URL}/sandbox/twitter/authorize?${new URLSearchParams(good)}`;
    const approved = await consent(url, { username: "sandbox_x" });
    expect(approved.status).toBe(302);
    const back = new URL(approved.headers.get("location") as string);
    expect(back.origin + back.pathname).toBe(redirectUri("twitter"));
    expect(back.searchParams.get("state")).toBe("state-123");
    expect(back.searchParams.get("code")).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

    const denied = await consent(url, { decision: "deny" });
    expect(denied.status).toBe(302);
    const refused = new URL(denied.headers.get("location") as string);
    expect(refused.origin + refused.pathname).toBe(redirectUri("twitter"));
    expect(refused.searchParams.get("error")).toBe("access_denied");
    expect(refused.searchParams.get("state")).toBe("state-123");
    expect(refused.searchParams.get("code")).toBeNull();
  });

  it("refuses an unregistered redirect_uri or an unknown client with a page, never a redirect", async () => {
    for (const params of [
      { ...good, redirect_uri: "https://evil.example/steal" },
      { ...good, redirect_uri: `${redirectUri("twitter")}/extra` },
      { ...good, redirect_uri: redirectUri("linkedin") },
      { ...good, client_id: "someone-else" },
    ]) {
      const res = await authorize(params);
      expect(res.status).toBe(400);
      expect(res.headers.get("location")).toBeNull();
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(await res.text()).not.toContain("evil.example");
    }
    // TikTok names its client id client_key.
    const tiktok = { ...good, redirect_uri: redirectUri("tiktok"), scope: "user.info.basic" };
    expect((await authorize(tiktok, "tiktok")).status).toBe(400);
    const { client_id: _, ...rest } = tiktok;
    expect((await authorize({ ...rest, client_key: "sandbox-client" }, "tiktok")).status).toBe(200);
  });

  it("answers a bad response_type, PKCE method or scope with an error redirect", async () => {
    for (const [params, error] of [
      [{ ...good, response_type: "token" }, "unsupported_response_type"],
      [{ ...good, code_challenge: "x".repeat(43), code_challenge_method: "plain" }, "invalid_request"],
      [{ ...good, scope: "tweet.read dm.everything" }, "invalid_scope"],
    ] as const) {
      const res = await authorize(params);
      expect(res.status).toBe(302);
      const back = new URL(res.headers.get("location") as string);
      expect(back.searchParams.get("error")).toBe(error);
      expect(back.searchParams.get("state")).toBe("state-123");
    }
  });

  it("gives a typed username its own stable account", async () => {
    const alice = await connectThroughModule("twitter", "alice");
    const again = await connectThroughModule("twitter", "alice");
    const fixed = await connectThroughModule("twitter");
    expect(alice.profile.username).toBe("@alice");
    expect(alice.profile.platformUserId).toMatch(/^sbx-twitter-[0-9a-f]{12}$/);
    expect(again.profile.platformUserId).toBe(alice.profile.platformUserId);
    expect(fixed.profile).toMatchObject({ platformUserId: "sbx-twitter-1001", username: "@sandbox_x" });
  });
});

describe("token endpoint", () => {
  it("exchanges a code once: a replay is refused and revokes what it issued", async () => {
    const { code, verifier } = await twitterCode();
    const params = {
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri("twitter"),
      code_verifier: verifier,
    };
    const first = await tokenRequest("twitter", params);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ token_type: "bearer", expires_in: 7200 });
    expect(first.body.refresh_token).toEqual(expect.any(String));
    const second = await tokenRequest("twitter", params);
    expect(second.status).toBe(400);
    expect(second.body.error).toBe("invalid_grant");
    const err = await refusal(
      CATALOGUE.twitter.profile(context("twitter"), {
        accessToken: first.body.access_token as string,
        refreshToken: null,
        extras: {},
      }),
    );
    expect(err.details.status).toBe(401);
  });

  it("refuses a PKCE mismatch, a missing verifier and a wrong redirect_uri", async () => {
    const mismatch = await twitterCode();
    const err = await refusal(
      exchangeCode(context("twitter"), CATALOGUE.twitter, {
        code: mismatch.code,
        codeVerifier: oauth.generateRandomCodeVerifier(),
        redirectUri: redirectUri("twitter"),
      }),
    );
    expect(err.kind).toBe("refused");
    expect(err.message).toContain("PKCE");

    const missing = await twitterCode();
    const noVerifier = await tokenRequest("twitter", {
      grant_type: "authorization_code",
      code: missing.code,
      redirect_uri: redirectUri("twitter"),
    });
    expect(noVerifier).toMatchObject({ status: 400, body: { error: "invalid_grant" } });

    const elsewhere = await twitterCode();
    const wrongRedirect = await tokenRequest("twitter", {
      grant_type: "authorization_code",
      code: elsewhere.code,
      redirect_uri: "https://evil.example/cb",
      code_verifier: elsewhere.verifier,
    });
    expect(wrongRedirect).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  it("authenticates the client: Basic or form, and nothing else", async () => {
    const { code, verifier } = await twitterCode();
    const params = {
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri("twitter"),
      code_verifier: verifier,
    };
    const none = await tokenRequest("twitter", params, false);
    expect(none).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    const wrong = await tokenRequest(
      "twitter",
      { ...params, client_id: "sandbox-client", client_secret: "guess" },
      false,
    );
    expect(wrong).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    const form = await tokenRequest(
      "twitter",
      { ...params, client_id: "sandbox-client", client_secret: "sandbox-secret" },
      false,
    );
    expect(form.status).toBe(200);
    const forged = await tokenRequest("twitter", { ...params, code: `${code.slice(0, -4)}AAAA` });
    expect(forged).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  it("rotates refresh tokens; a reused one is refused with invalid_grant and kills the grant", async () => {
    const { tokens, ctx } = await connectThroughModule("twitter");
    const first = await refreshGrant(ctx, CATALOGUE.twitter, grantOf(tokens));
    expect(first.refreshToken).toEqual(expect.any(String));
    expect(first.refreshToken).not.toBe(tokens.refreshToken);
    expect(first.accessToken).not.toBe(tokens.accessToken);
    expect((await CATALOGUE.twitter.profile(ctx, grantOf(first))).platformUserId).toBe("sbx-twitter-1001");

    const replay = await refusal(refreshGrant(ctx, CATALOGUE.twitter, grantOf(tokens)));
    expect(replay.kind).toBe("refused");
    expect(replay.details.code).toBe("invalid_grant");
    // Replay detection revokes the grant: the newest tokens die too.
    const after = await refusal(refreshGrant(ctx, CATALOGUE.twitter, grantOf(first)));
    expect(after.details.code).toBe("invalid_grant");
    expect((await refusal(CATALOGUE.twitter.profile(ctx, grantOf(first)))).details.status).toBe(401);
  });

  it("keeps a non-rotating refresh token valid (Google) and issues none where the platform gives none", async () => {
    const { tokens, ctx } = await connectThroughModule("youtube");
    expect(tokens.refreshToken).toEqual(expect.any(String));
    const one = await refreshGrant(ctx, CATALOGUE.youtube, grantOf(tokens));
    const two = await refreshGrant(ctx, CATALOGUE.youtube, grantOf(tokens));
    expect(one.refreshToken).toBeNull();
    expect(two.accessToken).not.toBe(one.accessToken);
    for (const platform of ["mastodon", "facebook", "instagram", "threads"] as const) {
      const connected = await connectThroughModule(platform);
      expect(connected.tokens.refreshToken ?? null, platform).toBeNull();
    }
  });

  it("revoke makes the profile call answer 401", async () => {
    const { tokens, ctx } = await connectThroughModule("twitter");
    await CATALOGUE.twitter.revoke?.(ctx, grantOf(tokens));
    const err = await refusal(CATALOGUE.twitter.profile(ctx, grantOf(tokens)));
    expect(err.kind).toBe("refused");
    expect(err.details.status).toBe(401);
    const refresh = await refusal(refreshGrant(ctx, CATALOGUE.twitter, grantOf(tokens)));
    expect(refresh.details.code).toBe("invalid_grant");
  });

  it("keeps only sandbox: keys in KV, with TTLs of at least 60 s and no token in them", async () => {
    const { tokens, code } = await connectThroughModule("reddit");
    const listed = await env.OAUTH_STATE.list({ prefix: "sandbox:" });
    expect(listed.keys.length).toBeGreaterThan(0);
    const now = Date.now() / 1000;
    for (const key of listed.keys) {
      expect(key.name).toMatch(/^sandbox:(used|revoked):[\w-]+$/);
      expect(key.expiration).toBeGreaterThanOrEqual(Math.floor(now + 59));
      for (const secret of [tokens.accessToken, tokens.refreshToken, code])
        expect(key.name).not.toContain(secret?.split(".")[2]);
    }
  });
});

/** What each platform's own module reads from the sandbox, through its real profile()/finishGrant. */
const EXPECTED: Record<Platform, Partial<Profile>> = {
  twitter: { platformUserId: "sbx-twitter-1001", username: "@sandbox_x", displayName: "Sandbox X User" },
  // LinkedIn has no handle for API clients; its stand-in, the email, needs the email scope Switchboard does not ask.
  linkedin: { platformUserId: "sbx-linkedin-1001", displayName: "Sandbox LinkedIn Member", username: null },
  youtube: {
    platformUserId: "sbx-youtube-1001",
    username: "@sandbox_youtube",
    displayName: "Sandbox YouTube Channel",
    accountType: "channel",
  },
  googlebusiness: {
    platformUserId: "sbx-googlebusiness-1001",
    displayName: "Sandbox Bakery",
    accountType: "location_group",
  },
  reddit: {
    platformUserId: "sbx-reddit-1001",
    username: "u/sandbox_reddit",
    displayName: "Sandbox Redditor",
  },
  pinterest: {
    platformUserId: "sbx-pinterest-1001",
    username: "sandbox_pins",
    displayName: "Sandbox Pins",
    accountType: "business",
  },
  facebook: { platformUserId: "sbx-facebook-1001", displayName: "Sandbox Facebook User" },
  instagram: {
    platformUserId: "sbx-instagram-1001",
    username: "@sandbox_insta",
    displayName: "Sandbox Instagram",
    accountType: "business",
  },
  threads: {
    platformUserId: "sbx-threads-1001",
    username: "@sandbox_threads",
    displayName: "Sandbox Threads",
  },
  whatsapp: {
    platformUserId: "106540352242922",
    username: "+1 555-010-2922",
    displayName: "Sandbox Business",
    accountType: "business",
  },
  // TikTok's username needs user.info.profile, which Switchboard asks for; user/info names no account type.
  tiktok: {
    platformUserId: "sbx-tiktok-1001",
    username: "@sandbox_tiktok",
    displayName: "Sandbox TikTok",
    accountType: null,
  },
  snapchat: {
    platformUserId: "sbx-snapchat-1001",
    username: "sandbox_snap",
    displayName: "Sandbox Snap Business",
  },
  mastodon: {
    platformUserId: "sbx-mastodon-1001",
    username: "@sandbox@switchboard.test",
    displayName: "Sandbox Mastodon",
  },
  bluesky: {
    platformUserId: "did:plc:sbx-bluesky-1001",
    username: "@sandbox.bsky.social",
    displayName: "Sandbox Bluesky",
  },
  telegram: { platformUserId: "7012345678", username: "@sandbox_7012345678_bot", accountType: "bot" },
};

/** The module's own credentials connect (Bluesky, Telegram, WhatsApp). */
function credentials(platform: Platform, ctx: PlatformContext, input: CredentialsInput) {
  const connect = CATALOGUE[platform].connectWithCredentials;
  if (!connect) throw new Error(`${platform} has no credentials connect`);
  return connect.call(CATALOGUE[platform], ctx, input);
}

const BOT_TOKEN = "7012345678:AAHsandboxsandboxsandboxsandbox12345";
const SYSTEM_USER_TOKEN = "EAAGsandboxSystemUserToken0123456789";

describe("scopes a real consent grants beyond the module's", () => {
  it("LinkedIn grants email to an app that asks, and the module reads it as the username", async () => {
    const linkedin = CATALOGUE.linkedin;
    const oauthSettings = linkedin.oauth as NonNullable<typeof linkedin.oauth>;
    const withEmail = {
      ...linkedin,
      oauth: { ...oauthSettings, scopes: [...oauthSettings.scopes, "email"] },
    };
    const { tokens, profile } = await connectThroughModule("linkedin", undefined, withEmail);
    expect(tokens.scopes).toContain("email");
    expect(profile).toMatchObject({
      platformUserId: "sbx-linkedin-1001",
      username: "sandbox_linkedin@sandbox.invalid",
      displayName: "Sandbox LinkedIn Member",
      accountType: "personal",
    });
  });

  it("TikTok answers the username and display name the module asks for with user.info.profile", async () => {
    const { tokens, profile } = await connectThroughModule("tiktok");
    expect(tokens.scopes).toEqual(expect.arrayContaining(["user.info.basic", "user.info.profile"]));
    expect(profile).toMatchObject({ username: "@sandbox_tiktok", displayName: "Sandbox TikTok" });
  });

  it("still refuses a scope the platform does not have", async () => {
    const linkedin = CATALOGUE.linkedin;
    const oauthSettings = linkedin.oauth as NonNullable<typeof linkedin.oauth>;
    const bogus = {
      ...linkedin,
      oauth: { ...oauthSettings, scopes: [...oauthSettings.scopes, "r_everything"] },
    };
    const url = await buildAuthorizationUrl(context("linkedin"), bogus, {
      state: "s",
      codeVerifier: oauth.generateRandomCodeVerifier(),
      redirectUri: redirectUri("linkedin"),
    });
    const res = await sbFetch(url);
    const back = new URL(res.headers.get("location") as string);
    expect(back.searchParams.get("error")).toBe("invalid_scope");
  });
});

describe("every platform's module reads its sandbox", () => {
  it.each(OAUTH_PLATFORMS)("%s: connect, profile, refresh as its model says, revoke", async (platform) => {
    const module = CATALOGUE[platform];
    const { tokens, profile, ctx } = await connectThroughModule(platform);
    expect(profile).toMatchObject(EXPECTED[platform]);
    expect(tokens.accessToken).toBeTruthy();
    if (profile.avatarUrl)
      expect(profile.avatarUrl).toMatch(new RegExp(`^${PUBLIC_URL}/sandbox/${platform}/`));

    const model = module.refresh.kind;
    if (model === "rotating" || model === "non-rotating") {
      expect(tokens.refreshToken, "a refresh token").toEqual(expect.any(String));
      const refreshed = await refreshGrant(ctx, module, grantOf(tokens));
      expect(refreshed.accessToken).not.toBe(tokens.accessToken);
      expect(Boolean(refreshed.refreshToken)).toBe(model === "rotating");
      expect((await module.profile(ctx, grantOf(refreshed))).platformUserId).toBe(profile.platformUserId);
    } else if (model === "extend-in-place") {
      expect(tokens.expiresAt).toBeGreaterThan(Date.now() + 59 * 24 * 3600_000);
      const extended = await refreshGrant(ctx, module, grantOf(tokens));
      expect(extended.accessToken).not.toBe(tokens.accessToken);
      expect((await module.profile(ctx, grantOf(extended))).platformUserId).toBe(profile.platformUserId);
    } else {
      expect(tokens.refreshToken ?? null).toBeNull();
    }

    if (module.revoke) {
      await module.revoke(ctx, grantOf(tokens));
      const after = module.profile(ctx, grantOf(tokens));
      // Instagram revokes only Facebook-Login grants: Instagram Login documents no revocation.
      if (platform === "instagram") expect((await after).platformUserId).toBe(profile.platformUserId);
      else expect((await refusal(after)).kind).toBe("refused");
    }
  });

  it("bluesky: app password session, rotating refreshSession, deleteSession", async () => {
    const ctx = context("bluesky");
    const { tokens, profile } = await credentials("bluesky", ctx, {
      identifier: "@sandbox.bsky.social",
      password: "abcd-efgh-ijkl-mnop",
    });
    expect(profile).toMatchObject(EXPECTED.bluesky);
    expect(tokens.expiresAt).toBeGreaterThan(Date.now() + 110 * 60_000);
    expect(tokens.extras).toMatchObject({ did: "did:plc:sbx-bluesky-1001", handle: "sandbox.bsky.social" });

    const refreshed = await refreshGrant(ctx, CATALOGUE.bluesky, grantOf(tokens));
    expect(refreshed.refreshToken).not.toBe(tokens.refreshToken);
    const replay = await refusal(refreshGrant(ctx, CATALOGUE.bluesky, grantOf(tokens)));
    expect(replay.kind).toBe("refused");

    const other = await credentials("bluesky", ctx, {
      identifier: "alice",
      password: "x",
    });
    expect(other.profile.username).toBe("@alice.bsky.social");
    expect(other.profile.platformUserId).not.toBe(profile.platformUserId);
    await CATALOGUE.bluesky.revoke?.(ctx, grantOf(other.tokens));
    expect((await refusal(CATALOGUE.bluesky.profile(ctx, grantOf(other.tokens)))).kind).toBe("refused");

    const bad = await refusal(
      credentials("bluesky", ctx, {
        identifier: "not a handle!",
        password: "x",
      }),
    );
    expect(bad.details.status).toBe(401);
  });

  it("telegram: any token of the bot-token shape is a sandbox bot", async () => {
    const ctx = context("telegram");
    const { profile } = await credentials("telegram", ctx, { accessToken: BOT_TOKEN });
    expect(profile).toMatchObject(EXPECTED.telegram);
    const res = await sbFetch(`${PUBLIC_URL}/sandbox/telegram/api/bot123:short/getMe`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ ok: false, error_code: 401, description: "Unauthorized" });
  });

  it("whatsapp: a system-user-shaped token reads the phone number", async () => {
    const ctx = context("whatsapp");
    const { profile } = await credentials("whatsapp", ctx, {
      platformAccountId: "106540352242922",
      accessToken: SYSTEM_USER_TOKEN,
    });
    expect(profile).toMatchObject(EXPECTED.whatsapp);
    const err = await refusal(
      CATALOGUE.whatsapp.profile(ctx, {
        accessToken: "not-a-meta-token",
        refreshToken: null,
        extras: { phoneNumberId: "106540352242922" },
      }),
    );
    expect(err.kind).toBe("refused");
    expect(err.details.status).toBe(401);
  });

  it("whatsapp: the README's rule, EAA followed by 16 or more letters or digits", async () => {
    const ctx = context("whatsapp");
    const read = (accessToken: string) =>
      CATALOGUE.whatsapp
        .profile(ctx, { accessToken, refreshToken: null, extras: { phoneNumberId: "106540352242922" } })
        .then(
          () => "accepted",
          (e: ProviderError) => e.kind,
        );
    expect(await read(`EAA${"a1".repeat(8)}`)).toBe("accepted");
    expect(await read("EAAsandbox0123456789")).toBe("accepted");
    expect(await read(`EAA${"a".repeat(15)}`)).toBe("refused");
    expect(await read(`EAA${"a".repeat(15)}-`)).toBe("refused");
    expect(await read(`eaa${"a".repeat(16)}`)).toBe("refused");
  });

  it("mastodon: app registration answers the sandbox client", async () => {
    const { registerApp } = await import("../../src/platforms/mastodon");
    const app = await registerApp(context("mastodon"), {
      redirectUri: redirectUri("mastodon"),
      scopes: ["read:accounts"],
    });
    expect(app).toEqual({ clientId: "sandbox-client", clientSecret: "sandbox-secret" });
  });

  it("answers 401 in each platform's own shape for a forged token", async () => {
    for (const platform of PLATFORMS.filter((p) => p !== "telegram" && p !== "whatsapp")) {
      const err = await refusal(
        CATALOGUE[platform].profile(context(platform), {
          accessToken: "eyJhbGciOiJIUzI1NiJ9.eyJrIjoiYXQifQ.forged",
          refreshToken: null,
          extras: platform === "bluesky" ? { did: "did:plc:sbx-bluesky-1001" } : {},
        }),
      );
      expect(err.kind, platform).toBe("refused");
    }
  });
});

describe("connect flow through the app (needs the lead's wiring: platformContext fetch = sandboxFetch)", () => {
  it.each(OAUTH_PLATFORMS)("%s: connect → consent → redirect → callback → list", async (platform) => {
    const ws = await createWorkspace();
    const db = createDb(env.DB);
    const auth = { keyId: ws.keyId, workspaceId: ws.id, userId: "usr_sandbox", scopes: [] };
    const now = Date.now();
    const started = await startConnect({ env: sandboxEnv, db, now }, auth, platform, {
      callbackUrl: CALLBACK,
      ...(platform === "mastodon" ? { instance: "mastodon.social" } : {}),
    });
    expect(started.authorizationUrl.startsWith(`${PUBLIC_URL}/sandbox/${platform}/authorize?`)).toBe(true);

    const decided = await consent(started.authorizationUrl, { username: `${platform}_tester` });
    expect(decided.status).toBe(302);
    const location = new URL(decided.headers.get("location") as string);
    expect(location.origin + location.pathname).toBe(redirectUri(platform));
    const forwarded = await call(`${location.pathname}${location.search}`);
    expect(forwarded.status).toBe(302);
    const landed = new URL(forwarded.headers.get("location") as string);
    expect(landed.origin + landed.pathname).toBe(CALLBACK);
    const code = landed.searchParams.get("code") as string;
    expect(landed.searchParams.get("state")).toBe(started.state);

    const { account } = await completeCallback({ env: sandboxEnv, db, now: Date.now() }, auth, platform, {
      code,
      state: started.state,
    });
    expect(account.platformUserId).toMatch(new RegExp(`^sbx-${platform}-[0-9a-f]{12}$`));
    expect(account.status).toBe("active");

    const listed = await call(`/v1/accounts?platform=${platform}`, { key: ws.key });
    expect(listed.status).toBe(200);
    expect(listed.json.data.map((a: { id: string }) => a.id)).toContain(account.id);
  });

  it("mastodon: the sandbox's client is never cached as a real instance's app", async () => {
    const ws = await createWorkspace();
    const auth = { keyId: ws.keyId, workspaceId: ws.id, userId: "usr_sandbox", scopes: [] };
    const started = await startConnect(
      { env: sandboxEnv, db: createDb(env.DB), now: Date.now() },
      auth,
      "mastodon",
      { callbackUrl: CALLBACK, instance: "fosstodon.org" },
    );
    expect(new URL(started.authorizationUrl).searchParams.get("client_id")).toBe("sandbox-client");
    const cached = await env.DB.prepare("SELECT count(*) AS n FROM platform_apps WHERE instance = ?")
      .bind("https://fosstodon.org")
      .first<{ n: number }>();
    expect(cached?.n).toBe(0);
  });
});
