import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { advanceBackfills } from "../../src/jobs/backfill";
import { callWith, createWorkspace, type TestWorkspace } from "../helpers/api";
import { secretsOf } from "../helpers/rows";

// The built-in sandbox serving what the hosted page and every account route call, as under `npm run dev`.
const sandboxEnv = {
  ...env,
  PROVIDER_OVERRIDES: "",
  SANDBOX_PROVIDERS: "true",
  ENVIRONMENT: "development",
  INSTAGRAM_AUDIO_ENABLED: "true",
} as Env;

const api = (path: string, options: Parameters<typeof callWith>[2] = {}) =>
  callWith(sandboxEnv, path, options);
const pathOf = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};
const form = (fields: Record<string, string>) => ({
  method: "POST",
  rawBody: new URLSearchParams(fields).toString(),
  headers: { "content-type": "application/x-www-form-urlencoded" },
});
const attr = (html: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(html)?.[1];

let ws: TestWorkspace;

beforeAll(async () => {
  ws = await createWorkspace();
});

/** The sandbox consent page's decision for an authorization URL: answers the redirect back to us. */
async function consent(authorizationUrl: string, decision: "approve" | "deny" = "approve", as?: string) {
  const page = await api(pathOf(authorizationUrl));
  expect(page.status, page.text).toBe(200);
  const request =
    attr(page.text, 'name="request" value') ?? /name="request" value="([^"]+)"/.exec(page.text)?.[1];
  const username = as ?? /name="username" value="([^"]*)"/.exec(page.text)?.[1] ?? "";
  // The consent form posts back to the page's own path.
  const decided = await api(
    new URL(authorizationUrl).pathname,
    form({ request: request ?? "", decision, username }),
  );
  expect(decided.status, decided.text).toBe(302);
  return decided.headers.get("location") as string;
}

/** A hosted session run through the page: the platform's button (or form), consent, our callback. */
async function hostedConnect(
  platform: string,
  fields: Record<string, string> = {},
  decision: "approve" | "deny" = "approve",
) {
  const created = await api("/v1/connect/sessions", {
    method: "POST",
    key: ws.key,
    body: { endUserId: `end-${platform}`, returnUrl: "http://localhost:3000/done" },
  });
  expect(created.status, created.text).toBe(201);
  const base = pathOf(created.json.url);
  const started = await api(`${base}/start`, form({ platform, ...fields }));
  expect(started.status, started.text).toBe(303);
  const redirect = await api(pathOf(await consent(started.headers.get("location") as string, decision)));
  expect(redirect.status, redirect.text).toBe(302);
  const back = await api(pathOf(redirect.headers.get("location") as string));
  expect(back.status, back.text).toBe(303);
  return { base, id: created.json.id as string, next: back.headers.get("location") as string };
}

async function sessionAccount(id: string) {
  const session = await api(`/v1/connect/sessions/${id}`, { key: ws.key });
  expect(session.json.status, session.text).toBe("completed");
  return (await api(`/v1/accounts/${session.json.accountId}`, { key: ws.key })).json;
}

describe("hosted connect against the sandbox", () => {
  it("LinkedIn: the organisations to pick, and the pick saved as select-page saves it", async () => {
    const { base, id, next } = await hostedConnect("linkedin");
    expect(next).toBe(`${base}/pages`);
    const picker = await api(next);
    const ids = [...picker.text.matchAll(/data-page-id="(\d+)"/g)].map((m) => m[1]);
    expect(ids).toHaveLength(2);
    const chosen = await api(`${base}/pages`, form({ pageId: ids[0] as string }));
    expect(chosen.headers.get("location")).toBe(`${base}/done`);
    const done = await api(`${base}/done`);
    expect(attr(done.text, "data-connect-result")).toBe("success");
    const account = await sessionAccount(id);
    expect(account).toMatchObject({
      platform: "linkedin",
      endUserId: "end-linkedin",
      selectedPage: { id: ids[0] },
    });
  });

  it("Instagram through Facebook Login: the business accounts to pick, and the pick becomes the account", async () => {
    const { base, id, next } = await hostedConnect("instagram", { login: "facebook" });
    expect(next).toBe(`${base}/pages`);
    const picker = await api(next);
    const ids = [...picker.text.matchAll(/data-page-id="([^"]+)"/g)].map((m) => m[1]);
    // Page 1's account through /me/accounts; Page 3's through the business that owns it.
    expect(ids).toEqual(["sbx-facebook-1001-page-1", "sbx-facebook-1001-page-3"]);
    await api(`${base}/pages`, form({ pageId: ids[0] as string }));
    const account = await sessionAccount(id);
    expect(account).toMatchObject({
      platform: "instagram",
      username: "@sandbox.facebook.shop",
      accountType: "business",
      selectedPage: { id: "sbx-facebook-1001-page-1" },
    });
  });

  it("Instagram through Facebook Login: the account on a business-owned Page, picked, becomes the account", async () => {
    const { base, id, next } = await hostedConnect("instagram", { login: "facebook" });
    await api(next);
    await api(`${base}/pages`, form({ pageId: "sbx-facebook-1001-page-3" }));
    const done = await api(`${base}/done`);
    expect(attr(done.text, "data-connect-result")).toBe("success");
    const account = await sessionAccount(id);
    expect(account).toMatchObject({
      platform: "instagram",
      username: "@sandbox.facebook.studio",
      displayName: "Sandbox Facebook User's Studio",
      accountType: "business",
      selectedPage: { id: "sbx-facebook-1001-page-3", name: "Sandbox Facebook User's Page 3" },
    });
    const test = await api(`/v1/accounts/${account.id}/test`, { method: "POST", key: ws.key });
    expect(test.json).toMatchObject({
      success: true,
      details: { platformUserId: "sbx-facebook-1001-ig-3", username: "@sandbox.facebook.studio" },
    });
  });

  it("YouTube: the Google account's channels to pick (its own and a brand account's), and the pick saved", async () => {
    const { base, id, next } = await hostedConnect("youtube");
    expect(next).toBe(`${base}/pages`);
    const picker = await api(next);
    const ids = [...picker.text.matchAll(/data-page-id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toEqual(["sbx-youtube-1001", "sbx-youtube-1001-brand"]);
    expect(picker.text).toContain("Pick the YouTube channel to connect.");
    await api(`${base}/pages`, form({ pageId: ids[1] as string }));
    const done = await api(`${base}/done`);
    expect(attr(done.text, "data-connect-result")).toBe("success");
    expect(await sessionAccount(id)).toMatchObject({
      platform: "youtube",
      endUserId: "end-youtube",
      selectedPage: { id: "sbx-youtube-1001-brand", name: "Sandbox YouTube Channel Brand" },
    });
  });

  it("WhatsApp: Embedded Signup offered before the token form, and the WABA's one number selected at connect", async () => {
    const created = await api("/v1/connect/sessions", {
      method: "POST",
      key: ws.key,
      body: { endUserId: "end-whatsapp-form", returnUrl: "http://localhost:3000/done" },
    });
    const formPage = await api(`${pathOf(created.json.url)}/with/whatsapp`);
    expect(formPage.text).toContain('data-login="embedded-signup"');
    expect(formPage.text).toContain('name="phoneNumberId"');
    const { base, id, next } = await hostedConnect("whatsapp", { login: "embedded_signup" });
    // One number: nothing to pick.
    expect(next).toBe(`${base}/pages`);
    expect((await api(next)).headers.get("location")).toBe(`${base}/done`);
    const account = await sessionAccount(id);
    expect(account).toMatchObject({
      platform: "whatsapp",
      endUserId: "end-whatsapp",
      displayName: "Sandbox Business",
      accountType: "business",
      username: expect.stringMatching(/^\+1 555-010-\d{4}$/),
      selectedPage: { id: expect.stringMatching(/^\d{15}$/) },
    });
  });

  it("TikTok: a choice of login where the Business app is configured, and a Business reconnect keeps its flow", async () => {
    const created = await api("/v1/connect/sessions", {
      method: "POST",
      key: ws.key,
      body: { endUserId: "end-tiktok-form", returnUrl: "http://localhost:3000/done" },
    });
    const choice = await api(`${pathOf(created.json.url)}/with/tiktok`);
    expect(choice.text).toContain('data-login="tiktok"');
    expect(choice.text).toContain('data-login="tiktok-business"');
    const { id } = await hostedConnect("tiktok", { login: "business" });
    const account = await sessionAccount(id);
    expect(account).toMatchObject({ platform: "tiktok", accountType: "business", endUserId: "end-tiktok" });

    const again = await api("/v1/connect/sessions", {
      method: "POST",
      key: ws.key,
      body: { endUserId: "end-tiktok", accountId: account.id, returnUrl: "http://localhost:3000/done" },
    });
    expect(again.status, again.text).toBe(201);
    const page = await api(pathOf(again.json.url));
    expect(page.text).not.toContain("/with/tiktok");
    const started = await api(`${pathOf(again.json.url)}/start`, form({ platform: "tiktok" }));
    expect(started.status, started.text).toBe(303);
    const scopes = new URL(started.headers.get("location") as string).searchParams.get("scope") ?? "";
    expect(scopes.split(",")).toContain("user.account.type");
  });

  it("X and Mastodon go straight to the result", async () => {
    const x = await hostedConnect("twitter");
    expect(x.next).toBe(`${x.base}/done`);
    expect((await sessionAccount(x.id)).username).toBe("@sandbox_x");
    const mastodon = await hostedConnect("mastodon", { instance: "mastodon.social" });
    expect(mastodon.next).toBe(`${mastodon.base}/done`);
    expect((await sessionAccount(mastodon.id)).platform).toBe("mastodon");
  });

  it("Bluesky: the handle, then AT Protocol OAuth", async () => {
    const { base, id, next } = await hostedConnect("bluesky", { handle: "sandbox.bsky.social" });
    expect(next).toBe(`${base}/done`);
    expect(await sessionAccount(id)).toMatchObject({ platform: "bluesky", username: "@sandbox.bsky.social" });
  });

  it("a denied consent ends on the error screen with ACCESS_DENIED", async () => {
    const { base, id, next } = await hostedConnect("twitter", {}, "deny");
    expect(next).toBe(`${base}/done`);
    const done = await api(next);
    expect(attr(done.text, "data-connect-result")).toBe("error");
    expect(done.text).toContain("You declined access on X");
    const session = await api(`/v1/connect/sessions/${id}`, { key: ws.key });
    expect(session.json).toMatchObject({ status: "failed", error: { code: "ACCESS_DENIED" } });
  });
});

/** Connects through the API the way a customer's backend does: connect, the sandbox's consent, callback. */
/** `as`: the sandbox username to consent as (another user, so another account). */
async function apiConnect(platform: string, body: Record<string, unknown> = {}, as?: string) {
  const started = await api(`/v1/accounts/connect/${platform}`, {
    method: "POST",
    key: ws.key,
    body: { callbackUrl: "http://localhost/cb", ...body },
  });
  expect(started.status, started.text).toBe(200);
  const redirect = await api(pathOf(await consent(started.json.authorizationUrl, "approve", as)));
  const back = new URL(redirect.headers.get("location") as string);
  const done = await api(`/v1/accounts/callback/${platform}`, {
    method: "POST",
    key: ws.key,
    body: { code: back.searchParams.get("code"), state: back.searchParams.get("state") },
  });
  expect(done.status, `${platform}: ${done.text}`).toBe(200);
  return done.json.account as { id: string; platform: string };
}

describe("a LinkedIn account connected without pageMode, against the sandbox", () => {
  it("lists no pages, with requiresReauth and the pageMode hint, until reconnected with pageMode", async () => {
    const member = await apiConnect("linkedin", { forcePrompt: true });
    const pages = await api(`/v1/accounts/${member.id}/pages`, { key: ws.key });
    expect(pages.status, pages.text).toBe(200);
    expect(pages.json).toEqual({
      pages: [],
      requiresReauth: true,
      hint: expect.stringContaining("reconnect it with pageMode: true"),
    });
    const admin = await apiConnect("linkedin", { pageMode: true, forcePrompt: true });
    expect(admin.id).toBe(member.id);
    const again = await api(`/v1/accounts/${admin.id}/pages`, { key: ws.key });
    expect(again.json.pages).toHaveLength(2);
    expect(again.json.requiresReauth).toBeUndefined();
  });
});

describe("sandbox profiles through the API", () => {
  it("a TikTok account has its username and display name, as a real consent's user.info.profile gives", async () => {
    const account = await apiConnect("tiktok");
    expect((await api(`/v1/accounts/${account.id}`, { key: ws.key })).json).toMatchObject({
      platform: "tiktok",
      username: "@sandbox_tiktok",
      displayName: "Sandbox TikTok",
      avatarUrl: expect.stringContaining("/sandbox/tiktok/avatar/"),
    });
  });
});

describe("every account route against the sandbox", () => {
  it("answers no 5xx, and backfills end without failing", async () => {
    const accounts = [];
    for (const platform of [
      "twitter",
      "linkedin",
      "youtube",
      "googlebusiness",
      "reddit",
      "pinterest",
      "facebook",
      "instagram",
      "threads",
      "tiktok",
      "snapchat",
    ])
      accounts.push(await apiConnect(platform));
    accounts.push(await apiConnect("linkedin", { pageMode: true, forcePrompt: true }));
    accounts.push(await apiConnect("instagram", { facebookLogin: true }));
    accounts.push(await apiConnect("mastodon", { instance: "mastodon.social" }));
    accounts.push(await apiConnect("whatsapp"));
    // A TikTok Business account of its own user, beside the Login Kit one.
    accounts.push(await apiConnect("tiktok", { tiktokBusiness: true }, "sandbox_tiktok_shop"));
    for (const body of [
      { platform: "telegram", credentials: { botToken: `123456:${"A".repeat(35)}` } },
      {
        platform: "whatsapp",
        credentials: { accessToken: `EAA${"b".repeat(40)}`, phoneNumberId: "1234567890" },
      },
      {
        platform: "bluesky",
        credentials: { identifier: "sandbox.bsky.social", appPassword: "abcd-efgh-ijkl-mnop" },
      },
    ]) {
      const created = await api("/v1/accounts", { method: "POST", key: ws.key, body });
      // 200 when an earlier test connected the same sandbox user.
      expect([200, 201], `${body.platform}: ${created.text}`).toContain(created.status);
      accounts.push(created.json.account as { id: string; platform: string });
    }
    const failures: string[] = [];
    const check = async (label: string, res: Awaited<ReturnType<typeof api>>) => {
      if (res.status >= 500) failures.push(`${label}: ${res.status} ${res.text.slice(0, 200)}`);
      return res;
    };
    for (const account of accounts) {
      const at = `/v1/accounts/${account.id}`;
      const label = (what: string) => `${account.platform} ${what}`;
      await check(label("get"), await api(at, { key: ws.key }));
      await check(label("test"), await api(`${at}/test`, { method: "POST", key: ws.key }));
      await check(label("refresh"), await api(`${at}/refresh`, { method: "POST", key: ws.key }));
      const pages = await check(label("pages"), await api(`${at}/pages`, { key: ws.key }));
      const first = pages.json?.pages?.[0];
      if (first) {
        const pageId = first.type === "instagram" ? first.pageId : first.id;
        await check(
          label("select-page"),
          await api(`${at}/select-page`, { method: "POST", key: ws.key, body: { pageId } }),
        );
      }
      await check(label("playlists"), await api(`${at}/youtube/playlists`, { key: ws.key }));
      await check(label("optimal-times"), await api(`${at}/optimal-times`, { key: ws.key }));
      await check(label("backfill"), await api(`${at}/backfill`, { method: "POST", key: ws.key }));
      if (account.platform === "instagram")
        await check(
          label("audio"),
          await api(`/v1/instagram/audio/search?accountId=${account.id}&q=summer`, { key: ws.key }),
        );
    }
    for (let i = 0; i < 5; i++) await advanceBackfills(sandboxEnv, Date.now() + i * 60_000);
    for (const account of accounts) {
      const job = await check(
        `${account.platform} backfill status`,
        await api(`/v1/accounts/${account.id}/backfill`, { key: ws.key }),
      );
      if (job.json?.status === "failed")
        failures.push(`${account.platform} backfill failed: ${JSON.stringify(job.json).slice(0, 300)}`);
    }
    await check("health", await api("/v1/accounts/health", { key: ws.key }));
    for (const account of accounts)
      await check(
        `${account.platform} delete`,
        await api(`/v1/accounts/${account.id}`, { method: "DELETE", key: ws.key }),
      );
    expect(failures).toEqual([]);
  }, 60_000);
});

describe("a TikTok Business account against the sandbox", () => {
  it("connects through the Business API, tests, refreshes twice on the rotated token and disconnects", async () => {
    const account = await apiConnect("tiktok", { tiktokBusiness: true, forcePrompt: true });
    const at = `/v1/accounts/${account.id}`;
    const got = await api(at, { key: ws.key });
    expect(got.json).toMatchObject({ platform: "tiktok", accountType: "business", status: "active" });
    expect(got.json.username).toMatch(/^@/);
    const tested = await api(`${at}/test`, { method: "POST", key: ws.key });
    expect(tested.json, tested.text).toMatchObject({ success: true });
    for (let i = 0; i < 2; i++) {
      const refreshed = await api(`${at}/refresh`, { method: "POST", key: ws.key });
      expect(refreshed.status, refreshed.text).toBe(200);
      expect(refreshed.json).toMatchObject({ success: true, refreshed: true });
      await env.DB.prepare("UPDATE accounts SET last_refreshed_at = last_refreshed_at - 60000 WHERE id = ?")
        .bind(account.id)
        .run();
    }
    expect((await api(`${at}/test`, { method: "POST", key: ws.key })).json).toMatchObject({ success: true });
    const deleted = await api(at, { method: "DELETE", key: ws.key });
    expect(deleted.status, deleted.text).toBe(200);
  });

  it("backfills through business/video/list, which checks business_id against the token", async () => {
    const account = await apiConnect("tiktok", { tiktokBusiness: true }, "sandbox_tiktok_backfill");
    const at = `/v1/accounts/${account.id}`;
    const started = await api(`${at}/backfill`, { method: "POST", key: ws.key });
    expect(started.status, started.text).toBe(202);
    await advanceBackfills(sandboxEnv, Date.now());
    const job = await api(`${at}/backfill`, { key: ws.key });
    expect(job.json, job.text).toMatchObject({ status: "completed", postsImported: 0, error: null });
    const headers = { "access-token": (await secretsOf(account.id)).accessToken ?? "" };
    const list = "/sandbox/tiktok/api/open_api/v1.3/business/video/list/";
    const fields = encodeURIComponent(JSON.stringify(["item_id", "create_time", "likes"]));
    const other = await api(`${list}?business_id=someone-else&fields=${fields}`, { headers });
    expect(other.status).toBe(200);
    expect(other.json).toMatchObject({ code: 40002 });
    const got = await api(`/v1/accounts/${account.id}`, { key: ws.key });
    const own = await api(
      `${list}?business_id=${encodeURIComponent(got.json.platformUserId)}&fields=${fields}`,
      { headers },
    );
    expect(own.json).toMatchObject({ code: 0, data: { videos: [], has_more: false } });
  });

  it("refuses a wrong client, a reused refresh token and a missing Access-Token with HTTP 200 and a code", async () => {
    const account = await apiConnect("tiktok", { tiktokBusiness: true, forcePrompt: true });
    const { refreshToken } = await secretsOf(account.id);
    const oauth = "/sandbox/tiktok/api/open_api/v1.3/tt_user/oauth2";
    const refreshWith = (client_secret: string) =>
      api(`${oauth}/refresh_token/`, {
        method: "POST",
        body: {
          client_id: "sandbox-client",
          client_secret,
          grant_type: "refresh_token",
          refresh_token: refreshToken,
        },
      });
    const wrong = await refreshWith("not-the-secret");
    expect(wrong.status).toBe(200);
    expect(wrong.json).toMatchObject({ code: 40002 });
    const first = await refreshWith("sandbox-secret");
    expect(first.json, first.text).toMatchObject({
      code: 0,
      message: "OK",
      data: { open_id: expect.any(String) },
    });
    expect(first.json.data.refresh_token).not.toBe(refreshToken);
    const reused = await refreshWith("sandbox-secret");
    expect(reused.status).toBe(200);
    expect(reused.json).toMatchObject({ code: 40107 });
    // The replay revoked the grant: the rotated token is dead too.
    const after = await api(`${oauth}/refresh_token/`, {
      method: "POST",
      body: {
        client_id: "sandbox-client",
        client_secret: "sandbox-secret",
        grant_type: "refresh_token",
        refresh_token: first.json.data.refresh_token,
      },
    });
    expect(after.json).toMatchObject({ code: 40107 });
    const anonymous = await api("/sandbox/tiktok/api/open_api/v1.3/business/get/?business_id=x");
    expect(anonymous.status).toBe(200);
    expect(anonymous.json).toMatchObject({ code: 40104 });
  });
});
