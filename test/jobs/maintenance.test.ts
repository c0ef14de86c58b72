import {
  applyD1Migrations,
  createExecutionContext,
  createScheduledController,
  reset,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq, isNotNull, isNull, lte } from "drizzle-orm";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { createDb } from "../../src/db/client";
import { accounts } from "../../src/db/schema";
import { consumeState } from "../../src/features/connect/oauth-state";
import worker from "../../src/index";
import { watchExpiry } from "../../src/jobs/expiry";
import { housekeeping } from "../../src/jobs/housekeeping";
import { rewrapSecrets } from "../../src/jobs/rewrap";
import { DAY, HOUR } from "../../src/lib/time";
import { call, createWorkspace, insertAccount, type TestWorkspace } from "../helpers/api";

let ws: TestWorkspace;
beforeEach(async () => {
  await reset();
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  ws = await createWorkspace();
});

const K1_ONLY = { ...env, TOKEN_ENCRYPTION_KEYS: env.TOKEN_ENCRYPTION_KEYS.split(",")[1] as string } as Env;
const events = async (type: string) =>
  (
    await env.DB.prepare("SELECT payload FROM events WHERE type = ?").bind(type).all<{ payload: string }>()
  ).results.map((r) => JSON.parse(r.payload));

describe("the scheduled handler", () => {
  it("only dispatches to the jobs, in order, and a failing job does not stop the others", async () => {
    const now = Date.now();
    const lapsing = await insertAccount(ws.id, {
      platform: "threads",
      tokenExpiresAt: new Date(now - HOUR).toISOString(),
      credentials: { accessToken: "t" },
    });
    await consumeState(
      createDb(env.DB),
      "stale",
      { workspaceId: ws.id, createdAt: now - HOUR } as never,
      now - HOUR,
    );
    const run = async (target: Env) => {
      const ctx = createExecutionContext();
      worker.scheduled(createScheduledController({ scheduledTime: now, cron: "* * * * *" }), target, ctx);
      await waitOnExecutionContext(ctx);
    };
    // With a broken keyring the jobs that decrypt fail, each logged by name, and housekeeping still runs.
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    await run({ ...env, TOKEN_ENCRYPTION_KEYS: "nope" } as Env);
    const failed = logged.mock.calls.map(([line]) => JSON.parse(String(line)));
    logged.mockRestore();
    expect(failed.map((entry) => entry.job)).toContain("rewrapSecrets");
    for (const entry of failed) expect(entry).toMatchObject({ level: "error", job: expect.any(String) });
    expect(
      (await env.DB.prepare("SELECT count(*) AS n FROM oauth_state_uses").first<{ n: number }>())?.n,
    ).toBe(0);
    await run(env);
    expect((await call(`/v1/accounts/${lapsing.id}`, { key: ws.key })).json.status).toBe("expired");
  });
});

describe("expiry watch", () => {
  it("sends account.expiring once, 7 days before a token nothing refreshes expires", async () => {
    const now = Date.now();
    const a = await insertAccount(ws.id, {
      platform: "facebook",
      tokenExpiresAt: new Date(now + 6 * DAY).toISOString(),
      credentials: { accessToken: "fb-user-token" },
    });
    const far = await insertAccount(ws.id, {
      platform: "facebook",
      tokenExpiresAt: new Date(now + 30 * DAY).toISOString(),
      credentials: { accessToken: "t" },
    });
    await watchExpiry(env, now);
    await watchExpiry(env, now + HOUR);
    const expiring = await events("account.expiring");
    expect(expiring.map((e) => e.data.account.id)).toEqual([a.id]);
    expect(expiring[0].data.account).toMatchObject({ platform: "FACEBOOK", status: "ACTIVE" });
    expect(far.id).not.toBe(a.id);
  });

  it("expires an unrefreshable token at its expiry with one account.error", async () => {
    const now = Date.now();
    const a = await insertAccount(ws.id, {
      platform: "threads",
      tokenExpiresAt: new Date(now + HOUR).toISOString(),
      credentials: { accessToken: "t" },
    });
    await watchExpiry(env, now);
    expect((await call(`/v1/accounts/${a.id}`, { key: ws.key })).json.status).toBe("active");
    await watchExpiry(env, now + 2 * HOUR);
    await watchExpiry(env, now + 3 * HOUR);
    const account = (await call(`/v1/accounts/${a.id}`, { key: ws.key })).json;
    expect(account).toMatchObject({ status: "expired", error: { code: "token_expired" } });
    expect(await events("account.error")).toHaveLength(1);
    const health = (await call("/v1/accounts/health", { key: ws.key })).json.accounts[0];
    expect(health).toMatchObject({ health: "error", tokenValid: false, needsReconnect: true });
  });
});

describe("rewrap", () => {
  it("re-encrypts secrets under old key versions, a bounded batch per run, and they still open", async () => {
    // Written while only k1 existed…
    const legacy = await (async () => {
      const { createApp } = await import("../../src/app");
      const app = createApp();
      const res = await app.request(
        `/v1/admin/workspaces/${ws.id}/accounts`,
        {
          method: "POST",
          headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({
            platform: "twitter",
            platformUserId: "legacy-1",
            credentials: { accessToken: "old-at", refreshToken: "old-rt" },
          }),
        },
        K1_ONLY,
      );
      return ((await res.json()) as { account: { id: string } }).account;
    })();
    const before = await env.DB.prepare("SELECT * FROM accounts WHERE id = ?")
      .bind(legacy.id)
      .first<Record<string, string>>();
    expect(before?.key_version).toBe("k1");
    expect(before?.access_token_enc).toMatch(/^k1\./);
    // …and rewrapped now that k2 leads.
    const result = await rewrapSecrets(env, Date.now());
    expect(result.accounts).toBe(1);
    const after = await env.DB.prepare("SELECT * FROM accounts WHERE id = ?")
      .bind(legacy.id)
      .first<Record<string, string>>();
    expect(after?.key_version).toBe("k2");
    for (const column of ["access_token_enc", "refresh_token_enc"]) expect(after?.[column]).toMatch(/^k2\./);
    expect((await rewrapSecrets(env, Date.now())).accounts).toBe(0);
  });
});

describe("housekeeping", () => {
  it("purges expired state guards and finished deliveries past retention, keeping the rest", async () => {
    const db = createDb(env.DB);
    const now = Date.now();
    const state = { workspaceId: ws.id, createdAt: now - HOUR } as never;
    await consumeState(db, "old-hash", state, now - HOUR);
    await consumeState(db, "fresh-hash", { workspaceId: ws.id, createdAt: now } as never, now);
    const result = await housekeeping(env, now);
    expect(result.oauthStates).toBe(1);
    const left = await env.DB.prepare("SELECT state_hash FROM oauth_state_uses").all<{
      state_hash: string;
    }>();
    expect(left.results.map((r) => r.state_hash)).toEqual(["fresh-hash"]);
    // A replay of a purged state is still refused: the state itself has expired.
    expect(await consumeState(db, "fresh-hash", { workspaceId: ws.id, createdAt: now } as never, now)).toBe(
      false,
    );
  });
});

describe("the expiry scan", () => {
  it("reads only unrefreshed tokens through the partial index", async () => {
    const db = createDb(env.DB);
    const query = db
      .select()
      .from(accounts)
      .where(
        and(
          eq(accounts.status, "active"),
          isNull(accounts.nextRefreshAt),
          isNotNull(accounts.tokenExpiresAt),
          lte(accounts.tokenExpiresAt, Date.now()),
        ),
      )
      .toSQL();
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query.sql}`)
      .bind(...query.params)
      .all<{ detail: string }>();
    expect(plan.results.map((r) => r.detail).join(" ")).toContain("accounts_unrefreshed_expiry_idx");
  });
});
