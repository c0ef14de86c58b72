import { applyD1Migrations, reset } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDb } from "../../src/db/client";
import { openGrant } from "../../src/features/accounts/accounts.repository";
import {
  newLeaseId,
  type RefreshOutcome,
  refreshLeased,
  takeRefreshLease,
} from "../../src/features/accounts/refresh.service";
import { metered } from "../../src/jobs/budget";
import { refreshTokens } from "../../src/jobs/refresh-tokens";
import { getSecretBox } from "../../src/lib/config";
import { pendingGrantKey } from "../../src/lib/kv";
import { MINUTE } from "../../src/lib/time";
import { call, createWorkspace, type TestWorkspace } from "../helpers/api";
import { connectAccount } from "../helpers/connect";
import { type FakePlatform, fakePlatform } from "../helpers/fake-provider";
import { twitterMeRoute } from "../helpers/platform-fakes";
import { Rng } from "../helpers/rng";
import { accountRowOf, dueTwitterAccounts } from "../helpers/rows";

/** What the fault injector does to the write of new tokens (an UPDATE of accounts setting refresh_token_enc). */
type WriteFault = "ok" | "throw" | "commit-then-throw" | "hang";

const TOKEN_WRITE = /^update "accounts" set .*"refresh_token_enc" = /i;

/**
 * env (and its db) over the real D1 and KV, where `decide` chooses the fate of each batch that
 * writes new tokens (it sees the statements' bound values), `kvFails` the fate of each KV call,
 * and kill() ends the "invocation": every later D1 or KV call fails and a hung write never lands.
 */
function faulty(
  decide: (boundValues: unknown[]) => WriteFault,
  kvFails: (operation: string | symbol) => boolean = () => false,
) {
  type Statement = D1PreparedStatement;
  const recorded = new WeakMap<object, { real: Statement; sql: string; args: unknown[] }>();
  let dead = false;
  const hung: ((err: Error) => void)[] = [];
  const died = () => new Error("the invocation is gone");
  const statement = (real: Statement, sql: string, args: unknown[]): Statement => {
    const proxy = new Proxy(real, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop === "bind")
          return (...bound: unknown[]) => statement(value.apply(target, bound), sql, bound);
        if (typeof value !== "function") return value;
        return (...a: unknown[]) => {
          if (dead) return Promise.reject(died());
          return value.apply(target, a);
        };
      },
    });
    recorded.set(proxy, { real, sql, args });
    return proxy;
  };
  const DB = new Proxy(env.DB, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as (...a: unknown[]) => unknown;
      if (prop === "prepare")
        return (sql: string) => statement(value.call(target, sql) as Statement, sql, []);
      if (prop === "batch") {
        return async (statements: Statement[]) => {
          if (dead) throw died();
          const parts = statements.map((s) => recorded.get(s) ?? { real: s, sql: "", args: [] });
          const run = () =>
            value.call(
              target,
              parts.map((p) => p.real),
            ) as Promise<unknown>;
          const writes = parts.filter((p) => TOKEN_WRITE.test(p.sql));
          if (writes.length === 0) return run();
          const fault = decide(writes.flatMap((p) => p.args));
          if (fault === "throw") throw new Error("D1_ERROR: Network connection lost.");
          if (fault === "commit-then-throw") {
            await run();
            throw new Error("D1_ERROR: Network connection lost.");
          }
          if (fault === "hang") return new Promise((_, reject) => hung.push(reject));
          return run();
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  let copied: () => void = () => {};
  let copiedOnce = new Promise<void>((resolve) => {
    copied = resolve;
  });
  const OAUTH_STATE = new Proxy(env.OAUTH_STATE, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as (...a: unknown[]) => Promise<unknown>;
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        if (dead) throw died();
        if (kvFails(prop)) throw new Error(`KV ${String(prop)} failed: 503 Service Unavailable`);
        const result = await value.apply(target, args);
        if (prop === "put" && String(args[0]).startsWith("refresh:pending:")) copied();
        return result;
      };
    },
  });
  const faultyEnv = Object.create(env, { DB: { value: DB }, OAUTH_STATE: { value: OAUTH_STATE } }) as Env;
  return {
    env: faultyEnv,
    db: createDb(DB),
    /** Settles once a pending grant has been put in KV. */
    get copied() {
      return copiedOnce;
    },
    kill() {
      dead = true;
      for (const reject of hung.splice(0)) reject(died());
      copiedOnce = Promise.resolve();
    },
  };
}

let fake: FakePlatform;
let ws: TestWorkspace;
let invalidGrants: number;
let logged: string[];
const tokensSeen = () =>
  fake.grants.flatMap((g) => [g.accessToken, g.refreshToken]).concat([...fake.spent.keys()]);

beforeEach(async () => {
  fake = fakePlatform("twitter");
  twitterMeRoute(fake);
  // Count every invalid_grant the token endpoint answers.
  invalidGrants = 0;
  const handle = fake.handle.bind(fake);
  fake.handle = async (request) => {
    const res = await handle(request);
    if (res.status === 400 && (await res.clone().text()).includes("invalid_grant")) invalidGrants += 1;
    return res;
  };
  ws = await createWorkspace();
  // The failed writes are logged on purpose; kept here, to check no token is ever in them.
  logged = [];
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    logged.push(args.map(String).join(" "));
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Whether the account's stored grant is the live one at the provider: its refresh token is the grant's current one. */
async function grantAlive(id: string) {
  const row = await accountRowOf(id);
  const stored = await openGrant(await getSecretBox(env), row);
  const live = fake.grants.find((g) => g.refreshToken === stored.refreshToken);
  return live !== undefined && !live.revoked;
}

/** Retries without the production pauses; a write counts as hung after `slowMs`. */
const retries = (slowMs = 10_000) => ({ delaysMs: [1, 1], slowMs });

async function refreshAt(
  target: { env: Env; db: ReturnType<typeof createDb> },
  id: string,
  now: number,
  writeRetry = retries(),
) {
  const leaseId = newLeaseId();
  const row = await takeRefreshLease(target.db, id, leaseId, now);
  if (!row) throw new Error("the lease is held");
  return refreshLeased(
    { env: target.env, db: target.db, now },
    row,
    { leaseId, requestedAt: now },
    { writeRetry },
  );
}

const MODES = [
  "fail-once",
  "fail-twice",
  "fail-all",
  "commit-then-throw",
  "hang-then-die",
  "fail-all-copy-retried",
  "fail-all-twice",
] as const;
type Mode = (typeof MODES)[number];

describe("a D1 failure after the provider rotated the refresh token", () => {
  // Count-bounded (100 injections, ~3 s on a quiet machine); the 60 s bound is for a loaded one.
  it("loses no grant over 100 injected write failures at random points (seeded)", {
    timeout: 60_000,
  }, async () => {
    const res = await connectAccount(ws, fake, { id: "rot-1", username: "rot", name: "Rot" });
    expect(res.status, res.text).toBe(200);
    const id = res.json.account.id as string;
    const clean = { env, db: createDb(env.DB) };
    const rng = new Rng(0x5eed10);
    let now = Date.now();
    const tally = { injected: 0, attemptsFailed: 0, lost: 0, recoveredFromKv: 0 };
    const byMode: Record<string, number> = {};

    for (let i = 0; i < 100; i++) {
      const mode: Mode = MODES[Math.floor(rng.next() * MODES.length)] as Mode;
      byMode[mode] = (byMode[mode] ?? 0) + 1;
      tally.injected += 1;
      const failures = { "fail-once": 1, "fail-twice": 2 }[mode as string] ?? Number.POSITIVE_INFINITY;
      let writes = 0;
      let puts = 0;
      const target = faulty(
        () => {
          writes += 1;
          if (mode === "commit-then-throw") return writes === 1 ? "commit-then-throw" : "ok";
          if (mode === "hang-then-die") return "hang";
          if (writes > failures) return "ok";
          tally.attemptsFailed += 1;
          return "throw";
        },
        (operation) => mode === "fail-all-copy-retried" && operation === "put" && ++puts === 1,
      );
      const before = fake.refreshRequests;
      now += 2 * MINUTE;
      const attempt = refreshAt(target, id, now, retries(mode === "hang-then-die" ? 5 : undefined));
      if (mode === "hang-then-die") {
        // The write hangs; once the copy is in KV the invocation dies (nothing after it runs).
        await target.copied;
        target.kill();
      }
      const first: RefreshOutcome | Error = await attempt.catch((err: Error) => err);
      expect(fake.refreshRequests, mode).toBe(before + 1);
      if (mode === "fail-once" || mode === "fail-twice" || mode === "commit-then-throw") {
        expect(first, mode).toMatchObject({ kind: "refreshed" });
      } else {
        expect(first, mode).toBeInstanceOf(Error);
        // The lease was never released: the next refresh takes it once it has lapsed.
        expect((await accountRowOf(id)).refreshLeaseId, mode).not.toBeNull();
        expect(await env.OAUTH_STATE.get(pendingGrantKey(id)), mode).not.toBeNull();
      }
      if (mode === "fail-all-twice") {
        // The next refresh's own write fails too: the copy is kept again, not lost.
        now += 2 * MINUTE;
        const again = faulty(() => "throw");
        await expect(refreshAt(again, id, now)).rejects.toThrow();
        expect(await env.OAUTH_STATE.get(pendingGrantKey(id))).not.toBeNull();
      }

      // The next refresh, D1 healthy again: it must succeed, with no invalid_grant.
      now += 2 * MINUTE;
      const fromKv = (await env.OAUTH_STATE.get(pendingGrantKey(id))) !== null && first instanceof Error;
      const next = await refreshAt(clean, id, now);
      expect(next.kind, mode).toBe("refreshed");
      if (fromKv) {
        tally.recoveredFromKv += 1;
        // Stored from KV, not fetched with the spent refresh token, and the copy is gone.
        expect(fake.refreshRequests, mode).toBe(before + 1);
        expect(await env.OAUTH_STATE.get(pendingGrantKey(id)), mode).toBeNull();
      }
      expect((await accountRowOf(id)).refreshLeaseId).toBeNull();
      if (!(await grantAlive(id))) tally.lost += 1;
    }

    // And the grant still refreshes against the provider at the end.
    now += 2 * MINUTE;
    expect((await refreshAt(clean, id, now)).kind).toBe("refreshed");
    expect(await grantAlive(id)).toBe(true);

    expect(tally.injected).toBe(100);
    expect(Object.keys(byMode).sort()).toEqual([...MODES].sort());
    expect(tally.recoveredFromKv).toBeGreaterThan(20);
    expect({ lost: tally.lost, invalidGrants }).toEqual({ lost: 0, invalidGrants: 0 });
    expect(fake.liveGrants).toHaveLength(1);
    // The failures were logged, and no token is in any log line.
    expect(logged.some((line) => line.includes("refresh_write_failed"))).toBe(true);
    for (const token of tokensSeen()) {
      if (token) expect(logged.join("\n")).not.toContain(token);
    }
    console.info(JSON.stringify({ pendingGrants: { ...tally, invalidGrants, byMode } }));
  });
});

describe("KV unreadable when a copy may be waiting", () => {
  it("backs off without spending the refresh token, and reads the copy on the next try", async () => {
    const res = await connectAccount(ws, fake, { id: "rot-2", username: "rot2", name: "Rot" });
    const id = res.json.account.id as string;
    let now = Date.now() + MINUTE;
    await expect(
      refreshAt(
        faulty(() => "throw"),
        id,
        now,
      ),
    ).rejects.toThrow();
    expect(fake.refreshRequests).toBe(1);
    now += 2 * MINUTE;
    const kvDown = faulty(
      () => "ok",
      (operation) => operation === "get",
    );
    await expect(refreshAt(kvDown, id, now)).rejects.toThrow(/KV get failed/);
    // Backed off (the lease released) without presenting the refresh token D1 holds.
    expect(fake.refreshRequests).toBe(1);
    expect((await accountRowOf(id)).refreshLeaseId).toBeNull();
    now += 2 * MINUTE;
    expect((await refreshAt({ env, db: createDb(env.DB) }, id, now)).kind).toBe("refreshed");
    expect(fake.refreshRequests).toBe(1);
    expect(await grantAlive(id)).toBe(true);
    expect((await accountRowOf(id)).lapsedLeaseUntil).toBeNull();
    now += 2 * MINUTE;
    expect((await refreshAt({ env, db: createDb(env.DB) }, id, now)).kind).toBe("refreshed");
    expect(fake.refreshRequests).toBe(2);
    expect(invalidGrants).toBe(0);
  });
});

describe("a disconnect after a failed write", () => {
  it("deletes the grant kept in KV with the stored credentials", async () => {
    const res = await connectAccount(ws, fake, { id: "rot-3", username: "rot3", name: "Rot" });
    const id = res.json.account.id as string;
    await expect(
      refreshAt(
        faulty(() => "throw"),
        id,
        Date.now(),
      ),
    ).rejects.toThrow();
    expect(await env.OAUTH_STATE.get(pendingGrantKey(id))).not.toBeNull();
    expect((await call(`/v1/accounts/${id}`, { method: "DELETE", key: ws.key })).json).toEqual({
      success: true,
    });
    expect(await env.OAUTH_STATE.get(pendingGrantKey(id))).toBeNull();
  });
});

describe("the cron's subrequest budget", () => {
  it("counts every KV operation of a metered env (each is a subrequest on the Free plan)", async () => {
    const { env: m, budget } = metered(env);
    await m.OAUTH_STATE.put("refresh:pending:budget-test", "x", { expirationTtl: 60 });
    await m.OAUTH_STATE.get("refresh:pending:budget-test");
    await m.OAUTH_STATE.delete("refresh:pending:budget-test");
    expect(budget.spent).toBe(3);
  });
});

describe("the cron, with D1 failing some accounts' writes", () => {
  beforeEach(async () => {
    // The cron scans every workspace: start from empty tables.
    await reset();
    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
    ws = await createWorkspace();
  });

  const dueAccounts = (count: number, dueAt: number) => dueTwitterAccounts(fake, ws.id, count, dueAt);

  it("keeps every grant whose write fails in a run, and the next run stores it", {
    timeout: 60_000,
  }, async () => {
    let now = Date.now();
    const ids = await dueAccounts(12, now - MINUTE);
    const rng = new Rng(0xc0ffee);
    let injected = 0;
    let lost = 0;
    for (let round = 0; round < 4; round++) {
      // Each round D1 refuses every token write of a random third of the accounts (all retries).
      const down = new Set(ids.filter(() => rng.next() < 1 / 3));
      injected += down.size;
      const target = faulty((bound) => (bound.some((v) => down.has(v as string)) ? "throw" : "ok"));
      const run = await refreshTokens(target.env, now);
      expect(run.outcomes.refreshed).toBe(ids.length - down.size);
      // Two minutes on, the failed ones' leases have lapsed; every account is made due again.
      now += 2 * MINUTE;
      await env.DB.prepare("UPDATE accounts SET next_refresh_at = ?")
        .bind(now - 1)
        .run();
    }
    const last = await refreshTokens(env, now);
    expect(last.outcomes.refreshed).toBe(ids.length);
    for (const id of ids) if (!(await grantAlive(id))) lost += 1;
    expect(injected).toBeGreaterThan(8);
    expect({ lost, invalidGrants }).toEqual({ lost: 0, invalidGrants: 0 });
    expect(fake.liveGrants).toHaveLength(ids.length);
  });
});
