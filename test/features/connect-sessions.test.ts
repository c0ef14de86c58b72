import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import {
  completeSessionCallback,
  createSession,
  getSession,
  HostedError,
  SESSION_TTL_MS,
  sessionOfToken,
} from "../../src/features/sessions/sessions.service";
import { call, createWorkspace, type TestWorkspace } from "../helpers/api";
import { connectAccount } from "../helpers/connect";
import { type FakePlatform, type FakeProfile, fakePlatform } from "../helpers/fake-provider";
import { twitterMeRoute } from "../helpers/platform-fakes";

const RETURN_URL = "https://app.example.com/after?tab=accounts";
const alice = { id: "2001", username: "alice", name: "Alice" };
const bob = { id: "2002", username: "bob", name: "Bob" };

let fake: FakePlatform;
let ws: TestWorkspace;

beforeEach(async () => {
  fake = fakePlatform("twitter");
  fake.clientAuth = "basic";
  twitterMeRoute(fake);
  ws = await createWorkspace();
});

async function newSession(body: Record<string, unknown> = {}) {
  const res = await call("/v1/connect/sessions", {
    method: "POST",
    key: ws.key,
    body: { endUserId: "user-42", returnUrl: RETURN_URL, ...body },
  });
  expect(res.status, res.text).toBe(201);
  const url = new URL(res.json.url);
  return { ...res.json, path: url.pathname } as { id: string; token: string; url: string; path: string };
}

const form = (fields: Record<string, string>) => ({
  method: "POST",
  rawBody: new URLSearchParams(fields).toString(),
  headers: { "content-type": "application/x-www-form-urlencoded" },
});

/** Clicks a platform on step 1 and plays its consent: the redirect the platform sends back. */
async function consentThroughPage(path: string, profile: FakeProfile, platform = "twitter") {
  const started = await call(`${path}/start`, form({ platform }));
  expect(started.status, started.text).toBe(303);
  const authorize = new URL(started.headers.get("location") as string);
  const code = fake.issueCode(profile, {
    scopes: authorize.searchParams.get("scope")?.split(" ") ?? [],
    challenge: authorize.searchParams.get("code_challenge") ?? undefined,
  });
  const state = authorize.searchParams.get("state") as string;
  const redirect = await call(`/v1/oauth/redirect/${platform}?code=${code}&state=${state}`);
  expect(redirect.status).toBe(302);
  const back = new URL(redirect.headers.get("location") as string);
  return { callback: back.pathname + back.search, state, code };
}

const attr = (html: string, name: string) =>
  new RegExp(`${name}="([^"]*)"`)
    .exec(html)?.[1]
    ?.replace(/&amp;/g, "&")
    .replace(/&quot;/g, '"');

describe("POST /v1/connect/sessions", () => {
  it("answers a single-use link that expires in 30 minutes, listed in the OpenAPI document", async () => {
    const created = await newSession();
    expect(created.id).toMatch(/^cs_/);
    expect(created.token).toMatch(/^cst_/);
    expect(created.url).toBe(`https://switchboard.test/connect/${created.token}`);
    const got = await call(`/v1/connect/sessions/${created.id}`, { key: ws.key });
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({
      id: created.id,
      status: "pending",
      endUserId: "user-42",
      accountId: null,
    });
    expect(Date.parse(got.json.expiresAt) - Date.parse(got.json.createdAt)).toBe(SESSION_TTL_MS);
    expect(got.text).not.toContain(created.token);
    const doc = await call("/v1/openapi.json");
    expect(Object.keys(doc.json.paths)).toEqual(
      expect.arrayContaining(["/v1/connect/sessions", "/v1/connect/sessions/{id}"]),
    );
  });

  it("refuses a returnUrl off the allowlist, platforms outside the workspace's, and an unknown account", async () => {
    const bad = await call("/v1/connect/sessions", {
      method: "POST",
      key: ws.key,
      body: { endUserId: "u", returnUrl: "https://evil.example.net/x" },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details[0].field).toBe("returnUrl");
    const origin = await call("/v1/connect/sessions", {
      method: "POST",
      key: ws.key,
      body: { endUserId: "u", origin: "https://app.example.com/path" },
    });
    expect(origin.status).toBe(400);
    const missing = await call("/v1/connect/sessions", {
      method: "POST",
      key: ws.key,
      body: { endUserId: "u", accountId: "acc_01jdzq5m3k8r2t6v9w0x1y2z3a" },
    });
    expect(missing.status).toBe(404);
    const long = await call("/v1/connect/sessions", {
      method: "POST",
      key: ws.key,
      body: { endUserId: "x".repeat(201) },
    });
    expect(long.status).toBe(400);
  });
});

describe("the hosted page", () => {
  it("connects an account with endUserId and metadata, and ends on the result with returnUrl's parameters", async () => {
    const session = await newSession({
      metadata: { plan: "gold" },
      allowedPlatforms: ["twitter", "mastodon"],
    });
    const page = await call(session.path);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(page.text).toContain('data-platform="twitter"');
    expect(page.text).toContain('data-platform="mastodon"');
    expect(page.text).not.toContain('data-platform="linkedin"');
    expect(page.text).not.toMatch(
      /<script>|<style>|https?:\/\/(?!switchboard\.test)[a-z.]+\/[^"]*\.(js|css)/,
    );

    const { callback } = await consentThroughPage(session.path, alice);
    expect(callback.startsWith(`${session.path}/callback/twitter?`)).toBe(true);
    const done = await call(callback);
    expect(done.status, done.text).toBe(303);
    expect(done.headers.get("location")).toBe(`${session.path}/done`);
    const result = await call(`${session.path}/done`);
    expect(result.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(attr(result.text, "data-connect-result")).toBe("success");
    const got = await call(`/v1/connect/sessions/${session.id}`, { key: ws.key });
    expect(got.json.status).toBe("completed");
    const accountId = got.json.accountId as string;
    const back = new URL(attr(result.text, "data-return-url") as string);
    expect(back.origin + back.pathname).toBe("https://app.example.com/after");
    expect(Object.fromEntries(back.searchParams)).toEqual({
      tab: "accounts",
      status: "success",
      accountId,
      endUserId: "user-42",
      sessionId: session.id,
    });
    // The popup's message goes to the returnUrl's origin only.
    expect(attr(result.text, "data-target-origin")).toBe("https://app.example.com");
    expect(JSON.parse(attr(result.text, "data-message") as string)).toMatchObject({
      type: "switchboard:connect",
      status: "success",
      accountId,
    });

    const account = await call(`/v1/accounts/${accountId}`, { key: ws.key });
    expect(account.json).toMatchObject({
      endUserId: "user-42",
      metadata: { plan: "gold" },
      platformUserId: "2001",
    });
    const mine = await call("/v1/accounts?endUserId=user-42", { key: ws.key });
    expect(mine.json.data.map((a: { id: string }) => a.id)).toEqual([accountId]);
    const others = await call("/v1/accounts?endUserId=someone-else", { key: ws.key });
    expect(others.json.data).toEqual([]);
  });

  it("posts the result to the session's declared origin when there is no returnUrl", async () => {
    const session = await newSession({ returnUrl: undefined, origin: "https://app.example.com" });
    const { callback } = await consentThroughPage(session.path, alice);
    await call(callback);
    const result = await call(`${session.path}/done`);
    expect(attr(result.text, "data-target-origin")).toBe("https://app.example.com");
    expect(attr(result.text, "data-return-url")).toBeUndefined();
    const none = await newSession({ returnUrl: undefined });
    const step = await consentThroughPage(none.path, bob);
    await call(step.callback);
    const quiet = await call(`${none.path}/done`);
    expect(attr(quiet.text, "data-connect-result")).toBe("success");
    expect(attr(quiet.text, "data-target-origin")).toBeUndefined();
  });

  it("lets exactly one of 20 parallel completions of one session connect an account", async () => {
    const session = await newSession();
    const users = Array.from({ length: 20 }, (_, i) => ({ id: `30${i}`, username: `u${i}`, name: `U ${i}` }));
    const callbacks = [];
    for (const user of users) callbacks.push((await consentThroughPage(session.path, user)).callback);
    const results = await Promise.all(callbacks.map((path) => call(path)));
    const won = results.filter((r) => r.status === 303 && r.headers.get("location")?.endsWith("/done"));
    expect(won).toHaveLength(1);
    for (const r of results.filter((r) => !won.includes(r))) {
      expect(r.status).toBe(400);
      expect(attr(r.text, "data-connect-result")).toBe("error");
    }
    expect(fake.tokenRequests).toBe(1);
    const list = await call("/v1/accounts", { key: ws.key });
    expect(list.json.data).toHaveLength(1);
    // The used link says so instead of starting again.
    const again = await call(`${session.path}/start`, form({ platform: "twitter" }));
    expect(attr(again.text, "data-connect-result")).toBe("error");
    expect(again.text).toContain("already used");
  });

  it("ends a denied consent on the error screen with its own code, and the link may retry", async () => {
    const session = await newSession();
    const started = await call(`${session.path}/start`, form({ platform: "twitter" }));
    const state = new URL(started.headers.get("location") as string).searchParams.get("state");
    const redirect = await call(`/v1/oauth/redirect/twitter?error=access_denied&state=${state}`);
    const back = new URL(redirect.headers.get("location") as string);
    const done = await call(back.pathname + back.search);
    expect(done.headers.get("location")).toBe(`${session.path}/done`);
    const result = await call(`${session.path}/done`);
    expect(attr(result.text, "data-connect-result")).toBe("error");
    expect(result.text).toContain("You declined access on X, so nothing was connected.");
    expect(result.text).toContain("data-retry");
    const got = await call(`/v1/connect/sessions/${session.id}`, { key: ws.key });
    expect(got.json).toMatchObject({ status: "failed", error: { code: "ACCESS_DENIED" } });
    const list = await call("/v1/accounts", { key: ws.key });
    expect(list.json.data).toEqual([]);
    // Retrying with the same link connects.
    const retry = await consentThroughPage(session.path, alice);
    expect((await call(retry.callback)).status).toBe(303);
    expect((await call(`/v1/connect/sessions/${session.id}`, { key: ws.key })).json.status).toBe("completed");
  });

  it("a reconnect session must come back as the same platform user", async () => {
    const first = await connectAccount(ws, fake, alice);
    const accountId = first.json.account.id as string;
    const session = await newSession({ accountId });
    const page = await call(session.path);
    expect(page.text).toContain('data-platform="twitter"');
    expect(page.text.match(/data-platform=/g)).toHaveLength(1);
    const wrong = await consentThroughPage(session.path, bob);
    await call(wrong.callback);
    const failed = await call(`/v1/connect/sessions/${session.id}`, { key: ws.key });
    expect(failed.json).toMatchObject({ status: "failed", error: { code: "INVALID_PARAM" } });
    expect(failed.json.error.message).toContain("different account");
    const right = await consentThroughPage(session.path, alice);
    await call(right.callback);
    const done = await call(`/v1/connect/sessions/${session.id}`, { key: ws.key });
    expect(done.json).toMatchObject({ status: "completed", accountId });
    const list = await call("/v1/accounts", { key: ws.key });
    expect(list.json.data).toHaveLength(1);
    expect(list.json.data[0].endUserId).toBe("user-42");
  });

  it("expires 30 minutes after creation", async () => {
    const db = createDb(env.DB);
    const t0 = Date.now();
    const created = await createSession({ env, db, now: t0 }, ws.id, { endUserId: "late" });
    const row = await sessionOfToken({ env, db, now: t0 }, created.token);
    expect((await getSession({ env, db, now: t0 + SESSION_TTL_MS - 1 }, ws.id, created.id)).status).toBe(
      "pending",
    );
    expect((await getSession({ env, db, now: t0 + SESSION_TTL_MS }, ws.id, created.id)).status).toBe(
      "expired",
    );
    const late = completeSessionCallback(
      { env, db, now: t0 + SESSION_TTL_MS + 1 },
      row,
      "twitter",
      new URLSearchParams({ code: "c", state: "s".repeat(43) }),
    );
    await expect(late).rejects.toBeInstanceOf(HostedError);
    await expect(late).rejects.toMatchObject({ code: "SESSION_EXPIRED" });
    expect(fake.tokenRequests).toBe(0);
  });

  it("answers an unknown link with the error screen", async () => {
    const res = await call(`/connect/cst_${"a".repeat(43)}`);
    expect(res.status).toBe(404);
    expect(attr(res.text, "data-connect-result")).toBe("error");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
  });
});

describe("POST /v1/accounts/callback/:platform after Deny", () => {
  it("answers ACCESS_DENIED and spends the state", async () => {
    const started = await call("/v1/accounts/connect/twitter", {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: "https://app.example.com/cb" },
    });
    const state = started.json.state as string;
    const denied = await call("/v1/accounts/callback/twitter", {
      method: "POST",
      key: ws.key,
      body: { state, error: "access_denied", error_description: "The user denied the request" },
    });
    expect(denied.status).toBe(400);
    expect(denied.json.error).toMatchObject({
      code: "ACCESS_DENIED",
      message: "The user denied access on X; nothing was connected",
    });
    const missing = await call("/v1/accounts/callback/twitter", {
      method: "POST",
      key: ws.key,
      body: { state },
    });
    expect(missing.status).toBe(400);
    expect(missing.json.error.message).toBe("Invalid code: Required");
  });
});
