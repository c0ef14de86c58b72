import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { createDb } from "../../src/db/client";
import type { AccountRow } from "../../src/db/schema";
import { findAccount } from "../../src/features/accounts/accounts.repository";
import { toAccountHealth } from "../../src/features/accounts/accounts.service";
import { newLeaseId, takeRefreshLease } from "../../src/features/accounts/refresh.service";
import { recordRefusal } from "../../src/features/accounts/refusal.service";
import { HOUR, MINUTE } from "../../src/lib/time";
import { ProviderError } from "../../src/platforms/http";
import { api, call, createWorkspace, insertAccount, ok, type TestWorkspace } from "../helpers/api";
import { connectAccount } from "../helpers/connect";
import { type FakePlatform, fakePlatform } from "../helpers/fake-provider";
import { googleError, twitterMeRoute } from "../helpers/platform-fakes";
import { deliveriesOf, Receiver } from "../helpers/receiver";
import { rowOf } from "../helpers/rows";

const db = createDb(env.DB);
let fake: FakePlatform;
let ws: TestWorkspace;

beforeEach(async () => {
  fake = fakePlatform("twitter");
  twitterMeRoute(fake);
  ws = await createWorkspace();
});

async function connected() {
  const id = crypto.randomUUID();
  const res = await connectAccount(ws, fake, { id, username: `u${id.slice(0, 6)}`, name: "U" });
  expect(res.status, res.text).toBe(200);
  return res.json.account.id as string;
}

const revokeAll = () => {
  for (const g of fake.grants) g.revoked = true;
};

const eventsOf = async (accountId: string, type: string) =>
  (
    await env.DB.prepare("SELECT payload FROM events WHERE workspace_id = ? AND type = ?")
      .bind(ws.id, type)
      .all<{ payload: string }>()
  ).results
    .map((r) => JSON.parse(r.payload))
    .filter((p) => p.data.account.id === accountId);

const test = (id: string) => ok(api(ws.key).POST("/v1/accounts/{id}/test", { params: { path: { id } } }));

async function healthOf(id: string) {
  const report = await ok(api(ws.key).GET("/v1/accounts/health"));
  return report.accounts.find((a) => a.accountId === id);
}

describe("a refusal seen by POST …/test", () => {
  it("breaks the account like a refused refresh: status, last error, one account.error, health error", async () => {
    const id = await connected();
    const receiver = new Receiver();
    const hook = await ok(api(ws.key).POST("/v1/webhooks", { body: { url: receiver.url } }), 201);
    revokeAll();

    expect(await test(id)).toEqual({ success: false, message: expect.stringContaining("HTTP 401") });
    const account = await ok(api(ws.key).GET("/v1/accounts/{id}", { params: { path: { id } } }));
    expect(Date.parse(account.tokenExpiresAt ?? "")).toBeGreaterThan(Date.now());
    expect(account).toMatchObject({
      status: "error",
      error: { code: "access_refused", message: expect.stringContaining("HTTP 401") },
    });
    const health = await healthOf(id);
    expect(health).toMatchObject({ health: "error", needsReconnect: true, tokenValid: false });
    expect(health?.recommendations[0]).toMatch(/HTTP 401 .*\. Reconnect the account\.$/);

    // Once broken, further refusals are not new breakages.
    expect((await test(id)).success).toBe(false);
    expect((await test(id)).success).toBe(false);
    const errors = await eventsOf(id, "account.error");
    expect(errors).toHaveLength(1);
    expect(errors[0].data).toMatchObject({
      account: { id, platform: "TWITTER", status: "ERROR" },
      error: { code: "access_refused", message: expect.stringContaining("HTTP 401") },
    });
    // The first attempt went out right after the response, as for any other account event.
    await vi.waitFor(
      async () => {
        const rows = await deliveriesOf(hook.webhook.id);
        expect(rows).toHaveLength(1);
        expect(rows[0]?.attempts).toBeGreaterThan(0);
      },
      { timeout: 5000, interval: 20 },
    );
    expect(receiver.ofType("account.error")).toHaveLength(1);

    // A refused refresh afterwards is the same breakage: no second event.
    fake.failNext({ kind: "invalid_grant" });
    expect((await call(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key })).status).toBe(409);
    expect(await eventsOf(id, "account.error")).toHaveLength(1);
  });

  it("ten refusals at once still make exactly one account.error", async () => {
    const id = await connected();
    revokeAll();
    const results = await Promise.all(Array.from({ length: 10 }, () => test(id)));
    expect(results.map((r) => r.success)).toEqual(Array(10).fill(false));
    expect(await eventsOf(id, "account.error")).toHaveLength(1);
    expect((await rowOf(id))?.status).toBe("error");
  });

  it("a transient failure changes nothing", async () => {
    const id = await connected();
    const before = await rowOf(id);
    for (const failure of [
      { kind: "5xx" },
      { kind: "429", retryAfter: "30" },
      { kind: "network" },
    ] as const) {
      fake.failNext(failure);
      expect((await test(id)).success, failure.kind).toBe(false);
    }
    // Only the usage stamp moves: the API did open the account's token for the customer.
    const { last_used_at: used, ...after } = (await rowOf(id)) ?? {};
    const { last_used_at: _, ...unchanged } = before ?? {};
    expect(after).toEqual(unchanged);
    expect(used).toEqual(expect.any(Number));
    expect(await eventsOf(id, "account.error")).toHaveLength(0);
    expect((await healthOf(id))?.health).toBe("healthy");
    expect((await test(id)).success).toBe(true);
  });

  it("a token past its expiry that the cron will renew is left to the refresh", async () => {
    const id = await connected();
    await env.DB.prepare("UPDATE accounts SET token_expires_at = ? WHERE id = ?")
      .bind(Date.now() - MINUTE, id)
      .run();
    revokeAll();
    expect((await test(id)).success).toBe(false);
    expect(await rowOf(id)).toMatchObject({ status: "active", last_error_code: null });
    expect(await eventsOf(id, "account.error")).toHaveLength(0);
  });

  it("a token past its expiry that nothing renews is expired", async () => {
    const grant = fake.newGrant({ id: "byo-1", username: "byo", name: "Byo" });
    const account = await insertAccount(ws.id, {
      platformUserId: "byo-1",
      credentials: { accessToken: grant.accessToken },
      tokenExpiresAt: new Date(Date.now() - HOUR).toISOString(),
    });
    expect((await rowOf(account.id))?.next_refresh_at).toBeNull();
    revokeAll();
    expect((await test(account.id)).success).toBe(false);
    expect(await rowOf(account.id)).toMatchObject({ status: "expired", last_error_code: "access_refused" });
    expect(await eventsOf(account.id, "account.error")).toHaveLength(1);
  });
});

describe("the refusal write is fenced", () => {
  it("leaves an account alone while a refresh holds its lease: the refresh's outcome decides", async () => {
    const id = await connected();
    const leaseId = newLeaseId();
    expect(await takeRefreshLease(db, id, leaseId, Date.now())).toBeDefined();
    revokeAll();
    expect((await test(id)).success).toBe(false);
    expect(await rowOf(id)).toMatchObject({ status: "active", refresh_lease_id: leaseId });
    expect(await eventsOf(id, "account.error")).toHaveLength(0);
  });

  it("leaves an account alone whose token was replaced since it was read", async () => {
    const id = await connected();
    const stale = (await findAccount(db, ws.id, id)) as AccountRow;
    // A refresh (or reconnect) stored a new token meanwhile.
    expect((await call(`/v1/accounts/${id}/refresh`, { method: "POST", key: ws.key })).status).toBe(200);
    const refusal = new ProviderError("refused", "X users/me failed: HTTP 401", { status: 401 });
    expect(await recordRefusal(db, stale, refusal, Date.now())).toEqual([]);
    expect(await rowOf(id)).toMatchObject({ status: "active", last_error_code: null });
    expect(await eventsOf(id, "account.error")).toHaveLength(0);
    // The same refusal against the row as it is now does break it.
    const current = (await findAccount(db, ws.id, id)) as AccountRow;
    await recordRefusal(db, current, refusal, Date.now());
    expect(await rowOf(id)).toMatchObject({ status: "error", last_error_code: "access_refused" });
  });

  it("takes a dead-token code as the token's refusal, whatever the HTTP status", async () => {
    for (const [status, code] of [
      [400, "190"],
      [400, "invalid_grant"],
      [403, "invalid_token"],
    ] as const) {
      const id = await connected();
      const row = (await findAccount(db, ws.id, id)) as AccountRow;
      const refusal = new ProviderError("refused", `HTTP ${status} (${code})`, { status, code });
      expect(await recordRefusal(db, row, refusal, Date.now())).toEqual(expect.any(Array));
      expect(await rowOf(id)).toMatchObject({ status: "error", last_error_code: code });
    }
  });

  it("ignores what is not a definite refusal of the token", async () => {
    const id = await connected();
    const row = (await findAccount(db, ws.id, id)) as AccountRow;
    for (const err of [
      new ProviderError("transient", "HTTP 503", { status: 503 }),
      new ProviderError("invalid", "HTTP 404", { status: 404 }),
      // Refusals of one request, not of the token: a bad parameter, no permission on one object.
      new ProviderError("refused", "HTTP 400 (Invalid parameter)", { status: 400, code: "100" }),
      new ProviderError("refused", "HTTP 403 (Forbidden)", { status: 403 }),
      new Error("D1 is down"),
    ]) {
      expect(await recordRefusal(db, row, err, Date.now())).toEqual([]);
    }
    expect((await rowOf(id))?.status).toBe("active");
  });
});

describe("a refusal seen by any call with the token", () => {
  it("GET …/pages (LinkedIn 401) breaks the account once and answers 502", async () => {
    const linkedin = fakePlatform("linkedin");
    linkedin.api("GET /rest/organizationAcls", () =>
      Response.json(
        { serviceErrorCode: 65601, code: "REVOKED_ACCESS_TOKEN", message: "revoked", status: 401 },
        { status: 401 },
      ),
    );
    const account = await insertAccount(ws.id, {
      platform: "linkedin",
      scopes: ["r_organization_admin"],
      tokenExpiresAt: new Date(Date.now() + 30 * 24 * HOUR).toISOString(),
    });
    const res = await call(`/v1/accounts/${account.id}/pages`, { key: ws.key });
    expect(res.status).toBe(502);
    expect(res.json.error.code).toBe("PROVIDER_ERROR");
    expect(await rowOf(account.id)).toMatchObject({ status: "error", last_error_code: "access_refused" });
    expect((await call(`/v1/accounts/${account.id}/pages`, { key: ws.key })).status).toBe(502);
    expect(await eventsOf(account.id, "account.error")).toHaveLength(1);
  });

  it("GET …/pages with a 503 from the platform changes nothing", async () => {
    const linkedin = fakePlatform("linkedin");
    linkedin.api("GET /rest/organizationAcls", () => new Response("down", { status: 503 }));
    const account = await insertAccount(ws.id, { platform: "linkedin", scopes: ["r_organization_admin"] });
    expect((await call(`/v1/accounts/${account.id}/pages`, { key: ws.key })).status).toBe(502);
    expect(await rowOf(account.id)).toMatchObject({ status: "active", last_error_code: null });
    expect(await eventsOf(account.id, "account.error")).toHaveLength(0);
  });

  it("GET …/youtube/playlists (Google 401) breaks the account; a missing scope does not", async () => {
    const youtube = fakePlatform("youtube");
    let answer = () =>
      googleError(401, "UNAUTHENTICATED", "authError", "Request had invalid authentication credentials.");
    youtube.api("GET /youtube/v3/playlists", () => answer());
    const account = await insertAccount(ws.id, { platform: "youtube", scopes: [] });
    const path = `/v1/accounts/${account.id}/youtube/playlists`;

    const scoped = await insertAccount(ws.id, { platform: "youtube", scopes: [] });
    answer = () =>
      Response.json(
        {
          error: { code: 403, errors: [{ reason: "insufficientPermissions" }], status: "PERMISSION_DENIED" },
        },
        { status: 403 },
      );
    const reauth = await call(`/v1/accounts/${scoped.id}/youtube/playlists`, { key: ws.key });
    expect(reauth.json).toEqual({ playlists: [], requiresReauth: true });
    expect((await rowOf(scoped.id))?.status).toBe("active");

    answer = () =>
      googleError(401, "UNAUTHENTICATED", "authError", "Request had invalid authentication credentials.");
    expect((await call(path, { key: ws.key })).status).toBe(502);
    expect((await rowOf(account.id))?.status).toBe("error");
    expect(await eventsOf(account.id, "account.error")).toHaveLength(1);
  });
});

describe("health recommendations", () => {
  it("join the error and the advice as two sentences", async () => {
    const id = await connected();
    const row = (await findAccount(db, ws.id, id)) as AccountRow;
    const advice = (lastErrorMessage: string | null) =>
      toAccountHealth({ ...row, status: "error", lastErrorMessage }, "error", Date.now()).recommendations;
    expect(advice("The grant has been revoked")).toEqual([
      "The connection is broken: The grant has been revoked. Reconnect the account.",
    ]);
    expect(advice("Refresh token revoked.")).toEqual([
      "The connection is broken: Refresh token revoked. Reconnect the account.",
    ]);
    expect(advice(null)).toEqual(["The connection is broken. Reconnect the account."]);
  });
});
