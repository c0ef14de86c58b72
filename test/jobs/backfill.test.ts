import { applyD1Migrations, reset } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { requestBackfill } from "../../src/features/analytics/analytics.service";
import { advanceBackfills, MAX_TRANSIENT_FAILURES } from "../../src/jobs/backfill";
import { DAY, HOUR, MINUTE, SECOND } from "../../src/lib/time";
import { GRAPH_VERSION } from "../../src/platforms/meta";
import { createWorkspace, insertAccount, type TestWorkspace } from "../helpers/api";
import { type FakeGrant, type FakePlatform, fakePlatform } from "../helpers/fake-provider";

const db = createDb(env.DB);
let ws: TestWorkspace;
let fake: FakePlatform;
let NOW: number;

beforeEach(async () => {
  // The job scans every workspace: start each test from empty tables.
  await reset();
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  ws = await createWorkspace();
  fake = fakePlatform("twitter");
  NOW = Date.now();
});

/** `count` synthetic X posts, newest first, one every `spacingMs`, the newest an hour old. */
function timeline(count: number, spacingMs = 12 * HOUR) {
  return Array.from({ length: count }, (_, i) => ({
    id: String(1_800_000_000_000_000_000n - BigInt(i)),
    text: `post ${i}`,
    edit_history_tweet_ids: [String(1_800_000_000_000_000_000n - BigInt(i))],
    created_at: new Date(NOW - HOUR - i * spacingMs).toISOString(),
    public_metrics: {
      retweet_count: 1,
      reply_count: 2,
      like_count: 10 + i,
      quote_count: 0,
      bookmark_count: 1,
      impression_count: 500,
    },
  }));
}

/**
 * Serves GET /2/users/:id/tweets as X does: 100 per page, next_token until the end. `intercept` may
 * answer a given page number (1-based) instead, e.g. with a failure.
 */
function serveTimeline(
  userId: string,
  tweets: ReturnType<typeof timeline>,
  intercept?: (page: number, call: number) => Response | undefined,
) {
  const stats = { calls: 0, pages: [] as number[] };
  fake.api(`GET /2/users/${userId}/tweets`, ({ url, grant }) => {
    if (!grant)
      return Response.json({ title: "Unauthorized", status: 401, detail: "Unauthorized" }, { status: 401 });
    stats.calls += 1;
    const offset = Number(url.searchParams.get("pagination_token")?.replace("page-", "") ?? 0);
    const page = offset / 100 + 1;
    const answer = intercept?.(page, stats.calls);
    if (answer) return answer;
    stats.pages.push(page);
    const data = tweets.slice(offset, offset + 100);
    const next = offset + 100 < tweets.length ? `page-${offset + 100}` : undefined;
    return Response.json({
      data,
      meta: { result_count: data.length, ...(next ? { next_token: next } : {}) },
    });
  });
  return stats;
}

async function twitterAccount(grant?: FakeGrant) {
  const g = grant ?? fake.newGrant({ id: crypto.randomUUID(), username: "poster", name: "Poster" });
  const account = await insertAccount(ws.id, {
    platform: "twitter",
    platformUserId: g.profile.id,
    scopes: ["tweet.read", "users.read", "offline.access"],
    credentials: { accessToken: g.accessToken },
  });
  return { account, grant: g };
}

const jobOf = (id: string) =>
  env.DB.prepare("SELECT * FROM backfill_jobs WHERE id = ?").bind(id).first<Record<string, unknown>>();
const rowsOf = async (accountId: string) =>
  (await env.DB.prepare(
    "SELECT count(*) AS n, count(DISTINCT platform_post_id) AS d FROM post_metrics WHERE account_id = ?",
  )
    .bind(accountId)
    .first<{ n: number; d: number }>()) ?? { n: 0, d: 0 };

describe("advanceBackfills", () => {
  it("imports every page of a timeline, storing per-post metrics", async () => {
    const { account, grant } = await twitterAccount();
    const stats = serveTimeline(grant.profile.id, timeline(250));
    const { job } = await requestBackfill({ env, db, now: NOW }, ws.id, account.id);
    const run = await advanceBackfills(env, NOW);
    expect(run).toMatchObject({ pages: 3, completed: 1, failed: 0 });
    expect(stats.pages).toEqual([1, 2, 3]);
    expect(await jobOf(job.id)).toMatchObject({
      status: "completed",
      posts_imported: 250,
      pages_fetched: 3,
      progress: 1,
      lease_id: null,
      error_code: null,
    });
    expect(await rowsOf(account.id)).toEqual({ n: 250, d: 250 });
    const newest = await env.DB.prepare(
      "SELECT * FROM post_metrics WHERE account_id = ? ORDER BY published_at DESC LIMIT 1",
    )
      .bind(account.id)
      .first<Record<string, unknown>>();
    expect(newest).toMatchObject({
      workspace_id: ws.id,
      platform: "twitter",
      impressions: 500,
      likes: 10,
      comments: 2,
      shares: 1,
      saves: 1,
      reach: null,
      video_views: null,
      published_at: NOW - HOUR,
    });
  });

  it("survives a 5xx on page 3: resumes from its cursor with no duplicate rows", async () => {
    const { account, grant } = await twitterAccount();
    let failed = false;
    const stats = serveTimeline(grant.profile.id, timeline(250), (page) => {
      if (page === 3 && !failed) {
        failed = true;
        return new Response("upstream unavailable", { status: 503 });
      }
      return undefined;
    });
    const { job } = await requestBackfill({ env, db, now: NOW }, ws.id, account.id);

    const first = await advanceBackfills(env, NOW);
    expect(first).toMatchObject({ pages: 2, retrying: 1, completed: 0 });
    const waiting = await jobOf(job.id);
    expect(waiting).toMatchObject({
      status: "running",
      cursor: "page-200",
      posts_imported: 200,
      pages_fetched: 2,
      attempts: 1,
      error_code: "PROVIDER_UNAVAILABLE",
      lease_id: null,
    });
    expect(waiting?.next_run_at).toBe(NOW + MINUTE);
    expect(await rowsOf(account.id)).toEqual({ n: 200, d: 200 });

    // Not due yet: nothing happens.
    expect(await advanceBackfills(env, NOW + 30 * SECOND)).toMatchObject({ claimed: 0 });

    const second = await advanceBackfills(env, NOW + MINUTE);
    expect(second).toMatchObject({ pages: 1, completed: 1 });
    expect(stats.pages).toEqual([1, 2, 3]);
    expect(await jobOf(job.id)).toMatchObject({
      status: "completed",
      posts_imported: 250,
      pages_fetched: 3,
      attempts: 0,
      error_code: null,
    });
    expect(await rowsOf(account.id)).toEqual({ n: 250, d: 250 });
  });

  it("a page stored twice (the lease lost after the write) still counts each post once", async () => {
    const { account, grant } = await twitterAccount();
    serveTimeline(grant.profile.id, timeline(120));
    const { job } = await requestBackfill({ env, db, now: NOW }, ws.id, account.id);
    await advanceBackfills(env, NOW, { maxPages: 1 });
    // Replay page 1 as if a second runner had fetched it again from the same cursor.
    await env.DB.prepare("UPDATE backfill_jobs SET cursor = NULL WHERE id = ?").bind(job.id).run();
    await advanceBackfills(env, NOW + SECOND);
    expect(await rowsOf(account.id)).toEqual({ n: 120, d: 120 });
    expect(await jobOf(job.id)).toMatchObject({ status: "completed", posts_imported: 120 });
  });

  it("honours a 429's Retry-After and keeps the cursor", async () => {
    const { account, grant } = await twitterAccount();
    let limited = false;
    serveTimeline(grant.profile.id, timeline(150), (page) => {
      if (page === 2 && !limited) {
        limited = true;
        return Response.json(
          { title: "Too Many Requests", status: 429, detail: "Too Many Requests" },
          { status: 429, headers: { "retry-after": "600" } },
        );
      }
      return undefined;
    });
    const { job } = await requestBackfill({ env, db, now: NOW }, ws.id, account.id);
    await advanceBackfills(env, NOW);
    expect(await jobOf(job.id)).toMatchObject({
      status: "running",
      cursor: "page-100",
      next_run_at: NOW + 10 * MINUTE,
      error_code: "PROVIDER_UNAVAILABLE",
    });
    expect(await advanceBackfills(env, NOW + 5 * MINUTE)).toMatchObject({ claimed: 0 });
    await advanceBackfills(env, NOW + 10 * MINUTE);
    expect(await jobOf(job.id)).toMatchObject({ status: "completed", posts_imported: 150 });
  });

  it("a refused token fails the job with the error, keeping what was imported", async () => {
    const { account, grant } = await twitterAccount();
    serveTimeline(grant.profile.id, timeline(150), (page) =>
      page === 2
        ? Response.json({ title: "Unauthorized", status: 401, detail: "Unauthorized" }, { status: 401 })
        : undefined,
    );
    const { job } = await requestBackfill({ env, db, now: NOW }, ws.id, account.id);
    const run = await advanceBackfills(env, NOW);
    expect(run).toMatchObject({ pages: 1, failed: 1 });
    const row = await jobOf(job.id);
    expect(row).toMatchObject({
      status: "failed",
      error_code: "ACCESS_REFUSED",
      finished_at: NOW,
      next_run_at: null,
      posts_imported: 100,
    });
    expect(String(row?.error_message)).toContain("HTTP 401");
    expect(String(row?.error_message)).not.toContain(grant.accessToken);
    expect(await advanceBackfills(env, NOW + DAY)).toMatchObject({ claimed: 0 });
    // The refusal breaks the account as a refused refresh would, with one account.error.
    const broken = await env.DB.prepare("SELECT * FROM accounts WHERE id = ?")
      .bind(account.id)
      .first<Record<string, unknown>>();
    expect(broken).toMatchObject({ status: "error", last_error_code: "access_refused", last_error_at: NOW });
    const events = await env.DB.prepare("SELECT payload FROM events WHERE type = 'account.error'").all<{
      payload: string;
    }>();
    expect(events.results.map((e) => JSON.parse(e.payload).data.account)).toEqual([
      expect.objectContaining({ id: account.id, status: "ERROR" }),
    ]);
  });

  it("a transient failure leaves the account as it was", async () => {
    const { account, grant } = await twitterAccount();
    serveTimeline(grant.profile.id, timeline(150), (page) =>
      page === 1 ? new Response("unavailable", { status: 503 }) : undefined,
    );
    await requestBackfill({ env, db, now: NOW }, ws.id, account.id);
    expect(await advanceBackfills(env, NOW)).toMatchObject({ retrying: 1 });
    const row = await env.DB.prepare("SELECT status, last_error_code FROM accounts WHERE id = ?")
      .bind(account.id)
      .first();
    expect(row).toEqual({ status: "active", last_error_code: null });
    const events = await env.DB.prepare(
      "SELECT count(*) AS n FROM events WHERE type = 'account.error'",
    ).first();
    expect(events).toEqual({ n: 0 });
  });

  it(`fails after ${MAX_TRANSIENT_FAILURES} transient failures in a row`, async () => {
    const { account, grant } = await twitterAccount();
    serveTimeline(grant.profile.id, timeline(10), () => new Response("bad gateway", { status: 502 }));
    const { job } = await requestBackfill({ env, db, now: NOW }, ws.id, account.id);
    let at = NOW;
    for (let i = 1; i < MAX_TRANSIENT_FAILURES; i++) {
      await advanceBackfills(env, at);
      const row = await jobOf(job.id);
      expect(row).toMatchObject({ status: "running", attempts: i });
      at = row?.next_run_at as number;
    }
    await advanceBackfills(env, at);
    expect(await jobOf(job.id)).toMatchObject({
      status: "failed",
      attempts: MAX_TRANSIENT_FAILURES,
      error_code: "PROVIDER_UNAVAILABLE",
    });
  });

  it("stops at the history horizon and at the post cap", async () => {
    const old = await twitterAccount();
    // One post a day for 500 days: only the last 365 are kept.
    serveTimeline(old.grant.profile.id, timeline(500, DAY));
    const { job: horizonJob } = await requestBackfill({ env, db, now: NOW }, ws.id, old.account.id);
    await advanceBackfills(env, NOW);
    expect(await jobOf(horizonJob.id)).toMatchObject({
      status: "completed",
      posts_imported: 365,
      pages_fetched: 4,
    });
    expect((await rowsOf(old.account.id)).n).toBe(365);

    const capped = await twitterAccount();
    serveTimeline(capped.grant.profile.id, timeline(400));
    const { job: capJob } = await requestBackfill({ env, db, now: NOW }, ws.id, capped.account.id);
    await advanceBackfills(env, NOW, { maxPosts: 150 });
    expect(await jobOf(capJob.id)).toMatchObject({
      status: "completed",
      posts_imported: 150,
      pages_fetched: 2,
    });
    expect((await rowsOf(capped.account.id)).n).toBe(150);
  });

  it("ends a job whose platform keeps answering the cursor it was given", async () => {
    const { account, grant } = await twitterAccount();
    fake.api(`GET /2/users/${grant.profile.id}/tweets`, () =>
      Response.json({ data: timeline(5), meta: { result_count: 5, next_token: "same-token" } }),
    );
    const { job } = await requestBackfill({ env, db, now: NOW }, ws.id, account.id);
    const run = await advanceBackfills(env, NOW);
    expect(run.pages).toBe(2);
    expect(await jobOf(job.id)).toMatchObject({ status: "completed", posts_imported: 5, pages_fetched: 2 });
  });

  it("reports progress from how far back the imported posts reach", async () => {
    const { account, grant } = await twitterAccount();
    serveTimeline(grant.profile.id, timeline(300, DAY));
    const { job } = await requestBackfill({ env, db, now: NOW }, ws.id, account.id);
    await advanceBackfills(env, NOW, { maxPages: 1 });
    const row = await jobOf(job.id);
    // 100 daily posts reach back ~100 of 365 days.
    expect(row?.progress).toBeGreaterThan(0.25);
    expect(row?.progress).toBeLessThan(0.3);
  });

  it("never has more than six accounts' calls in flight, and overlapping runs never fetch a page twice", async () => {
    fake.delayMs = 20;
    let inFlight = 0;
    let peak = 0;
    const ids: string[] = [];
    for (let i = 0; i < 14; i++) {
      const { account, grant } = await twitterAccount();
      fake.api(`GET /2/users/${grant.profile.id}/tweets`, async () => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 15));
        inFlight -= 1;
        return Response.json({ data: timeline(3), meta: { result_count: 3 } });
      });
      ids.push((await requestBackfill({ env, db, now: NOW }, ws.id, account.id)).job.id);
    }
    const [a, b] = await Promise.all([advanceBackfills(env, NOW), advanceBackfills(env, NOW)]);
    expect(a.claimed + b.claimed).toBe(14);
    expect(a.pages + b.pages).toBe(14);
    expect(fake.calls.filter((c) => c.path.endsWith("/tweets"))).toHaveLength(14);
    // Two runs at once may each hold six: within one run, never more than six.
    expect(peak).toBeLessThanOrEqual(12);
    for (const id of ids) expect(await jobOf(id)).toMatchObject({ status: "completed", posts_imported: 3 });

    // One run alone stays within six.
    peak = 0;
    for (const id of ids)
      await env.DB.prepare(
        "UPDATE backfill_jobs SET status = 'pending', next_run_at = ?, cursor = NULL WHERE id = ?",
      )
        .bind(NOW, id)
        .run();
    await advanceBackfills(env, NOW + SECOND);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(6);
  });

  it("hands back what it could not reach within its time budget", async () => {
    for (let i = 0; i < 8; i++) {
      const { account, grant } = await twitterAccount();
      serveTimeline(grant.profile.id, timeline(3));
      await requestBackfill({ env, db, now: NOW }, ws.id, account.id);
    }
    let t = 0;
    // Each look at the clock moves it 1 s on: the 4-second budget runs out part-way through the claim.
    const run = await advanceBackfills(env, NOW, { budgetMs: 4 * SECOND, clock: () => (t += SECOND) });
    expect(run.released).toBeGreaterThan(0);
    expect(run.pages + run.released).toBe(8);
    const held = await env.DB.prepare(
      "SELECT count(*) AS n FROM backfill_jobs WHERE lease_id IS NOT NULL",
    ).first<{
      n: number;
    }>();
    expect(held?.n).toBe(0);
    await advanceBackfills(env, NOW + SECOND);
    const done = await env.DB.prepare(
      "SELECT count(*) AS n FROM backfill_jobs WHERE status = 'completed'",
    ).first<{
      n: number;
    }>();
    expect(done?.n).toBe(8);
  });

  it("stops claiming once its allowance of platform calls is spent, and hands the rest back", async () => {
    for (let i = 0; i < 8; i++) {
      const { account, grant } = await twitterAccount();
      serveTimeline(grant.profile.id, timeline(3));
      await requestBackfill({ env, db, now: NOW }, ws.id, account.id);
    }
    fake.delayMs = 5;
    const run = await advanceBackfills(env, NOW, { maxSubrequests: 3 });
    // Six start at once; the ones after the allowance is spent are handed back untouched.
    expect(run.subrequests).toBeGreaterThanOrEqual(3);
    expect(run.subrequests).toBeLessThan(8);
    expect(run.pages + run.released).toBe(8);
    const rest = await advanceBackfills(env, NOW + SECOND);
    expect(run.pages + rest.pages).toBe(8);
  });

  it("an account disconnected mid-way fails its job", async () => {
    const { account, grant } = await twitterAccount();
    serveTimeline(grant.profile.id, timeline(150));
    const { job } = await requestBackfill({ env, db, now: NOW }, ws.id, account.id);
    await advanceBackfills(env, NOW, { maxPages: 1 });
    await env.DB.prepare("UPDATE accounts SET status = 'disconnected', access_token_enc = NULL WHERE id = ?")
      .bind(account.id)
      .run();
    await advanceBackfills(env, NOW + SECOND);
    expect(await jobOf(job.id)).toMatchObject({ status: "failed", error_code: "ACCOUNT_DISCONNECTED" });
  });

  it("an expired token the token cron will refresh makes the job wait, not fail", async () => {
    const { account, grant } = await twitterAccount();
    serveTimeline(grant.profile.id, timeline(10));
    await env.DB.prepare("UPDATE accounts SET token_expires_at = ?, next_refresh_at = ? WHERE id = ?")
      .bind(NOW - MINUTE, NOW - MINUTE, account.id)
      .run();
    const { job } = await requestBackfill({ env, db, now: NOW }, ws.id, account.id);
    await advanceBackfills(env, NOW);
    expect(await jobOf(job.id)).toMatchObject({
      status: "running",
      error_code: "TOKEN_EXPIRED",
      next_run_at: NOW + 2 * MINUTE,
    });
    await env.DB.prepare("UPDATE accounts SET token_expires_at = ? WHERE id = ?")
      .bind(NOW + HOUR, account.id)
      .run();
    await advanceBackfills(env, NOW + 2 * MINUTE);
    expect(await jobOf(job.id)).toMatchObject({ status: "completed", posts_imported: 10 });
  });

  it("reads an Instagram account connected through Facebook Login with its page token", async () => {
    const graph = fakePlatform("instagram");
    const user = graph.newGrant({ id: "10158000000000001", username: "jay", name: "Jay" });
    const page = graph.newGrant({ id: "104567890123456", username: "page", name: "Page" });
    const igUserId = "17841405793187218";
    graph.api(`GET /${GRAPH_VERSION}/${igUserId}/media`, ({ request }) =>
      request.headers.get("authorization") === `Bearer ${page.accessToken}`
        ? Response.json({
            data: [
              {
                id: "17918195224117851",
                timestamp: new Date(NOW - DAY)
                  .toISOString()
                  .replace("Z", "+0000")
                  .replace(/\.\d{3}/, ""),
                media_type: "IMAGE",
                media_product_type: "FEED",
                like_count: 12,
                comments_count: 3,
              },
            ],
            paging: { cursors: { before: "a", after: "b" } },
          })
        : Response.json({ error: { message: "Invalid OAuth access token", code: 190 } }, { status: 400 }),
    );
    graph.api(`GET /${GRAPH_VERSION}/17918195224117851/insights`, ({ url }) =>
      Response.json({
        data: (url.searchParams.get("metric") ?? "").split(",").map((name) => ({
          name,
          period: "lifetime",
          values: [{ value: name === "reach" ? 300 : 5 }],
          title: name,
          description: name,
          id: `17918195224117851/insights/${name}/lifetime`,
        })),
      }),
    );
    const account = await insertAccount(ws.id, {
      platform: "instagram",
      platformUserId: user.profile.id,
      credentials: {
        accessToken: user.accessToken,
        extras: {
          oauthVersion: "fb_login",
          igUserId,
          pageId: page.profile.id,
          pageAccessToken: page.accessToken,
        },
      },
    });
    const { job } = await requestBackfill({ env, db, now: NOW }, ws.id, account.id);
    await advanceBackfills(env, NOW);
    expect(await jobOf(job.id)).toMatchObject({ status: "completed", posts_imported: 1 });
    const row = await env.DB.prepare("SELECT * FROM post_metrics WHERE account_id = ?")
      .bind(account.id)
      .first<Record<string, unknown>>();
    expect(row).toMatchObject({ platform: "instagram", likes: 12, comments: 3, reach: 300, saves: 5 });
  });
});
