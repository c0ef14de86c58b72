import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { advanceBackfills } from "../../src/jobs/backfill";
import { HOUR } from "../../src/lib/time";
import { api, createWorkspace, insertAccount, issueKey, type TestWorkspace } from "../helpers/api";
import { type FakePlatform, fakePlatform } from "../helpers/fake-provider";

/** Starts (POST) or reads (GET) an account's backfill through the typed client: the job, or the error. */
async function backfill(id: string, key: string, method: "GET" | "POST" = "GET") {
  const client = api(key);
  const init = { params: { path: { id } } };
  const { data, error, response } = await (method === "POST"
    ? client.POST("/v1/accounts/{id}/backfill", init)
    : client.GET("/v1/accounts/{id}/backfill", init));
  return { status: response.status, job: data, error: error?.error };
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
    const created = await backfill(account.id, ws.key, "POST");
    expect(created.status, JSON.stringify(created.error)).toBe(202);
    expect(Object.keys(created.job ?? {}).sort()).toEqual(BACKFILL_KEYS);
    expect(created.job).toMatchObject({
      status: "pending",
      progress: null,
      postsImported: 0,
      pagesFetched: 0,
      startedAt: null,
      finishedAt: null,
      error: null,
    });
    expect(created.job?.id).toMatch(/^bf_/);

    const again = await backfill(account.id, ws.key, "POST");
    expect(again.status).toBe(200);
    expect(again.job?.id).toBe(created.job?.id);

    const status = await backfill(account.id, ws.key);
    expect(status.status).toBe(200);
    expect(status.job).toEqual(created.job);
  });

  it("20 parallel requests create exactly one job", async () => {
    const { account } = await twitterAccount();
    const results = await Promise.all(Array.from({ length: 20 }, () => backfill(account.id, ws.key, "POST")));
    expect(results.filter((r) => r.status === 202)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(19);
    expect(new Set(results.map((r) => r.job?.id)).size).toBe(1);
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
    const created = await backfill(account.id, ws.key, "POST");
    await advanceBackfills(env, now + 1000);
    const done = await backfill(account.id, ws.key);
    expect(done.job).toMatchObject({
      id: created.job?.id,
      status: "completed",
      progress: 1,
      postsImported: 12,
      pagesFetched: 1,
      error: null,
    });
    expect(Date.parse(done.job?.startedAt ?? "")).toBe(now + 1000);
    expect(Date.parse(done.job?.finishedAt ?? "")).toBe(now + 1000);
    expect(JSON.stringify(done.job)).not.toContain(grant.accessToken);

    const next = await backfill(account.id, ws.key, "POST");
    expect(next.status).toBe(202);
    expect(next.job?.id).not.toBe(created.job?.id);
  });

  it("answers a failed job's error", async () => {
    const { account, grant } = await twitterAccount();
    fake.api(`GET /2/users/${grant.profile.id}/tweets`, () =>
      Response.json(
        { title: "Unauthorized", type: "about:blank", status: 401, detail: "Unauthorized" },
        { status: 401 },
      ),
    );
    await backfill(account.id, ws.key, "POST");
    await advanceBackfills(env, Date.now() + 1000);
    const failed = await backfill(account.id, ws.key);
    expect(failed.job).toMatchObject({ status: "failed", error: { code: "ACCESS_REFUSED" } });
    expect(failed.job?.error?.message).toContain("Reconnect the account");
  });

  it("refuses disconnected accounts", async () => {
    const { account } = await twitterAccount();
    await env.DB.prepare("UPDATE accounts SET status = 'disconnected', access_token_enc = NULL WHERE id = ?")
      .bind(account.id)
      .run();
    const res = await backfill(account.id, ws.key, "POST");
    expect(res.status).toBe(400);
    expect(res.error).toMatchObject({ code: "INVALID_PARAM" });
    expect(res.error?.message).toContain("disconnected");
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
    const res = await backfill(account.id, ws.key, "POST");
    expect(res.status).toBe(400);
    expect(res.error?.code).toBe("INVALID_PARAM");
    expect(res.error?.message).toContain(name);
    expect(res.error?.details).toEqual([{ field: "platform", message: expect.stringContaining(platform) }]);
  });

  it("refuses accounts without the permission the platform needs to show post metrics", async () => {
    const tiktok = await insertAccount(ws.id, {
      platform: "tiktok",
      scopes: ["user.info.basic", "video.publish", "video.upload"],
      credentials: { accessToken: "act.example" },
    });
    const res = await backfill(tiktok.id, ws.key, "POST");
    expect(res.status).toBe(400);
    expect(res.error?.message).toContain("video.list");
    expect(res.error?.details?.[0]?.field).toBe("scopes");

    const linkedin = await insertAccount(ws.id, {
      platform: "linkedin",
      scopes: ["openid", "profile", "w_member_social"],
      credentials: { accessToken: "li-token" },
    });
    const personal = await backfill(linkedin.id, ws.key, "POST");
    expect(personal.status).toBe(400);
    expect(personal.error?.message).toContain("LinkedIn");
    expect(personal.error?.details?.[0]?.field).toBe("platform");
  });

  it("refuses accounts that need a reconnect", async () => {
    const { account } = await twitterAccount();
    await env.DB.prepare("UPDATE accounts SET status = 'expired' WHERE id = ?").bind(account.id).run();
    const res = await backfill(account.id, ws.key, "POST");
    expect(res.status).toBe(400);
    expect(res.error?.message).toBe("The account is expired; reconnect it before a backfill");
  });

  it("asks a Facebook login to select its Page first", async () => {
    const account = await insertAccount(ws.id, {
      platform: "facebook",
      scopes: ["pages_show_list", "pages_manage_posts", "pages_read_engagement"],
      credentials: { accessToken: "EAAB-user-token" },
    });
    const res = await backfill(account.id, ws.key, "POST");
    expect(res.status).toBe(400);
    expect(res.error?.details?.[0]?.field).toBe("pageId");
    await env.DB.prepare("UPDATE accounts SET selected_page_id = '104567890123456' WHERE id = ?")
      .bind(account.id)
      .run();
    expect((await backfill(account.id, ws.key, "POST")).status).toBe(202);
  });

  it("asks an Instagram account connected through Facebook Login to select its business account first", async () => {
    const account = await insertAccount(ws.id, {
      platform: "instagram",
      credentials: { accessToken: "EAAB-user-token", extras: { oauthVersion: "fb_login" } },
    });
    const res = await backfill(account.id, ws.key, "POST");
    expect(res.status).toBe(400);
    expect(res.error?.details?.[0]?.field).toBe("pageId");
    expect(JSON.stringify(res.error)).not.toContain("EAAB-user-token");
  });

  it("answers another workspace's account like a missing one", async () => {
    const { account } = await twitterAccount();
    const other = await createWorkspace();
    for (const method of ["POST", "GET"] as const) {
      const res = await backfill(account.id, other.key, method);
      expect(res.status).toBe(404);
      expect(res.error).toEqual({
        code: "NOT_FOUND",
        message: "Account not found",
        requestId: expect.stringMatching(/^req_/),
      });
    }
    const missing = await backfill("acc_00000000000000000000000000", ws.key, "POST");
    expect(missing.status).toBe(404);
  });

  it("needs accounts:write to start and accounts:read to look", async () => {
    const { account } = await twitterAccount();
    const reader = await issueKey(ws.id, ["accounts:read"]);
    const writer = await issueKey(ws.id, ["accounts:write"]);
    const start = await backfill(account.id, reader.key, "POST");
    expect(start.status).toBe(403);
    expect(start.error?.code).toBe("INSUFFICIENT_SCOPE");
    expect((await backfill(account.id, writer.key, "POST")).status).toBe(202);
    expect((await backfill(account.id, writer.key)).status).toBe(403);
    expect((await backfill(account.id, reader.key)).status).toBe(200);
  });
});

describe("GET /v1/accounts/:id/backfill", () => {
  it("is NOT_FOUND before any backfill has run", async () => {
    const { account } = await twitterAccount();
    const res = await backfill(account.id, ws.key);
    expect(res.status).toBe(404);
    expect(res.error).toEqual({
      code: "NOT_FOUND",
      message: "No backfill has run for this account",
      requestId: expect.stringMatching(/^req_/),
    });
  });
});
