import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { createDb } from "../../src/db/client";
import {
  backoffUntil,
  changedColumns,
  newLeaseId,
  refreshLeased,
  takeRefreshLease,
} from "../../src/features/accounts/refresh.service";
import { HOUR, MINUTE } from "../../src/lib/time";
import { api, call, createWorkspace, insertAccount, ok, type TestWorkspace } from "../helpers/api";
import { connectAccount } from "../helpers/connect";
import { type FakePlatform, fakePlatform } from "../helpers/fake-provider";
import { twitterMeRoute } from "../helpers/platform-fakes";
import { rowOf } from "../helpers/rows";

let fake: FakePlatform;
let ws: TestWorkspace;

beforeEach(async () => {
  fake = fakePlatform("twitter");
  twitterMeRoute(fake);
  ws = await createWorkspace();
});

async function connected(id = crypto.randomUUID()) {
  const res = await connectAccount(ws, fake, { id, username: `u${id.slice(0, 6)}`, name: "U" });
  expect(res.status, res.text).toBe(200);
  return res.json.account.id as string;
}

/** POST …/refresh through the typed client: the result, or the error envelope's error, and the headers. */
async function refresh(id: string, key = ws.key) {
  const { data, error, response } = await api(key).POST("/v1/accounts/{id}/refresh", {
    params: { path: { id } },
  });
  return { status: response.status, result: data, error: error?.error, headers: response.headers };
}

const getAccount = (id: string) => ok(api(ws.key).GET("/v1/accounts/{id}", { params: { path: { id } } }));
const accountCall = (id: string) => {
  const client = api(ws.key);
  const params = { path: { id } };
  return {
    test: () => ok(client.POST("/v1/accounts/{id}/test", { params })),
    delete: () => ok(client.DELETE("/v1/accounts/{id}", { params })),
  };
};

describe("POST /v1/accounts/:id/refresh", () => {
  it("refreshes a rotating grant: new tokens stored, new expiry answered", async () => {
    const id = await connected();
    const before = await rowOf(id);
    const res = await refresh(id);
    expect(res.status, JSON.stringify(res.error)).toBe(200);
    expect(res.result).toMatchObject({ success: true, refreshed: true, message: "Token refreshed" });
    expect(Date.parse(res.result?.tokenExpiresAt ?? "")).toBeGreaterThan(Date.now() + HOUR);
    const after = await rowOf(id);
    expect(after?.refresh_token_enc).not.toBe(before?.refresh_token_enc);
    expect(after?.refresh_lease_id).toBeNull();
    expect(fake.refreshRequests).toBe(1);
    expect(fake.liveGrants).toHaveLength(1);
    expect(JSON.stringify(res.result)).not.toContain(fake.grants[0]?.accessToken);
  });

  it("50 parallel refreshes spend the rotating refresh token exactly once and agree", async () => {
    const id = await connected();
    const results = await Promise.all(Array.from({ length: 50 }, () => refresh(id)));
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(fake.refreshRequests).toBe(1);
    expect(new Set(results.map((r) => r.result?.tokenExpiresAt)).size).toBe(1);
    // A refresh within the last 30 s answers without spending the token again…
    expect((await refresh(id)).status).toBe(200);
    expect(fake.refreshRequests).toBe(1);
    // …and the grant is alive: once that refresh is older, the next one works.
    expect(fake.liveGrants).toHaveLength(1);
    await env.DB.prepare("UPDATE accounts SET last_refreshed_at = last_refreshed_at - 60000 WHERE id = ?")
      .bind(id)
      .run();
    expect((await refresh(id)).status).toBe(200);
    expect(fake.refreshRequests).toBe(2);
  });

  it("answers 409 REFRESH_FAILED and marks the account error when the grant of a valid token is refused", async () => {
    const id = await connected();
    fake.failNext({ kind: "invalid_grant" });
    const res = await refresh(id);
    expect(res.status).toBe(409);
    expect(res.error?.code).toBe("REFRESH_FAILED");
    const account = await getAccount(id);
    expect(Date.parse(account.tokenExpiresAt ?? "")).toBeGreaterThan(Date.now());
    expect(account).toMatchObject({ status: "error", error: { code: "invalid_grant" } });
    expect((await rowOf(id))?.next_refresh_at).toBeNull();
  });

  it("marks the account expired when the grant of a token past its expiry is refused", async () => {
    const id = await connected();
    await env.DB.prepare("UPDATE accounts SET token_expires_at = ? WHERE id = ?")
      .bind(Date.now() - MINUTE, id)
      .run();
    fake.failNext({ kind: "invalid_grant" });
    const res = await refresh(id);
    expect(res.status).toBe(409);
    const account = await getAccount(id);
    expect(account).toMatchObject({ status: "expired", error: { code: "invalid_grant" } });
  });

  it("a transient failure answers 502, backs off and leaves the status alone", async () => {
    const id = await connected();
    fake.failNext({ kind: "5xx" });
    const res = await refresh(id);
    expect(res.status).toBe(502);
    expect(res.error?.code).toBe("PROVIDER_ERROR");
    const row = await rowOf(id);
    expect(row).toMatchObject({ status: "active", refresh_failures: 1 });
    fake.failNext({ kind: "429", retryAfter: "120" });
    const limited = await refresh(id);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("120");
    expect(Number((await rowOf(id))?.next_refresh_at)).toBeGreaterThanOrEqual(Date.now() + 110_000);
    expect((await refresh(id)).status).toBe(200);
    expect(await rowOf(id)).toMatchObject({ refresh_failures: 0, status: "active" });
  });

  it("says so when there is nothing to refresh, and 404s across workspaces", async () => {
    const mastodonLike = await insertAccount(ws.id, {
      platform: "twitter",
      credentials: { accessToken: "only-access" },
    });
    const res = await refresh(mastodonLike.id);
    expect(res.status).toBe(200);
    expect(res.result).toMatchObject({ success: true, refreshed: false });
    const other = await createWorkspace();
    expect((await refresh(mastodonLike.id, other.key)).status).toBe(404);
  });
});

describe("the refresh lease", () => {
  it("lets one holder in at a time and lapses after its term", async () => {
    const id = await connected();
    const db = createDb(env.DB);
    const now = Date.now();
    expect(await takeRefreshLease(db, id, "a", now)).toBeDefined();
    expect(await takeRefreshLease(db, id, "b", now + 1000)).toBeUndefined();
    expect(await takeRefreshLease(db, id, "b", now + 60_000)).toBeDefined();
  });

  it("answers a refresh made after the caller decided instead of spending the token again", async () => {
    const id = await connected();
    const db = createDb(env.DB);
    const decidedAt = Date.now();
    const first = await takeRefreshLease(db, id, newLeaseId(), decidedAt);
    if (!first) throw new Error("lease");
    await refreshLeased({ env, db, now: decidedAt + 1 }, first, {
      leaseId: first.refreshLeaseId as string,
      requestedAt: decidedAt,
    });
    const leaseId = newLeaseId();
    const second = await takeRefreshLease(db, id, leaseId, decidedAt + 2);
    if (!second) throw new Error("lease");
    const outcome = await refreshLeased({ env, db, now: decidedAt + 2 }, second, {
      leaseId,
      requestedAt: decidedAt,
    });
    expect(outcome.kind).toBe("already-refreshed");
    expect(fake.refreshRequests).toBe(1);
  });

  it("backs off exponentially, honours Retry-After, and keeps retries inside the token's life", () => {
    const now = 1_000_000_000_000;
    expect(backoffUntil(1, now, null) - now).toBe(MINUTE);
    expect(backoffUntil(3, now, null) - now).toBe(4 * MINUTE);
    expect(backoffUntil(20, now, null) - now).toBe(30 * MINUTE);
    expect(backoffUntil(1, now, null, 5 * MINUTE) - now).toBe(5 * MINUTE);
    expect(backoffUntil(6, now, now + 10 * MINUTE) - now).toBe(9 * MINUTE);
  });
});

describe("POST /v1/accounts/:id/test and DELETE", () => {
  it("verifies the connection with the stored token", async () => {
    const id = await connected("42");
    expect(await accountCall(id).test()).toEqual({
      success: true,
      message: "Connection verified",
      details: { platformUserId: "42", username: expect.stringMatching(/^@u/), displayName: "U" },
    });
    for (const g of fake.grants) g.revoked = true;
    const broken = await accountCall(id).test();
    expect(broken.success).toBe(false);
    expect(broken.message).toMatch(/401/);
  });

  it("revokes at the provider, wipes credentials, and does not revoke twice", async () => {
    const id = await connected();
    expect(await accountCall(id).delete()).toEqual({ success: true });
    expect(fake.revocations).toBe(2);
    expect(fake.liveGrants).toHaveLength(0);
    expect(await rowOf(id)).toMatchObject({
      status: "disconnected",
      access_token_enc: null,
      refresh_token_enc: null,
    });
    await accountCall(id).delete();
    expect(fake.revocations).toBe(2);
  });

  it("still disconnects when the provider's revoke fails", async () => {
    const id = await connected();
    fake.failNext({ kind: "5xx" }, 2);
    const logged = vi.spyOn(console, "warn").mockImplementation(() => {});
    const res = await accountCall(id).delete();
    const lines = logged.mock.calls.map(([line]) => String(line));
    logged.mockRestore();
    expect(res).toEqual({ success: true });
    expect((await rowOf(id))?.status).toBe("disconnected");
    // The failed revoke is logged, with no token in the line.
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: "warn", event: "revoke_failed", accountId: id, platform: "twitter" }),
    ]);
    for (const grant of fake.grants) for (const line of lines) expect(line).not.toContain(grant.accessToken);
  });
});

describe("POST /v1/accounts (bring your own token)", () => {
  it("verifies the token with the platform before storing anything", async () => {
    const grant = fake.newGrant({ id: "777", username: "byo", name: "Byo" });
    const res = await call("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: {
        platform: "TWITTER",
        platformAccountId: "777",
        credentials: { accessToken: grant.accessToken },
        name: "Brand",
      },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.account).toMatchObject({
      platformUserId: "777",
      username: "@byo",
      connectionType: "byok",
      name: "Brand",
      status: "active",
    });
    expect(res.text).not.toContain(grant.accessToken);

    const again = await call("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: { platform: "twitter", credentials: { accessToken: grant.accessToken } },
    });
    expect(again.status).toBe(200);
    expect(again.json.account.id).toBe(res.json.account.id);
  });

  it("refuses a token the platform rejects, or one for another account, and writes nothing", async () => {
    const before = (await call("/v1/accounts?includeArchived=true", { key: ws.key })).json.data.length;
    const rejected = await call("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: { platform: "twitter", credentials: { accessToken: "bogus" } },
    });
    expect(rejected.status).toBe(400);
    expect(rejected.json.error.code).toBe("INVALID_PARAM");
    const grant = fake.newGrant({ id: "888", username: "x", name: "X" });
    const mismatch = await call("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: {
        platform: "twitter",
        platformAccountId: "999",
        credentials: { accessToken: grant.accessToken },
      },
    });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.error.details[0].field).toBe("platformAccountId");
    const missing = await call("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: { platform: "twitter", credentials: {} },
    });
    expect(missing.status).toBe(400);
    expect((await call("/v1/accounts?includeArchived=true", { key: ws.key })).json.data).toHaveLength(before);
  });
});

describe("changedColumns", () => {
  it("keeps only what differs from the row as read, comparing JSON columns by value", async () => {
    const id = await connected();
    const row = (await takeRefreshLease(createDb(env.DB), id, newLeaseId(), Date.now())) as NonNullable<
      Awaited<ReturnType<typeof takeRefreshLease>>
    >;
    expect(
      changedColumns(row, {
        status: row.status,
        keyVersion: row.keyVersion,
        lastErrorCode: null,
        scopes: [...row.scopes],
        refreshFailures: row.refreshFailures + 1,
        tokenExpiresAt: null,
        metadata: { a: 1 },
      }),
    ).toEqual({ refreshFailures: row.refreshFailures + 1, tokenExpiresAt: null, metadata: { a: 1 } });
  });
});
