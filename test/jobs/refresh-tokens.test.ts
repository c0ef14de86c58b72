import { applyD1Migrations, reset } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { accounts } from "../../src/db/schema";
import { runScheduled } from "../../src/jobs";
import { metered } from "../../src/jobs/budget";
import { CLAIM_BATCH, LATER_JOBS_SHARE, refreshTokens } from "../../src/jobs/refresh-tokens";
import { DAY, HOUR, MINUTE, SECOND } from "../../src/lib/time";
import { nextRefreshAt } from "../../src/platforms/schedule";
import { call, createWorkspace, insertAccount, type TestWorkspace } from "../helpers/api";
import { connectAccount } from "../helpers/connect";
import { type FakePlatform, fakePlatform } from "../helpers/fake-provider";
import { twitterMeRoute } from "../helpers/platform-fakes";
import { dueTwitterAccounts, rowOf } from "../helpers/rows";

let fake: FakePlatform;
let ws: TestWorkspace;
const _db = createDb(env.DB);

beforeEach(async () => {
  // The cron scans every workspace: start each test from empty tables.
  await reset();
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  fake = fakePlatform("twitter");
  twitterMeRoute(fake);
  ws = await createWorkspace();
});

const eventsOf = async (accountId: string, type: string) =>
  (
    await env.DB.prepare("SELECT payload FROM events WHERE type = ?").bind(type).all<{ payload: string }>()
  ).results
    .map((r) => JSON.parse(r.payload))
    .filter((p) => p.data.account.id === accountId);

const dueAccounts = (count: number, dueAt: number) => dueTwitterAccounts(fake, ws.id, count, dueAt);

describe("one refresh per account at a time, across API and cron", () => {
  it("50 parallel POST …/refresh and a cron run spend a rotating refresh token once", async () => {
    const res = await connectAccount(ws, fake, { id: "r1", username: "r1", name: "R" });
    const id = res.json.account.id;
    const now = Date.now();
    await env.DB.prepare("UPDATE accounts SET next_refresh_at = ? WHERE id = ?")
      .bind(now - SECOND, id)
      .run();
    const results = await Promise.all([
      refreshTokens(env, now),
      ...Array.from({ length: 50 }, () =>
        call(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key }),
      ),
    ]);
    expect(fake.refreshRequests).toBe(1);
    expect(fake.grants.filter((g) => g.revoked)).toHaveLength(0);
    for (const r of results.slice(1) as { status: number }[]) expect(r.status).toBe(200);
    expect(await rowOf(id)).toMatchObject({ status: "active", refresh_lease_id: null });
  });

  // Five claim batches each, so the two runs contend batch after batch. The work is fixed; the
  // bound only catches a hang, never a slow machine.
  it(`two overlapping cron runs over ${5 * CLAIM_BATCH} due accounts make exactly one token request each`, {
    timeout: 60_000,
  }, async () => {
    const due = 5 * CLAIM_BATCH;
    const now = Date.now();
    const ids = await dueAccounts(due, now - MINUTE);
    // Each run as its own invocation with room for every account (the subrequest budget is tested below).
    const roomy = Object.create(env, { D1_QUERIES_PER_INVOCATION: { value: "10000" } }) as Env;
    const [a, b] = await Promise.all([
      refreshTokens(roomy, now, { budgetMs: 10 * MINUTE }),
      refreshTokens(roomy, now, { budgetMs: 10 * MINUTE }),
    ]);
    expect(fake.refreshRequests).toBe(due);
    expect(fake.grants.filter((g) => g.revoked)).toHaveLength(0);
    expect(a.claimed + b.claimed).toBe(due);
    expect(a.claimed).toBeGreaterThan(0);
    expect(b.claimed).toBeGreaterThan(0);
    expect(a.outcomes.refreshed + b.outcomes.refreshed).toBe(due);
    const stillDue = await env.DB.prepare(
      "SELECT count(*) AS n FROM accounts WHERE workspace_id = ? AND next_refresh_at <= ?",
    )
      .bind(ws.id, now)
      .first<{ n: number }>();
    expect(ids).toHaveLength(due);
    expect(stillDue?.n).toBe(0);
  });

  it("never has more than six token requests in flight, and keeps six busy", async () => {
    const now = Date.now();
    await dueAccounts(40, now - MINUTE);
    fake.delayMs = 15;
    const run = await refreshTokens(env, now);
    expect(run.outcomes.refreshed).toBe(40);
    expect(fake.peakInFlight).toBe(6);
  });

  it("hands back what it could not reach within its time budget", async () => {
    const now = Date.now();
    await dueAccounts(20, now - MINUTE);
    let ticks = 0;
    // A clock that runs out after a few refreshes.
    const run = await refreshTokens(env, now, { budgetMs: 5, clock: () => ticks++ });
    expect(run.outcomes.refreshed).toBeLessThan(20);
    expect(run.released).toBeGreaterThan(0);
    const leased = await env.DB.prepare(
      "SELECT count(*) AS n FROM accounts WHERE refresh_lease_id IS NOT NULL",
    ).first<{ n: number }>();
    expect(leased?.n).toBe(0);
    const rest = await refreshTokens(env, now);
    expect(run.outcomes.refreshed + rest.outcomes.refreshed).toBe(20);
  });
});

describe("the invocation's subrequest budget", () => {
  /** env with a D1 query cap of `cap` per invocation (the cron spends at most nine tenths of it). */
  const capped = (cap: number) =>
    Object.create(env, { D1_QUERIES_PER_INVOCATION: { value: String(cap) } }) as Env;

  it("counts every D1 statement, alone or in a batch, of a metered env", async () => {
    const { env: m, budget } = metered(capped(1000));
    expect(budget.limit).toBe(900);
    await m.DB.prepare("SELECT 1").all();
    await m.DB.prepare("SELECT ?").bind(1).first();
    await m.DB.batch([m.DB.prepare("SELECT 1"), m.DB.prepare("SELECT 2"), m.DB.prepare("SELECT 3")]);
    await createDb(m.DB).select().from(accounts).limit(1);
    expect(budget.spent).toBe(6);
    // A job handed the metered env spends from the same budget.
    expect(metered(m).budget).toBe(budget);
  });

  it("starts a refresh only while its worst case fits, keeps the later jobs' share, and hands the rest back", async () => {
    const now = Date.now();
    await dueAccounts(40, now - MINUTE);
    const { env: m, budget } = metered(capped(100)); // 90 to spend, a quarter kept for later jobs

    const run = await refreshTokens(m, now);

    expect(run.outcomes.refreshed).toBeGreaterThan(0);
    expect(run.released).toBeGreaterThan(0);
    expect(run.outcomes.refreshed + run.released).toBe(run.claimed);
    expect(fake.refreshRequests).toBe(run.outcomes.refreshed);
    // Never more than the budget less the later jobs' share (and the statement handing back).
    expect(budget.spent).toBe(run.subrequests);
    expect(budget.spent).toBeLessThanOrEqual(budget.limit - Math.ceil(budget.limit * LATER_JOBS_SHARE));
    const leased = await env.DB.prepare(
      "SELECT count(*) AS n FROM accounts WHERE refresh_lease_id IS NOT NULL",
    ).first<{ n: number }>();
    expect(leased?.n).toBe(0);

    // The next invocations take the rest.
    let refreshed = run.outcomes.refreshed;
    for (let i = 0; i < 5 && refreshed < 40; i++) {
      refreshed += (await refreshTokens(capped(100), now)).outcomes.refreshed;
    }
    expect(refreshed).toBe(40);
    expect(fake.refreshRequests).toBe(40);
  });
});

describe("a whole scheduled invocation", () => {
  it("stays within the Free plan's 50 queries, every job together, and leaves the rest due", async () => {
    const now = Date.now();
    await dueAccounts(30, now - MINUTE);
    // A Free deployment without the maintenance queue: the cron refreshes by itself.
    const free = Object.create(env, {
      D1_QUERIES_PER_INVOCATION: { value: "50" },
      MAINTENANCE_QUEUE: { value: undefined },
    }) as Env;
    const report = (await runScheduled(free, now)) as {
      refreshTokens: { outcomes: { refreshed: number } };
      subrequests: { spent: number; limit: number };
    };
    expect(report.subrequests.limit).toBe(45);
    expect(report.subrequests.spent).toBeLessThanOrEqual(45);
    expect(report.refreshTokens.outcomes.refreshed).toBeGreaterThan(0);
    expect(report.refreshTokens.outcomes.refreshed).toBeLessThan(30);
    expect(fake.refreshRequests).toBe(report.refreshTokens.outcomes.refreshed);
  });
});

describe("when accounts are due", () => {
  it("refreshes a token expiring in 4:59 and leaves one expiring in 5:01", async () => {
    const now = Date.now();
    const soon = fake.newGrant({ id: "soon", username: "soon", name: "S" });
    const later = fake.newGrant({ id: "later", username: "later", name: "L" });
    const insert = (grant: typeof soon, expiresIn: number) =>
      insertAccount(ws.id, {
        platformUserId: grant.profile.id,
        credentials: { accessToken: grant.accessToken, refreshToken: grant.refreshToken },
        tokenExpiresAt: new Date(now + expiresIn).toISOString(),
      });
    const a = await insert(soon, 5 * MINUTE - SECOND);
    const b = await insert(later, 5 * MINUTE + SECOND);
    await refreshTokens(env, now);
    expect(fake.refreshRequests).toBe(1);
    expect(Number((await rowOf(a.id))?.last_refreshed_at)).toBe(now);
    expect((await rowOf(b.id))?.last_refreshed_at).toBeNull();
  });

  // 1,440 scheduled runs, one per minute of a day: fixed work; the bound only catches a hang.
  it("refreshes X-like 2-hour tokens about 12 times a day, not every run", { timeout: 60_000 }, async () => {
    const start = Date.now();
    const res = await connectAccount(ws, fake, { id: "daily", username: "daily", name: "D" });
    const id = res.json.account.id;
    await env.DB.prepare("UPDATE accounts SET token_expires_at = ?, next_refresh_at = ? WHERE id = ?")
      .bind(start + 2 * HOUR, start + 2 * HOUR - 5 * MINUTE, id)
      .run();
    for (let t = start; t < start + DAY; t += MINUTE) await refreshTokens(env, t);
    expect(fake.refreshRequests).toBeGreaterThanOrEqual(12);
    expect(fake.refreshRequests).toBeLessThanOrEqual(13);
    expect(fake.grants.filter((g) => g.revoked)).toHaveLength(0);
  });
});

describe("outcomes", () => {
  it("rides out 20 transient failures without account.error while the token is valid, then refreshes on the first good run", async () => {
    const linkedin = fakePlatform("linkedin");
    linkedin.rotating = false;
    const grant = linkedin.newGrant({ id: "li-1", username: "li", name: "Li" });
    const now = Date.now();
    const account = await insertAccount(ws.id, {
      platform: "linkedin",
      platformUserId: "li-1",
      credentials: { accessToken: grant.accessToken, refreshToken: grant.refreshToken },
      tokenExpiresAt: new Date(now + 6 * DAY).toISOString(),
    });
    const kinds = ["5xx", "429", "network"] as const;
    for (let i = 0; i < 20; i++)
      linkedin.failNext({ kind: kinds[i % 3] as (typeof kinds)[number], retryAfter: "60" });
    let t = Number((await rowOf(account.id))?.next_refresh_at);
    for (let i = 0; i < 20; i++) {
      const run = await refreshTokens(env, t);
      expect(run.outcomes.transient).toBe(1);
      t = Number((await rowOf(account.id))?.next_refresh_at);
    }
    expect(await rowOf(account.id)).toMatchObject({ status: "active", refresh_failures: 20 });
    expect(t).toBeLessThan(now + 6 * DAY);
    expect(await eventsOf(account.id, "account.error")).toHaveLength(0);
    const run = await refreshTokens(env, t);
    expect(run.outcomes.refreshed).toBe(1);
    expect(await rowOf(account.id)).toMatchObject({ status: "active", refresh_failures: 0 });
  });

  it("emits exactly one account.error for invalid_grant, and account.recovered after a reconnect-free recovery", async () => {
    const res = await connectAccount(ws, fake, { id: "dead", username: "dead", name: "D" });
    const id = res.json.account.id;
    const now = Date.now();
    await env.DB.prepare("UPDATE accounts SET next_refresh_at = ? WHERE id = ?")
      .bind(now - SECOND, id)
      .run();
    fake.failNext({ kind: "invalid_grant" });
    await refreshTokens(env, now);
    await refreshTokens(env, now + MINUTE);
    expect(await rowOf(id)).toMatchObject({
      status: "error",
      last_error_code: "invalid_grant",
      next_refresh_at: null,
    });
    // A manual retry that is refused again is not a new transition.
    fake.failNext({ kind: "invalid_grant" });
    expect((await call(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key })).status).toBe(409);
    const errors = await eventsOf(id, "account.error");
    expect(errors).toHaveLength(1);
    expect(errors[0].data).toMatchObject({
      account: { platform: "TWITTER", status: "ERROR" },
      error: { code: "invalid_grant" },
    });
    // The grant was fine after all: a manual refresh recovers the account, once.
    expect((await call(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key })).status).toBe(200);
    expect(await eventsOf(id, "account.recovered")).toHaveLength(1);
    expect((await rowOf(id))?.status).toBe("active");
  });

  it("marks an account expired with one account.error when its token lapses during an outage", async () => {
    const res = await connectAccount(ws, fake, { id: "lapse", username: "lapse", name: "L" });
    const id = res.json.account.id;
    const expiresAt = Number((await rowOf(id))?.token_expires_at);
    fake.failNext({ kind: "5xx" }, 50);
    let t = Number((await rowOf(id))?.next_refresh_at);
    for (let i = 0; i < 8 && t; i++) {
      await refreshTokens(env, t);
      t = Number((await rowOf(id))?.next_refresh_at);
    }
    await refreshTokens(env, expiresAt + MINUTE);
    await refreshTokens(env, expiresAt + 30 * MINUTE);
    expect((await rowOf(id))?.status).toBe("expired");
    expect(await eventsOf(id, "account.error")).toHaveLength(1);
  });
});

describe("the schedule", () => {
  it("never makes a fresh token due at once, whatever the platform's lead", () => {
    const issuedAt = 1_000_000;
    const model = { kind: "non-rotating", leadMs: 7 * DAY } as const;
    expect(nextRefreshAt(model, { expiresAt: issuedAt + 2 * HOUR, issuedAt, hasRefreshToken: true })).toBe(
      issuedAt + HOUR,
    );
    expect(nextRefreshAt(model, { expiresAt: issuedAt + 60 * DAY, issuedAt, hasRefreshToken: true })).toBe(
      issuedAt + 53 * DAY,
    );
    expect(
      nextRefreshAt(model, { expiresAt: issuedAt + 60 * DAY, issuedAt, hasRefreshToken: false }),
    ).toBeNull();
    const x = { kind: "rotating", leadMs: 5 * MINUTE } as const;
    expect(nextRefreshAt(x, { expiresAt: issuedAt + 2 * HOUR, issuedAt, hasRefreshToken: true })).toBe(
      issuedAt + 2 * HOUR - 5 * MINUTE,
    );
    const extend = { kind: "extend-in-place", leadMs: 7 * DAY, minAgeMs: DAY } as const;
    expect(nextRefreshAt(extend, { expiresAt: issuedAt + 60 * DAY, issuedAt, hasRefreshToken: false })).toBe(
      issuedAt + 53 * DAY,
    );
    expect(
      nextRefreshAt({ kind: "none" }, { expiresAt: issuedAt + DAY, issuedAt, hasRefreshToken: true }),
    ).toBeNull();
  });
});
