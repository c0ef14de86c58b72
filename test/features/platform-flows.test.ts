import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { DAY } from "../../src/lib/time";
import { createWorkspace, type TestWorkspace } from "../helpers/api";
import { CALLBACK, consent } from "../helpers/connect";
import type { FakePlatform, FakeProfile } from "../helpers/fake-provider";
import { watchForLeaks } from "../helpers/leaks";
import {
  type BlueskyAccount,
  blueskyFake,
  type FakePds,
  facebookFake,
  fakeFor,
  issuedSecrets,
  LINKEDIN_PICTURE,
  linkedinFake,
  MASTODON_APP,
  mastodonFake,
  newTelegramBot,
  OAUTH_FAKES,
  REDDIT_ICON,
  type TelegramBot,
  telegramFake,
  whatsappFake,
} from "../helpers/platform-fakes";
import { rowOf, secretsOf } from "../helpers/rows";

/**
 * One end-to-end flow per platform, driven only through the public HTTP API as a customer would:
 * connect → (redirect) → callback → test → refresh → disconnect, against a fake that behaves like
 * the platform (test/helpers/platform-fakes.ts). Every response of this file is scanned for the
 * tokens the fakes issued.
 */

// ---------------------------------------------------------------------------------------------
// Response recording: no token issued by any fake may appear in any response.

const { record, api } = watchForLeaks();

// ---------------------------------------------------------------------------------------------
// Helpers

const REDIRECT_BASE = "https://switchboard.test/v1/oauth/redirect";
const uid = () => crypto.randomUUID().replace(/-/g, "").slice(0, 12);
const digits = () => `1${String(Math.floor(Math.random() * 1e14)).padStart(14, "0")}`;

type Row = Record<string, unknown>;
async function accountCount(ws: TestWorkspace): Promise<number> {
  return (await api("/v1/accounts?includeArchived=true&limit=100", { key: ws.key })).json.data.length;
}

/** Starts a connect (recorded) and plays the consent screen at the fake. */
async function start(
  ws: TestWorkspace,
  fake: FakePlatform,
  user: FakeProfile,
  body?: Record<string, unknown>,
) {
  const started = await consent(ws, fake, user, body ? { body } : {});
  record(`POST /v1/accounts/connect/${fake.platform}`, started.started);
  return started;
}

/** The whole dance for one user; answers the connected account's id. */
async function connected(
  ws: TestWorkspace,
  fake: FakePlatform,
  user: FakeProfile,
  body?: Record<string, unknown>,
) {
  const { state, code } = await start(ws, fake, user, body);
  const res = await api(`/v1/accounts/callback/${fake.platform}`, {
    method: "POST",
    key: ws.key,
    body: { code, state },
  });
  expect(res.status, res.text).toBe(200);
  return res.json.account.id as string;
}

/** Expects an ISO time `seconds` after some instant in [from, to] (a second of slack for JWT rounding). */
function expectExpiry(value: unknown, seconds: number | null, from: number, to: number) {
  if (seconds === null) {
    expect(value).toBeNull();
    return;
  }
  const at = Date.parse(String(value));
  expect(at).toBeGreaterThanOrEqual(from + seconds * 1000 - 1000);
  expect(at).toBeLessThanOrEqual(to + seconds * 1000);
}

const form = (body: string | undefined) => Object.fromEntries(new URLSearchParams(body ?? ""));
const tokenCalls = (fake: FakePlatform) => fake.calls.filter((c) => c.path === "/token");

function expectWiped(row: Row | null) {
  expect(row).toMatchObject({
    status: "disconnected",
    access_token_enc: null,
    refresh_token_enc: null,
    extras_enc: null,
    token_expires_at: null,
    next_refresh_at: null,
  });
  expect(row?.disconnected_at).not.toBeNull();
}

// ---------------------------------------------------------------------------------------------
// OAuth platforms

type Calls = FakePlatform["calls"];
interface RevokeCheck {
  fake: FakePlatform;
  /** The calls the fake received during DELETE. */
  calls: Calls;
  accessToken: string;
  refreshToken: string | null;
}

interface OAuthCase {
  platform: Exclude<keyof typeof OAUTH_FAKES, "mastodon">;
  configure?: (fake: FakePlatform) => void;
  user: () => FakeProfile;
  authorize: {
    clientIdParam?: string;
    scope: string;
    pkce: boolean;
    params?: Record<string, string>;
    /** Parameters that must not be sent without forcePrompt. */
    absent?: string[];
  };
  clientAuth: "basic" | "post";
  account: (user: FakeProfile) => {
    platformUserId: string;
    username: string | null;
    displayName: string | null;
    avatarUrl: string | null;
    accountType: string | null;
  };
  permissions: string[];
  /** Lifetime of the stored access token (after any long-lived exchange); null: does not expire. */
  ttlSeconds: number | null;
  refresh: "rotating" | "non-rotating" | "extend-in-place" | "none";
  /** What DELETE must do at the platform; null: the platform has no revocation (no call at all). */
  revoke: ((check: RevokeCheck) => void) | null;
}

const GOOGLE_PARAMS = { access_type: "offline", prompt: "consent", include_granted_scopes: "true" };
const revokes = (calls: Calls) => calls.filter((c) => c.method === "POST" && c.path === "/revoke");

/** RFC 7009 revocation of the refresh token, then the access token (X and Reddit end the grant both ways). */
function revokesBothWithBasic({ calls, accessToken, refreshToken }: RevokeCheck) {
  const sent = revokes(calls);
  expect(sent.map((c) => form(c.body))).toEqual([
    expect.objectContaining({ token: refreshToken, token_type_hint: "refresh_token" }),
    expect.objectContaining({ token: accessToken, token_type_hint: "access_token" }),
  ]);
  for (const c of sent) expect(c.headers.get("authorization")).toMatch(/^Basic /);
}

/** Google's revocation: the refresh token alone in a form body. */
function revokesGoogle({ calls, refreshToken }: RevokeCheck) {
  expect(revokes(calls).map((c) => form(c.body))).toEqual([{ token: refreshToken }]);
}

const OAUTH_CASES: OAuthCase[] = [
  {
    platform: "twitter",
    user: () => ({
      id: digits(),
      username: `alice_${uid()}`,
      name: "Alice Example",
      avatarUrl: "https://pbs.twimg.com/profile_images/1/alice_normal.jpg",
    }),
    authorize: { scope: "tweet.read tweet.write users.read offline.access media.write", pkce: true },
    clientAuth: "basic",
    account: (u) => ({
      platformUserId: u.id,
      username: `@${u.username}`,
      displayName: u.name,
      avatarUrl: u.avatarUrl ?? null,
      accountType: "personal",
    }),
    permissions: ["tweet.read", "tweet.write", "users.read", "offline.access", "media.write"],
    ttlSeconds: 7200,
    refresh: "rotating",
    revoke: revokesBothWithBasic,
  },
  {
    platform: "linkedin",
    user: () => ({ id: `782bb${uid()}`, username: `jane.${uid()}`, name: "Jane Doe" }),
    authorize: { scope: "openid profile w_member_social", pkce: false },
    clientAuth: "post",
    account: (u) => ({
      platformUserId: u.id,
      // Switchboard does not ask for the email scope, and the email is LinkedIn's only stand-in for a handle.
      username: null,
      displayName: "Jane Doe",
      avatarUrl: LINKEDIN_PICTURE,
      accountType: "personal",
    }),
    permissions: ["openid", "profile", "w_member_social"],
    ttlSeconds: 5_183_999,
    refresh: "non-rotating",
    revoke: ({ calls, accessToken }) => {
      expect(revokes(calls).map((c) => form(c.body))).toEqual([
        expect.objectContaining({
          token: accessToken,
          client_id: "linkedin-client-id",
          client_secret: "linkedin-client-secret",
        }),
      ]);
    },
  },
  {
    platform: "instagram",
    user: () => ({
      id: `178414${digits()}`,
      username: "jayposiris",
      name: "Jay Posiris",
      avatarUrl: "https://scontent.cdninstagram.com/jay.jpg",
    }),
    authorize: {
      scope: "instagram_business_basic,instagram_business_content_publish,instagram_business_manage_insights",
      pkce: false,
      absent: ["force_authentication"],
    },
    clientAuth: "post",
    account: (u) => ({
      platformUserId: u.id,
      username: "@jayposiris",
      displayName: "Jay Posiris",
      avatarUrl: u.avatarUrl ?? null,
      accountType: "business",
    }),
    permissions: [
      "instagram_business_basic",
      "instagram_business_content_publish",
      "instagram_business_manage_insights",
    ],
    ttlSeconds: 5_184_000,
    refresh: "extend-in-place",
    revoke: null,
  },
  {
    platform: "facebook",
    configure: (fake) => facebookFake(fake, { declined: ["pages_read_engagement"] }),
    user: () => ({
      id: digits(),
      username: "unused",
      name: "Ada Lovelace",
      avatarUrl: "https://scontent.xx.fbcdn.net/v/ada.jpg",
    }),
    authorize: {
      scope: "pages_show_list,pages_manage_posts,pages_read_engagement,read_insights",
      pkce: true,
      absent: ["auth_type"],
    },
    clientAuth: "post",
    account: (u) => ({
      platformUserId: u.id,
      username: null,
      displayName: "Ada Lovelace",
      avatarUrl: u.avatarUrl ?? null,
      accountType: "personal",
    }),
    // The user declined pages_read_engagement in the dialog: only what /me/permissions says is granted.
    permissions: ["pages_show_list", "pages_manage_posts", "read_insights", "public_profile"],
    ttlSeconds: 5_183_944,
    refresh: "none",
    revoke: ({ calls, accessToken }) => {
      expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual(["DELETE /api/me/permissions"]);
      expect(calls[0]?.headers.get("authorization")).toBe(`Bearer ${accessToken}`);
    },
  },
  {
    platform: "threads",
    user: () => ({
      id: `2500${digits()}`,
      username: "voxburst",
      name: "Vox Burst",
      avatarUrl: "https://scontent.cdninstagram.com/vox.jpg",
    }),
    authorize: { scope: "threads_basic,threads_content_publish,threads_manage_insights", pkce: false },
    clientAuth: "post",
    account: (u) => ({
      platformUserId: u.id,
      username: "@voxburst",
      displayName: "Vox Burst",
      avatarUrl: u.avatarUrl ?? null,
      accountType: "personal",
    }),
    // Threads reports no granted scope in any token response.
    permissions: [],
    ttlSeconds: 5_183_944,
    refresh: "extend-in-place",
    revoke: null,
  },
  {
    platform: "youtube",
    user: () => ({ id: `UC${uid()}`, username: "@switchboard", name: "Switchboard" }),
    authorize: {
      scope: [
        "https://www.googleapis.com/auth/youtube.upload",
        "https://www.googleapis.com/auth/youtube.readonly",
        "https://www.googleapis.com/auth/yt-analytics.readonly",
      ].join(" "),
      pkce: true,
      params: GOOGLE_PARAMS,
    },
    clientAuth: "post",
    account: (u) => ({
      platformUserId: u.id,
      username: "@switchboard",
      displayName: "Switchboard",
      avatarUrl: `https://yt3.ggpht.com/${u.id}=s800-c-k-c0x00ffffff-no-rj`,
      accountType: "channel",
    }),
    permissions: [
      "https://www.googleapis.com/auth/youtube.upload",
      "https://www.googleapis.com/auth/youtube.readonly",
      "https://www.googleapis.com/auth/yt-analytics.readonly",
    ],
    ttlSeconds: 3599,
    refresh: "non-rotating",
    revoke: revokesGoogle,
  },
  {
    platform: "tiktok",
    user: () => ({
      id: `-000${uid()}`,
      username: "voxburst",
      name: "Vox Burst",
      avatarUrl: "https://p16.tiktokcdn.com/a.jpeg",
    }),
    authorize: {
      clientIdParam: "client_key",
      scope: "user.info.basic,user.info.profile,video.publish,video.upload,video.list",
      pkce: false,
      absent: ["disable_auto_auth"],
    },
    clientAuth: "post",
    account: (u) => ({
      platformUserId: u.id,
      // username comes with user.info.profile, which Switchboard asks for.
      username: "@voxburst",
      displayName: "Vox Burst",
      avatarUrl: u.avatarUrl ?? null,
      accountType: null,
    }),
    permissions: ["user.info.basic", "user.info.profile", "video.publish", "video.upload", "video.list"],
    ttlSeconds: 7200,
    refresh: "rotating",
    revoke: ({ calls, accessToken }) => {
      expect(revokes(calls).map((c) => form(c.body))).toEqual([
        { client_key: "tiktok-client-id", client_secret: "tiktok-client-secret", token: accessToken },
      ]);
    },
  },
  {
    platform: "pinterest",
    user: () => ({
      id: digits(),
      username: "janebakes",
      name: "Jane's Bakery",
      avatarUrl: "https://i.pinimg.com/600x600_R/42/f5/36/42f536a3b7d1e2c4.jpg",
    }),
    authorize: { scope: "boards:read,boards:write,pins:read,pins:write,user_accounts:read", pkce: false },
    clientAuth: "basic",
    account: (u) => ({
      platformUserId: u.id,
      username: "janebakes",
      displayName: "Jane's Bakery",
      avatarUrl: u.avatarUrl ?? null,
      accountType: "business",
    }),
    permissions: ["boards:read", "boards:write", "pins:read", "pins:write", "user_accounts:read"],
    ttlSeconds: 2_592_000,
    refresh: "rotating",
    revoke: null,
  },
  {
    platform: "snapchat",
    user: () => ({ id: crypto.randomUUID(), username: "honey_badger", name: "Honey Badger" }),
    authorize: { scope: "snapchat-marketing-api snapchat-profile-api", pkce: false },
    clientAuth: "post",
    account: (u) => ({
      platformUserId: u.id,
      username: "honey_badger",
      displayName: "Honey Badger",
      avatarUrl: null,
      accountType: "business",
    }),
    permissions: ["snapchat-marketing-api", "snapchat-profile-api"],
    ttlSeconds: 3600,
    refresh: "non-rotating",
    revoke: null,
  },
  {
    platform: "reddit",
    user: () => ({ id: uid().slice(0, 7), username: "spez", name: "Steve" }),
    authorize: { scope: "identity submit read", pkce: false, params: { duration: "permanent" } },
    clientAuth: "basic",
    account: (u) => ({
      platformUserId: u.id,
      username: "u/spez",
      displayName: "Steve",
      avatarUrl: REDDIT_ICON.replace(/&amp;/g, "&"),
      accountType: "personal",
    }),
    permissions: ["identity", "submit", "read"],
    ttlSeconds: 3600,
    refresh: "non-rotating",
    revoke: revokesBothWithBasic,
  },
  {
    platform: "googlebusiness",
    user: () => ({ id: digits(), username: "", name: "Jane Baker" }),
    authorize: {
      scope: "https://www.googleapis.com/auth/business.manage",
      pkce: true,
      params: GOOGLE_PARAMS,
    },
    clientAuth: "post",
    account: (u) => ({
      platformUserId: u.id,
      username: null,
      displayName: "Jane Baker",
      avatarUrl: null,
      accountType: "personal",
    }),
    permissions: ["https://www.googleapis.com/auth/business.manage"],
    ttlSeconds: 3599,
    refresh: "non-rotating",
    revoke: revokesGoogle,
  },
];

describe.each(OAUTH_CASES)("$platform OAuth flow", (c) => {
  const p = c.platform;
  let fake: FakePlatform;
  let ws: TestWorkspace;

  beforeEach(async () => {
    fake = fakeFor(p);
    (c.configure ?? OAUTH_FAKES[p])(fake);
    ws = await createWorkspace();
  });

  it("1. connect answers the platform's authorization URL", async () => {
    const { url, started } = await start(ws, fake, c.user());
    expect(started.status).toBe(200);
    expect(`${url.origin}${url.pathname}`).toBe(`https://fake.test/${p}/authorize`);
    const q = url.searchParams;
    const clientIdParam = c.authorize.clientIdParam ?? "client_id";
    expect(Object.fromEntries(q)).toMatchObject({
      response_type: "code",
      [clientIdParam]: `${p}-client-id`,
      redirect_uri: `${REDIRECT_BASE}/${p}`,
      scope: c.authorize.scope,
      state: started.json.state,
      ...c.authorize.params,
    });
    if (clientIdParam !== "client_id") expect(q.has("client_id")).toBe(false);
    if (c.authorize.pkce) {
      expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(q.get("code_challenge_method")).toBe("S256");
    } else {
      expect(q.has("code_challenge")).toBe(false);
      expect(q.has("code_challenge_method")).toBe(false);
    }
    for (const name of c.authorize.absent ?? []) expect(q.has(name), name).toBe(false);
    const expiresIn = Date.parse(started.json.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(590_000);
    expect(expiresIn).toBeLessThanOrEqual(600_000);
  });

  it("2. the callback stores the account with the platform's profile, permissions and expiry", async () => {
    const user = c.user();
    const t0 = Date.now();
    const { state, code } = await start(ws, fake, user);
    const redirect = await api(`/v1/oauth/redirect/${p}?code=${code}&state=${state}`);
    expect(redirect.status).toBe(302);
    const forwarded = new URL(redirect.headers.get("location") ?? "");
    expect(`${forwarded.origin}${forwarded.pathname}`).toBe(CALLBACK);
    expect(forwarded.searchParams.get("code")).toBe(code);

    const done = await api(`/v1/accounts/callback/${p}`, {
      method: "POST",
      key: ws.key,
      body: { code, state },
    });
    const t1 = Date.now();
    expect(done.status, done.text).toBe(200);
    expect(done.json.warning).toBeUndefined();
    const account = done.json.account;
    expect(account).toMatchObject({
      platform: p,
      ...c.account(user),
      status: "active",
      connectionType: "oauth",
      isSharedAccount: false,
      error: null,
    });
    expect(account.permissions).toEqual(c.permissions);
    expectExpiry(account.tokenExpiresAt, c.ttlSeconds, t0, t1);

    // One code exchange, authenticated the platform's way, with the PKCE verifier exactly where used.
    const [exchange, ...more] = tokenCalls(fake);
    expect(more).toEqual([]);
    const sent = form(exchange?.body);
    expect(sent).toMatchObject({
      grant_type: "authorization_code",
      code,
      redirect_uri: `${REDIRECT_BASE}/${p}`,
    });
    if (c.clientAuth === "basic") {
      expect(exchange?.headers.get("authorization")).toMatch(/^Basic /);
      expect(sent.client_secret).toBeUndefined();
    } else {
      expect(sent.client_secret).toBe(`${p}-client-secret`);
    }
    expect("code_verifier" in sent).toBe(c.authorize.pkce);

    // Stored encrypted: the row holds ciphertext only, which opens to the tokens the platform issued last.
    const grant = fake.grants[0];
    const row = await rowOf(account.id);
    expect(row).toMatchObject({ connection_type: "oauth", platform_user_id: user.id, status: "active" });
    expect(String(row?.access_token_enc)).toMatch(/^k2\./);
    for (const secret of [grant?.accessToken, grant?.refreshToken].filter(Boolean))
      expect(JSON.stringify(row)).not.toContain(secret);
    const secrets = await secretsOf(account.id);
    expect(secrets.accessToken).toBe(grant?.accessToken);
    expect((await api(`/v1/accounts/${account.id}`, { key: ws.key })).json).toEqual(account);
  });

  it("3. test verifies the connection with the stored token", async () => {
    const user = c.user();
    const id = await connected(ws, fake, user);
    const res = await api(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    const { platformUserId, username, displayName } = c.account(user);
    expect(res.json).toEqual({
      success: true,
      message: "Connection verified",
      details: { platformUserId, username, displayName },
    });
  });

  it(`4. refresh follows the ${c.refresh} model`, async () => {
    const id = await connected(ws, fake, c.user());
    const grant = fake.grants[0];
    if (!grant) throw new Error("no grant");
    const old = { accessToken: grant.accessToken, refreshToken: grant.refreshToken };
    const before = await secretsOf(id);
    const refresh = () => api(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key });
    const callsBefore = fake.calls.length;

    if (c.refresh === "none") {
      const res = await refresh();
      expect(res.status, res.text).toBe(200);
      expect(res.json).toMatchObject({ success: true, refreshed: false });
      expect(fake.calls.length).toBe(callsBefore);
      expect((await secretsOf(id)).accessToken).toBe(old.accessToken);
      return;
    }

    if (c.refresh === "extend-in-place") {
      const young = await refresh();
      expect(young.status, young.text).toBe(200);
      expect(young.json).toMatchObject({ success: true, refreshed: false });
      expect(young.json.message).toMatch(/24 hours/);
      expect(fake.calls.length).toBe(callsBefore);
      await env.DB.prepare("UPDATE accounts SET token_issued_at = ? WHERE id = ?")
        .bind(Date.now() - 2 * DAY, id)
        .run();
      const t0 = Date.now();
      const res = await refresh();
      expect(res.status, res.text).toBe(200);
      expect(res.json).toMatchObject({ success: true, refreshed: true, message: "Token refreshed" });
      expectExpiry(res.json.tokenExpiresAt, c.ttlSeconds, t0, Date.now());
      expect(fake.calls.slice(callsBefore).map((x) => `${x.method} ${x.path}`)).toEqual([
        "GET /api/refresh_access_token",
      ]);
      expect(grant.accessToken).not.toBe(old.accessToken);
      expect((await secretsOf(id)).accessToken).toBe(grant.accessToken);
      expect((await api(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key })).json.success).toBe(true);
      return;
    }

    const t0 = Date.now();
    const res = await refresh();
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ success: true, refreshed: true, message: "Token refreshed" });
    expectExpiry(res.json.tokenExpiresAt, c.ttlSeconds, t0, Date.now());
    expect(res.json.account.lastRefreshedAt).not.toBeNull();
    expect(fake.refreshRequests).toBe(1);
    const sent = form(tokenCalls(fake).at(-1)?.body);
    expect(sent).toMatchObject({ grant_type: "refresh_token", refresh_token: old.refreshToken });
    expect(grant.accessToken).not.toBe(old.accessToken);
    const after = await secretsOf(id);
    expect(after.accessToken).toBe(grant.accessToken);
    if (c.refresh === "rotating") {
      expect(fake.spent.has(old.refreshToken ?? "")).toBe(true);
      expect(grant.refreshToken).not.toBe(old.refreshToken);
      expect(after.refreshToken).toBe(grant.refreshToken);
    } else {
      expect(fake.spent.size).toBe(0);
      expect(after.refreshToken).toBe(before.refreshToken);
    }
    // The stored (new) access token is the live one; a second refresh spends the stored refresh token.
    expect((await api(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key })).json.success).toBe(true);
    expect((await refresh()).json.refreshed).toBe(true);
    expect(fake.liveGrants).toHaveLength(1);
  });

  it(`5. DELETE ${c.revoke ? "revokes at the platform and" : "makes no platform call and"} wipes credentials`, async () => {
    const id = await connected(ws, fake, c.user());
    const grant = fake.grants[0];
    if (!grant) throw new Error("no grant");
    const check = { accessToken: grant.accessToken, refreshToken: grant.refreshToken };
    const from = fake.calls.length;
    const res = await api(`/v1/accounts/${id}`, { method: "DELETE", key: ws.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({ success: true });
    const calls = fake.calls.slice(from);
    if (c.revoke) {
      c.revoke({ fake, calls, ...check });
      expect(grant.revoked).toBe(true);
    } else {
      expect(calls.map((x) => `${x.method} ${x.path}`)).toEqual([]);
    }
    expectWiped(await rowOf(id));
    expect((await api(`/v1/accounts/${id}`, { key: ws.key })).json.status).toBe("disconnected");
    const test = await api(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect(test.json.success).toBe(false);
  });
});

describe("linkedin variants", () => {
  let fake: FakePlatform;
  let ws: TestWorkspace;
  beforeEach(async () => {
    fake = fakeFor("linkedin");
    linkedinFake(fake);
    ws = await createWorkspace();
  });

  it("pageMode asks for the organisation scopes too", async () => {
    const { url } = await start(
      ws,
      fake,
      { id: uid(), username: "jane", name: "Jane Doe" },
      { pageMode: true },
    );
    expect(url.searchParams.get("scope")?.split(" ")).toEqual([
      "openid",
      "profile",
      "w_member_social",
      "r_organization_social",
      "w_organization_social",
      "rw_organization_admin",
    ]);
    expect(url.searchParams.has("code_challenge")).toBe(false);
  });

  it("without a partner refresh token, refresh answers refreshed:false and calls nothing", async () => {
    fake.shapeToken = ({ refresh_token: _none, ...body }) => ({
      ...body,
      scope: String(body.scope).split(" ").join(","),
    });
    const id = await connected(ws, fake, { id: uid(), username: "jane", name: "Jane Doe" });
    expect((await rowOf(id))?.refresh_token_enc).toBeNull();
    const res = await api(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ success: true, refreshed: false });
    expect(fake.refreshRequests).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Connections without OAuth: POST /v1/accounts

describe("non-OAuth platforms refuse the OAuth connect", () => {
  // WhatsApp's OAuth is Embedded Signup (test/features/whatsapp-embedded-signup.test.ts).
  it.each(["telegram"])("POST /v1/accounts/connect/%s answers 400 INVALID_PARAM", async (platform) => {
    const ws = await createWorkspace();
    const res = await api(`/v1/accounts/connect/${platform}`, {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    expect(res.json.error.message).toContain("use POST /v1/accounts");
  });
});

describe("telegram: bot token", () => {
  let fake: FakePlatform;
  let ws: TestWorkspace;
  let bot: TelegramBot;
  beforeEach(async () => {
    fake = fakeFor("telegram");
    bot = newTelegramBot();
    telegramFake(fake, bot);
    ws = await createWorkspace();
  });

  it("verifies the bot with getMe, stores it, tests it, has nothing to refresh and nothing to revoke", async () => {
    const res = await api("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: { platform: "telegram", credentials: { botToken: bot.token, chatId: "@switchboard_news" } },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.account).toMatchObject({
      platform: "telegram",
      platformUserId: String(bot.id),
      username: `@${bot.username}`,
      displayName: bot.firstName,
      avatarUrl: null,
      accountType: "bot",
      connectionType: "credentials",
      status: "active",
      tokenExpiresAt: null,
    });
    expect(fake.calls.map((x) => `${x.method} ${x.path}`)).toEqual([`GET /api/bot${bot.token}/getMe`]);
    const id = res.json.account.id;
    expect(JSON.stringify(await rowOf(id))).not.toContain(bot.token.split(":")[1]);
    expect(await secretsOf(id)).toEqual({
      accessToken: bot.token,
      refreshToken: null,
      extras: { chatId: "@switchboard_news" },
    });

    const test = await api(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect(test.json).toEqual({
      success: true,
      message: "Connection verified",
      details: { platformUserId: String(bot.id), username: `@${bot.username}`, displayName: bot.firstName },
    });
    const refresh = await api(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key });
    expect(refresh.json).toMatchObject({ success: true, refreshed: false });

    const from = fake.calls.length;
    expect((await api(`/v1/accounts/${id}`, { method: "DELETE", key: ws.key })).json).toEqual({
      success: true,
    });
    expect(fake.calls.slice(from)).toEqual([]);
    expectWiped(await rowOf(id));
  });

  it("refuses a token that is not shaped like a bot token, before calling Telegram", async () => {
    const res = await api("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: { platform: "telegram", credentials: { botToken: "hello-i-am-a-token" } },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    // The error names the field the caller sent.
    expect(res.json.error.message).toMatch(/^botToken must be a Telegram bot token/);
    expect(res.json.error.details).toEqual([
      { field: "credentials.botToken", message: "Not a Telegram bot token" },
    ]);
    const asAccessToken = await api("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: { platform: "telegram", credentials: { accessToken: "hello-i-am-a-token" } },
    });
    expect(asAccessToken.json.error.details).toEqual([
      { field: "credentials.accessToken", message: "Not a Telegram bot token" },
    ]);
    const badChat = await api("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: { platform: "telegram", credentials: { botToken: bot.token, chatId: "https://t.me/x" } },
    });
    expect(badChat.json.error.details).toEqual([
      { field: "credentials.chatId", message: "Not a Telegram chat id" },
    ]);
    expect(fake.calls).toEqual([]);
    expect(await accountCount(ws)).toBe(0);
  });

  it("refuses a well-formed token Telegram does not know, storing nothing", async () => {
    const unknown = newTelegramBot();
    issuedSecrets.add(unknown.token);
    const res = await api("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: { platform: "telegram", credentials: { botToken: unknown.token } },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    expect(fake.calls).toHaveLength(1);
    expect(await accountCount(ws)).toBe(0);
  });
});

describe("bluesky: handle and app password", () => {
  let fake: FakePlatform;
  let ws: TestWorkspace;
  let pds: FakePds;
  let account: BlueskyAccount;
  beforeEach(async () => {
    fake = fakeFor("bluesky");
    const id = uid();
    account = {
      did: `did:plc:${id}z72i7hdynmk6`,
      handle: `sb${id}.bsky.social`,
      appPassword: `${id.slice(0, 4)}-efgh-ijkl-mnop`,
      displayName: "Switchboard",
    };
    pds = blueskyFake(fake, account);
    ws = await createWorkspace();
  });

  const create = (password: string) =>
    api("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: { platform: "bluesky", credentials: { identifier: `@${account.handle}`, appPassword: password } },
    });

  it("creates a session, stores its tokens and never the app password", async () => {
    const t0 = Date.now();
    const res = await create(account.appPassword);
    const t1 = Date.now();
    expect(res.status, res.text).toBe(201);
    expect(res.json.account).toMatchObject({
      platform: "bluesky",
      platformUserId: account.did,
      username: `@${account.handle}`,
      displayName: "Switchboard",
      avatarUrl: `https://cdn.bsky.app/img/avatar/plain/${account.did}/bafkreia@jpeg`,
      accountType: null,
      connectionType: "credentials",
      status: "active",
    });
    expectExpiry(res.json.account.tokenExpiresAt, 7200, t0, t1);
    expect(JSON.parse(fake.calls[0]?.body ?? "{}")).toEqual({
      identifier: account.handle,
      password: account.appPassword,
    });

    const id = res.json.account.id;
    const row = await rowOf(id);
    expect(JSON.stringify(row)).not.toContain(account.appPassword);
    const secrets = await secretsOf(id);
    expect(JSON.stringify(secrets)).not.toContain(account.appPassword);
    expect(pds.access.has(secrets.accessToken ?? "")).toBe(true);
    expect(pds.refresh.has(secrets.refreshToken ?? "")).toBe(true);

    const test = await api(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect(test.json).toEqual({
      success: true,
      message: "Connection verified",
      details: { platformUserId: account.did, username: `@${account.handle}`, displayName: "Switchboard" },
    });
  });

  it("names the missing credential by its field in the request", async () => {
    const res = await api("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: { platform: "bluesky", credentials: { identifier: `@${account.handle}` } },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.details).toEqual([{ field: "credentials.appPassword", message: "Required" }]);
    expect(fake.calls).toEqual([]);
  });

  it("refuses a wrong app password with 400, storing nothing", async () => {
    const res = await create("wrong-pass-word-here");
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    expect(res.json.error.message).toMatch(/handle or app password is wrong/);
    expect(res.text).not.toContain("wrong-pass-word-here");
    expect(await accountCount(ws)).toBe(0);
  });

  it("refresh rotates the refreshJwt through refreshSession", async () => {
    const id = (await create(account.appPassword)).json.account.id;
    const first = await secretsOf(id);
    const res = await api(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ success: true, refreshed: true });
    const call = fake.calls.at(-1);
    expect(call?.path).toBe("/api/xrpc/com.atproto.server.refreshSession");
    expect(call?.headers.get("authorization")).toBe(`Bearer ${first.refreshToken}`);
    expect(pds.refresh.get(first.refreshToken ?? "")?.used).toBe(true);
    const second = await secretsOf(id);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(pds.refresh.get(second.refreshToken ?? "")).toEqual({ used: false, deleted: false });
    expect(second.extras).toMatchObject({ did: account.did, handle: account.handle });
    // The rotated refreshJwt is the stored one: refreshing again works.
    expect((await api(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key })).json.refreshed).toBe(
      true,
    );
  });

  it("DELETE ends the session with deleteSession and wipes credentials", async () => {
    const id = (await create(account.appPassword)).json.account.id;
    const { refreshToken } = await secretsOf(id);
    const from = fake.calls.length;
    expect((await api(`/v1/accounts/${id}`, { method: "DELETE", key: ws.key })).json).toEqual({
      success: true,
    });
    const calls = fake.calls.slice(from);
    expect(calls.map((x) => `${x.method} ${x.path}`)).toEqual([
      "POST /api/xrpc/com.atproto.server.deleteSession",
    ]);
    expect(calls[0]?.headers.get("authorization")).toBe(`Bearer ${refreshToken}`);
    expect(pds.refresh.get(refreshToken ?? "")?.deleted).toBe(true);
    expectWiped(await rowOf(id));
  });
});

describe("whatsapp: system-user token and phone number id", () => {
  let fake: FakePlatform;
  let ws: TestWorkspace;
  const phone = { id: "", displayNumber: "+1 631-555-5555", verifiedName: "Jasper's Market" };
  beforeEach(async () => {
    fake = fakeFor("whatsapp");
    phone.id = digits();
    whatsappFake(fake, phone);
    ws = await createWorkspace();
  });

  const expected = () => ({
    platform: "whatsapp",
    platformUserId: phone.id,
    username: "+1 631-555-5555",
    displayName: "Jasper's Market",
    avatarUrl: null,
    accountType: "business",
    connectionType: "credentials",
    status: "active",
    tokenExpiresAt: null,
  });

  it("verifies the phone number with the token, stores it, tests it; nothing to refresh or revoke", async () => {
    const grant = fake.newGrant({ id: "system-user", username: "unused", name: "Jasper's Market" });
    const res = await api("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: {
        platform: "whatsapp",
        platformAccountId: phone.id,
        credentials: { accessToken: grant.accessToken, wabaId: "102290129340398" },
      },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.account).toMatchObject(expected());
    const id = res.json.account.id;
    expect(await secretsOf(id)).toEqual({
      accessToken: grant.accessToken,
      refreshToken: null,
      extras: { phoneNumberId: phone.id, wabaId: "102290129340398" },
    });
    const test = await api(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect(test.json).toMatchObject({ success: true, details: { platformUserId: phone.id } });
    expect((await api(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key })).json.refreshed).toBe(
      false,
    );
    const from = fake.calls.length;
    expect((await api(`/v1/accounts/${id}`, { method: "DELETE", key: ws.key })).json).toEqual({
      success: true,
    });
    expect(fake.calls.slice(from)).toEqual([]);
    expectWiped(await rowOf(id));
  });

  it("takes the phone number id from credentials.phoneNumberId, as the API documents it", async () => {
    const grant = fake.newGrant({ id: "system-user", username: "unused", name: "Jasper's Market" });
    const res = await api("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: {
        platform: "whatsapp",
        credentials: { accessToken: grant.accessToken, phoneNumberId: phone.id },
      },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.account).toMatchObject(expected());
  });

  it("refuses a token the Cloud API rejects, storing nothing", async () => {
    const res = await api("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: { platform: "whatsapp", platformAccountId: phone.id, credentials: { accessToken: "EAAbogus" } },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    expect(await accountCount(ws)).toBe(0);
  });
});

describe("bring your own token on OAuth platforms", () => {
  let ws: TestWorkspace;
  beforeEach(async () => {
    ws = await createWorkspace();
  });

  const byok = (body: Record<string, unknown>) => api("/v1/accounts", { method: "POST", key: ws.key, body });

  it("linkedin with authorUrn: verified with userinfo, stored as byok, extras encrypted", async () => {
    const fake = fakeFor("linkedin");
    linkedinFake(fake);
    const user = { id: `byo${uid()}`, username: `jane.${uid()}`, name: "Jane Doe" };
    // The customer's own app holds the email scope too, so LinkedIn answers the email as the username.
    const grant = fake.newGrant(user, ["openid", "profile", "email", "w_member_social"]);
    const authorUrn = `urn:li:person:${user.id}`;
    const expiresAt = new Date(Date.now() + 50 * DAY).toISOString();

    const res = await byok({
      platform: "linkedin",
      platformAccountId: user.id,
      credentials: { accessToken: grant.accessToken, refreshToken: grant.refreshToken, expiresAt, authorUrn },
      name: "Jane at work",
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.account).toMatchObject({
      platform: "linkedin",
      platformUserId: user.id,
      username: `${user.username}@example.com`,
      displayName: "Jane Doe",
      connectionType: "byok",
      name: "Jane at work",
      status: "active",
      tokenExpiresAt: expiresAt,
    });
    expect(fake.calls.map((x) => `${x.method} ${x.path}`)).toEqual(["GET /api/v2/userinfo"]);
    expect(fake.calls[0]?.headers.get("authorization")).toBe(`Bearer ${grant.accessToken}`);
    const id = res.json.account.id;
    const row = await rowOf(id);
    expect(row?.extras_enc).toMatch(/^k2\./);
    expect(JSON.stringify(row)).not.toContain(authorUrn);
    expect(await secretsOf(id)).toEqual({
      accessToken: grant.accessToken,
      refreshToken: grant.refreshToken,
      extras: { authorUrn },
    });

    // A customer's refresh token works like an OAuth one (LinkedIn: not rotated).
    const refresh = await api(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key });
    expect(refresh.json).toMatchObject({ success: true, refreshed: true });
    expect((await secretsOf(id)).extras).toEqual({ authorUrn });
  });

  it("linkedin: a platformAccountId the token does not belong to is refused, storing nothing", async () => {
    const fake = fakeFor("linkedin");
    linkedinFake(fake);
    const grant = fake.newGrant({ id: `byo${uid()}`, username: "jane", name: "Jane Doe" });
    const res = await byok({
      platform: "linkedin",
      platformAccountId: "someone-else",
      credentials: { accessToken: grant.accessToken, authorUrn: "urn:li:person:someone-else" },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    expect(res.json.error.details[0].field).toBe("platformAccountId");
    expect(fake.calls).toHaveLength(1);
    expect(await accountCount(ws)).toBe(0);
  });

  it("facebook with pageId: verified with /me, stored as byok, extras encrypted; mismatch refused", async () => {
    const fake = fakeFor("facebook");
    facebookFake(fake);
    const user = { id: digits(), username: "unused", name: "Ada Lovelace" };
    const grant = fake.newGrant(user, ["pages_show_list", "pages_manage_posts"]);
    const pageId = `page${digits()}`;

    const mismatch = await byok({
      platform: "facebook",
      platformAccountId: digits(),
      credentials: { accessToken: grant.accessToken, pageId },
    });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.error.details[0].field).toBe("platformAccountId");
    expect(await accountCount(ws)).toBe(0);

    const res = await byok({
      platform: "facebook",
      platformAccountId: user.id,
      credentials: { accessToken: grant.accessToken, pageId },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.account).toMatchObject({
      platform: "facebook",
      platformUserId: user.id,
      displayName: "Ada Lovelace",
      connectionType: "byok",
      tokenExpiresAt: null,
    });
    const id = res.json.account.id;
    expect(JSON.stringify(await rowOf(id))).not.toContain(pageId);
    expect((await secretsOf(id)).extras).toEqual({ pageId });
    const test = await api(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect(test.json).toMatchObject({ success: true, details: { platformUserId: user.id } });

    // A token Graph rejects (code 190) is refused before anything is stored.
    const rejected = await byok({ platform: "facebook", credentials: { accessToken: "EAAdead", pageId } });
    expect(rejected.status).toBe(400);
    expect(rejected.json.error.code).toBe("INVALID_PARAM");
    expect(await accountCount(ws)).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Mastodon: one app per instance, registered on first connect

describe("mastodon OAuth flow (per-instance app)", () => {
  let fake: FakePlatform;
  let ws: TestWorkspace;
  const SCOPE = "read:accounts write:statuses write:media";
  const gargron = () => ({
    id: digits(),
    username: "Gargron",
    name: "Eugen Rochko",
    avatarUrl: "https://files.mastodon.social/accounts/avatars/000/000/001/original/a.png",
  });
  const appRegistrations = () =>
    fake.calls.filter((x) => x.method === "POST" && x.path === "/api/api/v1/apps");

  beforeEach(async () => {
    fake = fakeFor("mastodon");
    mastodonFake(fake);
    // The app cache lives in D1 for the whole file: start each test from an instance never seen.
    await env.DB.prepare("DELETE FROM platform_apps WHERE platform = 'mastodon'").run();
    ws = await createWorkspace();
  });

  it("needs the instance", async () => {
    const res = await api("/v1/accounts/connect/mastodon", {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
  });

  it("registers an app on the instance once, and reuses it on the next connect", async () => {
    const first = await start(ws, fake, gargron(), { instance: "mastodon.social" });
    expect(first.started.status, first.started.text).toBe(200);
    expect(`${first.url.origin}${first.url.pathname}`).toBe("https://fake.test/mastodon/authorize");
    expect(Object.fromEntries(first.url.searchParams)).toMatchObject({
      response_type: "code",
      client_id: MASTODON_APP.clientId,
      redirect_uri: `${REDIRECT_BASE}/mastodon`,
      scope: SCOPE,
      code_challenge_method: "S256",
    });
    expect(first.url.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const registered = appRegistrations();
    expect(registered).toHaveLength(1);
    expect(form(registered[0]?.body)).toMatchObject({
      client_name: "Switchboard",
      redirect_uris: `${REDIRECT_BASE}/mastodon`,
      scopes: SCOPE,
    });
    const apps = await env.DB.prepare("SELECT * FROM platform_apps WHERE platform = 'mastodon'").all<Row>();
    expect(apps.results).toHaveLength(1);
    expect(apps.results[0]).toMatchObject({
      instance: "https://mastodon.social",
      client_id: MASTODON_APP.clientId,
    });
    expect(JSON.stringify(apps.results)).not.toContain(MASTODON_APP.clientSecret);

    const second = await start(ws, fake, gargron(), { instance: "https://MASTODON.social/" });
    expect(second.started.status, second.started.text).toBe(200);
    expect(second.url.searchParams.get("client_id")).toBe(MASTODON_APP.clientId);
    expect(appRegistrations()).toHaveLength(1);
  });

  it("connects @user@host with the instance app, tests, does not refresh, and revokes at the instance", async () => {
    const user = gargron();
    const { state, code } = await start(ws, fake, user, { instance: "mastodon.social" });
    const done = await api("/v1/accounts/callback/mastodon", {
      method: "POST",
      key: ws.key,
      body: { code, state },
    });
    expect(done.status, done.text).toBe(200);
    expect(done.json.account).toMatchObject({
      platform: "mastodon",
      platformUserId: user.id,
      username: "@Gargron@mastodon.social",
      displayName: "Eugen Rochko",
      avatarUrl: user.avatarUrl,
      accountType: "personal",
      connectionType: "oauth",
      status: "active",
      permissions: ["read:accounts", "write:statuses", "write:media"],
      tokenExpiresAt: null,
    });
    // The code is exchanged with the app registered on the instance, not deployment secrets.
    expect(form(tokenCalls(fake)[0]?.body)).toMatchObject({
      client_id: MASTODON_APP.clientId,
      client_secret: MASTODON_APP.clientSecret,
    });
    const id = done.json.account.id;

    const test = await api(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect(test.json).toEqual({
      success: true,
      message: "Connection verified",
      details: { platformUserId: user.id, username: "@Gargron@mastodon.social", displayName: "Eugen Rochko" },
    });
    const refresh = await api(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key });
    expect(refresh.json).toMatchObject({ success: true, refreshed: false });

    const grant = fake.grants[0];
    const from = fake.calls.length;
    expect((await api(`/v1/accounts/${id}`, { method: "DELETE", key: ws.key })).json).toEqual({
      success: true,
    });
    const revoked = revokes(fake.calls.slice(from));
    expect(revoked.map((x) => form(x.body))).toEqual([
      expect.objectContaining({
        token: grant?.accessToken,
        client_id: MASTODON_APP.clientId,
        client_secret: MASTODON_APP.clientSecret,
      }),
    ]);
    expect(grant?.revoked).toBe(true);
    expectWiped(await rowOf(id));
  });
});
