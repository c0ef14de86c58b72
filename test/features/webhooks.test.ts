import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { components } from "../../client/src/openapi";
import { createDb } from "../../src/db/client";
import { accounts, events } from "../../src/db/schema";
import { validateEndpointUrl } from "../../src/features/webhooks/endpoint-url";
import {
  accountEvent,
  commitGuardedWithEvents,
  commitWithEvents,
  outboxStatements,
} from "../../src/features/webhooks/events";
import { signWebhook, webhookHeaders } from "../../src/features/webhooks/signing";
import { deliverWebhooks } from "../../src/jobs/deliver-webhooks";
import { watchExpiry } from "../../src/jobs/expiry";
import { ApiError } from "../../src/lib/errors";
import { DAY, HOUR } from "../../src/lib/time";
import { api, call, createWorkspace, insertAccount, issueKey, ok, type TestWorkspace } from "../helpers/api";
import { connectAccount } from "../helpers/connect";
import { type FakePlatform, fakePlatform, fakeServer } from "../helpers/fake-provider";
import { twitterMeRoute } from "../helpers/platform-fakes";
import {
  deliveriesOf,
  endpointRow,
  Receiver,
  settleDeliveries,
  undocumentedDeliveries,
} from "../helpers/receiver";

let fake: FakePlatform;
let ws: TestWorkspace;
const alice = { id: "2001", username: "alice", name: "Alice" };
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

beforeEach(async () => {
  fake = fakePlatform("twitter");
  fake.clientAuth = "basic";
  twitterMeRoute(fake);
  ws = await createWorkspace();
});

afterEach(async () => {
  await settleDeliveries();
  fakeServer.resetHandlers();
  // Every payload a receiver got is one the document's webhooks section describes.
  expect(undocumentedDeliveries()).toEqual([]);
});

type Res = Awaited<ReturnType<typeof call>>;

function expectInvalid(res: Res, field: string) {
  expect(res.status, res.text).toBe(400);
  expect(res.json.error.code).toBe("INVALID_PARAM");
  expect(res.json.error.details.map((d: { field: string }) => d.field)).toContain(field);
}

type Schemas = components["schemas"];

async function createEndpoint(url: string, body: Omit<Schemas["CreateWebhook"], "url"> = {}, on = ws) {
  const created = await ok(api(on.key).POST("/v1/webhooks", { body: { url, ...body } }), 201);
  return { id: created.webhook.id, secret: created.secret, created };
}

/** The typed client's calls on one endpoint, with the test workspace's key. */
const endpoint = (id: string, key = ws.key) => {
  const client = api(key);
  const params = { path: { id } };
  return {
    get: () => ok(client.GET("/v1/webhooks/{id}", { params })),
    patch: (body: Schemas["UpdateWebhook"]) => ok(client.PATCH("/v1/webhooks/{id}", { params, body })),
    delete: () => ok(client.DELETE("/v1/webhooks/{id}", { params })),
    test: () => ok(client.POST("/v1/webhooks/{id}/test", { params })),
    deliveries: (query: { status?: "pending" | "succeeded" | "failed"; limit?: number; cursor?: string }) =>
      ok(client.GET("/v1/webhooks/{id}/deliveries", { params: { ...params, query } })),
  };
};
const listEndpoints = (key = ws.key) => ok(api(key).GET("/v1/webhooks"));

/** A receiver with an endpoint pointing at it, verifying every request with the endpoint's secret. */
async function subscribed(body: Omit<Schemas["CreateWebhook"], "url"> = {}) {
  const receiver = new Receiver();
  const endpoint = await createEndpoint(receiver.url, body);
  receiver.secrets = [endpoint.secret];
  return { receiver, ...endpoint };
}

/**
 * Waits (bounded) until the first attempt of every delivery of this endpoint, run in waitUntil,
 * has been made, and the number of deliveries is `count`.
 */
async function attempted(endpointId: string, count: number) {
  await vi.waitFor(
    async () => {
      const rows = await deliveriesOf(endpointId);
      expect(rows).toHaveLength(count);
      for (const row of rows) expect(row.attempts).toBeGreaterThan(0);
      for (const row of rows) expect(row.lease_id).toBeNull();
    },
    { timeout: 5000, interval: 20 },
  );
}

const bodyOf = (receiver: Receiver, i: number) => JSON.parse(receiver.requests[i]?.body ?? "null");

describe("webhook endpoints: CRUD over HTTP", () => {
  it("create answers the whsec_ secret once; it is stored only encrypted and never answered again", async () => {
    const url = "https://receiver.test/hooks/crud";
    const { id, secret, created } = await createEndpoint(url, {
      description: "Main receiver",
      eventTypes: ["account.connected", "account.error"],
    });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(created.webhook).toEqual({
      id: expect.stringMatching(/^wh_/),
      url,
      description: "Main receiver",
      eventTypes: ["account.connected", "account.error"],
      enabled: true,
      disabledReason: null,
      failingSince: null,
      secretRotatedUntil: null,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });

    const row = await endpointRow(id);
    expect(String(row?.secret_enc)).toMatch(/^k2\./);
    expect(row?.previous_secret_enc).toBeNull();
    const raw = secret.slice("whsec_".length);
    expect(JSON.stringify(row)).not.toContain(raw);

    const got = await endpoint(id).get();
    expect(got).toEqual(created.webhook);
    const list = await listEndpoints();
    const patched = await endpoint(id).patch({ description: "Renamed" });
    for (const answer of [got, list, patched].map((a) => JSON.stringify(a))) {
      expect(answer).not.toContain(raw);
      expect(answer).not.toContain("whsec_");
      expect(answer).not.toContain('"secret"');
    }
  });

  it("lists the workspace's endpoints, newest first", async () => {
    const a = await createEndpoint("https://receiver.test/hooks/a");
    const b = await createEndpoint("https://receiver.test/hooks/b");
    const list = await listEndpoints();
    expect(list.data.map((w) => w.id)).toEqual([b.id, a.id]);
  });

  it("patches url, description and eventTypes; enabled:true clears disabledReason and failingSince", async () => {
    const { id } = await createEndpoint("https://receiver.test/hooks/p");
    const patched = await endpoint(id).patch({
      url: "https://receiver.test/hooks/p2",
      description: "Second",
      eventTypes: ["account.disconnected"],
    });
    expect(patched).toMatchObject({
      url: "https://receiver.test/hooks/p2",
      description: "Second",
      eventTypes: ["account.disconnected"],
      enabled: true,
    });
    const all = await endpoint(id).patch({ eventTypes: null, description: null });
    expect(all).toMatchObject({ eventTypes: null, description: null });

    const off = await endpoint(id).patch({ enabled: false });
    expect(off).toMatchObject({ enabled: false, disabledReason: expect.any(String) });

    const failingSince = Date.now() - DAY;
    await env.DB.prepare(
      "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = 'The endpoint answered 410 Gone', failing_since = ? WHERE id = ?",
    )
      .bind(failingSince, id)
      .run();
    const before = await endpoint(id).get();
    expect(before).toMatchObject({
      enabled: false,
      disabledReason: "The endpoint answered 410 Gone",
      failingSince: new Date(failingSince).toISOString(),
    });
    const on = await endpoint(id).patch({ enabled: true });
    expect(on).toMatchObject({ enabled: true, disabledReason: null, failingSince: null });
    expect(await endpointRow(id)).toMatchObject({ enabled: 1, disabled_reason: null, failing_since: null });
  });

  it("deletes an endpoint and its deliveries; a second delete is 404", async () => {
    const { id } = await createEndpoint("https://receiver.test/hooks/d");
    await commitWithEvents(createDb(env.DB), [], [accountEvent("account.error", stubAccount())], Date.now());
    expect(await deliveriesOf(id)).toHaveLength(1);
    expect(await endpoint(id).delete()).toEqual({ success: true });
    expect((await call(`/v1/webhooks/${id}`, { key: ws.key })).status).toBe(404);
    expect((await call(`/v1/webhooks/${id}`, { method: "DELETE", key: ws.key })).status).toBe(404);
    expect(await endpointRow(id)).toBeNull();
    expect(await deliveriesOf(id)).toHaveLength(0);
    const list = await listEndpoints();
    expect(list.data.map((w) => w.id)).not.toContain(id);
  });

  it("needs webhooks:write to change and webhooks:read to read", async () => {
    const { id } = await createEndpoint("https://receiver.test/hooks/s");
    const reader = await issueKey(ws.id, ["webhooks:read", "accounts:read", "accounts:write"]);
    const writer = await issueKey(ws.id, ["webhooks:write", "accounts:read", "accounts:write"]);
    const writes = [
      { method: "POST", path: "/v1/webhooks", body: { url: "https://receiver.test/x" } },
      { method: "PATCH", path: `/v1/webhooks/${id}`, body: { description: "x" } },
      { method: "DELETE", path: `/v1/webhooks/${id}` },
      { method: "POST", path: `/v1/webhooks/${id}/rotate-secret` },
      { method: "POST", path: `/v1/webhooks/${id}/test` },
      { method: "POST", path: `/v1/webhooks/${id}/recover`, body: { since: new Date().toISOString() } },
    ];
    for (const w of writes) {
      const res = await call(w.path, { method: w.method, key: reader.key, body: w.body });
      expect(res.status, `${w.method} ${w.path}`).toBe(403);
      expect(res.json.error).toMatchObject({
        code: "INSUFFICIENT_SCOPE",
        message: "This API key lacks the webhooks:write scope",
      });
    }
    const reads = ["/v1/webhooks", `/v1/webhooks/${id}`, `/v1/webhooks/${id}/deliveries`];
    for (const path of reads) {
      const res = await call(path, { key: writer.key });
      expect(res.status, path).toBe(403);
      expect(res.json.error).toMatchObject({
        code: "INSUFFICIENT_SCOPE",
        message: "This API key lacks the webhooks:read scope",
      });
      expect((await call(path, { key: reader.key })).status, path).toBe(200);
    }
    expect(await endpointRow(id)).toMatchObject({ description: null });
  });

  it("answers another workspace's endpoint with the same 404 as a missing one", async () => {
    const { id } = await createEndpoint("https://receiver.test/hooks/mine");
    const other = await createWorkspace();
    const since = new Date().toISOString();
    const routes = (target: string) => [
      { method: "GET", path: `/v1/webhooks/${target}` },
      { method: "PATCH", path: `/v1/webhooks/${target}`, body: { description: "stolen" } },
      { method: "DELETE", path: `/v1/webhooks/${target}` },
      { method: "POST", path: `/v1/webhooks/${target}/rotate-secret` },
      { method: "POST", path: `/v1/webhooks/${target}/test` },
      { method: "GET", path: `/v1/webhooks/${target}/deliveries` },
      { method: "POST", path: `/v1/webhooks/${target}/recover`, body: { since } },
    ];
    const missing = routes("wh_01jzzzzzzzzzzzzzzzzzzzzzzz");
    for (const [i, r] of routes(id).entries()) {
      const theirs = await call(r.path, { method: r.method, key: other.key, body: r.body });
      const none = await call(missing[i]?.path as string, { method: r.method, key: other.key, body: r.body });
      expect(theirs.status, `${r.method} ${r.path}`).toBe(404);
      expect(theirs.json.error.code).toBe("NOT_FOUND");
      expect(theirs.json.error.message).toBe(none.json.error.message);
      expect(none.status).toBe(404);
    }
    expect((await call("/v1/webhooks", { key: other.key })).json.data).toEqual([]);
    expect(await endpointRow(id)).toMatchObject({ description: null, enabled: 1 });
  });

  it("rejects bad input with 400 INVALID_PARAM naming the field", async () => {
    const post = (body: unknown) => call("/v1/webhooks", { method: "POST", key: ws.key, body });
    expectInvalid(await post({ url: "not a url" }), "url");
    expectInvalid(await post({ url: "ftp://receiver.test/x" }), "url");
    expectInvalid(await post({ url: "https://user:pw@receiver.test/x" }), "url");
    expectInvalid(await post({ url: `https://receiver.test/${"x".repeat(2100)}` }), "url");
    expectInvalid(await post({}), "url");
    expectInvalid(
      await post({ url: "https://receiver.test/x", eventTypes: ["account.connected", "account.nope"] }),
      "eventTypes.1",
    );
    expectInvalid(await post({ url: "https://receiver.test/x", eventTypes: [] }), "eventTypes");
    const nonJson = await call("/v1/webhooks", {
      method: "POST",
      key: ws.key,
      rawBody: "{not json",
      headers: { "content-type": "application/json" },
    });
    expect(nonJson.status).toBe(400);
    expect(nonJson.json.error.code).toBe("INVALID_PARAM");

    const { id } = await createEndpoint("https://receiver.test/hooks/v");
    const patch = (body: unknown) => call(`/v1/webhooks/${id}`, { method: "PATCH", key: ws.key, body });
    const empty = await patch({});
    expect(empty.status).toBe(400);
    expect(empty.json.error.code).toBe("INVALID_PARAM");
    expect(empty.json.error.message).toContain("Provide at least one field");
    expectInvalid(await patch({ url: "http//nope" }), "url");
    expectInvalid(await patch({ eventTypes: ["nope"] }), "eventTypes.0");
    expectInvalid(await patch({ enabled: "yes" }), "enabled");
    const recover = (body: unknown) =>
      call(`/v1/webhooks/${id}/recover`, { method: "POST", key: ws.key, body });
    expectInvalid(await recover({ since: "yesterday" }), "since");
    expectInvalid(await recover({}), "since");
    expectInvalid(await call(`/v1/webhooks/${id}/deliveries?limit=0`, { key: ws.key }), "limit");
    expectInvalid(await call(`/v1/webhooks/${id}/deliveries?status=lost`, { key: ws.key }), "status");
    // Nothing was created or changed by the rejected calls.
    expect((await call("/v1/webhooks", { key: ws.key })).json.data).toHaveLength(1);
  });

  it("caps a workspace at 20 endpoints", async () => {
    for (let i = 0; i < 20; i++) await createEndpoint(`https://receiver.test/hooks/cap-${i}`);
    const res = await call("/v1/webhooks", {
      method: "POST",
      key: ws.key,
      body: { url: "https://receiver.test/hooks/cap-21" },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    expect(res.json.error.message).toContain("20");
    expect((await call("/v1/webhooks", { key: ws.key })).json.data).toHaveLength(20);
    // Another workspace has its own room.
    const other = await createWorkspace();
    await createEndpoint("https://receiver.test/hooks/other", {}, other);
  });

  it("holds the 20-endpoint cap under parallel creates", async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call("/v1/webhooks", {
          method: "POST",
          key: ws.key,
          body: { url: `https://receiver.test/hooks/race-${i}` },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 201).length).toBeLessThanOrEqual(20);
    expect((await call("/v1/webhooks", { key: ws.key })).json.data.length).toBeLessThanOrEqual(20);
  });
});

describe("endpoint URL policy (SSRF)", () => {
  const rejected = [
    "http://receiver.example.com/hook",
    "https://localhost/hook",
    "https://LOCALHOST:8443/hook",
    "https://api.localhost/hook",
    "https://127.0.0.1/hook",
    "https://127.1/hook",
    "https://10.0.0.8/hook",
    "https://172.16.0.1/hook",
    "https://172.31.255.255/hook",
    "https://192.168.1.10/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/hook",
    "https://0.0.0.0/hook",
    "https://[::1]/hook",
    "https://[::]/hook",
    "https://[fc00::1]/hook",
    "https://[fd12:3456::1]/hook",
    "https://[fe80::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://[0:0:0:0:0:0:0:1]/hook",
    "https://2130706433/hook",
    "https://0x7f000001/hook",
    "https://0177.0.0.1/hook",
    "https://0x7f.0.0.1/hook",
    "https://user:pass@receiver.example.com/hook",
    "https://user@receiver.example.com/hook",
    "https://receiver.example.com/hook#frag",
    "not a url",
    "/relative/hook",
    "ftp://receiver.example.com/hook",
  ];

  it.each(rejected)("rejects %s in production with INVALID_PARAM on url", (url) => {
    let thrown: unknown;
    try {
      validateEndpointUrl(url, true);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ApiError);
    expect((thrown as ApiError).code).toBe("INVALID_PARAM");
    expect((thrown as ApiError).details?.[0]?.field).toBe("url");
    expect((thrown as ApiError).message).toMatch(/^Invalid url: /);
  });

  it("rejects localhost written with a trailing dot", () => {
    expect(() => validateEndpointUrl("https://localhost./hook", true)).toThrow(ApiError);
  });

  it.each([
    "https://receiver.example.com/hook",
    "https://receiver.example.com:8443/hooks/switchboard?team=1",
    "https://8.8.8.8/hook",
    "https://172.32.0.1/hook",
    "https://[2606:4700:4700::1111]/hook",
  ])("accepts the public https URL %s", (url) => {
    expect(validateEndpointUrl(url, true)).toBe(new URL(url).toString());
  });

  it("allows http and local receivers outside production", () => {
    expect(validateEndpointUrl("http://localhost:3000/hooks", false)).toBe("http://localhost:3000/hooks");
    expect(validateEndpointUrl("http://127.0.0.1:8080/x", false)).toBe("http://127.0.0.1:8080/x");
    expect(() => validateEndpointUrl("ftp://localhost/x", false)).toThrow(ApiError);
    expect(() => validateEndpointUrl("http://localhost:3000/x#y", false)).toThrow(ApiError);
  });
});

describe("Standard Webhooks signing", () => {
  const vector = {
    secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
    timestamp: 1614265330,
    payload: '{"test": 2432232314}',
    signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  };

  it("signs the specification's test vector identically to the standardwebhooks package", async () => {
    expect(await signWebhook(vector.secret, vector.id, vector.timestamp, vector.payload)).toBe(
      vector.signature,
    );
    expect(
      new Webhook(vector.secret).sign(vector.id, new Date(vector.timestamp * 1000), vector.payload),
    ).toBe(vector.signature);
  });

  it("sends one space-separated signature per secret, each verifiable by the package", async () => {
    const other = `whsec_${btoa("another-secret-of-24-byt")}`;
    const now = Math.floor(Date.now() / 1000);
    const body = '{"hello":"world"}';
    const headers = await webhookHeaders([vector.secret, other], "evt_x", now, body);
    expect(headers).toMatchObject({
      "content-type": "application/json",
      "webhook-id": "evt_x",
      "webhook-timestamp": String(now),
    });
    const signatures = headers["webhook-signature"].split(" ");
    expect(signatures).toHaveLength(2);
    expect(signatures[0]).toBe(await signWebhook(vector.secret, "evt_x", now, body));
    expect(signatures[1]).toBe(await signWebhook(other, "evt_x", now, body));
    expect(new Webhook(vector.secret).verify(body, headers)).toEqual({ hello: "world" });
    expect(new Webhook(other).verify(body, headers)).toEqual({ hello: "world" });
    expect(() => new Webhook(`whsec_${btoa("a-third-secret-24-bytes!")}`).verify(body, headers)).toThrow();
  });
});

describe("account events end to end", () => {
  it("a connect sends account.connected once, verified on receipt, exact payload and no token", async () => {
    const { receiver, id } = await subscribed();
    const errorsOnly = await subscribed({ eventTypes: ["account.error"] });
    const before = Date.now();
    const res = await connectAccount(ws, fake, alice);
    expect(res.status, res.text).toBe(200);
    await attempted(id, 1);

    expect(receiver.requests).toHaveLength(1);
    const [req] = receiver.requests;
    expect(req?.verified).toEqual([true]);
    expect(req?.status).toBe(204);
    const body = JSON.parse(req?.body ?? "");
    expect(body).toEqual({
      id: req?.id,
      type: "account.connected",
      createdAt: expect.stringMatching(ISO),
      workspaceId: ws.id,
      data: {
        account: {
          id: res.json.account.id,
          platform: "TWITTER",
          status: "ACTIVE",
          username: "@alice",
          displayName: "Alice",
          endUserId: null,
        },
      },
    });
    expect(req?.id).toMatch(/^evt_/);
    expect(req?.headers["content-type"]).toContain("application/json");
    expect(req?.timestamp).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(req?.timestamp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    const grant = fake.grants[0];
    for (const secret of [grant?.accessToken, grant?.refreshToken, receiver.secrets[0]]) {
      expect(req?.body).not.toContain(secret);
    }
    expect(req?.body).not.toMatch(/token|secret/i);
    expect(await deliveriesOf(id)).toMatchObject([
      { status: "succeeded", attempts: 1, last_status_code: 204 },
    ]);

    // eventTypes filter: the account.error-only endpoint got no delivery at all.
    expect(await deliveriesOf(errorsOnly.id)).toHaveLength(0);
    expect(errorsOnly.receiver.requests).toHaveLength(0);

    // The cron finds nothing more to send: exactly once.
    expect(await deliverWebhooks(env, Date.now() + HOUR)).toEqual({ attempted: 0, delivered: 0 });
    expect(receiver.requests).toHaveLength(1);
  });

  it("DELETE of the account sends account.disconnected once; a second DELETE sends nothing", async () => {
    const connected = await connectAccount(ws, fake, alice);
    const accountId = connected.json.account.id as string;
    const { receiver, id } = await subscribed();
    const first = await call(`/v1/accounts/${accountId}`, { method: "DELETE", key: ws.key });
    expect(first.status).toBe(200);
    await attempted(id, 1);
    const second = await call(`/v1/accounts/${accountId}`, { method: "DELETE", key: ws.key });
    expect([200, 404]).toContain(second.status);
    await attempted(id, 1);
    await deliverWebhooks(env, Date.now() + HOUR);
    expect(receiver.requests).toHaveLength(1);
    expect(bodyOf(receiver, 0)).toMatchObject({
      type: "account.disconnected",
      workspaceId: ws.id,
      data: {
        account: { id: accountId, platform: "TWITTER", status: "DISCONNECTED", username: "@alice" },
      },
    });
    expect(receiver.requests[0]?.verified).toEqual([true]);
    const count = await env.DB.prepare(
      "SELECT count(*) AS n FROM events WHERE type = 'account.disconnected' AND workspace_id = ?",
    )
      .bind(ws.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(1);
  });

  it("a refused refresh sends one account.error; a second refusal none; a reconnect account.connected", async () => {
    const connected = await connectAccount(ws, fake, alice);
    const accountId = connected.json.account.id as string;
    const { receiver, id } = await subscribed();

    fake.failNext({ kind: "invalid_grant" });
    const refused = await call(`/v1/accounts/${accountId}/refresh`, { method: "POST", key: ws.key });
    expect(refused.status).toBe(409);
    await attempted(id, 1);
    expect(receiver.requests).toHaveLength(1);
    const error = bodyOf(receiver, 0);
    expect(error).toMatchObject({
      type: "account.error",
      workspaceId: ws.id,
      data: {
        account: { id: accountId, platform: "TWITTER", status: "ERROR" },
        error: { code: "invalid_grant", message: expect.any(String) },
      },
    });
    expect(Object.keys(error.data.error).sort()).toEqual(["code", "message"]);
    expect(error.data.error.message.length).toBeGreaterThan(0);

    fake.failNext({ kind: "invalid_grant" });
    const again = await call(`/v1/accounts/${accountId}/refresh`, { method: "POST", key: ws.key });
    expect(again.status).toBe(409);
    await deliverWebhooks(env, Date.now());
    await attempted(id, 1);
    expect(receiver.ofType("account.error")).toHaveLength(1);

    const reconnected = await connectAccount(ws, fake, alice);
    expect(reconnected.status, reconnected.text).toBe(200);
    expect(reconnected.json.account.id).toBe(accountId);
    await attempted(id, 2);
    expect(receiver.requests).toHaveLength(2);
    expect(bodyOf(receiver, 1)).toMatchObject({
      type: "account.connected",
      data: { account: { id: accountId, status: "ACTIVE" } },
    });
    expect(receiver.requests.every((r) => r.verified[0])).toBe(true);
  });

  it("a successful refresh of a broken account sends account.recovered", async () => {
    const connected = await connectAccount(ws, fake, alice);
    const accountId = connected.json.account.id as string;
    const { receiver, id } = await subscribed({ eventTypes: ["account.recovered"] });
    fake.failNext({ kind: "invalid_grant" });
    expect((await call(`/v1/accounts/${accountId}/refresh`, { method: "POST", key: ws.key })).status).toBe(
      409,
    );
    const ok = await call(`/v1/accounts/${accountId}/refresh`, { method: "POST", key: ws.key });
    expect(ok.status, ok.text).toBe(200);
    await attempted(id, 1);
    expect(receiver.requests).toHaveLength(1);
    expect(bodyOf(receiver, 0)).toMatchObject({
      type: "account.recovered",
      data: { account: { id: accountId, status: "ACTIVE" } },
    });
    expect(bodyOf(receiver, 0).data.error).toBeUndefined();
  });

  it("a token nothing will refresh sends account.expiring once, 7 days ahead", async () => {
    const { receiver, id } = await subscribed({ eventTypes: ["account.expiring", "account.error"] });
    const now = Date.now();
    const account = await insertAccount(ws.id, {
      credentials: { accessToken: "access-only-token" },
      tokenExpiresAt: new Date(now + 6 * DAY).toISOString(),
    });
    await watchExpiry(env, now);
    await watchExpiry(env, now + HOUR);
    await deliverWebhooks(env, now + HOUR);
    expect(receiver.requests).toHaveLength(1);
    expect(bodyOf(receiver, 0)).toMatchObject({
      type: "account.expiring",
      data: { account: { id: account.id, platform: "TWITTER", status: "ACTIVE" } },
    });
    expect(receiver.requests[0]?.body).not.toContain("access-only-token");
    expect(await deliveriesOf(id)).toHaveLength(1);
  });
});

describe("POST /v1/webhooks/:id/test and GET …/deliveries", () => {
  it("sends webhook.test to that endpoint only and answers how it went", async () => {
    const { receiver, id } = await subscribed({ eventTypes: ["account.error"] });
    const bystander = await subscribed();
    const result = await endpoint(id).test();
    expect(result).toEqual({
      success: true,
      deliveryId: expect.stringMatching(/^dlv_/),
      statusCode: 204,
      error: null,
    });
    expect(receiver.requests).toHaveLength(1);
    expect(receiver.requests[0]?.verified).toEqual([true]);
    expect(bodyOf(receiver, 0)).toMatchObject({ type: "webhook.test", workspaceId: ws.id });
    expect(bystander.receiver.requests).toHaveLength(0);
    expect(await deliveriesOf(bystander.id)).toHaveLength(0);
    expect(await deliveriesOf(id)).toMatchObject([{ id: result.deliveryId, status: "succeeded" }]);

    receiver.reply = () => new Response("broken", { status: 500 });
    const failed = await endpoint(id).test();
    expect(failed).toEqual({
      success: false,
      deliveryId: expect.stringMatching(/^dlv_/),
      statusCode: 500,
      error: "HTTP 500",
    });
  });

  it("pages deliveries newest first with a cursor and filters by status", async () => {
    const { id } = await subscribed();
    const db = createDb(env.DB);
    const base = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { deliveryIds } = await commitWithEvents(
        db,
        [],
        [accountEvent("account.error", stubAccount())],
        base + i,
      );
      ids.push(...deliveryIds);
    }
    await env.DB.prepare("UPDATE deliveries SET status = 'failed' WHERE id IN (?, ?)")
      .bind(ids[1], ids[3])
      .run();

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await endpoint(id).deliveries({ limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((d) => d.id));
      cursor = page.pagination.next_cursor;
      expect(page.pagination.has_more).toBe(cursor !== null);
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());

    const first = await endpoint(id).deliveries({ limit: 1 });
    expect(first.data[0]).toEqual({
      id: ids[4],
      eventId: expect.stringMatching(/^evt_/),
      eventType: "account.error",
      status: "pending",
      attempts: 0,
      nextAttemptAt: new Date(base + 4).toISOString(),
      lastAttemptAt: null,
      lastStatusCode: null,
      lastError: null,
      createdAt: new Date(base + 4).toISOString(),
    });

    const failed = await endpoint(id).deliveries({ status: "failed" });
    expect(failed.data.map((d) => d.id)).toEqual([ids[3], ids[1]]);
    expect(failed.pagination).toMatchObject({ has_more: false, next_cursor: null });
    const pending = await endpoint(id).deliveries({ status: "pending", limit: 2 });
    expect(pending.data.map((d) => d.id)).toEqual([ids[4], ids[2]]);
    const rest = await endpoint(id).deliveries({
      status: "pending",
      limit: 2,
      cursor: pending.pagination.next_cursor ?? undefined,
    });
    expect(rest.data.map((d) => d.id)).toEqual([ids[0]]);
  });
});

function stubAccount(fields: Partial<{ id: string; status: "active" | "error" }> = {}) {
  return {
    id: fields.id ?? "acc_stub",
    platform: "twitter" as const,
    status: fields.status ?? ("error" as const),
    username: "@stub",
    displayName: "Stub",
    workspaceId: ws.id,
  };
}

describe("the outbox is atomic with the change", () => {
  const counts = async () => {
    const row = await env.DB.prepare(
      "SELECT (SELECT count(*) FROM events WHERE workspace_id = ?1) AS events, (SELECT count(*) FROM deliveries WHERE workspace_id = ?1) AS deliveries",
    )
      .bind(ws.id)
      .first<{ events: number; deliveries: number }>();
    return row;
  };

  it("a forced failure inside the batch leaves neither the state change nor its event", async () => {
    await subscribed();
    const account = await insertAccount(ws.id);
    const db = createDb(env.DB);
    const now = Date.now();
    const { deliveryIds } = await commitWithEvents(
      db,
      [],
      [accountEvent("account.error", stubAccount())],
      now,
    );
    expect(deliveryIds).toHaveLength(1);
    const [existing] = await db.select().from(events).where(eq(events.workspaceId, ws.id));
    const before = await counts();
    expect(before).toEqual({ events: 1, deliveries: 1 });

    const row = (await db.select().from(accounts).where(eq(accounts.id, account.id)))[0];
    if (!row || !existing) throw new Error("setup");
    await expect(
      commitWithEvents(
        db,
        [
          db.update(accounts).set({ status: "error", name: "changed" }).where(eq(accounts.id, account.id)),
          db.insert(events).values({ ...existing }),
        ],
        [accountEvent("account.error", { ...row, status: "error" }, { code: "x", message: "y" })],
        now,
      ),
    ).rejects.toThrow();
    expect(await counts()).toEqual(before);
    const after = (await db.select().from(accounts).where(eq(accounts.id, account.id)))[0];
    expect(after).toMatchObject({ status: "active", name: null });
  });

  it("writes an event's deliveries to all 20 endpoints as one statement, guarded or not, each once", async () => {
    const receiver = new Receiver();
    const endpointIds: string[] = [];
    for (let i = 0; i < 20; i++) endpointIds.push((await createEndpoint(`${receiver.url}/${i}`)).id);
    const db = createDb(env.DB);
    const now = Date.now();

    const plain = await outboxStatements(db, [accountEvent("account.error", stubAccount())], now);
    const guarded = await outboxStatements(
      db,
      [accountEvent("account.error", stubAccount())],
      now,
      sql`1 = 1`,
    );
    // The event's insert and one insert for all its deliveries.
    expect(plain.statements).toHaveLength(2);
    expect(guarded.statements).toHaveLength(2);

    const { deliveryIds } = await commitGuardedWithEvents(
      db,
      sql`1 = 1`,
      db.update(accounts).set({ name: "x" }).where(eq(accounts.id, "acc_none")),
      [accountEvent("account.error", stubAccount())],
      now,
    );
    expect(deliveryIds).toHaveLength(20);
    const rows = await env.DB.prepare(
      "SELECT id, endpoint_id, status, attempts, next_attempt_at, lease_id FROM deliveries WHERE id IN (SELECT value FROM json_each(?))",
    )
      .bind(JSON.stringify(deliveryIds))
      .all<{
        id: string;
        endpoint_id: string;
        status: string;
        attempts: number;
        next_attempt_at: number;
        lease_id: null;
      }>();
    expect(rows.results.map((r) => r.endpoint_id).sort()).toEqual([...endpointIds].sort());
    for (const row of rows.results)
      expect(row).toMatchObject({ status: "pending", attempts: 0, next_attempt_at: now, lease_id: null });
  });

  it("a guarded commit writes its events only where the guard holds; the change's own WHERE decides the change", async () => {
    const { id: endpointId } = await subscribed();
    const account = await insertAccount(ws.id);
    const db = createDb(env.DB);
    const now = Date.now();
    const before = await counts();
    const change = (name: string) =>
      db.update(accounts).set({ name }).where(eq(accounts.id, account.id)).returning();

    const no = await commitGuardedWithEvents(
      db,
      sql`EXISTS (SELECT 1 FROM ${accounts} WHERE ${accounts.id} = ${account.id} AND ${accounts.refreshLeaseId} = 'not-held')`,
      change("unguarded"),
      [accountEvent("account.error", stubAccount({ id: account.id }))],
      now,
    );
    expect(no.result).toHaveLength(1);
    expect(await counts()).toEqual(before);
    expect(await deliveriesOf(endpointId)).toHaveLength(0);
    expect((await db.select().from(accounts).where(eq(accounts.id, account.id)))[0]?.name).toBe("unguarded");

    const yes = await commitGuardedWithEvents(
      db,
      sql`EXISTS (SELECT 1 FROM ${accounts} WHERE ${accounts.id} = ${account.id})`,
      change("guarded"),
      [accountEvent("account.error", stubAccount({ id: account.id }))],
      now,
    );
    expect(yes.result).toHaveLength(1);
    expect(await counts()).toEqual({
      events: (before?.events ?? 0) + 1,
      deliveries: (before?.deliveries ?? 0) + 1,
    });
    expect((await deliveriesOf(endpointId)).map((d) => d.id)).toEqual(yes.deliveryIds);
  });
});
