import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { analyticsRouter } from "../../src/features/analytics/analytics.routes";
import { advanceBackfills } from "../../src/jobs/backfill";
import { HOUR } from "../../src/lib/time";
import { BASE, createWorkspace, insertAccount, issueKey, type TestWorkspace } from "../helpers/api";
import { type FakePlatform, fakePlatform } from "../helpers/fake-provider";

// The lead mounts analyticsRouter in src/app.ts; until then these tests mount it on their own app.
const app = createApp();
app.route("/v1/accounts", analyticsRouter);

async function api(path: string, options: { method?: string; key: string }) {
  const res = await app.fetch(
    new Request(`${BASE}${path}`, {
      method: options.method ?? "GET",
      headers: { authorization: `Bearer ${options.key}` },
    }),
    env,
    createExecutionContext(),
  );
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  const json: any = text ? JSON.parse(text) : undefined;
  return { status: res.status, json, text };
}

let ws: TestWorkspace;
let fake: FakePlatform;

beforeEach(async () => {
  ws = await createWorkspace();
  fake = fakePlatform("twitter");
});

async function twitterAccount() {
  const grant = fake.newGrant({ id: crypto.randomUUID(), username: "poster", name: "Poster" });
  const account = await insertAccount(ws.id, {
    platform: "twitter",
    platformUserId: grant.profile.id,
    scopes: ["tweet.read", "users.read", "offline.access"],
    credentials: { accessToken: grant.accessToken },
  });
  return { account, grant };
}

const BACKFILL_KEYS = [
  "id",
  "status",
  "progress",
  "postsImported",
  "pagesFetched",
  "startedAt",
  "finishedAt",
  "error",
  "createdAt",
].sort();

describe("POST /v1/accounts/:id/backfill", () => {
  it("creates a pending job, then answers that same job while it is active", async () => {
    const { account } = await twitterAccount();
    const created = await api(`/v1/accounts/${account.id}/backfill`, { method: "POST", key: ws.key });
    expect(created.status, created.text).toBe(202);
    expect(Object.keys(created.json).sort()).toEqual(BACKFILL_KEYS);
    expect(created.json).toMatchObject({
      status: "pending",
      progress: null,
      postsImported: 0,
      pagesFetched: 0,
      startedAt: null,
      finishedAt: null,
      error: null,
    });
    expect(created.json.id).toMatch(/^bf_/);

    const again = await api(`/v1/accounts/${account.id}/backfill`, { method: "POST", key: ws.key });
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(created.json.id);

    const status = await api(`/v1/accounts/${account.id}/backfill`, { key: ws.key });
    expect(status.status).toBe(200);
    expect(status.json).toEqual(created.json);
  });

  it("20 parallel requests create exactly one job", async () => {
    const { account } = await twitterAccount();
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        api(`/v1/accounts/${account.id}/backfill`, { method: "POST", key: ws.key }),
      ),
    );
    expect(results.filter((r) => r.status === 202)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(19);
    expect(new Set(results.map((r) => r.json.id)).size).toBe(1);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM backfill_jobs WHERE account_id = ?")
      .bind(account.id)
      .first<{ n: number }>();
    expect(rows?.n).toBe(1);
  });

  it("reports the job's progress and counts as the cron advances it, and starts a new one once it is done", async () => {
    const { account, grant } = await twitterAccount();
    const now = Date.now();
    fake.api(`GET /2/users/${grant.profile.id}/tweets`, () =>
      Response.json({
        data: Array.from({ length: 12 }, (_, i) => ({
          id: `17000000000000000${10 + i}`,
          text: "hi",
          edit_history_tweet_ids: [`17000000000000000${10 + i}`],
          created_at: new Date(now - (i + 1) * HOUR).toISOString(),
          public_metrics: {
            retweet_count: 0,
            reply_count: 1,
            like_count: 5,
            quote_count: 0,
            bookmark_count: 0,
            impression_count: 100,
          },
        })),
        meta: { result_count: 12 },
      }),
    );
    const created = await api(`/v1/accounts/${account.id}/backfill`, { method: "POST", key: ws.key });
    await advanceBackfills(env, now + 1000);
    const done = await api(`/v1/accounts/${account.id}/backfill`, { key: ws.key });
    expect(done.json).toMatchObject({
      id: created.json.id,
      status: "completed",
      progress: 1,
      postsImported: 12,
      pagesFetched: 1,
      error: null,
    });
    expect(Date.parse(done.json.startedAt)).toBe(now + 1000);
    expect(Date.parse(done.json.finishedAt)).toBe(now + 1000);
    expect(done.text).not.toContain(grant.accessToken);

    const next = await api(`/v1/accounts/${account.id}/backfill`, { method: "POST", key: ws.key });
    expect(next.status).toBe(202);
    expect(next.json.id).not.toBe(created.json.id);
  });

  it("answers a failed job's error", async () => {
    const { account, grant } = await twitterAccount();
    fake.api(`GET /2/users/${grant.profile.id}/tweets`, () =>
      Response.json(
        { title: "Unauthorized", type: "about:blank", status: 401, detail: "Unauthorized" },
        { status: 401 },
      ),
    );
    await api(`/v1/accounts/${account.id}/backfill`, { method: "POST", key: ws.key });
    await advanceBackfills(env, Date.now() + 1000);
    const failed = await api(`/v1/accounts/${account.id}/backfill`, { key: ws.key });
    expect(failed.json).toMatchObject({ status: "failed", error: { code: "ACCESS_REFUSED" } });
    expect(failed.json.error.message).toContain("Reconnect the account");
  });

  it("refuses disconnected accounts", async () => {
    const { account } = await twitterAccount();
    await env.DB.prepare("UPDATE accounts SET status = 'disconnected', access_token_enc = NULL WHERE id = ?")
      .bind(account.id)
      .run();
    const res = await api(`/v1/accounts/${account.id}/backfill`, { method: "POST", key: ws.key });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: "INVALID_PARAM" });
    expect(res.json.error.message).toContain("disconnected");
  });

  it.each([
    ["telegram", "Telegram"],
    ["whatsapp", "WhatsApp"],
    ["googlebusiness", "Google Business Profile"],
    ["reddit", "Reddit"],
  ])("refuses %s, which offers no post analytics to its owner", async (platform, name) => {
    const account = await insertAccount(ws.id, {
      platform,
      credentials: { accessToken: "bot-or-user-token" },
    });
    const res = await api(`/v1/accounts/${account.id}/backfill`, { method: "POST", key: ws.key });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    expect(res.json.error.message).toContain(name);
    expect(res.json.error.details).toEqual([
      { field: "platform", message: expect.stringContaining(platform) },
    ]);
  });

  it("refuses accounts without the permission the platform needs to show post metrics", async () => {
    const tiktok = await insertAccount(ws.id, {
      platform: "tiktok",
      scopes: ["user.info.basic", "video.publish", "video.upload"],
      credentials: { accessToken: "act.example" },
    });
    const res = await api(`/v1/accounts/${tiktok.id}/backfill`, { method: "POST", key: ws.key });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toContain("video.list");
    expect(res.json.error.details[0].field).toBe("scopes");

    const linkedin = await insertAccount(ws.id, {
      platform: "linkedin",
      scopes: ["openid", "profile", "w_member_social"],
      credentials: { accessToken: "li-token" },
    });
    const personal = await api(`/v1/accounts/${linkedin.id}/backfill`, { method: "POST", key: ws.key });
    expect(personal.status).toBe(400);
    expect(personal.json.error.message).toContain("LinkedIn");
    expect(personal.json.error.details[0].field).toBe("platform");
  });

  it("refuses accounts that need a reconnect", async () => {
    const { account } = await twitterAccount();
    await env.DB.prepare("UPDATE accounts SET status = 'expired' WHERE id = ?").bind(account.id).run();
    const res = await api(`/v1/accounts/${account.id}/backfill`, { method: "POST", key: ws.key });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toBe("The account is expired; reconnect it before a backfill");
  });

  it("asks a Facebook login to select its Page first", async () => {
    const account = await insertAccount(ws.id, {
      platform: "facebook",
      scopes: ["pages_show_list", "pages_manage_posts", "pages_read_engagement"],
      credentials: { accessToken: "EAAB-user-token" },
    });
    const res = await api(`/v1/accounts/${account.id}/backfill`, { method: "POST", key: ws.key });
    expect(res.status).toBe(400);
    expect(res.json.error.details[0].field).toBe("pageId");
    await env.DB.prepare("UPDATE accounts SET selected_page_id = '104567890123456' WHERE id = ?")
      .bind(account.id)
      .run();
    expect((await api(`/v1/accounts/${account.id}/backfill`, { method: "POST", key: ws.key })).status).toBe(
      202,
    );
  });

  it("asks an Instagram account connected through Facebook Login to select its business account first", async () => {
    const account = await insertAccount(ws.id, {
      platform: "instagram",
      credentials: { accessToken: "EAAB-user-token", extras: { oauthVersion: "fb_login" } },
    });
    const res = await api(`/v1/accounts/${account.id}/backfill`, { method: "POST", key: ws.key });
    expect(res.status).toBe(400);
    expect(res.json.error.details[0].field).toBe("pageId");
    expect(res.text).not.toContain("EAAB-user-token");
  });

  it("answers another workspace's account like a missing one", async () => {
    const { account } = await twitterAccount();
    const other = await createWorkspace();
    for (const method of ["POST", "GET"]) {
      const res = await api(`/v1/accounts/${account.id}/backfill`, { method, key: other.key });
      expect(res.status).toBe(404);
      expect(res.json.error).toEqual({
        code: "NOT_FOUND",
        message: "Account not found",
        requestId: expect.stringMatching(/^req_/),
      });
    }
    const missing = await api("/v1/accounts/acc_00000000000000000000000000/backfill", {
      method: "POST",
      key: ws.key,
    });
    expect(missing.status).toBe(404);
  });

  it("needs accounts:write to start and accounts:read to look", async () => {
    const { account } = await twitterAccount();
    const reader = await issueKey(ws.id, ["accounts:read"]);
    const writer = await issueKey(ws.id, ["accounts:write"]);
    const start = await api(`/v1/accounts/${account.id}/backfill`, { method: "POST", key: reader.key });
    expect(start.status).toBe(403);
    expect(start.json.error.code).toBe("INSUFFICIENT_SCOPE");
    expect(
      (await api(`/v1/accounts/${account.id}/backfill`, { method: "POST", key: writer.key })).status,
    ).toBe(202);
    expect((await api(`/v1/accounts/${account.id}/backfill`, { key: writer.key })).status).toBe(403);
    expect((await api(`/v1/accounts/${account.id}/backfill`, { key: reader.key })).status).toBe(200);
  });
});

describe("GET /v1/accounts/:id/backfill", () => {
  it("is NOT_FOUND before any backfill has run", async () => {
    const { account } = await twitterAccount();
    const res = await api(`/v1/accounts/${account.id}/backfill`, { key: ws.key });
    expect(res.status).toBe(404);
    expect(res.json.error).toEqual({
      code: "NOT_FOUND",
      message: "No backfill has run for this account",
      requestId: expect.stringMatching(/^req_/),
    });
  });
});
