import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { createApp } from "../../src/app";
import { DEFAULT_TIMEOUTS, STORAGE_RETRY_AFTER_SECONDS, STORAGE_TIMEOUT_MS } from "../../src/lib/timeouts";
import { callApp, createWorkspace, insertAccount, type TestWorkspace } from "../helpers/api";
import { CALLBACK } from "../helpers/connect";
import type { FakePlatform } from "../helpers/fake-provider";
import { oauthFake } from "../helpers/platform-fakes";

// KV failing or hanging while OAuth state is written or read: a 503 in the envelope, within a
// bound, and nothing written to D1 (nor asked of the platform) on the way.

const BOUND_MS = 50;
const app = createApp({ storageMs: BOUND_MS });

type Fault = "throws" | "hangs";

/** The test's bindings with OAUTH_STATE's `method` failing the `fault` way; the rest is the real KV. */
function faultyKv(method: "put" | "get", fault: Fault): Env {
  const kv = env.OAUTH_STATE;
  const broken = () =>
    fault === "throws"
      ? Promise.reject(new Error("KV PUT failed: 503 Service Unavailable"))
      : new Promise(() => {});
  const wrapped = {
    get: method === "get" ? broken : kv.get.bind(kv),
    put: method === "put" ? broken : kv.put.bind(kv),
    delete: kv.delete.bind(kv),
    list: kv.list.bind(kv),
    getWithMetadata: kv.getWithMetadata.bind(kv),
  };
  return { ...env, OAUTH_STATE: wrapped as unknown as KVNamespace };
}

/** Every row of every table, to prove a failed call wrote nothing. */
async function everyRow() {
  const { results } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations' ORDER BY name",
  ).all<{ name: string }>();
  const rows: Record<string, unknown[]> = {};
  for (const { name } of results)
    rows[name] = (await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results;
  return rows;
}

function expectUnavailable(res: Awaited<ReturnType<typeof callApp>>) {
  expect(res.status, res.text).toBe(503);
  const { requestId, ...error } = res.json.error;
  expect(error).toEqual({
    code: "STORAGE_UNAVAILABLE",
    message: "OAuth state storage is unavailable; try again shortly",
  });
  if (requestId !== undefined) expect(requestId).toBe(res.headers.get("x-request-id"));
  expect(res.headers.get("retry-after")).toBe(String(STORAGE_RETRY_AFTER_SECONDS));
  expect(res.headers.get("x-request-id")).toMatch(/^req_/);
}

let ws: TestWorkspace;
let mastodon: FakePlatform;

// Each refusal is logged as storage_unavailable: asserted here, not printed into every run.
let logged: MockInstance<typeof console.error>;
beforeEach(() => {
  logged = vi.spyOn(console, "error").mockImplementation(() => {});
});
afterEach(() => {
  const lines = logged.mock.calls.map(([line]) => JSON.parse(String(line)));
  logged.mockRestore();
  for (const line of lines)
    expect(line).toMatchObject({ level: "error", event: "storage_unavailable", what: "OAuth state storage" });
});

beforeEach(async () => {
  oauthFake("twitter");
  mastodon = oauthFake("mastodon");
  ws = await createWorkspace();
});

const post = (bindings: Env, path: string, body: unknown) =>
  callApp(app, bindings, path, { method: "POST", key: ws.key, body });

describe("KV unavailable or slow during connect", () => {
  it("waits three seconds at most by default", () => {
    expect(STORAGE_TIMEOUT_MS).toBe(3_000);
    expect(DEFAULT_TIMEOUTS.storageMs).toBe(STORAGE_TIMEOUT_MS);
  });

  it.each(["throws", "hangs"] as const)(
    "connect: a KV put that %s answers 503 within the bound and writes nothing to D1",
    async (fault) => {
      const before = await everyRow();
      const started = Date.now();
      const res = await post(faultyKv("put", fault), "/v1/accounts/connect/twitter", {
        callbackUrl: CALLBACK,
      });
      const elapsed = Date.now() - started;
      expectUnavailable(res);
      // The put never settles: an answer at all is the bound at work, and the log names which bound
      // (the app's, not the 3 s default), whatever the machine's speed.
      if (fault === "hangs") {
        expect(elapsed).toBeGreaterThanOrEqual(BOUND_MS - 5);
        const [line] = logged.mock.calls.map(([entry]) => JSON.parse(String(entry)));
        expect(line).toMatchObject({
          event: "storage_unavailable",
          message: `timed out after ${BOUND_MS} ms`,
        });
      }
      expect(await everyRow()).toEqual(before);
    },
  );

  it("connect on a Mastodon instance: no app registered, no call to the instance, while KV is down", async () => {
    const before = await everyRow();
    const res = await post(faultyKv("put", "throws"), "/v1/accounts/connect/mastodon", {
      callbackUrl: CALLBACK,
      instance: "mastodon.social",
    });
    expectUnavailable(res);
    expect(await everyRow()).toEqual(before);
    expect(mastodon.calls).toEqual([]);

    // Once KV is back the same connect registers the app and answers a URL.
    const healthy = await post(env, "/v1/accounts/connect/mastodon", {
      callbackUrl: CALLBACK,
      instance: "mastodon.social",
    });
    expect(healthy.status, healthy.text).toBe(200);
    expect(mastodon.calls.filter((c) => c.path.endsWith("/v1/apps"))).toHaveLength(1);
  });

  it("reconnect: a KV put that fails answers 503 and writes nothing", async () => {
    const account = await insertAccount(ws.id);
    const before = await everyRow();
    expectUnavailable(
      await post(faultyKv("put", "hangs"), `/v1/accounts/${account.id}/reconnect`, { callbackUrl: CALLBACK }),
    );
    expect(await everyRow()).toEqual(before);
  });

  it.each(["throws", "hangs"] as const)(
    "callback: a KV read that %s answers 503, leaves the state unspent, and the retry connects",
    async (fault) => {
      const started = await post(env, "/v1/accounts/connect/twitter", { callbackUrl: CALLBACK });
      expect(started.status, started.text).toBe(200);
      const url = new URL(started.json.authorizationUrl);
      const fake = oauthFake("twitter");
      const code = fake.issueCode(
        { id: "kv-1", username: "kv_user", name: "KV" },
        {
          scopes: url.searchParams.get("scope")?.split(" ") ?? [],
          challenge: url.searchParams.get("code_challenge") ?? undefined,
          redirectUri: url.searchParams.get("redirect_uri") ?? undefined,
        },
      );
      const body = { code, state: started.json.state };
      const before = await everyRow();
      expectUnavailable(await post(faultyKv("get", fault), "/v1/accounts/callback/twitter", body));
      expect(await everyRow()).toEqual(before);
      expect(fake.tokenRequests).toBe(0);

      const retried = await post(env, "/v1/accounts/callback/twitter", body);
      expect(retried.status, retried.text).toBe(200);
      expect(retried.json.account.username).toBe("@kv_user");
    },
  );

  it("the redirect URI answers a page saying to reload, not an error envelope, when KV is down", async () => {
    const res = await callApp(
      app,
      faultyKv("get", "throws"),
      `/v1/oauth/redirect/twitter?state=${"a".repeat(43)}&code=abc`,
    );
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("retry-after")).toBe(String(STORAGE_RETRY_AFTER_SECONDS));
    expect(res.text).toContain("Reload this page");
  });
});
