import { applyD1Migrations, reset } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { createDb } from "../../src/db/client";
import { REFRESH_LEASE_MS, takeRefreshLease } from "../../src/features/accounts/refresh.service";
import { refreshTokens } from "../../src/jobs/refresh-tokens";
import { MAX_CONCURRENCY } from "../../src/lib/pool";
import { DEFAULT_TIMEOUTS, PROVIDER_TIMEOUT_MS } from "../../src/lib/timeouts";
import { callApp, createWorkspace, type TestWorkspace } from "../helpers/api";
import { consent } from "../helpers/connect";
import type { FakePlatform } from "../helpers/fake-provider";
import { oauthFake } from "../helpers/platform-fakes";
import { dueTwitterAccounts, rowOf } from "../helpers/rows";

// A platform that accepts the request and never answers: the real per-call timeout (AbortSignal,
// the same code as the 10 s default, made small here) ends it, the refresh is transient, the lane
// goes on to the next account, and a holder that died mid-call leaves a lease that lapses.

const TIMEOUT_MS = 200;
const TIMED_OUT = "The platform did not answer in time";

let fake: FakePlatform;
let ws: TestWorkspace;
const db = createDb(env.DB);

beforeEach(async () => {
  // The cron scans every workspace: start each test from empty tables.
  await reset();
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  fake = oauthFake("twitter");
  ws = await createWorkspace();
});

const dueAccounts = (count: number, dueAt: number) => dueTwitterAccounts(fake, ws.id, count, dueAt);

describe("a platform that hangs", () => {
  it("is bounded by ten seconds per call by default, well inside the refresh lease", () => {
    expect(PROVIDER_TIMEOUT_MS).toBe(10_000);
    expect(DEFAULT_TIMEOUTS.providerMs).toBe(PROVIDER_TIMEOUT_MS);
    expect(REFRESH_LEASE_MS).toBeGreaterThan(PROVIDER_TIMEOUT_MS);
  });

  it("the timeout fires: the refresh is transient, the account not broken, the lease released", async () => {
    const now = Date.now();
    const [id] = (await dueAccounts(1, now)) as [string];
    fake.failNext({ kind: "hang" });
    const started = Date.now();
    const run = await refreshTokens(env, now, { providerTimeoutMs: TIMEOUT_MS });
    const elapsed = Date.now() - started;

    expect(run.outcomes).toMatchObject({ transient: 1, refreshed: 0, refused: 0 });
    // The platform got the request and saw the caller hang up: an abort, not a failed connection.
    expect(fake.calls.filter((c) => c.path === "/token")).toHaveLength(1);
    expect(fake.hangUps).toBe(1);
    // The hung request never answers: the run ending at all, with the hang-up above, is the
    // timeout at work; no wall-clock ceiling, which a loaded machine could miss.
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    const row = await rowOf(id);
    expect(row).toMatchObject({
      status: "active",
      refresh_failures: 1,
      last_error_code: null,
      refresh_lease_id: null,
      refresh_lease_until: null,
    });
    expect(row?.next_refresh_at as number).toBeGreaterThan(now);
  });

  it("frees the lane: with every lane hung, the accounts after them are refreshed in the same run", async () => {
    const now = Date.now();
    await dueAccounts(2 * MAX_CONCURRENCY, now);
    fake.failNext({ kind: "hang" }, MAX_CONCURRENCY);
    const run = await refreshTokens(env, now, { providerTimeoutMs: TIMEOUT_MS });
    expect(run.outcomes).toMatchObject({ transient: MAX_CONCURRENCY, refreshed: MAX_CONCURRENCY });
    expect(fake.hangUps).toBe(MAX_CONCURRENCY);
    // One round of timeouts, not one per account: the hung calls were in flight side by side (a
    // count, not a clock), and never more than the lanes.
    expect(fake.peakInFlight).toBe(MAX_CONCURRENCY);
  });

  it("while a call hangs the lease keeps a second refresh out; once it times out the account is free", async () => {
    const now = Date.now();
    const [id] = (await dueAccounts(1, now)) as [string];
    fake.failNext({ kind: "hang" });
    const first = refreshTokens(env, now, { providerTimeoutMs: 500 });
    while (fake.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const overlapping = await refreshTokens(env, now, { providerTimeoutMs: 500 });
    expect(overlapping.claimed).toBe(0);
    expect((await first).outcomes.transient).toBe(1);
    expect(await rowOf(id)).toMatchObject({ refresh_lease_id: null, status: "active" });
    // Due again (its backoff over), it refreshes normally.
    const later = await refreshTokens(env, (await rowOf(id))?.next_refresh_at as number);
    expect(later.outcomes.refreshed).toBe(1);
  });

  it("a holder that died mid-call leaves a lease that lapses after REFRESH_LEASE_MS, then the cron takes it", async () => {
    const now = Date.now();
    const [id] = (await dueAccounts(1, now)) as [string];
    // The invocation that took this lease was killed while its platform call hung: nothing releases it.
    expect(await takeRefreshLease(db, id, "died-mid-call", now)).toBeDefined();
    const held = await refreshTokens(env, now + REFRESH_LEASE_MS - 1);
    expect(held.claimed).toBe(0);
    expect(fake.refreshRequests).toBe(0);
    const lapsed = await refreshTokens(env, now + REFRESH_LEASE_MS);
    expect(lapsed.outcomes.refreshed).toBe(1);
    expect(await rowOf(id)).toMatchObject({ status: "active", refresh_lease_id: null, refresh_failures: 0 });
  });

  it("POST …/refresh answers 502 PROVIDER_ERROR after the timeout, and the next refresh runs", async () => {
    const app = createApp({ providerMs: TIMEOUT_MS });
    const now = Date.now();
    const [id] = (await dueAccounts(1, now)) as [string];
    fake.failNext({ kind: "hang" });
    const started = Date.now();
    const res = await callApp(app, env, `/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key });
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(res.status, res.text).toBe(502);
    expect(res.json.error).toMatchObject({ code: "PROVIDER_ERROR", message: TIMED_OUT });
    expect(await rowOf(id)).toMatchObject({
      status: "active",
      refresh_lease_id: null,
      last_error_code: null,
    });

    const again = await callApp(app, env, `/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key });
    expect(again.status, again.text).toBe(200);
    expect(again.json).toMatchObject({ success: true, refreshed: true });
  });

  it("the OAuth callback answers 502 PROVIDER_ERROR after the timeout when the token endpoint hangs", async () => {
    const app = createApp({ providerMs: TIMEOUT_MS });
    const { state, code } = await consent(ws, fake, { id: "cb-1", username: "cb", name: "CB" });
    fake.failNext({ kind: "hang" });
    const started = Date.now();
    const res = await callApp(app, env, "/v1/accounts/callback/twitter", {
      method: "POST",
      key: ws.key,
      body: { code, state },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(res.status, res.text).toBe(502);
    expect(res.json.error).toMatchObject({ code: "PROVIDER_ERROR", message: TIMED_OUT });
    expect(fake.hangUps).toBe(1);
  });
});
