import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { advanceBackfills } from "../../src/jobs/backfill";
import { call, callWith, createWorkspace, type TestWorkspace } from "../helpers/api";
import { CALLBACK, connectAccount, consent } from "../helpers/connect";
import type { FakePlatform } from "../helpers/fake-provider";
import { issuedSecrets, oauthFake, tiktokBusinessFake } from "../helpers/platform-fakes";
import { extrasOf, rowOf, secretsOf } from "../helpers/rows";

const brand = {
  id: "-000BizOpenId",
  username: "voxburst.shop",
  name: "Vox Burst Shop",
  avatarUrl: "https://p16.tiktokcdn.com/biz.jpeg",
};
const BUSINESS_SCOPES =
  "user.info.basic,user.info.username,user.info.profile,user.account.type,user.insights,video.list,video.insights,video.publish";

let business: ReturnType<typeof tiktokBusinessFake>;
let loginKit: FakePlatform;
let ws: TestWorkspace;
let responses: string[];

beforeEach(async () => {
  loginKit = oauthFake("tiktok");
  business = tiktokBusinessFake();
  ws = await createWorkspace();
  responses = [];
});

async function connectBusiness() {
  const res = await connectAccount(ws, business, brand, { body: { tiktokBusiness: true } });
  responses.push(res.text);
  expect(res.status, res.text).toBe(200);
  return res.json.account.id as string;
}

async function refresh(id: string) {
  const res = await call(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key });
  responses.push(res.text);
  return res;
}

describe("TikTok Business connect", () => {
  it("asks the business app's client_key and scopes, exchanges the code as JSON and stores a business account", async () => {
    const { url, state, code } = await consent(ws, business, brand, {
      body: { tiktokBusiness: true },
      path: "/v1/accounts/connect/tiktok",
    });
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/tiktok_business/authorize");
    expect(url.searchParams.get("client_key")).toBe("tiktok_business-client-id");
    expect(url.searchParams.get("scope")).toBe(BUSINESS_SCOPES);
    expect(url.searchParams.get("response_type")).toBe("code");
    expect(url.searchParams.get("redirect_uri")).toBe("https://switchboard.test/v1/oauth/redirect/tiktok");
    expect(url.searchParams.has("code_challenge")).toBe(false);

    const res = await call("/v1/accounts/callback/tiktok", {
      method: "POST",
      key: ws.key,
      body: { code, state },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.account).toMatchObject({
      platform: "tiktok",
      platformUserId: brand.id,
      username: "@voxburst.shop",
      displayName: "Vox Burst Shop",
      avatarUrl: brand.avatarUrl,
      accountType: "business",
      status: "active",
    });
    const exchange = business.calls.find((c) => c.path.endsWith("/tt_user/oauth2/token/"));
    expect(exchange?.headers.get("content-type")).toContain("application/json");
    expect(JSON.parse(exchange?.body ?? "{}")).toEqual({
      client_id: "tiktok_business-client-id",
      client_secret: "tiktok_business-client-secret",
      grant_type: "authorization_code",
      auth_code: code,
      redirect_uri: "https://switchboard.test/v1/oauth/redirect/tiktok",
    });
    const profile = business.calls.find((c) => c.path.endsWith("/business/get/"));
    expect(profile?.headers.get("access-token")).toBe(business.grants[0]?.accessToken);
    expect(profile?.headers.get("authorization")).toBeNull();
    expect(await extrasOf(res.json.account.id)).toMatchObject({ oauthVersion: "business", openId: brand.id });
    const row = await rowOf(res.json.account.id);
    expect((row?.token_expires_at as number) - Date.now()).toBeGreaterThan(23 * 3600_000);
    // Login Kit's app was never asked.
    expect(loginKit.calls).toHaveLength(0);
    for (const secret of issuedSecrets) expect(res.text).not.toContain(secret);
  });

  it("refuses tiktokBusiness on another platform with INVALID_PARAM", async () => {
    const res = await call("/v1/accounts/connect/twitter", {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK, tiktokBusiness: true },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    expect(res.json.error.message).toMatch(/^tiktokBusiness applies to TikTok, not /);
    expect(res.json.error.details).toEqual([
      { field: "tiktokBusiness", message: "Not used by this platform" },
    ]);
  });

  it("answers PLATFORM_NOT_CONFIGURED naming the two business secrets when they are unset", async () => {
    const bindings = { ...env, TIKTOK_BUSINESS_CLIENT_ID: "", TIKTOK_BUSINESS_CLIENT_SECRET: "" } as Env;
    const res = await callWith(bindings, "/v1/accounts/connect/tiktok", {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK, tiktokBusiness: true },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("PLATFORM_NOT_CONFIGURED");
    expect(res.json.error.message).toBe(
      "TikTok Business is not configured: set TIKTOK_BUSINESS_CLIENT_ID and TIKTOK_BUSINESS_CLIENT_SECRET",
    );
    // Login Kit stays available without them.
    const plain = await callWith(bindings, "/v1/accounts/connect/tiktok", {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK },
    });
    expect(plain.status, plain.text).toBe(200);
  });

  it("turns a refused code (non-zero code with HTTP 200) into INVALID_PARAM", async () => {
    const { state } = await consent(ws, business, brand, { body: { tiktokBusiness: true } });
    const res = await call("/v1/accounts/callback/tiktok", {
      method: "POST",
      key: ws.key,
      body: { code: "not-a-code", state },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    expect(res.json.error.message).toContain("40131");
  });
});

describe("TikTok Business upkeep", () => {
  it("POST …/test reads business/get", async () => {
    const id = await connectBusiness();
    const res = await call(`/v1/accounts/${id}/test`, { method: "POST", key: ws.key });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({
      success: true,
      details: { platformUserId: brand.id, username: "@voxburst.shop" },
    });
  });

  it("refreshes through the JSON refresh endpoint, storing the rotated refresh token", async () => {
    const id = await connectBusiness();
    const first = (await secretsOf(id)).refreshToken;
    const res = await refresh(id);
    expect(res.status, res.text).toBe(200);
    expect(business.refreshRequests).toBe(1);
    const call0 = business.calls.find((c) => c.path.endsWith("/tt_user/oauth2/refresh_token/"));
    expect(JSON.parse(call0?.body ?? "{}")).toEqual({
      client_id: "tiktok_business-client-id",
      client_secret: "tiktok_business-client-secret",
      grant_type: "refresh_token",
      refresh_token: first,
    });
    const stored = await secretsOf(id);
    expect(stored.refreshToken).toBe(business.grants[0]?.refreshToken);
    expect(stored.refreshToken).not.toBe(first);
    expect(stored.extras).toMatchObject({ oauthVersion: "business", openId: brand.id });
    // The spent token is refused by the platform, and presenting it kills the grant: never sent again.
    await env.DB.prepare("UPDATE accounts SET last_refreshed_at = last_refreshed_at - 60000 WHERE id = ?")
      .bind(id)
      .run();
    expect((await refresh(id)).status).toBe(200);
    expect(business.liveGrants).toHaveLength(1);
    for (const secret of issuedSecrets) for (const text of responses) expect(text).not.toContain(secret);
  });

  it("parallel refreshes spend the rotating refresh token once (the lease guard)", async () => {
    const id = await connectBusiness();
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(id)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(business.refreshRequests).toBe(1);
    expect(business.liveGrants).toHaveLength(1);
  });

  it("a refused refresh (non-zero code, HTTP 200) marks the account in error", async () => {
    const id = await connectBusiness();
    const grant = business.grants[0];
    if (grant) grant.revoked = true;
    const res = await refresh(id);
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe("REFRESH_FAILED");
    const row = await rowOf(id);
    expect(["error", "expired"]).toContain(row?.status);
  });

  it("a transient envelope error (5xxxx with HTTP 200) keeps the account active", async () => {
    const id = await connectBusiness();
    business.api("POST /open_api/v1.3/tt_user/oauth2/refresh_token/", () =>
      Response.json({ code: 50000, message: "System error", request_id: "r", data: {} }),
    );
    const res = await refresh(id);
    expect(res.status).toBe(502);
    expect(res.json.error.code).toBe("PROVIDER_ERROR");
    expect((await rowOf(id))?.status).toBe("active");
    expect(business.liveGrants).toHaveLength(1);
  });

  it("revokes at the Business API on disconnect", async () => {
    const id = await connectBusiness();
    const res = await call(`/v1/accounts/${id}`, { method: "DELETE", key: ws.key });
    expect(res.status, res.text).toBe(200);
    expect(business.revocations).toBe(1);
    const revoke = business.calls.find((c) => c.path.endsWith("/tt_user/oauth2/revoke/"));
    expect(JSON.parse(revoke?.body ?? "{}")).toMatchObject({ client_id: "tiktok_business-client-id" });
    expect(business.liveGrants).toHaveLength(0);
    expect(loginKit.revocations).toBe(0);
  });

  it("a reconnect keeps the business flow", async () => {
    const id = await connectBusiness();
    const started = await call(`/v1/accounts/${id}/reconnect`, {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK },
    });
    expect(started.status, started.text).toBe(200);
    const url = new URL(started.json.authorizationUrl);
    expect(url.searchParams.get("client_key")).toBe("tiktok_business-client-id");
    expect(url.searchParams.get("scope")).toBe(BUSINESS_SCOPES);
    const code = business.issueCode(brand, {
      scopes: BUSINESS_SCOPES.split(","),
      redirectUri: url.searchParams.get("redirect_uri") ?? undefined,
    });
    const res = await call("/v1/accounts/callback/tiktok", {
      method: "POST",
      key: ws.key,
      body: { code, state: started.json.state },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.account.id).toBe(id);
    expect(await extrasOf(id)).toMatchObject({ oauthVersion: "business" });
    expect(loginKit.tokenRequests).toBe(0);
  });

  it("tiktokBusiness is not a reconnect option", async () => {
    const id = await connectBusiness();
    const res = await call(`/v1/accounts/${id}/reconnect`, {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK, tiktokBusiness: true },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
  });
});

/** `n` posts, newest first, an hour apart, the newest an hour old. */
const posts = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    itemId: String(7_400_000_000_000_000_000n - BigInt(i)),
    createTime: Math.floor(Date.now() / 1000) - (i + 1) * 3600,
    caption: `post ${i}`,
    shareUrl: `https://www.tiktok.com/@voxburst.shop/video/${i}`,
    thumbnailUrl: `https://p16.tiktokcdn.com/${i}.jpeg`,
    videoViews: 1000 + i,
    likes: 100 + i,
    comments: 10 + i,
    shares: i,
    reach: 800 + i,
  }));

const VIDEO_LIST = "GET /open_api/v1.3/business/video/list/";

async function startBackfill(id: string) {
  const res = await call(`/v1/accounts/${id}/backfill`, { method: "POST", key: ws.key });
  expect(res.status, res.text).toBe(202);
  return res.json.id as string;
}

const jobOf = (id: string) =>
  env.DB.prepare("SELECT * FROM backfill_jobs WHERE id = ?").bind(id).first<Record<string, unknown>>();

describe("TikTok Business backfill", () => {
  it("reads business/video/list with Access-Token and business_id, page by page, and stores the metrics", async () => {
    const id = await connectBusiness();
    business.videos = posts(45);
    const job = await startBackfill(id);
    const now = Date.now();
    await advanceBackfills(env, now);
    expect(await jobOf(job)).toMatchObject({ status: "completed", posts_imported: 45, pages_fetched: 3 });
    const lists = business.calls.filter((c) => c.path.endsWith("/business/video/list/"));
    expect(lists).toHaveLength(3);
    for (const list of lists) {
      expect(list.headers.get("access-token")).toBe(business.grants[0]?.accessToken);
      expect(list.headers.get("authorization")).toBeNull();
    }
    const newest = await env.DB.prepare(
      "SELECT * FROM post_metrics WHERE account_id = ? ORDER BY published_at DESC LIMIT 1",
    )
      .bind(id)
      .first<Record<string, unknown>>();
    expect(newest).toMatchObject({
      platform: "tiktok",
      platform_post_id: "7400000000000000000",
      reach: 800,
      likes: 100,
      comments: 10,
      shares: 0,
      video_views: 1000,
      impressions: null,
    });
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM post_metrics WHERE account_id = ?")
      .bind(id)
      .first<{ n: number }>();
    expect(stored?.n).toBe(45);
    expect(loginKit.calls).toHaveLength(0);
  });

  it("a refusal sent with HTTP 200 fails the job and marks the account in error, as Login Kit's do", async () => {
    const id = await connectBusiness();
    business.api(VIDEO_LIST, () =>
      Response.json({
        code: 40105,
        message: "Access token is incorrect or has been revoked.",
        request_id: "r",
        data: {},
      }),
    );
    const job = await startBackfill(id);
    const now = Date.now();
    await advanceBackfills(env, now);
    expect(await jobOf(job)).toMatchObject({ status: "failed", error_code: "ACCESS_REFUSED" });
    // The platform's code is kept, as Login Kit's access_token_invalid is.
    expect(await rowOf(id)).toMatchObject({ status: "error", last_error_code: "40105" });
    const events = await env.DB.prepare(
      "SELECT payload FROM events WHERE type = 'account.error' AND payload LIKE ?",
    )
      .bind(`%${id}%`)
      .all();
    expect(events.results).toHaveLength(1);
  });

  it("a transient envelope error (rate limit with HTTP 200) retries and keeps the account active", async () => {
    const id = await connectBusiness();
    business.videos = posts(3);
    let calls = 0;
    const served = business.apis.get(VIDEO_LIST);
    business.api(VIDEO_LIST, (req) => {
      calls += 1;
      if (calls === 1)
        return Response.json({ code: 40100, message: "Too many requests.", request_id: "r", data: {} });
      return served ? served(req) : new Response(null, { status: 500 });
    });
    const job = await startBackfill(id);
    const now = Date.now();
    await advanceBackfills(env, now);
    const waiting = await jobOf(job);
    expect(waiting).toMatchObject({ status: "running", error_code: "PROVIDER_UNAVAILABLE" });
    expect(await rowOf(id)).toMatchObject({ status: "active" });
    await advanceBackfills(env, waiting?.next_run_at as number);
    expect(await jobOf(job)).toMatchObject({ status: "completed", posts_imported: 3 });
    expect(await rowOf(id)).toMatchObject({ status: "active", last_error_code: null });
  });
});
